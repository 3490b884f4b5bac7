"""CAP under partitions: a CP register and an AP register on the same nodes.

Brewer's conjecture, as Gilbert and Lynch proved it (2002), says that
while the network is partitioned a replicated register cannot both
answer every request and stay linearizable. The two registers here make
the two choices over the same replicas ``n1..nN``, the same clients and
the same workload, so one seed and one partition show both sides
(Kleppmann, *Designing Data-Intensive Applications*, chapter 9).

- ``QuorumReplica``, the CP register, is the multi-writer ABD register
  (Attiya, Bar-Noy and Dolev, 1995). The replica a client asks
  coordinates the operation in two phases, each waiting for a majority:
  a write learns the highest version from a majority, then stores a
  higher one on a majority; a read learns the newest (version, value)
  from a majority and, unless the majority already agreed, writes it
  back to a majority before answering. A coordinator that cannot hear
  from a majority within ``patience`` seconds answers "no quorum".
- ``LWWReplica``, the AP register, answers every read and write from its
  own copy at once, then pushes each write to the other replicas,
  resending every ``resend`` seconds until each acknowledges it.
  Concurrent writes are settled by last write wins on a timestamp (the
  simulated clock, a Lamport counter, the replica's name). Version
  vectors tell an ordinary overwrite from a concurrent one, so a replica
  can say which writes it threw away: it records them under ``lost``.

A client talks to one replica, its home, the one nearest to it. Where a
client sits is what the run's partition says: a client put in a group
of the first ``Partition`` of the faults is served by a replica of that
group; a client with no replica on its side keeps its usual home, and
every request it makes times out. Moving a client across the partition
is therefore one edit of the partition's groups. Clients invoke an
operation every ``interval`` seconds, writes of values that name their
writer (c2's third write is 203) and reads, so both registers see the
same operations at the same times.

Limitations: the clocks behind last write wins are perfect here, which
flatters it; with skewed clocks a write can lose to an older one. The
AP register keeps no siblings: a store that does (Dynamo, Riak) would
hand both concurrent values to the next reader instead of losing one.
Neither register handles compare-and-set, and a CP replica that crashes
forgets the operations it was coordinating (their clients time out).
"""

from ..clients import Client
from ..kernel import Node
from ..network import Partition, Uniform
from ..params import seconds, whole
from ..scenario import Scenario, register

PATTERNS = ("alternate", "random")


def majority(n):
    """The smallest number of replicas that is more than half of ``n``."""
    return n // 2 + 1


def covers(context, dot):
    """Whether a version vector ``context`` includes the write ``dot``."""
    if dot is None:
        return True
    replica, count = dot
    return context.get(replica, 0) >= count


def merged(a, b):
    """The version vector that includes everything ``a`` or ``b`` includes."""
    return {r: max(a.get(r, 0), b.get(r, 0)) for r in sorted({*a, *b})}


