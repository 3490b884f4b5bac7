"""The network and its faults: latency models, cuts, crashes, drops.

A run's faults are fixed before it starts, in a ``Faults`` plan: which
messages to drop, at what rate, which links are cut and when, which
nodes crash and recover. The explorer never reaches into a running
simulation; it edits the plan and runs the scenario again.

Message loss follows one rule for every kind of cut: a message is lost
when its link is cut at any moment of its flight, and the trace records
the loss at the moment the cut caught it. A message dropped on purpose
(by id, by a rule or by the drop rate) is lost half-way along its
flight, so the diagram can draw it up to the point where it vanished.

Latency models draw from a number ``u`` in [0, 1) that the kernel takes
from the sender's own latency stream, so the k-th message of a node
always gets the same delay for the same seed.
"""

import math
from dataclasses import dataclass, field, replace

DROP_REASONS = ("rule", "rate", "partition", "crashed", "manual")


def _check_delay(value, what):
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{what}={value!r} is not a number of seconds")
    if value < 0 or math.isnan(value) or math.isinf(value):
        raise ValueError(f"{what}={value!r} is not allowed: a delay must be "
                         "a finite number of seconds >= 0")
    return float(value)


@dataclass(frozen=True)
class Constant:
    """Every message takes exactly ``delay`` seconds."""

    delay: float

    def __post_init__(self):
        object.__setattr__(self, "delay", _check_delay(self.delay, "delay"))

    def sample(self, src, dst, u):
        return self.delay


@dataclass(frozen=True)
class Uniform:
    """Delays drawn uniformly from [low, high] seconds."""

    low: float
    high: float

    def __post_init__(self):
        low = _check_delay(self.low, "low")
        high = _check_delay(self.high, "high")
        if high < low:
            raise ValueError(f"high={high!r} is below low={low!r}: "
                             "a uniform latency needs low <= high")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def sample(self, src, dst, u):
        return self.low + (self.high - self.low) * u


@dataclass(frozen=True)
class Exponential:
    """Delays of ``floor`` plus an exponential tail with the given mean."""

    mean: float
    floor: float = 0.0

    def __post_init__(self):
        mean = _check_delay(self.mean, "mean")
        if mean == 0:
            raise ValueError("mean=0 is not allowed: an exponential latency "
                             "needs a mean > 0 (use Constant for none)")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "floor", _check_delay(self.floor, "floor"))

    def sample(self, src, dst, u):
        return self.floor - self.mean * math.log1p(-u)


@dataclass(frozen=True)
class PerLink:
    """A latency model per directed link, and a default for the rest.

    ``links`` maps ``(src, dst)`` pairs to models, for example
    ``PerLink({("n1", "n3"): Constant(0.2)}, default=Uniform(0.01, 0.02))``
    makes only the link from n1 to n3 slow.
    """

    links: dict
    default: object = field(default_factory=lambda: Uniform(0.01, 0.03))

    def __post_init__(self):
        for key, model in self.links.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"link {key!r} is not a (src, dst) pair")
            if not hasattr(model, "sample"):
                raise ValueError(f"link {key!r} has no latency model: {model!r}")

    def sample(self, src, dst, u):
        model = self.links.get((src, dst), self.default)
        return model.sample(src, dst, u)

    def node_ids(self):
        return {name for pair in self.links for name in pair}


def _check_window(start, heal, what):
    start = _check_delay(start, f"{what} start")
    if heal is not None:
        heal = _check_delay(heal, f"{what} heal")
        if heal <= start:
            raise ValueError(f"{what} heals at {heal!r} s, not after it starts "
                             f"at {start!r} s: heal must be later than start")
    return start, heal


class _Window:
    """A cut that is active from ``start`` until ``heal`` (or forever)."""

    def loss_time(self, src, dst, sent, arrives):
        """When a message in flight over [sent, arrives] is lost, or None."""
        if not self.cuts(src, dst):
            return None
        if self.start > arrives:
            return None
        if self.heal is not None and self.heal <= sent:
            return None
        return max(sent, self.start)


@dataclass(frozen=True)
class Partition(_Window):
    """The nodes split into groups that cannot reach each other.

    Nodes named in no group form one more group together, so
    ``Partition([["n1"]])`` isolates n1 from everyone else.
    """

    groups: tuple
    start: float = 0.0
    heal: float = None

    def __post_init__(self):
        groups = tuple(tuple(g) for g in self.groups)
        if not groups or any(not g for g in groups):
            raise ValueError(f"partition groups {self.groups!r} must be "
                             "non-empty lists of node names")
        seen = set()
        for name in (n for g in groups for n in g):
            if name in seen:
                raise ValueError(f"node {name!r} is in two partition groups")
            seen.add(name)
        object.__setattr__(self, "groups", groups)
        start, heal = _check_window(self.start, self.heal, "partition")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "heal", heal)

    def side(self, node_id):
        for index, group in enumerate(self.groups):
            if node_id in group:
                return index
        return len(self.groups)

    def cuts(self, src, dst):
        return self.side(src) != self.side(dst)

    def node_ids(self):
        return {n for g in self.groups for n in g}

    def describe(self):
        return {"groups": [list(g) for g in self.groups]}


@dataclass(frozen=True)
class OneWay(_Window):
    """Messages from ``src`` to ``dst`` are lost; the reverse direction works."""

    src: str
    dst: str
    start: float = 0.0
    heal: float = None

    def __post_init__(self):
        if self.src == self.dst:
            raise ValueError(f"one-way cut from {self.src!r} to itself")
        start, heal = _check_window(self.start, self.heal, "one-way cut")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "heal", heal)

    def cuts(self, src, dst):
        return src == self.src and dst == self.dst

    def node_ids(self):
        return {self.src, self.dst}

    def describe(self):
        return {"src": self.src, "dst": self.dst, "oneway": True}


