"""The search for a linearization, in the style of Wing and Gong.

Wing and Gong (1993) look for a sequential order of the operations that
respects real time and the object's rules by depth-first search: place
one operation, advance the model, recurse, undo on failure. Lowe (2017)
made it practical by remembering every configuration already explored,
as the pair (set of operations placed, model state): reaching the same
pair again by another path cannot succeed where the first failed. Here
the set is a Python int used as a bit set and the state a hashable value.

Which operation may come next? Operation B must follow A when A completed
before B was invoked (``A.complete < B.invoke``; equal times count as
concurrent). So an operation can be placed next exactly when no unplaced
completed operation finished before it started: its invoke is at most
the earliest completion among the unplaced ones, the *horizon*::

    c1  |--write 1--|
    c2        |--read 1--|        horizon = 1.0 (write 1 completes)
    c3                  |--read 2--|   invoked at 1.8 > 1.0: not yet

Operations with unknown outcome (``complete: null``) have no deadline:
they may take effect at any point after their invoke, or never. The
search only ever needs the completed ones to be placed; a read with
unknown outcome is left out altogether. These rules keep the unknown
ones from multiplying the search, each because what it skips is never
better than something it keeps:

- unknown operations that are alike (same kind, same arguments) are
  interchangeable once invoked, so only the earliest unplaced one of each
  kind is tried, and the ones placed are always the earliest of their
  kind;
- an unknown operation that would not change the state is never placed;
- after an unknown operation takes effect, a completed operation must
  observe the state (read, get, cas) before anything overwrites it, else
  the unknown operation was pointless; so no overwrite may come next, and
  the state must be one such an observer could still see;
- the memo keeps, per (completed operations placed, state), the sets of
  unknown operations placed with them; having placed fewer of them is
  never worse, so a configuration whose set contains a remembered one
  is not explored again.

The search runs on an explicit stack (histories of thousands of
operations are deeper than Python's recursion limit) and counts its
steps against a ``Budget``; when the budget runs out the answer is
unknown, with the furthest it got.

Limitations: the search is exponential in the worst case, as the problem
is NP-complete (Gibbons and Korach 1997). A history that is linearizable
is usually settled fast, because the first orders tried tend to work; a
long history that is not must have every order ruled out up to where it
breaks, and with many operations of unknown outcome before that point
(each may or may not have taken effect) this can exceed the budget, and
the answer is then unknown.
"""

import math
import time
from dataclasses import dataclass

from .models import APPEND, CAS, CODES, FAIL, READ, WRITE, effect, freeze, step


def _covered(seen, key, unknown):
    """Whether a configuration at least as good as this one was explored.

    ``seen`` maps (completed ops placed, state) to the sets of unknown ops
    placed with them. Having placed fewer unknown ops is never worse, so a
    configuration is covered by any seen one whose unknown set is a subset
    of its own. Otherwise it is recorded, replacing the ones it covers.
    """
    known = seen.get(key)
    if known is None:
        seen[key] = [unknown]
        return False
    for other in known:
        if other & ~unknown == 0:
            return True
    known[:] = [other for other in known if unknown & ~other]
    known.append(unknown)
    return False


