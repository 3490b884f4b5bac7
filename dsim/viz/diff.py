"""What changed between two runs of one scenario: events new, gone, moved.

Two runs are compared event by event, matched by identity rather than
by position: a message's send, delivery or loss by its id together with
what the message was (type, destination, payload), so a reused id that
now carries a different message counts as a different event; any other
event by its lifeline, its content and how many times that same event
had happened there before (the second ``timer election`` of n3). An
event of the second run with no match in the first is new; one of the
first with no match in the second is gone; a matched pair at different
times has moved.

Because the kernel keys every random draw by what it is for, dropping
one message leaves everything that does not causally follow it in
place, so the diff of a drop is exactly its consequence::

    before = scenario("ping-pong").run(seed=1)
    after = scenario("ping-pong").run(seed=1, faults=Faults(drop=["n1:2"]))
    diff_runs(before, after).summary()
    # '1 new, 6 gone, 0 moved. New: drop n1:2 ping n1→n2 (manual). ...'

Limitations: matching is by identity, not by cause; two runs that reach
the same state by different paths show those states as matched.
"""

import json
from collections import Counter
from dataclasses import dataclass

from .scene import as_trace

MOVED_BY = 1e-9  # seconds; closer than this is the same time


@dataclass(frozen=True)
class Change:
    """One event that differs: its description and where it is in each run.

    ``before`` and ``after`` are event indices into the first and second
    trace (None where the event is absent), ``t_before`` and ``t_after``
    its times.
    """

    what: str
    kind: str
    before: int = None
    after: int = None
    t_before: float = None
    t_after: float = None


@dataclass(frozen=True)
class RunDiff:
    """The changes from run ``a`` to run ``b``."""

    new: tuple
    gone: tuple
    moved: tuple

    @property
    def same(self):
        return not (self.new or self.gone or self.moved)

    def summary(self, shown=3):
        """A short sentence: counts, then the first few of each list."""
        if self.same:
            return "No change: the two runs are identical."
        parts = [f"{len(self.new)} new, {len(self.gone)} gone, "
                 f"{len(self.moved)} moved."]
        for name, changes in (("New", self.new), ("Gone", self.gone),
                              ("Moved", self.moved)):
            if changes:
                listed = "; ".join(c.what for c in changes[:shown])
                more = len(changes) - shown
                parts.append(f"{name}: {listed}" + (f" (+{more} more)." if more > 0
                                                    else "."))
        return " ".join(parts)

    def indices(self, side):
        """Event indices of ``side`` ("new", "gone", "moved") in their trace."""
        if side == "gone":
            return {c.before for c in self.gone}
        if side == "new":
            return {c.after for c in self.new}
        if side == "moved":
            return {c.after for c in self.moved}
        raise ValueError(f"side={side!r}: the sides are new, gone and moved")


def diff_runs(a, b):
    """The ``RunDiff`` from run (or trace) ``a`` to run (or trace) ``b``."""
    ea, eb = as_trace(a).events, as_trace(b).events
    common = _common_prefix(ea, eb)
    seen = _prefix_counts(ea, common)
    reused = _reused_ids(ea, eb, common)
    before = dict(_identities(ea, common, seen.copy(), reused, "before"))
    after = dict(_identities(eb, common, seen, reused, "after"))
    new, gone, moved = [], [], []
    for key, j in after.items():
        e = eb[j]
        if key not in before:
            new.append(Change(describe(e), e["kind"], None, j, None, e["t"]))
        else:
            i = before[key]
            if abs(ea[i]["t"] - e["t"]) > MOVED_BY:
                moved.append(Change(describe(e), e["kind"], i, j, ea[i]["t"], e["t"]))
    for key, i in before.items():
        if key not in after:
            e = ea[i]
            gone.append(Change(describe(e), e["kind"], i, None, e["t"], None))
    return RunDiff(tuple(new), tuple(gone), tuple(moved))


def _reused_ids(ea, eb, start):
    """Message ids that name a different message in each run."""
    sends_a = {e["id"]: e for e in ea[start:] if e["kind"] == "send"}
    reused = set()
    for e in eb[start:]:
        if e["kind"] == "send" and e["id"] in sends_a:
            other = sends_a[e["id"]]
            if (other["type"], other["dst"], other["payload"]) != (
                    e["type"], e["dst"], e["payload"]):
                reused.add(e["id"])
    return reused


def _common_prefix(ea, eb):
    """How many leading events the two runs share (they match themselves)."""
    n = min(len(ea), len(eb))
    i = 0
    while i < n and ea[i] == eb[i]:
        i += 1
    return i


def _prefix_counts(events, stop):
    """How often each non-message event occurred in ``events[:stop]``."""
    seen = Counter()
    for e in events[:stop]:
        if e["kind"] not in ("send", "deliver", "drop", "start", "end"):
            seen[_base(e)] += 1
    return seen


def _identities(events, start, seen, reused, side):
    """(identity, index) for each event from ``start`` on, but start and end.

    A message event is known by its message id, and an id that names a
    different message in the other run (``reused``) matches nothing; any
    other event is known by its content and how many times the same
    event happened before it.
    """
    for index in range(start, len(events)):
        e = events[index]
        kind = e["kind"]
        if kind in ("start", "end"):
            continue
        if kind in ("send", "deliver", "drop"):
            mid = e["id"]
            yield (kind, mid, e.get("reason"), mid in reused and side), index
            continue
        base = _base(e)
        seen[base] += 1
        yield base + (seen[base],), index


def _base(e):
    kind = e["kind"]
    if kind == "timer":
        return (kind, e["node"], e["name"])
    if kind == "state":
        return (kind, e["node"], repr(e["fields"]))
    # repr, not JSON: one protocol writes its fields in one order, and
    # repr is several times faster on a busy run
    return (kind, repr([(k, v) for k, v in e.items() if k != "t"]))


def describe(e):
    """An event in a few words: ``deliver n1:2 ping n1→n2``, ``crash n2``."""
    kind = e["kind"]
    if kind in ("send", "deliver", "drop"):
        text = f"{kind} {e['id']} {e.get('type', '')} {e['src']}→{e['dst']}"
        if kind == "send" and e.get("payload") is not None:
            shown = _json(e["payload"])
            text += " " + (shown if len(shown) <= 32 else shown[:31] + "…")
        return text + (f" ({e['reason']})" if kind == "drop" else "")
    if kind == "state":
        fields = ", ".join(f"{k}={_json(v)}" for k, v in e["fields"].items())
        return f"state {e['node']} {fields}"
    if kind == "timer":
        return f"timer {e['node']} {e['name']}"
    if kind in ("invoke", "complete"):
        result = ""
        if kind == "complete":
            outcome = _json(e.get("result")) if e.get("ok", True) else "?"
            result = f" → {outcome}"
        return f"{kind} {e['op_id']} {e['op']}{result}"
    if kind in ("crash", "recover"):
        return f"{kind} {e['node']}"
    rest = {k: v for k, v in e.items() if k not in ("t", "kind")}
    return f"{kind} {_json(rest)}"


def _json(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