class QuorumReplica(Node):
    """A replica of the CP register; coordinates the requests it receives."""

    def __init__(self, node_id, patience):
        super().__init__(node_id)
        self.durable.version = [0, ""]
        self.durable.value = None
        self.patience = patience
        self.pending = {}

    def on_start(self):
        self._show()

    def _show(self):
        self.record(value=self.durable.value, version=list(self.durable.version))

    # ----- coordinating a client's request -----

    def on_read(self, msg):
        self._begin(msg)

    def on_write(self, msg):
        self._begin(msg)

    def _begin(self, request):
        op_id = request.payload["op_id"]
        self.pending[op_id] = {"request": request, "phase": "query",
                               "heard": [self._copy()], "stored": 1,
                               "version": None, "value": None}
        self.broadcast("query", {"op_id": op_id})
        self.set_timer("give-up " + op_id, self.patience)
        self._progress(op_id)

    def _copy(self):
        return [list(self.durable.version), self.durable.value]

    def on_query(self, msg):
        version, value = self._copy()
        self.send(msg.src, "query-ok", {"op_id": msg.payload["op_id"],
                                        "version": version, "value": value})

    def on_query_ok(self, msg):
        op = self.pending.get(msg.payload["op_id"])
        if op is not None and op["phase"] == "query":
            op["heard"].append([msg.payload["version"], msg.payload["value"]])
            self._progress(msg.payload["op_id"])

    def on_stored(self, msg):
        op = self.pending.get(msg.payload["op_id"])
        if op is not None and op["phase"] == "store":
            op["stored"] += 1
            self._progress(msg.payload["op_id"])

    def _progress(self, op_id):
        op = self.pending[op_id]
        need = majority(len(self.peers) + 1)
        if op["phase"] == "query" and len(op["heard"]) >= need:
            self._queried(op_id, op)
        elif op["phase"] == "store" and op["stored"] >= need:
            self._finish(op_id, op["value"] if self._reading(op) else None)

    def _reading(self, op):
        return op["request"].type == "read"

    def _queried(self, op_id, op):
        newest_version, newest_value = max(op["heard"], key=lambda h: h[0])
        if self._reading(op):
            if all(h[0] == newest_version for h in op["heard"]):
                self._finish(op_id, newest_value)
                return
            version, value = newest_version, newest_value
        else:
            version = [newest_version[0] + 1, self.node_id]
            value = op["request"].payload["value"]
        op.update(phase="store", version=version, value=value)
        self._apply(version, value)
        self.broadcast("store", {"op_id": op_id, "version": version,
                                 "value": value})
        self._progress(op_id)

    def _finish(self, op_id, result):
        op = self.pending.pop(op_id)
        self.cancel_timer("give-up " + op_id)
        self.reply(op["request"], result)

    def on_timer(self, name):
        op_id = name.removeprefix("give-up ")
        op = self.pending.pop(op_id)
        self.reply(op["request"], "no quorum", ok=False)

    # ----- serving another coordinator -----

    def on_store(self, msg):
        self._apply(msg.payload["version"], msg.payload["value"])
        self.send(msg.src, "stored", {"op_id": msg.payload["op_id"]})

    def _apply(self, version, value):
        if version > self.durable.version:
            self.durable.version = list(version)
            self.durable.value = value
            self._show()


class LWWReplica(Node):
    """A replica of the AP register: serves locally, replicates afterwards."""

    def __init__(self, node_id, resend):
        super().__init__(node_id)
        self.durable.stamp = [0.0, 0, ""]
        self.durable.value = None
        self.durable.dot = None
        self.durable.context = {}
        self.durable.lamport = 0
        self.durable.lost = []
        self.resend = resend
        self.unacked = {}

    def on_start(self):
        self._show()

    def on_recover(self):
        self._show()
        if self.durable.dot is not None:
            self._push(self.peers)

    def _show(self):
        self.record(value=self.durable.value, lost=list(self.durable.lost))

    # ----- serving clients from the local copy -----

    def on_read(self, msg):
        self.reply(msg, self.durable.value)

    def on_write(self, msg):
        d = self.durable
        d.lamport += 1
        count = d.context.get(self.node_id, 0) + 1
        d.context = {**d.context, self.node_id: count}
        d.dot = [self.node_id, count]
        d.stamp = [self.now, d.lamport, self.node_id]
        d.value = msg.payload["value"]
        self.reply(msg)

        self._show()
        self._push(self.peers)

    # ----- replicating: push, acknowledge, resend -----

    def _entry(self):
        d = self.durable
        return {"stamp": list(d.stamp), "value": d.value, "dot": d.dot,
                "context": dict(d.context)}

    def _push(self, peers):
        entry = self._entry()
        for peer in peers:
            self.unacked[peer] = entry["stamp"]
        self.broadcast("update", entry, to=peers)
        self.set_timer("resend", self.resend)

    def on_timer_resend(self):
        if self.unacked:
            self._push(sorted(self.unacked))

    def on_ack(self, msg):
        if self.unacked.get(msg.src) == msg.payload["stamp"]:
            del self.unacked[msg.src]

    def on_update(self, msg):
        incoming = msg.payload
        d = self.durable
        d.lamport = max(d.lamport, incoming["stamp"][1])
        if incoming["stamp"] != d.stamp:
            self._merge(incoming)
        self.send(msg.src, "ack", {"stamp": incoming["stamp"]})

    def _merge(self, incoming):
        d = self.durable
        newer = incoming["stamp"] > d.stamp
        concurrent = not (covers(incoming["context"], d.dot)
                          or covers(d.context, incoming["dot"]))
        if concurrent:
            loser = d.value if newer else incoming["value"]
            if loser not in d.lost:
                d.lost = d.lost + [loser]
        d.context = merged(d.context, incoming["context"])
        if newer:
            d.stamp = list(incoming["stamp"])
            d.value = incoming["value"]
            d.dot = list(incoming["dot"])
        self._show()


