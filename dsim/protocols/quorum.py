"""Leaderless quorum replication: Dynamo-style reads and writes, and ABD.

Each of ``n`` replicas holds one register (one key of a Dynamo-style
store; keys are independent there, so one shows everything the chapter
claims) as a value and the ``version`` that wrote it. Clients coordinate
their own operations, as in Dynamo's client-side routing:

- a write stamps the value with a version, sends ``store`` to the
  replicas and waits for ``w`` of them to answer ``stored``;
- a read sends ``fetch`` to the replicas, waits for ``r`` answers
  (``fetched``) and returns the value with the newest version.

A version is ``[ts, client]``: a write timestamp, with the writer's name
to break ties. Replicas keep the newest version they have seen, so the
last write wins (LWW) by timestamp, not by arrival. Options, one per idea
of the chapter:

- ``skew``: by default a write takes its timestamp from the writer's
  physical clock; ``skew`` sets how far each client's clock is ahead
  (in seconds). A clock that runs ahead makes its writes beat later ones.
- ``repair``: ``"none"``; ``"async"`` (after a read, send the newest value
  to the replicas that answered with an older one, without waiting); or
  ``"sync"`` (before returning, make sure ``w`` replicas hold the value
  read, writing it back and waiting for their acknowledgements).
- ``read_before_write``: a write first reads ``r`` versions and takes a
  timestamp one above the largest: a logical clock instead of a physical
  one. With ``repair="sync"`` this is the ABD register (Attiya, Bar-Noy
  and Dolev, "Sharing memory robustly in message-passing systems", 1995),
  which makes reads and writes linearizable when ``w + r > n``.
- ``fanout``: ``"all"`` sends each phase to every replica and uses the
  first answers; ``"quorum"`` sends it only to ``w`` (or ``r``) replicas
  picked at random, as a store does to save messages. A write then
  reaches only its quorum, which is the case the closed form for stale
  reads, ``C(n - w, r) / C(n, r)``, describes.

Requests carry the operation's ``op_id`` and its ``step`` (``query``,
``version``, ``store``, ``repair``, ``async-repair``), so round trips and
message counts can be read from the trace alone. An operation that cannot
gather its quorum within ``timeout`` seconds fails; its effect is
unknown, and a write that failed may still surface later.

The scenarios follow Kleppmann, "Designing Data-Intensive Applications",
chapter 5 (leaderless replication, quorums, read repair, last write wins)
and chapter 9 (linearizability and quorums, the race of figure 9-6).

Limitations: one register per store; no hinted handoff, sloppy quorums
or anti-entropy between replicas (only read repair brings a replica up
to date); a write's value is never rolled back on failure; clients do
not retry. Replicas keep their data on a crash (it is durable); their
clocks play no part, only the clients' clocks do. The crash of
``quorum-down``, the partition of ``quorum-partition`` and the slow links
of ``quorum-race`` are part of those scenarios (set by their parameters),
so an explorer can add faults to them but not heal those.
"""

from dataclasses import dataclass, field

from ..clients import Client
from ..kernel import Node
from ..network import Crash, Exponential, Partition, PerLink, Uniform
from ..params import whole
from ..scenario import Scenario, register

INITIAL_VERSION = (0, "")
REPAIRS = ("none", "async", "sync")
FANOUTS = ("all", "quorum")
SLOW_WRITE = Uniform(0.6, 0.8)
FAR_LINK = Uniform(0.12, 0.18)


def _version(raw):
    """A version from a payload (a JSON list) as a comparable tuple."""
    return (raw[0], raw[1])


# ----- configuration -----


def _check_count(name, value, n=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r} must be a whole number")
    if value < 1:
        what = "replica" if name == "n" else "replica to answer"
        raise ValueError(f"{name}={value} is not allowed: {name} must be at "
                         f"least 1 (one {what})")
    if n is not None and value > n:
        raise ValueError(f"{name}={value} is larger than n={n} replicas: "
                         f"an operation can wait for at most n answers")


def check_quorum(n, w, r):
    """Raise ``ValueError`` unless ``1 <= w, r <= n`` (all whole numbers)."""
    _check_count("n", n)
    _check_count("w", w, n)
    _check_count("r", r, n)