class Budget:
    """Steps and seconds a check may spend, shared by its sub-histories."""

    def __init__(self, max_steps=None, max_seconds=None):
        self.max_steps = math.inf if max_steps is None else max_steps
        self.max_seconds = max_seconds
        self.deadline = (None if max_seconds is None
                         else time.perf_counter() + max_seconds)
        self.steps = 0

    def spend(self, steps):
        """Add ``steps``; False once the budget is exhausted."""
        self.steps += steps
        if self.steps >= self.max_steps:
            return False
        return self.deadline is None or time.perf_counter() < self.deadline

    def describe(self):
        parts = []
        if self.max_steps != math.inf:
            parts.append(f"max_steps={self.max_steps}")
        if self.max_seconds is not None:
            parts.append(f"max_seconds={self.max_seconds}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Outcome:
    """What the search found on one sub-history.

    ``ok`` is True, False or None (budget exhausted); ``order`` holds op
    indices: the whole linearization when ok, else the longest valid
    prefix found (the one that placed the most completed operations).
    """

    ok: object
    order: list
    steps: int
    placed: int
    total: int


class _Problem:
    """A sub-history laid out in arrays for the search's inner loop."""

    def __init__(self, ops):
        done = sorted((op for op in ops if op.known),
                      key=lambda op: (op.invoke, op.index))
        self.ops = done
        self.invoke = [op.invoke for op in done]
        self.complete = [op.complete for op in done]
        self.middle = [(op.invoke + op.complete) / 2 for op in done]
        self.strings = any(op.op in ("get", "put", "append") for op in ops)
        self.code = [CODES[op.op] for op in done]
        self.arg = [freeze(op.value) for op in done]
        self.result = [freeze(op.result) for op in done]
        self._classes([op for op in ops if not op.known
                       and CODES[op.op] != READ])

    def _classes(self, unknown):
        by_kind = {}
        for op in sorted(unknown, key=lambda op: (op.invoke, op.index)):
            by_kind.setdefault((CODES[op.op], freeze(op.value)), []).append(op)
        self.classes = list(by_kind.values())
        self.class_code = [code for code, _ in by_kind]
        self.class_arg = [arg for _, arg in by_kind]
        self.class_invoke = [[op.invoke for op in c] for c in self.classes]
        self.class_bit = []
        bit = 0
        for members in self.classes:
            self.class_bit.append(bit)
            bit += len(members)


def search(ops, initial, budget):
    """Find a linearization of ``ops`` from the frozen state ``initial``."""
    left = budget.max_steps - budget.steps
    every = int(max(1, min(1024, left)))
    return _Search(_Problem(ops), initial, budget, every).run()


class _Search:
    def __init__(self, problem, initial, budget, every):
        self.p = problem
        self.initial = initial
        self.budget = budget
        self.every = every
        self.placed = bytearray(len(problem.ops))
        self.counts = [0] * len(problem.classes)
        self.best = []
        self.best_placed = -1

    def run(self):
        p = self.p
        total = len(p.ops)
        # a frame: [completed ops placed (bits), state, first unplaced,
        #           placed count, moves, next move, the move that entered it,
        #           whether an unknown op took effect since the state was
        #           last observed, unknown ops placed (bits)]
        stack = [self._frame(0, self.initial, 0, 0, None, False, 0)]
        seen = {}
        steps = 0
        if not self.budget.spend(0):
            return self._done(None, stack, steps, total)
        while stack:
            frame = stack[-1]
            if frame[3] == total:
                return self._done(True, stack, steps, total)
            moves, i = frame[4], frame[5]
            if i == len(moves):
                stack.pop()
                self._undo(frame[6])
                continue
            frame[5] = i + 1
            child = self._try(frame, moves[i], seen)
            if child is None:
                continue
            stack.append(child)
            steps += 1
            if child[3] > self.best_placed:
                self.best_placed = child[3]
                self.best = [f[6] for f in stack[1:]]
            if steps % self.every == 0 and not self.budget.spend(self.every):
                return self._done(None, stack, steps, total)
        return self._done(False, stack, steps, total)

    def _frame(self, bits, state, first, count, entry, dirty, unknown):
        placed = self.placed
        p = self.p
        while first < len(placed) and placed[first]:
            first += 1
        if dirty and not self._observable(first, state):
            return [bits, state, first, count, [], 0, entry, dirty, unknown]
        moves, horizon = self._candidates(first, dirty)
        for c, members in enumerate(p.classes):
            n = self.counts[c]
            if n < len(members) and p.class_invoke[c][n] <= horizon:
                if not (dirty and p.class_code[c] == WRITE):
                    moves.append(-1 - c)
        return [bits, state, first, count, moves, 0, entry, dirty, unknown]

    def _candidates(self, first, dirty):
        """Unplaced completed ops that may come next, and the horizon.

        When an unknown op took effect since the state was last observed,
        an overwrite may not come next: it would make that op pointless.
        """
        p, placed = self.p, self.placed
        invoke, complete = p.invoke, p.complete
        horizon = math.inf
        found = []
        j = first
        n = len(invoke)
        while j < n and invoke[j] <= horizon:
            if not placed[j]:
                found.append(j)
                if complete[j] < horizon:
                    horizon = complete[j]
            j += 1
        code = p.code
        found = [j for j in found if invoke[j] <= horizon
                 and not (dirty and code[j] == WRITE)]
        found.sort(key=p.middle.__getitem__)
        return found, horizon

    def _observable(self, first, state):
        """Whether an op that may observe the state next can see ``state``.

        Asked right after an unknown op took effect. Until a completed op
        observes the state (a read, a get or a cas), no overwrite may come,
        as it would make that unknown op pointless; so the observer must
        come before every unplaced completed overwrite, and was invoked
        before they all completed. Meanwhile only appends (key-value) or
        unknown compare-and-sets (register) can change the state: a get
        must have returned something ``state`` is a prefix of; a read must
        have returned ``state`` itself, unless a cas is around to change it.
        """
        p, placed = self.p, self.placed
        invoke, complete, code, result = p.invoke, p.complete, p.code, p.result
        limit = math.inf
        j, n = first, len(invoke)
        observers = []
        while j < n and invoke[j] <= limit:
            if not placed[j]:
                if code[j] == WRITE:
                    limit = min(limit, complete[j])
                elif code[j] != APPEND:
                    observers.append(j)
            j += 1
        observers = [j for j in observers if invoke[j] <= limit]
        if p.strings:
            return any(result[j].startswith(state) for j in observers)
        return (any(code[j] == CAS or result[j] == state for j in observers)
                or self._swappable(state))

    def _swappable(self, state):
        """Whether an unknown cas not yet placed expects ``state``."""
        p = self.p
        return any(code == CAS and arg[0] == state and self.counts[c] < len(members)
                   for c, (code, arg, members) in enumerate(
                       zip(p.class_code, p.class_arg, p.classes)))

    def _try(self, frame, move, seen):
        p = self.p
        bits, state, unknown = frame[0], frame[1], frame[8]
        if move >= 0:
            new = step(state, p.code[move], p.arg[move], p.result[move])
            if new is FAIL:
                return None
            bits |= 1 << move
        else:
            c = -1 - move
            new = effect(state, p.class_code[c], p.class_arg[c])
            if new == state:
                return None
            unknown |= 1 << (p.class_bit[c] + self.counts[c])
        if _covered(seen, (bits, new), unknown):
            return None
        if move >= 0:
            self.placed[move] = 1
            dirty = frame[7] and p.code[move] == APPEND
            return self._frame(bits, new, frame[2], frame[3] + 1, move, dirty,
                               unknown)
        self.counts[c] += 1
        return self._frame(bits, new, frame[2], frame[3], move, True, unknown)

    def _undo(self, move):
        if move is None:
            return
        if move >= 0:
            self.placed[move] = 0
        else:
            self.counts[-1 - move] -= 1

    def _indices(self, moves):
        """Op indices of a list of moves, replaying the class counters."""
        p = self.p
        used = [0] * len(p.classes)
        out = []
        for move in moves:
            if move >= 0:
                out.append(p.ops[move].index)
            else:
                c = -1 - move
                out.append(p.classes[c][used[c]].index)
                used[c] += 1
        return out

    def _done(self, ok, stack, steps, total):
        self.budget.spend(steps % self.every)
        moves = [f[6] for f in stack[1:]] if ok else self.best
        placed = total if ok else max(self.best_placed, 0)
        return Outcome(ok, self._indices(moves), steps, placed, total)