def workload(home, number, ops, interval, timeout, pattern, offset):
    """Client ``c<number>``: an operation every ``interval`` s, at ``home``."""
    def run(client):
        rng = client.rng("workload")
        writes = 0
        for k in range(ops):
            due = offset + k * interval
            if due > client.now:
                yield client.sleep(due - client.now)
            if pattern == "alternate":
                write = k % 2 == 0
            else:
                write = rng.random() < 0.5
            if write:
                writes += 1
                yield from client.call(home, "write", value=100 * number + writes,
                                       timeout=timeout)
            else:
                yield from client.call(home, "read", timeout=timeout)
    return run


def spread_home(index, replicas, clients):
    """The usual home of the ``index``-th client: clients spread evenly."""
    if clients == 1:
        return replicas[0]
    return replicas[round(index * (len(replicas) - 1) / (clients - 1))]


def homes_for(replicas, clients, faults, homes=None):
    """Each client's home replica: ``homes`` first, then its partition side."""
    chosen = dict(homes or {})
    partition = next((c for c in faults.cuts if isinstance(c, Partition)), None)
    for index, client in enumerate(clients):
        if client in chosen:
            continue
        home = spread_home(index, replicas, len(clients))
        if partition is not None:
            side = partition.side(client)
            near = [r for r in replicas if partition.side(r) == side]
            if near and home not in near:
                home = near[0]
        chosen[client] = home
    return chosen


def _check(replicas, clients, ops, interval, timeout, pattern, homes):
    for name, value in (("replicas", replicas), ("clients", clients),
                        ("ops", ops)):
        whole(name, value)
    if replicas > 9:
        raise ValueError(f"replicas={replicas} is too many: at most 9 replicas")
    seconds("interval", interval)
    seconds("timeout", timeout)
    if pattern not in PATTERNS:
        raise ValueError(f"pattern={pattern!r} is not known: use "
                         f"{' or '.join(map(repr, PATTERNS))}")
    names = [f"n{i}" for i in range(1, replicas + 1)]
    for client, home in (homes or {}).items():
        if client not in [f"c{i}" for i in range(1, clients + 1)]:
            raise ValueError(f"homes names client {client!r}, but the clients "
                             f"are c1..c{clients}")
        if home not in names:
            raise ValueError(f"homes sends {client} to {home!r}, but the "
                             f"replicas are {', '.join(names)}")
    return names


def _build(sim, make_replica, replicas, clients, ops, interval, timeout,
           pattern, homes):
    names = _check(replicas, clients, ops, interval, timeout, pattern, homes)
    client_ids = [f"c{i}" for i in range(1, clients + 1)]
    home = homes_for(names, client_ids, sim.faults, homes)
    for name in names:
        sim.add(make_replica(name))
    for number, client in enumerate(client_ids, 1):
        offset = 0.1 + (number - 1) * interval / clients
        sim.add(Client(client, workload(home[client], number, ops, interval,
                                        timeout, pattern, offset)))


def build_cp(sim, replicas, clients, ops, interval, timeout, pattern, homes,
             patience):
    """The CP register: quorum replicas, and the shared clients."""
    seconds("patience", patience)
    _build(sim, lambda n: QuorumReplica(n, patience), replicas, clients, ops,
           interval, timeout, pattern, homes)


def build_ap(sim, replicas, clients, ops, interval, timeout, pattern, homes,
             resend):
    """The AP register: last-write-wins replicas, and the shared clients."""
    seconds("resend", resend)
    _build(sim, lambda n: LWWReplica(n, resend), replicas, clients, ops,
           interval, timeout, pattern, homes)


SHARED = {"replicas": 3, "clients": 2, "ops": 10, "interval": 0.4,
          "timeout": 0.35, "pattern": "alternate", "homes": None}

CP = register(Scenario(
    name="cap-cp",
    summary="CP register: every read and write needs a majority of replicas",
    build=build_cp,
    params={**SHARED, "patience": 0.2},
    until=8.0,
    latency=Uniform(0.01, 0.03),
    model="register",
))

AP = register(Scenario(
    name="cap-ap",
    summary="AP register: each replica answers alone; last write wins on merge",
    build=build_ap,
    params={**SHARED, "resend": 0.25},
    until=8.0,
    latency=Uniform(0.01, 0.03),
    model="register",
))