@dataclass(frozen=True)
class QuorumConfig:
    """How the clients run their quorum operations (checked on creation)."""

    n: int = 3
    w: int = 2
    r: int = 2
    repair: str = "none"
    read_before_write: bool = False
    fanout: str = "all"
    timeout: float = 1.0
    skew: dict = field(default_factory=dict)

    def __post_init__(self):
        check_quorum(self.n, self.w, self.r)
        if self.repair not in REPAIRS:
            raise ValueError(f"repair={self.repair!r} is not one of "
                             f"{', '.join(REPAIRS)}")
        if self.fanout not in FANOUTS:
            raise ValueError(f"fanout={self.fanout!r} is not one of "
                             f"{', '.join(FANOUTS)}")
        if not isinstance(self.read_before_write, bool):
            raise ValueError(f"read_before_write={self.read_before_write!r} "
                             "must be True or False")
        if isinstance(self.timeout, bool) or not (
                isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ValueError(f"timeout={self.timeout!r} must be a number of "
                             "seconds > 0")
        _check_skew(self.skew)

    @property
    def replicas(self):
        return [f"n{i}" for i in range(1, self.n + 1)]

    @property
    def overlapping(self):
        """Whether every read quorum meets every write quorum."""
        return self.w + self.r > self.n


def _check_skew(skew):
    if not isinstance(skew, dict):
        raise ValueError(f"skew={skew!r} must map client names to seconds, "
                         "such as {'c1': 0.2}")
    for client, ahead in skew.items():
        if isinstance(ahead, bool) or not isinstance(ahead, (int, float)):
            raise ValueError(f"skew of {client!r} is {ahead!r}: it must be a "
                             "number of seconds (negative for a slow clock)")


@dataclass(frozen=True)
class Step:
    """One operation of a scripted client: ``op`` at time ``at`` or later."""

    op: str
    value: object = None
    at: float = 0.0


# ----- the replica -----


class Replica(Node):
    """Holds a value and its version; keeps the newest version it is sent."""

    def __init__(self, node_id):
        super().__init__(node_id)
        self.durable.version = INITIAL_VERSION
        self.durable.value = None

    def on_start(self):
        self._show()

    def on_fetch(self, msg):
        self.send(msg.src, "fetched", {
            "op_id": msg.payload["op_id"], "step": msg.payload["step"],
            "version": list(self.durable.version), "value": self.durable.value})

    def on_store(self, msg):
        payload = msg.payload
        version = _version(payload["version"])
        if version > self.durable.version:
            self.durable.version = version
            self.durable.value = payload["value"]
            self._show()

        self.send(msg.src, "stored", {"op_id": payload["op_id"],
                                      "step": payload["step"]})

    def _show(self):
        ts = round(self.durable.version[0], 4)
        value = self.durable.value
        holds = "nothing" if value is None else f"{value} @ ts {ts:g}"
        self.record(value=value, ts=ts, holds=holds)


# ----- the client, which coordinates its own operations -----


class QuorumClient(Client):
    """Reads and writes through quorums of replicas, following ``steps``."""

    def __init__(self, client_id, config, steps=None, workload=None):
        super().__init__(client_id, workload or _scripted(steps or []))
        self.config = config

    def clock(self):
        """This client's physical clock: ``now`` plus its skew."""
        return self.now + self.config.skew.get(self.node_id, 0.0)

    def write(self, value):
        """Write ``value`` through a quorum (a generator; yields the op)."""
        cfg = self.config
        op = self.invoke("write", value=value)
        deadline = self.now + cfg.timeout
        if cfg.read_before_write:
            answers = yield from self._ask(op, "version", cfg.r, deadline)
            if answers is None:
                return self._fail(op)
            top = max(_version(a["version"]) for a in answers.values())
            version = [top[0] + 1, self.node_id]
        else:
            version = [self.clock(), self.node_id]

        stored = yield from self._store(op, "store", version, value,
                                        self._targets(cfg.w), cfg.w, deadline)
        if stored is None:
            return self._fail(op)
        self.complete(op)
        return op

    def read(self):
        """Read through a quorum (a generator; yields the op)."""
        cfg = self.config
        op = self.invoke("read")
        deadline = self.now + cfg.timeout
        answers = yield from self._ask(op, "query", cfg.r, deadline)
        if answers is None:
            return self._fail(op)

        newest = max(answers.values(), key=lambda a: _version(a["version"]))
        version, value = newest["version"], newest["value"]
        holders = [src for src, a in answers.items() if a["version"] == version]
        if cfg.repair == "async":
            stale = [src for src in answers if src not in holders]
            self._send_store(op, "async-repair", version, value, stale)
        elif cfg.repair == "sync" and len(holders) < cfg.w:
            others = [n for n in cfg.replicas if n not in holders]
            stored = yield from self._store(op, "repair", version, value, others,
                                            cfg.w - len(holders), deadline)
            if stored is None:
                return self._fail(op)

        self.complete(op, value)
        return op

    # ----- the pieces of a phase -----

    def _targets(self, quorum):
        replicas = self.config.replicas
        if self.config.fanout == "all":
            return replicas
        return sorted(self.rng("fanout").sample(replicas, quorum),
                      key=replicas.index)

    def _ask(self, op, step, count, deadline):
        """Fetch versions from ``count`` replicas; {replica: answer} or None."""
        for dst in self._targets(count):
            self.send(dst, "fetch", {"op_id": op.op_id, "step": step})
        return (yield from self._gather(op, "fetched", step, count, deadline))

    def _store(self, op, step, version, value, targets, count, deadline):
        self._send_store(op, step, version, value, targets)
        return (yield from self._gather(op, "stored", step, count, deadline))

    def _send_store(self, op, step, version, value, targets):
        for dst in targets:
            self.send(dst, "store", {"op_id": op.op_id, "step": step,
                                     "version": version, "value": value})

    def _gather(self, op, mtype, step, count, deadline):
        """Wait for ``count`` answers of this step; None at the deadline."""
        def match(msg):
            return (msg.type == mtype and msg.payload["op_id"] == op.op_id
                    and msg.payload["step"] == step)

        answers = {}
        while len(answers) < count:
            msg = yield self.wait_for(match, deadline - self.now)
            if msg is None:
                return None
            answers[msg.src] = msg.payload
        return answers

    def _fail(self, op):
        self.complete(op, ok=False)
        return op


def _scripted(steps):
    """A workload that runs ``steps`` in order, each no earlier than its time."""
    def workload(client):
        for step in steps:
            if step.at > client.now:
                yield client.sleep(step.at - client.now)
            if step.op == "write":
                yield from client.write(step.value)
            else:
                yield from client.read()
    return workload


def random_workload(ops, think, index):
    """``ops`` random reads and writes with think times up to ``think`` s.

    Written values are unique across clients: client ``index`` writes
    ``100 * index + k`` in its k-th write.
    """
    def workload(client):
        rng = client.rng("workload")
        writes = 0
        for _ in range(ops):
            yield client.sleep(rng.uniform(0, think))
            if rng.random() < 0.5:
                writes += 1
                yield from client.write(100 * index + writes)
            else:
                yield from client.read()
    return workload


# ----- building scenarios -----


def _config(n, w, r, repair, read_before_write, fanout, timeout, skew):
    return QuorumConfig(n=n, w=w, r=r, repair=repair,
                        read_before_write=read_before_write, fanout=fanout,
                        timeout=timeout, skew=dict(skew or {}))


def _add_replicas(sim, config):
    sim.add(*[Replica(name) for name in config.replicas])


def _replica_names(names, config, what):
    names = [names] if isinstance(names, str) else list(names)
    unknown = [x for x in names if x not in config.replicas]
    if unknown:
        raise ValueError(f"{what} names {', '.join(map(str, unknown))}, but the "
                         f"replicas are {', '.join(config.replicas)}")
    return names


def build_plain(sim, scripts, **options):
    """Replicas and scripted clients: ``scripts`` maps client to steps."""
    config = _config(**options)
    _add_replicas(sim, config)
    for client, steps in scripts.items():
        sim.add(QuorumClient(client, config, steps))
    return config


def _build_ok(sim, **options):
    scripts = {"c1": [Step("write", 1, 0.0), Step("write", 2, 0.4)],
               "c2": [Step("read", None, 0.2), Step("read", None, 0.6)]}
    build_plain(sim, scripts, **options)


def _build_race(sim, slow=None, **options):
    """Figure 9-6: the write crawls to the ``slow`` replicas; two readers.

    Reader c2 is near the first ``r`` replicas and reader c3 near the last
    ``r``; their links to the others are slower, so the near replicas
    answer first. c2 reads while the write is in flight and c3 reads after
    c2 has returned.
    """
    config = _config(**options)
    replicas = config.replicas
    slow = replicas[1:] if slow is None else _replica_names(slow, config, "slow")
    links = {("c1", x): SLOW_WRITE for x in slow}
    near = {"c2": replicas[:config.r], "c3": replicas[-config.r:]}
    for reader, close in near.items():
        for x in replicas:
            if x not in close:
                links[(reader, x)] = links[(x, reader)] = FAR_LINK
    sim.latency = PerLink(links, default=sim.latency)
    _add_replicas(sim, config)
    sim.add(QuorumClient("c1", config, [Step("write", 1, 0.0)]),
            QuorumClient("c2", config, [Step("read", None, 0.1)]),
            QuorumClient("c3", config, [Step("read", None, 0.3)]))


def _build_down(sim, down="n3", down_at=0.2, up_at=1.0, **options):
    """A replica crashes between two writes and comes back stale."""
    config = _config(**options)
    (node,) = _replica_names([down], config, "down")
    sim.faults = sim.faults.with_crash(Crash(node, down_at, up_at))
    scripts = {"c1": [Step("write", 1, 0.0), Step("write", 2, 0.3)],
               "c2": [Step("read", None, 0.5), Step("read", None, 1.2)]}
    build_plain(sim, scripts, **options)


def _build_partition(sim, cut_at=0.2, heal_at=1.5, isolated=("n1",), **options):
    """The writer c1 and ``isolated`` replicas are cut off from the rest."""
    config = _config(**options)
    side = _replica_names(isolated, config, "isolated")
    sim.faults = sim.faults.with_cut(
        Partition([["c1", *side]], start=cut_at, heal=heal_at))
    scripts = {"c1": [Step("write", 1, 0.0), Step("write", 2, 0.4),
                      Step("read", None, 1.6)],
               "c2": [Step("read", None, 0.6)]}
    build_plain(sim, scripts, **options)


def _build_skew(sim, **options):
    """c1's clock runs ahead; c2's later write loses to c1's earlier one."""
    scripts = {"c1": [Step("write", 1, 0.0)],
               "c2": [Step("write", 2, 0.1)],
               "c3": [Step("read", None, 0.3)]}
    build_plain(sim, scripts, **options)


def _build_mix(sim, clients=3, ops=6, think=0.1, **options):
    """``clients`` clients run random reads and writes at once."""
    config = _config(**options)
    whole("clients", clients)
    whole("ops", ops)
    _add_replicas(sim, config)
    for i in range(1, clients + 1):
        sim.add(QuorumClient(f"c{i}", config,
                             workload=random_workload(ops, think, i)))


def _build_stale(sim, **options):
    """One write, then a read by the same client as soon as it returns.

    Latency has an exponential tail, so with ``fanout="all"`` a replica
    outside the write quorum is sometimes still waiting for the write
    when the read reaches it.
    """
    build_plain(sim, {"c1": [Step("write", 1, 0.0), Step("read", None, 0.0)]},
                **options)


PROTOCOL = {"n": 3, "w": 2, "r": 2, "repair": "none",
            "read_before_write": False, "fanout": "all", "timeout": 1.0,
            "skew": {}}

LATENCY = Uniform(0.01, 0.03)


def _scenario(name, summary, build, until=5.0, latency=LATENCY, **params):
    return register(Scenario(name=name, summary=summary, build=build,
                             params={**PROTOCOL, **params}, until=until,
                             latency=latency, model="register"))


QUORUM_OK = _scenario(
    "quorum-ok", "w + r > n, no faults: every read sees the latest write",
    _build_ok)
QUORUM_RACE = _scenario(
    "quorum-race", "a slow write; one reader sees it, a later reader does not",
    _build_race, slow=None)
QUORUM_DOWN = _scenario(
    "quorum-down", "a replica crashes and comes back stale; quorums still answer",
    _build_down, down="n3", down_at=0.2, up_at=1.0)
QUORUM_PARTITION = _scenario(
    "quorum-partition", "a partition leaves the writer too few replicas: it fails",
    _build_partition, timeout=0.5, cut_at=0.2, heal_at=1.5, isolated=["n1"])
QUORUM_SKEW = _scenario(
    "quorum-skew", "c1's clock runs ahead; last write wins drops c2's later write",
    _build_skew, skew={"c1": 0.2})
QUORUM_MIX = _scenario(
    "quorum-mix", "clients read and write at random; c1's clock runs 50 ms fast",
    _build_mix, until=30.0, clients=3, ops=8, think=0.1, skew={"c1": 0.05})
QUORUM_STALE = _scenario(
    "quorum-stale", "write to w random replicas, then read r random replicas",
    _build_stale, latency=Exponential(0.02, floor=0.002), n=5, w=1, r=1,
    fanout="quorum")
