"""The trace: the complete record of one run, and the questions it answers.

A trace is a list of events in the order they happened. Each event is a
plain dict with ``t`` (simulated seconds) and ``kind``; the kinds and their
fields are those of the design (``send``, ``deliver``, ``drop``, ``timer``,
``crash``, ``recover``, ``partition``, ``heal``, ``state``, ``invoke``,
``complete``), plus ``start`` (the nodes and clients of the run) and
``end`` (which bound ended it, in words). Saved as JSON Lines, one event
per line, it loads back equal to what was saved.

Every view is drawn from a trace alone, so the questions live here: the
messages in flight at time t, a node's recorded state at time t, and the
causal past and future of an event (Lamport's happened-before: earlier
events on the same lifeline, and a message's send before its delivery).
"""

import json
from collections import namedtuple

KINDS = {
    "start": ("nodes", "clients"),
    "end": ("reason", "message"),
    "send": ("id", "src", "dst", "type", "payload"),
    "deliver": ("id", "src", "dst"),
    "drop": ("id", "src", "dst", "reason"),
    "timer": ("node", "name"),
    "crash": ("node",),
    "recover": ("node",),
    "partition": (),
    "heal": (),
    "state": ("node", "fields"),
    "invoke": ("client", "op_id", "op"),
    "complete": ("client", "op_id", "op", "ok"),
}

MessageInfo = namedtuple(
    "MessageInfo", "id src dst type payload sent arrived dropped reason")
MessageInfo.__doc__ = """A message's life: sent at ``sent``; then ``arrived`` or
``dropped`` (a time, or None while it is still in flight at the end)."""

_READS = ("read", "get")


