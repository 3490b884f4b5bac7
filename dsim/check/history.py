"""Histories: the client operations of a run, read, checked and written.

A history is a JSON object (the format of the design)::

    {"model": "register", "initial": null,
     "operations": [
       {"client": "c1", "op": "write", "value": 3, "invoke": 0.0, "complete": 1.5},
       {"client": "c2", "op": "read", "invoke": 0.5, "complete": 2.0, "result": 3}]}

``parse`` turns it into ``Op`` records and rejects anything the checker
could misread, with a ``HistoryError`` naming the operation (its index
and client) and the field at fault. ``complete: null`` means the outcome
is unknown. A completed register ``read`` without a ``result`` returned
``null``: dsim's own histories leave null results out.

``to_edn`` writes the history as the event list Jepsen's checkers read
(Knossos; Elle reads the same envelope). Each operation becomes an
``:invoke`` event and, at its completion, an ``:ok`` event (a
compare-and-set that returned false becomes ``:fail``, as Jepsen
records it). An operation with unknown outcome gets an ``:info`` event
at the end of the history, and its client continues under a fresh
process number, because Jepsen never reuses a process that may still
have an operation in flight. Key-value operations use Jepsen's
independent-key tuples: ``:value ["k1" "3"]``, with ``get`` and ``put``
written as ``:read`` and ``:write`` so that a per-key register checker
can read them, and ``append`` kept as ``:append``. Times are in
nanoseconds, and ``:index`` numbers the events, as in Jepsen.

Limitations: the edn export does not carry the initial value (Knossos
assumes a register starts as nil, while dsim's key-value store reads a
missing key as the empty string).
"""

import json
import math
import os
from dataclasses import dataclass

MODELS = {
    "register": ("read", "write", "cas"),
    "kv": ("get", "put", "append"),
}
NEEDS_VALUE = ("write", "cas", "put", "append")


class HistoryError(ValueError):
    """A history the checker cannot read, with where and why."""


@dataclass(frozen=True)
class Op:
    """One operation of a history, as the checker sees it.

    ``complete`` is None when the outcome is unknown; ``result`` is then
    None too, and constrains nothing.
    """

    index: int
    client: str
    op: str
    key: object
    value: object
    invoke: float
    complete: object
    result: object

    @property
    def known(self):
        return self.complete is not None


def parse(history, source=None):
    """Check a history dict; returns ``(model, initial, ops)``.

    ``ops`` is a list of ``Op`` in the order of the history. Raises
    ``HistoryError`` naming the operation and the field at fault.
    """
    where = f"{source}: " if source else ""
    if not isinstance(history, dict):
        raise HistoryError(f"{where}a history must be a JSON object with 'model' "
                           f"and 'operations', not {type(history).__name__}")
    model = history.get("model")
    if model not in MODELS:
        raise HistoryError(f"{where}model {model!r} is not known; the models are "
                           f"{', '.join(map(repr, MODELS))}")
    initial = _initial(history.get("initial"), model, where)
    operations = history.get("operations")
    if not isinstance(operations, list):
        raise HistoryError(f"{where}the history needs an 'operations' list, "
                           f"got {operations!r}"[:200])
    ops = [_op(index, raw, model, where) for index, raw in enumerate(operations)]
    return model, initial, ops


def _initial(initial, model, where):
    if model == "kv" and initial is not None:
        if not isinstance(initial, dict) or not all(
                isinstance(v, str) for v in initial.values()):
            raise HistoryError(f"{where}a kv history's 'initial' must be null or an "
                               f"object from key to string, not {initial!r}")
    return initial


def _number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0)


def _op(index, raw, model, where):
    if not isinstance(raw, dict):
        raise HistoryError(f"{where}operation {index} must be a JSON object, "
                           f"not {raw!r}"[:200])
    client = raw.get("client")
    who = f"{where}operation {index} (client {client})"
    if not isinstance(client, (str, int)) or isinstance(client, bool):
        raise HistoryError(f"{where}operation {index}: field 'client' must name "
                           f"the client, got {client!r}")
    name = raw.get("op")
    if name not in MODELS[model]:
        allowed = ", ".join(MODELS[model])
        raise HistoryError(f"{who}: field 'op' is {name!r}, which a {model} history "
                           f"does not have; its operations are {allowed}")
    for field in ("invoke", "complete"):
        if field not in raw:
            hint = " (null when the outcome is unknown)" if field == "complete" else ""
            raise HistoryError(f"{who}: the {name} has no field {field!r}{hint}")
    invoke, complete = raw["invoke"], raw["complete"]
    if not _number(invoke):
        raise HistoryError(f"{who}: field 'invoke' = {invoke!r} must be a time "
                           "in seconds >= 0")
    if complete is not None and not _number(complete):
        raise HistoryError(f"{who}: field 'complete' = {complete!r} must be a time "
                           "in seconds >= 0, or null when the outcome is unknown")
    if complete is not None and complete < invoke:
        raise HistoryError(f"{who}: field 'complete' = {complete!r} is before its "
                           f"invoke at {invoke!r}")
    key = _key(raw, model, who, name)
    value = _value(raw, model, who, name)
    result = _result(raw, who, name, complete is not None)
    return Op(index, str(client), name, key, value, float(invoke),
              None if complete is None else float(complete), result)


