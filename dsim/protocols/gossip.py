"""Gossip: nodes push a version number to random peers until all agree.

Anti-entropy in its simplest form (Demers et al., "Epidemic algorithms
for replicated database maintenance", 1987): every ``interval`` seconds
each node sends its version to one peer chosen at random, and the peer
keeps the larger version and acknowledges with its own. Node n1 makes a
new version every ``bump`` rounds, so there is always news to spread.
With the defaults, five nodes exchange about 1,500 messages: the run the
viewer's speed is measured on, and a busy diagram to read.

Limitations: a version is one number, not a replicated map, and peers
are picked uniformly, with no partner lists or fan-out tuning.
"""

from ..kernel import Node
from ..network import Uniform
from ..params import seconds, whole
from ..scenario import Scenario, register


class Gossiper(Node):
    """Pushes its version to a random peer each round; keeps the larger one."""

    def __init__(self, node_id, rounds, interval, bump):
        super().__init__(node_id)
        self.rounds = rounds
        self.interval = interval
        self.bump = bump
        self.round = 0
        self.durable.version = 0

    def on_start(self):
        self.record(version=self.durable.version)
        self.set_timer("round", self.rng("phase").uniform(0, self.interval))

    def on_timer_round(self):
        self.round += 1
        if self.node_id == "n1" and self.round % self.bump == 0:
            self.durable.version += 1
            self.record(version=self.durable.version)
        peer = self.rng("peer").choice(self.peers)
        self.send(peer, "gossip", {"version": self.durable.version})
        if self.round < self.rounds:
            self.set_timer("round", self.interval)

    def on_gossip(self, msg):
        self._learn(msg.payload["version"])
        self.send(msg.src, "ack", {"version": self.durable.version})

    def on_ack(self, msg):
        self._learn(msg.payload["version"])

    def _learn(self, version):
        if version > self.durable.version:
            self.durable.version = version
            self.record(version=version)


def build(sim, nodes, rounds, interval, bump):
    whole("nodes", nodes, least=2)
    whole("rounds", rounds)
    whole("bump", bump)
    seconds("interval", interval)
    sim.add(*[Gossiper(f"n{i}", rounds, interval, bump)
              for i in range(1, nodes + 1)])


GOSSIP = register(Scenario(
    name="gossip",
    summary="five nodes push versions to random peers: about 1,500 messages",
    build=build,
    params={"nodes": 5, "rounds": 150, "interval": 0.1, "bump": 10},
    until=30.0,
    latency=Uniform(0.01, 0.04),
))