def _plain(value):
    """The value as JSON gives it back (tuples become lists, keys strings).

    Written out for the common shapes, because every recorded payload
    passes through here; anything unusual takes the JSON round trip.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return {k if type(k) is str else _key(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    return json.loads(json.dumps(value))


def _key(key):
    """A dict key as JSON writes it."""
    if isinstance(key, (int, float, bool)) or key is None:
        return json.dumps(key)
    raise TypeError(f"a payload key must be a string or a number, not {key!r}")


def _message_events(records):
    """Turn the kernel's records into events.

    A message appears twice in the records: when it was sent, and when it
    arrived or was lost; every other record is already an event.
    """
    seen = set()
    events = []
    for record in records:
        if type(record) is dict:
            if record["kind"] in ("state", "invoke", "complete"):
                record = _plain(record)
            events.append(record)
        elif id(record) not in seen:
            seen.add(id(record))
            events.append(_send_event(record))
        else:
            events.append(_arrival_event(record))
    return events


def _send_event(msg):
    event = {"t": msg.sent, "kind": "send", "id": msg.id, "src": msg.src,
             "dst": msg.dst, "type": msg.type, "payload": _plain(msg.payload)}
    stamps = getattr(msg, "stamps", None)
    if stamps:
        event.update(_plain(stamps))
    return event


def _arrival_event(msg):
    if getattr(msg, "lost", None) is not None:
        return {"t": msg.arrived, "kind": "drop", "id": msg.id, "src": msg.src,
                "dst": msg.dst, "type": msg.type, "reason": msg.lost}
    event = {"t": msg.arrived, "kind": "deliver", "id": msg.id, "src": msg.src,
             "dst": msg.dst, "type": msg.type}
    stamps = getattr(msg, "received_stamps", None)
    if stamps:
        event.update(_plain(stamps))
    return event


def lifeline(event):
    """The node or client an event happens at, or None for network events."""
    kind = event["kind"]
    if kind == "send":
        return event["src"]
    if kind == "deliver":
        return event["dst"]
    if kind in ("invoke", "complete"):
        return event["client"]
    return event.get("node")


class Trace:
    """The events of one run, with queries over them."""

    def __init__(self, events):
        self._events = list(events)
        self._records = None
        self._messages = None

    @classmethod
    def from_records(cls, records):
        """A trace over the kernel's compact records, turned into events
        when first looked at (a run that nobody reads costs less)."""
        trace = cls(())
        trace._events = None
        trace._records = records
        return trace

    @property
    def events(self):
        """The events, as a list of dicts in the order they happened."""
        if self._events is None:
            self._events = _message_events(self._records)
            self._records = None
        return self._events

    # ----- a list of events -----

    def __len__(self):
        return len(self.events)

    def __iter__(self):
        return iter(self.events)

    def __getitem__(self, index):
        return self.events[index]

    def __eq__(self, other):
        return isinstance(other, Trace) and self.events == other.events

    def __repr__(self):
        return f"<Trace of {len(self.events)} events>"

    def of_kind(self, *kinds):
        """The events of the given kinds, in order."""
        return [e for e in self.events if e["kind"] in kinds]

    @property
    def nodes(self):
        """The server nodes of the run, in the order they were added."""
        start = self._start()
        return list(start["nodes"]) if start else sorted(
            {lifeline(e) for e in self.events if lifeline(e)})

    @property
    def clients(self):
        start = self._start()
        return list(start["clients"]) if start else []

    @property
    def end(self):
        """The ``end`` event (reason and message), or None."""
        last = self.events[-1] if self.events else None
        return last if last and last["kind"] == "end" else None

    @property
    def duration(self):
        return self.events[-1]["t"] if self.events else 0.0

    def _start(self):
        first = self.events[0] if self.events else None
        return first if first and first["kind"] == "start" else None

    # ----- saving and loading -----

    def dumps(self):
        """The trace as JSON Lines text."""
        return "".join(json.dumps(e, separators=(",", ":")) + "\n"
                       for e in self.events)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as out:
            out.write(self.dumps())

    @classmethod
    def loads(cls, text, source="<trace>"):
        """Parse JSON Lines text; a malformed line is named in the error."""
        events = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                events.append(_parse_event(line, f"{source} line {number}"))
        return cls(events)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as src:
            return cls.loads(src.read(), source=str(path))

    # ----- messages -----

    @property
    def messages(self):
        """Every message, by id, as a ``MessageInfo``."""
        if self._messages is None:
            self._messages = self._collect_messages()
        return self._messages

    def _collect_messages(self):
        sends, ends = {}, {}
        for e in self.events:
            kind = e["kind"]
            if kind == "send":
                sends[e["id"]] = e
            elif kind == "deliver" or kind == "drop":
                ends[e["id"]] = e
        found = {}
        for mid, e in sends.items():
            end = ends.get(mid)
            arrived = dropped = reason = None
            if end is not None:
                if end["kind"] == "deliver":
                    arrived = end["t"]
                else:
                    dropped, reason = end["t"], end["reason"]
            found[mid] = MessageInfo(mid, e["src"], e["dst"], e["type"], e["payload"],
                                     e["t"], arrived, dropped, reason)
        return found

    def in_flight(self, t):
        """Messages sent at or before ``t`` that had not arrived or been lost."""
        return [m for m in self.messages.values() if m.sent <= t
                and _after(m.arrived, t) and _after(m.dropped, t)]

    def delivered(self, t=None):
        return [m for m in self.messages.values() if m.arrived is not None
                and (t is None or m.arrived <= t)]

    def dropped(self, t=None):
        return [m for m in self.messages.values() if m.dropped is not None
                and (t is None or m.dropped <= t)]

    # ----- nodes -----

    def state_at(self, node, t):
        """The fields ``node`` had recorded at time ``t`` ({} while it is down)."""
        self._check_node(node)
        fields = {}
        for e in self.events:
            if e["t"] > t:
                break
            if e.get("node") == node:
                if e["kind"] == "state":
                    fields = e["fields"]
                elif e["kind"] == "crash":
                    fields = {}
        return dict(fields)

    def is_up(self, node, t):
        """Whether ``node`` was running (not crashed) at time ``t``."""
        self._check_node(node)
        up = True
        for e in self.events:
            if e["t"] > t:
                break
            if e.get("node") == node and e["kind"] in ("crash", "recover"):
                up = e["kind"] == "recover"
        return up

    def _check_node(self, node):
        known = self.nodes + self.clients
        if node not in known:
            raise ValueError(f"unknown node {node!r}: this trace has "
                             f"{', '.join(known)}")

    # ----- causality -----

    def _edges(self):
        """Successors of each event under happened-before (direct edges)."""
        succ = [[] for _ in self.events]
        last_on = {}
        sent_at = {}
        for index, e in enumerate(self.events):
            owner = lifeline(e)
            if owner is not None:
                if owner in last_on:
                    succ[last_on[owner]].append(index)
                last_on[owner] = index
            if e["kind"] == "send":
                sent_at[e["id"]] = index
            elif e["kind"] in ("deliver", "drop"):
                succ[sent_at[e["id"]]].append(index)
        return succ

    def causal_future(self, index):
        """Indices of the events that ``index`` happened before."""
        return reachable(self._edges(), index)

    def causal_past(self, index):
        """Indices of the events that happened before ``index``."""
        succ = self._edges()
        pred = [[] for _ in succ]
        for a, targets in enumerate(succ):
            for b in targets:
                pred[b].append(a)
        return reachable(pred, index)

    def happened_before(self, a, b):
        """Whether event ``a`` happened before event ``b`` (both indices)."""
        return b in self.causal_future(a)

    def index_of(self, kind, **fields):
        """The index of the first event of ``kind`` with the given fields."""
        for index, e in enumerate(self.events):
            if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items()):
                return index
        wanted = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        raise ValueError(f"no {kind} event with {wanted} in this trace")

    # ----- client operations -----

    def history(self, model="register", initial=None):
        """The client operations as a history for the checker.

        An operation that failed or timed out has ``complete: None``: its
        effect is unknown. Register histories leave out the key.
        """
        started = {}
        operations = []
        for e in self.events:
            if e["kind"] == "invoke":
                op = {"client": e["client"], "op": e["op"]}
                if model != "register":
                    op["key"] = e.get("key")
                if e.get("value") is not None:
                    op["value"] = e["value"]
                op.update(invoke=e["t"], complete=None)
                started[e["op_id"]] = op
                operations.append(op)
            elif e["kind"] == "complete" and e["op_id"] in started:
                op = started[e["op_id"]]
                if e.get("ok", True):
                    op["complete"] = e["t"]
                    # a read of the initial value returns null, and says so
                    if e.get("result") is not None or op["op"] in _READS:
                        op["result"] = e.get("result")
        return {"model": model, "initial": initial, "operations": operations}


def _after(t_end, t):
    return t_end is None or t_end > t


def reachable(edges, start):
    """Indices reachable from ``start`` along ``edges`` (a list of lists)."""
    seen = set()
    todo = list(edges[start])
    while todo:
        index = todo.pop()
        if index not in seen:
            seen.add(index)
            todo.extend(edges[index])
    return seen


def _parse_event(line, where):
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not a JSON object ({exc.msg})") from None
    if not isinstance(event, dict):
        raise ValueError(f"{where}: an event must be a JSON object, got {line[:40]!r}")
    for name in ("t", "kind"):
        if name not in event:
            raise ValueError(f"{where}: the event has no {name!r} field")
    t, kind = event["t"], event["kind"]
    if isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0:
        raise ValueError(f"{where}: t={t!r} must be a time in seconds >= 0")
    if kind not in KINDS:
        raise ValueError(f"{where}: unknown kind {kind!r}; the kinds are "
                         f"{', '.join(KINDS)}")
    for name in KINDS[kind]:
        if name not in event:
            raise ValueError(f"{where}: a {kind} event needs the field {name!r}")
    return event