@dataclass(frozen=True)
class Cut(_Window):
    """The link between ``a`` and ``b`` is cut in both directions."""

    a: str
    b: str
    start: float = 0.0
    heal: float = None

    def __post_init__(self):
        if self.a == self.b:
            raise ValueError(f"cut between {self.a!r} and itself")
        start, heal = _check_window(self.start, self.heal, "cut")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "heal", heal)

    def cuts(self, src, dst):
        return {src, dst} == {self.a, self.b}

    def node_ids(self):
        return {self.a, self.b}

    def describe(self):
        return {"src": self.a, "dst": self.b, "oneway": False}


@dataclass(frozen=True)
class Crash:
    """``node`` crashes at time ``at`` and, if ``recover`` is set, restarts."""

    node: str
    at: float
    recover: float = None

    def __post_init__(self):
        at, recover = _check_window(self.at, self.recover, f"crash of {self.node}")
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "recover", recover)


def _check_rate(rate):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise ValueError(f"drop rate {rate!r} is not a number")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"drop rate {rate!r} is outside [0, 1]: "
                         "it is the chance that each message is lost")
    return float(rate)


@dataclass(frozen=True)
class Faults:
    """Everything that goes wrong in one run, fixed before it starts.

    - ``drop``: message ids to lose, such as ``"n2:7"`` (reason ``manual``);
    - ``drop_if``: predicates on a message; true means lose it (``rule``);
    - ``drop_rate``: the chance that any message is lost (``rate``);
    - ``cuts``: ``Partition``, ``OneWay`` and ``Cut`` windows (``partition``);
    - ``crashes``: ``Crash`` entries; messages to a crashed node are lost
      (``crashed``).
    """

    drop: tuple = ()
    drop_if: tuple = ()
    drop_rate: float = 0.0
    cuts: tuple = ()
    crashes: tuple = ()

    def __post_init__(self):
        drop = (self.drop,) if isinstance(self.drop, str) else tuple(self.drop)
        for mid in drop:
            _check_message_id(mid)
        object.__setattr__(self, "drop", tuple(dict.fromkeys(drop)))
        drop_if = tuple(self.drop_if) if not callable(self.drop_if) else (self.drop_if,)
        for rule in drop_if:
            if not callable(rule):
                raise ValueError(f"drop rule {rule!r} is not a function of a message")
        object.__setattr__(self, "drop_if", drop_if)
        object.__setattr__(self, "drop_rate", _check_rate(self.drop_rate))
        cuts = tuple(self.cuts)
        for cut in cuts:
            if not isinstance(cut, (Partition, OneWay, Cut)):
                raise ValueError(f"{cut!r} is not a Partition, OneWay or Cut")
        object.__setattr__(self, "cuts", cuts)
        crashes = tuple(self.crashes)
        for crash in crashes:
            if not isinstance(crash, Crash):
                raise ValueError(f"{crash!r} is not a Crash")
        object.__setattr__(self, "crashes", crashes)

    @property
    def empty(self):
        return not (self.drop or self.drop_if or self.drop_rate
                    or self.cuts or self.crashes)

    def node_ids(self):
        """Every node name the plan mentions."""
        names = {c.node for c in self.crashes}
        for cut in self.cuts:
            names |= cut.node_ids()
        names |= {mid.rsplit(":", 1)[0] for mid in self.drop}
        return names

    def with_drop(self, message_id):
        return replace(self, drop=self.drop + (message_id,))

    def without_drop(self, message_id):
        return replace(self, drop=tuple(m for m in self.drop if m != message_id))

    def with_cut(self, cut):
        return replace(self, cuts=self.cuts + (cut,))

    def without_cut(self, cut):
        return replace(self, cuts=tuple(c for c in self.cuts if c != cut))

    def with_crash(self, crash):
        return replace(self, crashes=self.crashes + (crash,))

    def without_crash(self, crash):
        return replace(self, crashes=tuple(c for c in self.crashes if c != crash))

    def with_rate(self, rate):
        return replace(self, drop_rate=rate)

    def as_code(self):
        """Python source that rebuilds this plan (drop rules excepted)."""
        parts = []
        if self.drop:
            parts.append(f"drop={list(self.drop)!r}")
        if self.drop_rate:
            parts.append(f"drop_rate={self.drop_rate!r}")
        if self.cuts:
            parts.append(f"cuts=[{', '.join(map(_cut_code, self.cuts))}]")
        if self.crashes:
            parts.append(f"crashes=[{', '.join(map(repr, self.crashes))}]")
        if self.drop_if:
            rules = len(self.drop_if)
            parts.append(f"drop_if=[...]  # {rules} rule(s) written as code")
        return f"Faults({', '.join(parts)})"


def _cut_code(cut):
    if isinstance(cut, Partition):
        groups = [list(g) for g in cut.groups]
        return f"Partition({groups!r}, start={cut.start!r}, heal={cut.heal!r})"
    return repr(cut)


def _check_message_id(mid):
    node, sep, count = str(mid).rpartition(":")
    if not (isinstance(mid, str) and sep and node and count.isdigit()):
        raise ValueError(f"message id {mid!r} is not of the form SENDER:N, "
                         "for example 'n2:7' (the 7th message n2 sent)")
