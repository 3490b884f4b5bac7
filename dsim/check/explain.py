"""Verdicts in words: why an order works, or where every order breaks.

When a history is not linearizable, the search's longest valid prefix is
the best story there is: everything up to it can be explained, and the
operations that must come next cannot. For each of those, this module
says what it returned, what the object held at that point of the order,
what forced that (an operation that had already completed before this
one began), and what happened to every operation that could have made
its result true::

    #4 c2 read -> 1 (1.7 to 2 s) returned 1, but the register held 2 by
    then: #3 c3 read -> 2 had already returned 2 at 1.65 s, before #4
    began at 1.7 s. No write of 1 comes between: #0 c1 write 1 took
    effect before #1 c1 write 2 overwrote it.

Linearization points are chosen inside each operation's interval and in
the order found: as early as the operations before it allow, as late as
the ones after it allow, and midway between.

Limitations: the prefix is one of possibly many that go equally far, so
the story is one explanation of the failure, not the only one.
"""

import math
from dataclasses import dataclass, field

from .models import CAS, CODES, FAIL, READ, WRITE, effect, freeze, show, step


OTHER = object()
"""What a failed cas needed the value to be: anything but its expected one."""


@dataclass(frozen=True)
class Stuck:
    """One operation that could not be placed after the prefix, and why."""

    op: int
    reason: str
    cited: list = field(default_factory=list)


def points(order, ops, cap=math.inf):
    """A linearization point for each op of ``order`` (op index -> time).

    ``cap`` bounds them all: for a prefix, the earliest completion among
    the operations that must still come after it.
    """
    early, e = [], -math.inf
    for i in order:
        e = max(e, ops[i].invoke)
        early.append(e)
    late, l_ = [0.0] * len(order), cap
    for k in range(len(order) - 1, -1, -1):
        done = ops[order[k]].complete
        l_ = min(l_, math.inf if done is None else done)
        late[k] = l_
    chosen, previous = {}, -math.inf
    for k, i in enumerate(order):
        lo, hi = early[k], late[k]
        t = lo if hi == math.inf else (lo + hi) / 2
        previous = max(previous, t)
        chosen[i] = previous
    return chosen


def seconds(t):
    return f"{t:.4g} s"


def label(model, op):
    return f"#{op.index} {model.describe(op)}"


class Replay:
    """The state of one sub-history after its prefix, and who set it."""

    def __init__(self, model, key, sub_ops, prefix, ops):
        self.model, self.key, self.ops = model, key, ops
        self.sub = sub_ops
        self.prefix = list(prefix)
        self.position = {i: k for k, i in enumerate(self.prefix)}
        self.state = model.start(key)
        self.setter = None
        self.seen = [self.state]
        for i in self.prefix:
            self._apply(ops[i])
            self.seen.append(self.state)

    def _apply(self, op):
        code, arg = CODES[op.op], freeze(op.value)
        if op.known:
            new = step(self.state, code, arg, freeze(op.result))
        else:
            new = effect(self.state, code, arg)
        if code != READ and new is not FAIL and (new != self.state or code == WRITE):
            self.setter = op
        self.state = new

    def next_ops(self):
        """The completed ops that must come next, and the horizon."""
        waiting = [op for op in self.sub
                   if op.known and op.index not in self.position]
        horizon = min((op.complete for op in waiting), default=math.inf)
        return [op for op in waiting if op.invoke <= horizon], horizon

    def stuck(self):
        """A ``Stuck`` for each op that must come next and cannot."""
        ready, horizon = self.next_ops()
        found = []
        for op in sorted(ready, key=lambda op: op.complete):
            code = CODES[op.op]
            if step(self.state, code, freeze(op.value), freeze(op.result)) is FAIL:
                found.append(self._why(op, horizon))
        return found

    # ----- the words -----

    def _why(self, op, horizon):
        noun, held = self.model.noun(self.key), show(self.state)
        if op.op in ("read", "get"):
            want = freeze(op.result)
            head = f"returned {show(want)}, but {noun} held {held} by then"
        elif op.result:
            want = freeze(op.value[0])
            head = (f"succeeded, so {noun} must have held {show(want)}, "
                    f"but it held {held} by then")
        else:
            want = OTHER
            head = (f"failed, so {noun} must have held something other than "
                    f"{held}, but it held {held} by then")
        cited = []
        sentences = [f"{label(self.model, op)} ({seconds(op.invoke)} to "
                     f"{seconds(op.complete)}) {head}"
                     + self._forced(op, want, cited)]
        if want is not OTHER:
            sentences.append(self._writers(op, want, horizon, cited))
        else:
            sentences.append("No write of another value comes between.")
        return Stuck(op.index, " ".join(sentences), cited)

    def _forced(self, op, want, cited):
        """Why ``op`` must come after the op that set the current state."""
        start = self.position.get(self.setter.index, -1) if self.setter else -1
        for i in reversed(self.prefix[start:] if start >= 0 else self.prefix):
            before = self.ops[i]
            if before.known and before.complete < op.invoke:
                cited.append(i)
                verb = ("had already returned " + show(freeze(before.result))
                        if before.op in ("read", "get") else "had already completed")
                return (f": {label(self.model, before)} {verb} at "
                        f"{seconds(before.complete)}, before #{op.index} began at "
                        f"{seconds(op.invoke)}.")
        if want is OTHER:
            return "; placing it earlier breaks another operation instead."
        if want not in self.seen:
            return (f", and it never held {show(want)} earlier in this order.")
        return (f"; it held {show(want)} earlier in this order, but placing "
                f"#{op.index} there breaks another operation instead.")

    def _writers(self, op, want, horizon, cited):
        makers = [w for w in self.sub if w.index != op.index and _makes(w, want)]
        start = freeze(self.model.start(self.key))
        if not makers:
            if want == start and self.setter is not None:
                return (f"{show(want)} was the starting value, and no write "
                        f"brings it back after #{self.setter.index} replaced it.")
            return f"No operation ever writes {show(want)}."
        parts = [self._fate(w, op, horizon, cited) for w in makers[:4]]
        more = f" (and {len(makers) - 4} more)" if len(makers) > 4 else ""
        what = (f"write of {show(want)}" if self.model.name == "register"
                else f"operation that could make {show(want)}")
        return f"No {what} comes between: " + "; ".join(parts) + more + "."

    def _fate(self, w, op, horizon, cited):
        cited.append(w.index)
        name = label(self.model, w)
        if w.index in self.position:
            setter = self.setter
            if setter is not None and setter.index != w.index:
                verb = "changed" if setter.op == "append" else "overwrote"
                return f"{name} took effect before #{setter.index} {verb} it"
            return f"{name} took effect earlier in the order"
        if w.invoke > op.complete:
            return (f"{name} began only at {seconds(w.invoke)}, after "
                    f"#{op.index} returned")
        if w.invoke > horizon:
            return (f"{name} began at {seconds(w.invoke)}, after operations "
                    "that must come first had completed")
        if w.known and CODES[w.op] == CAS:
            noun = self.model.noun(self.key)
            return (f"{name} cannot take effect here either, as {noun} held "
                    f"{show(self.state)}")
        return (f"{name} could not be placed before it without breaking "
                "another operation")


def _makes(w, want):
    """Whether op ``w`` can leave the value ``want`` behind."""
    code = CODES[w.op]
    if code == WRITE:
        return freeze(w.value) == want
    if code == CAS:
        return freeze(w.value[1]) == want and w.result is not False
    if code == READ:
        return False
    return isinstance(want, str) and w.value != "" and want.endswith(w.value)
