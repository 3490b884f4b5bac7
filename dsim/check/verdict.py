"""``check``: is a history linearizable? The answer, with its reasons.

A history is linearizable when its operations can be laid out in one
sequential order that respects real time (an operation that completed
before another was invoked comes first) and the object's rules (Herlihy
and Wing 1990). ``check`` answers with a ``Verdict``: a valid order and
its linearization points, or the furthest any order got and why the
operations after it cannot be placed, or "unknown" when the search ran
out of budget.

A key-value history is checked one key at a time, since linearizability
is local: the whole is linearizable exactly when every key is.

Limitations: without a budget the search is bounded by ``DEFAULT_STEPS``
steps (up to some twenty seconds of work); pass ``max_steps`` or
``max_seconds`` for another bound. A time bound makes the verdict depend
on the machine; a step bound does not.
"""

import math
from dataclasses import dataclass, field

from .explain import Replay, label, points, seconds
from .history import as_history, parse
from .models import Model
from .search import Budget, search

DEFAULT_STEPS = 1_000_000
RESULTS = ("linearizable", "not linearizable", "unknown")


@dataclass(frozen=True)
class Verdict:
    """The checker's answer on one history.

    - ``result``: ``"linearizable"``, ``"not linearizable"`` or ``"unknown"``;
    - ``order``: op indices, a valid linearization, or the longest valid
      prefix the search built;
    - ``points``: op index -> the time chosen as its linearization point;
    - ``stuck``: the ops that must come after ``order`` and cannot;
    - ``reasons``: op index -> why it cannot (for each of ``stuck``);
    - ``cited``: other ops the reasons point at (for highlighting);
    - ``key``: for a kv history, the key that failed (or ran out of budget);
    - ``steps``: search steps used.
    """

    result: str
    explanation: str
    order: list = field(default_factory=list)
    points: dict = field(default_factory=dict)
    stuck: list = field(default_factory=list)
    reasons: dict = field(default_factory=dict)
    cited: list = field(default_factory=list)
    key: object = None
    steps: int = 0
    model: str = "register"

    @property
    def ok(self):
        """True, False, or None when the verdict is unknown."""
        return {"linearizable": True, "not linearizable": False}.get(self.result)

    def __str__(self):
        return f"{self.result}\n{self.explanation}"


def check(history, max_steps=None, max_seconds=None):
    """Check a history for linearizability; returns a ``Verdict``.

    ``history`` may be:

    - a history dict (``model``, ``initial``, ``operations``);
    - the path of a history JSON file;
    - a dsim ``Run`` whose scenario names its model.
    """
    for name, bound in (("max_steps", max_steps), ("max_seconds", max_seconds)):
        if bound is not None and not (isinstance(bound, (int, float))
                                      and not isinstance(bound, bool) and bound > 0):
            raise ValueError(f"{name}={bound!r} must be a number > 0 (or None)")
    if max_steps is None and max_seconds is None:
        max_steps = DEFAULT_STEPS
    model_name, initial, ops = parse(as_history(history))
    model = Model(model_name, initial)
    budget = Budget(max_steps, max_seconds)
    groups = _groups(model_name, ops)
    found = {}
    for key, sub in groups.items():
        found[key] = search(sub, model.start(key), budget)
        if found[key].ok is False:
            return _refuted(model, key, sub, found[key], ops, budget)
    unknown = [key for key, outcome in found.items() if outcome.ok is None]
    if unknown:
        return _unknown(model, unknown[0], found[unknown[0]], budget)
    return _linearizable(model, found, ops, budget)


def _groups(model_name, ops):
    if model_name == "register":
        return {None: ops}
    groups = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    return dict(sorted(groups.items()))


def _refuted(model, key, sub, outcome, ops, budget):
    replay = Replay(model, key, sub, outcome.order, ops)
    stuck = replay.stuck()
    horizon = replay.next_ops()[1]
    cited = sorted({i for s in stuck for i in s.cited})
    lines = []
    if key is not None:
        lines.append(f"Key {key!r} fails on its own (keys are checked one at a time).")
    lines.append(_prefix_words(model, key, outcome, ops, horizon))
    lines += [f"- {s.reason}" for s in stuck]
    return Verdict("not linearizable", "\n".join(lines), outcome.order,
                   points(outcome.order, ops, horizon), [s.op for s in stuck],
                   {s.op: s.reason for s in stuck}, cited, key,
                   budget.steps, model.name)


def _prefix_words(model, key, outcome, ops, horizon):
    noun = model.noun(key)
    if not outcome.order:
        return (f"No order can even begin: every operation that may come first "
                f"contradicts the starting value of {noun}.")
    shown = _listing(model, outcome.order, ops, horizon)
    return (f"The longest valid order the search could build places "
            f"{outcome.placed} of the {outcome.total} completed operations on "
            f"{noun}:\n{shown}\nNo order gets further:")


def _listing(model, order, ops, cap=math.inf, limit=12):
    marks = points(order, ops, cap)
    head = order if len(order) <= limit else order[-limit:]
    lines = [f"  {label(model, ops[i])}  at {seconds(marks[i])}" for i in head]
    if len(order) > limit:
        lines.insert(0, f"  ... {len(order) - limit} earlier operations, then")
    return "\n".join(lines)


def _unknown(model, key, outcome, budget):
    where = "" if key is None else f" on key {key!r}"
    text = (f"The search stopped at its budget ({budget.describe()}) after "
            f"{budget.steps} steps, having placed {outcome.placed} of the "
            f"{outcome.total} completed operations{where} in a valid order. "
            "Raise the budget or check a shorter history for a verdict.")
    return Verdict("unknown", text, outcome.order, {}, key=key,
                   steps=budget.steps, model=model.name)


def _linearizable(model, found, ops, budget):
    chosen = {}
    for outcome in found.values():
        chosen.update(points(outcome.order, ops))
    rank = {i: k for outcome in found.values() for k, i in enumerate(outcome.order)}
    order = sorted(chosen, key=lambda i: (chosen[i], rank[i], i))
    if order:
        text = ("Every completed operation fits one order that respects real "
                "time, with these linearization points:\n"
                + _listing(model, order, ops))
    else:
        text = "There is nothing to order: no operation completed."
    return Verdict("linearizable", text, order, chosen, steps=budget.steps,
                   model=model.name)
