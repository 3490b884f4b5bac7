"""Ping-pong: the smallest protocol, to see the kernel at work.

Node n1 pings n2 every ``interval`` seconds; n2 answers each ping with a
pong. Each node records what it has seen, so the diagram can show it.
n2 keeps its total of pings answered in durable state and its count since
the last restart in volatile state: crash it and watch one survive and the
other start again from zero.
"""

from ..kernel import Node
from ..network import Uniform
from ..params import seconds, whole
from ..scenario import Scenario, register


class Pinger(Node):
    """Sends a ping every ``interval`` seconds, ``rounds`` times."""

    def __init__(self, node_id, target, rounds, interval):
        super().__init__(node_id)
        self.target = target
        self.rounds = rounds
        self.interval = interval
        self.pinged = 0
        self.ponged = 0

    def on_start(self):
        self.record(pinged=self.pinged, ponged=self.ponged)
        self.set_timer("ping", 0.0)

    def on_timer_ping(self):
        self.pinged += 1
        self.send(self.target, "ping", {"n": self.pinged})
        self.record(pinged=self.pinged)
        if self.pinged < self.rounds:
            self.set_timer("ping", self.interval)

    def on_pong(self, msg):
        self.ponged += 1
        self.record(ponged=self.ponged)


class Ponger(Node):
    """Answers every ping with a pong."""

    def __init__(self, node_id):
        super().__init__(node_id)
        self.durable.answered = 0
        self.since_restart = 0

    def on_start(self):
        self.record(answered=self.durable.answered, since_restart=0)

    def on_ping(self, msg):
        self.durable.answered += 1
        self.since_restart += 1
        self.send(msg.src, "pong", {"n": msg.payload["n"]})
        self.record(answered=self.durable.answered,
                    since_restart=self.since_restart)


def build(sim, rounds, interval):
    whole("rounds", rounds)
    seconds("interval", interval)
    sim.add(Pinger("n1", "n2", rounds, interval), Ponger("n2"))


PING_PONG = register(Scenario(
    name="ping-pong",
    summary="n1 pings n2 every interval; n2 answers each ping with a pong",
    build=build,
    params={"rounds": 5, "interval": 0.5},
    until=10.0,
    latency=Uniform(0.05, 0.15),
))
