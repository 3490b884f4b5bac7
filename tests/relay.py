"""A small random protocol for property tests of the kernel.

Each node forwards what it hears to a few peers chosen from its own
random stream, keeps a timer that sends a fresh rumour now and then,
and records counters; one node keeps a durable total. Together with a
client doing reads, it exercises every path of the kernel: messages,
timers, state, crashes, clients and histories.
"""

from dsim import Client, Exponential, Node, PerLink, Simulation, Uniform


class Relay(Node):
    def __init__(self, node_id, hops, period):
        super().__init__(node_id)
        self.hops = hops
        self.period = period
        self.heard = 0
        self.durable.total = 0

    def on_start(self):
        self.record(heard=self.heard, total=self.durable.total)
        self.set_timer("rumour", self.rng("period").uniform(0, self.period))

    def on_timer_rumour(self):
        self.spread(self.hops)
        self.set_timer("rumour", self.rng("period").uniform(0, self.period))

    def spread(self, hops):
        if hops > 0:
            pick = self.rng("peer").choice
            for _ in range(2):
                self.send(pick(self.peers), "rumour", {"hops": hops - 1})

    def on_rumour(self, msg):
        self.heard += 1
        self.durable.total += 1
        self.record(heard=self.heard, total=self.durable.total)
        self.spread(msg.payload["hops"])

    def on_read(self, msg):
        self.reply(msg, self.durable.total)


def reader(client):
    for _ in range(3):
        yield client.sleep(client.rng("think").uniform(0, 0.3))
        yield from client.call("n1", "read", timeout=0.2)


LATENCIES = {
    "uniform": Uniform(0.01, 0.05),
    "exponential": Exponential(0.02, floor=0.005),
    "per-link": PerLink({("n1", "n2"): Uniform(0.1, 0.2)},
                        default=Exponential(0.03)),
}


def relay_simulation(seed, nodes=3, hops=2, period=0.4, latency="uniform",
                     faults=None, until=2.0, client=True):
    sim = Simulation(seed=seed, latency=LATENCIES[latency], faults=faults,
                     until=until)
    for i in range(1, nodes + 1):
        sim.add(Relay(f"n{i}", hops, period))
    if client:
        sim.add(Client("c1", reader))
    return sim
