"""A single server holding a register or a key-value map, and busy clients.

One copy of the data, so every run is linearizable however messages are
delayed or lost: the baseline every replicated design is measured against,
and a source of realistic histories for the checker. Clients pick their
operations from their own random streams and give up after ``timeout``
seconds, which leaves operations whose outcome is unknown.
"""

from ..clients import Client
from ..kernel import Node
from ..network import Uniform
from ..params import whole
from ..scenario import Scenario, register


class RegisterServer(Node):
    """Holds one register: read, write, compare-and-set."""

    def __init__(self, node_id, initial=None):
        super().__init__(node_id)
        self.durable.value = initial

    def on_start(self):
        self.record(value=self.durable.value)

    def on_read(self, msg):
        self.reply(msg, self.durable.value)

    def on_write(self, msg):
        self.durable.value = msg.payload["value"]
        self.record(value=self.durable.value)
        self.reply(msg)

    def on_cas(self, msg):
        expected, new = msg.payload["value"]
        swapped = self.durable.value == expected
        if swapped:
            self.durable.value = new
            self.record(value=new)
        self.reply(msg, swapped)


class KVServer(Node):
    """Holds a map of string values: get, put, append."""

    def __init__(self, node_id):
        super().__init__(node_id)
        self.durable.data = {}

    def on_get(self, msg):
        self.reply(msg, self.durable.data.get(msg.payload["key"], ""))

    def on_put(self, msg):
        self.durable.data[msg.payload["key"]] = msg.payload["value"]
        self.reply(msg)

    def on_append(self, msg):
        key = msg.payload["key"]
        self.durable.data[key] = self.durable.data.get(key, "") + msg.payload["value"]
        self.reply(msg)


def register_workload(ops, timeout, think):
    def workload(client):
        rng = client.rng("workload")
        for _ in range(ops):
            yield client.sleep(rng.uniform(0, think))
            kind = rng.choice(("read", "write", "cas"))
            if kind == "read":
                yield from client.call("n1", "read", timeout=timeout)
            elif kind == "write":
                yield from client.call("n1", "write", value=rng.randint(0, 4),
                                       timeout=timeout)
            else:
                pair = [rng.randint(0, 4), rng.randint(0, 4)]
                yield from client.call("n1", "cas", value=pair, timeout=timeout)
    return workload


def kv_workload(ops, keys, timeout, think):
    def workload(client):
        rng = client.rng("workload")
        for _ in range(ops):
            yield client.sleep(rng.uniform(0, think))
            key = f"k{rng.randrange(keys)}"
            kind = rng.choice(("get", "put", "append"))
            value = None if kind == "get" else str(rng.randint(0, 9))
            yield from client.call("n1", kind, key=key, value=value,
                                   timeout=timeout)
    return workload


def _check_counts(**counts):
    for name, value in counts.items():
        whole(name, value)


def build_register(sim, clients, ops, timeout, think):
    _check_counts(clients=clients, ops=ops)
    sim.add(RegisterServer("n1"))
    for i in range(1, clients + 1):
        sim.add(Client(f"c{i}", register_workload(ops, timeout, think)))


def build_kv(sim, clients, ops, keys, timeout, think):
    _check_counts(clients=clients, ops=ops, keys=keys)
    sim.add(KVServer("n1"))
    for i in range(1, clients + 1):
        sim.add(Client(f"c{i}", kv_workload(ops, keys, timeout, think)))


REGISTER = register(Scenario(
    name="register",
    summary="one server holds a register; clients read, write and cas it",
    build=build_register,
    params={"clients": 3, "ops": 5, "timeout": 0.2, "think": 0.05},
    until=60.0,
    latency=Uniform(0.01, 0.05),
    model="register",
))

KV_STORE = register(Scenario(
    name="kv-store",
    summary="one server holds a key-value map; clients get, put and append",
    build=build_kv,
    params={"clients": 3, "ops": 5, "keys": 2, "timeout": 0.2, "think": 0.05},
    until=60.0,
    latency=Uniform(0.01, 0.05),
    model="kv",
))