def _key(raw, model, who, name):
    if model != "kv":
        return None
    if "key" not in raw:
        raise HistoryError(f"{who}: the {name} has no field 'key'")
    key = raw["key"]
    if not isinstance(key, str):
        raise HistoryError(f"{who}: field 'key' = {key!r} must be a string")
    return key


def _value(raw, model, who, name):
    if name not in NEEDS_VALUE:
        return None
    if "value" not in raw:
        raise HistoryError(f"{who}: the {name} has no field 'value'")
    value = raw["value"]
    if name == "cas" and not (isinstance(value, list) and len(value) == 2):
        raise HistoryError(f"{who}: field 'value' = {value!r} must be "
                           "[expected, new] for a cas")
    if model == "kv" and not isinstance(value, str):
        raise HistoryError(f"{who}: field 'value' = {value!r} must be a string "
                           f"(a kv {name} stores strings)")
    return value


def _result(raw, who, name, known):
    result = raw.get("result")
    if not known:
        return None
    if name == "cas" and not isinstance(result, bool):
        raise HistoryError(f"{who}: field 'result' = {result!r} must be true or "
                           "false for a completed cas")
    if name == "get" and not isinstance(result, str):
        raise HistoryError(f"{who}: field 'result' = {result!r} must be the string "
                           "a completed get returned")
    return result


# ----- getting a history from a file or a run -----

def load_history(path):
    """Read and check a history JSON file; returns the history dict."""
    try:
        with open(path, encoding="utf-8") as src:
            text = src.read()
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read it ({exc.strerror})") from None
    return loads_history(text, source=str(path))


def loads_history(text, source="<history>"):
    """Parse history JSON text; a syntax error is named with its line."""
    try:
        history = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{source}: not valid JSON at line {exc.lineno} "
                           f"column {exc.colno} ({exc.msg})") from None
    parse(history, source)
    return history


def save_history(history, path):
    """Write ``history`` (a dict or a dsim Run) as JSON; checks it first."""
    history = as_history(history)
    parse(history)
    with open(path, "w", encoding="utf-8") as out:
        json.dump(history, out, indent=1)
        out.write("\n")


def as_history(source):
    """The history dict of a dict, a path or a dsim ``Run``."""
    if isinstance(source, dict):
        return source
    if isinstance(source, (str, os.PathLike)):
        return load_history(source)
    if hasattr(source, "trace") and hasattr(source, "history"):
        model = getattr(getattr(source, "scenario", None), "model", None)
        if model is None:
            raise ValueError("this run's scenario names no history model; pass "
                             "run.history(model='register') or model='kv' instead")
        return source.history(model=model)
    raise ValueError(f"cannot check {source!r}: give a history dict, the path of "
                     "a history JSON file, or a dsim Run")


# ----- edn, for Jepsen's checkers -----

def to_edn(history):
    """The history as Jepsen's edn event list (see the module docstring)."""
    model, _, ops = parse(as_history(history))
    events = []
    for op in ops:
        events.append((op.invoke, 0, op.index, op, "invoke"))
        if op.known:
            ok = "fail" if op.op == "cas" and op.result is False else "ok"
            events.append((op.complete, 1, op.index, op, ok))
        else:
            events.append((math.inf, 2, op.index, op, "info"))
    events.sort(key=lambda e: e[:3])
    last = max((t for t, *_ in events if t != math.inf), default=0.0)
    processes = _Processes()
    lines = [_edn_event(kind, op, processes.of(op, kind), min(t, last), model, n)
             for n, (t, _, _, op, kind) in enumerate(events)]
    return "[" + "\n ".join(lines) + "]\n"


class _Processes:
    """Jepsen process numbers: one per client, a fresh one after an :info."""

    def __init__(self):
        self.current = {}
        self.by_op = {}
        self.next = 0

    def of(self, op, kind):
        if kind == "invoke":
            if op.client not in self.current:
                self.current[op.client] = self._fresh()
            self.by_op[op.index] = self.current[op.client]
            if not op.known:
                self.current.pop(op.client)
        return self.by_op[op.index]

    def _fresh(self):
        self.next += 1
        return self.next - 1


_EDN_F = {"get": "read", "put": "write"}


def _edn_event(kind, op, process, t, model, index):
    f = _EDN_F.get(op.op, op.op)
    if model == "kv":
        value = [op.key, _edn_payload(kind, op)]
    else:
        value = _edn_payload(kind, op)
    return (f"{{:process {process}, :type :{kind}, :f :{f}, "
            f":value {_edn(value)}, :time {round(t * 1e9)}, :index {index}}}")


def _edn_payload(kind, op):
    if op.op in ("read", "get"):
        return op.result if kind == "ok" else None
    return op.value


def _edn(value):
    if value is None:
        return "nil"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + " ".join(_edn(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_edn(k)} {_edn(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"{value!r} has no edn form")
