"""The objects a history is checked against: a register and a key-value map.

A model says which sequential behaviour is legal. Both models here are
checked one value at a time (a key-value history is split per key, which
linearizability allows: it is a local property, Herlihy and Wing 1990),
so one step function serves both:

- ``read`` / ``get`` must return the current value;
- ``write`` / ``put`` set it;
- ``cas [expected, new]`` sets ``new`` and returns true exactly when the
  value equals ``expected``;
- ``append`` concatenates a string (a missing key reads as ``""``).

An operation with unknown outcome has no result to check: its step is its
effect alone (a ``cas`` with unknown outcome swaps if it can).

Values are frozen into hashable forms for the search's memo. JSON's
``true`` is kept apart from ``1`` (Python would call them equal).
"""

import json

READ, WRITE, CAS, APPEND = range(4)
CODES = {"read": READ, "write": WRITE, "cas": CAS,
         "get": READ, "put": WRITE, "append": APPEND}

FAIL = object()
"""What ``step`` returns when an operation's result is impossible."""


class _Bool:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return "true" if self.value else "false"


TRUE, FALSE = _Bool(True), _Bool(False)


class _List(tuple):
    """A frozen JSON array."""


class _Object(tuple):
    """A frozen JSON object: its sorted (key, value) pairs."""


def freeze(value):
    """A hashable stand-in for a JSON value; equal values freeze equal."""
    if value is True or value is False:
        return TRUE if value else FALSE
    if isinstance(value, list):
        return _List(freeze(v) for v in value)
    if isinstance(value, dict):
        return _Object(sorted((k, freeze(v)) for k, v in value.items()))
    return value


def thaw(value):
    """The JSON value a frozen value stands for."""
    if isinstance(value, _Bool):
        return value.value
    if isinstance(value, _Object):
        return {k: thaw(v) for k, v in value}
    if isinstance(value, _List):
        return [thaw(v) for v in value]
    return value


def show(value):
    """A frozen value as a learner reads it: JSON text, strings quoted."""
    return json.dumps(thaw(value))


def step(state, code, arg, result):
    """The state after a completed operation, or ``FAIL`` if it cannot be."""
    if code == READ:
        return state if result == state else FAIL
    if code == WRITE:
        return arg
    if code == APPEND:
        return state + arg
    expected, new = arg
    if state == expected:
        return new if result is TRUE else FAIL
    return state if result is FALSE else FAIL


def effect(state, code, arg):
    """The state after an operation whose outcome is unknown took effect."""
    if code == WRITE:
        return arg
    if code == APPEND:
        return state + arg
    if code == CAS:
        return arg[1] if state == arg[0] else state
    return state


class Model:
    """How a history's operations read in words, and its starting values."""

    def __init__(self, name, initial):
        self.name = name
        self.initial = initial

    def start(self, key):
        """The frozen starting value of ``key`` (None for a register)."""
        if self.name == "register":
            return freeze(self.initial)
        return (self.initial or {}).get(key, "")

    def noun(self, key):
        return "the register" if self.name == "register" else f"key {key!r}"

    @staticmethod
    def describe(op):
        """``c1 write 3``, ``c2 read -> 3``, ``c3 cas 3->4 ok`` and so on."""
        what = f"{op.client} {op.op}"
        if op.op == "cas":
            what += f" {show(freeze(op.value[0]))}->{show(freeze(op.value[1]))}"
        elif op.value is not None:
            what += f" {show(op.value)}"
        if op.key is not None:
            what = what.replace(f" {op.op}", f" {op.op} {op.key}", 1)
        if not op.known:
            return what + " (outcome unknown)"
        if op.op in ("read", "get"):
            return what + f" -> {show(freeze(op.result))}"
        if op.op == "cas":
            return what + (" ok" if op.result else " failed")
        return what
