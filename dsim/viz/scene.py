"""What a space-time diagram shows, worked out from a trace alone.

A ``Scene`` is the geometry of one diagram at one moment, in data
coordinates (x in simulated seconds, y a lifeline's row), with no
matplotlib in it, so the tests can compare it with the trace directly:
the messages delivered, lost and still in flight at the cursor, the
state bands and labels along each lifeline, crash spans, partitions,
timers and client operations.

Each lifeline is a row: servers first, in the order they were added,
then clients. A message is a segment from its send to its delivery; a
lost one ends where it was lost, drawn part of the way to its
destination; at a cursor time ``t`` a message in flight ends part-way
along its path, in proportion to the time it has travelled.

Limitations: a message still in flight when the run ended has no known
arrival time, so it is drawn half-way to its destination. Where a lost
message would have arrived is unknown too; its loss point is placed
along the path in proportion to the run's typical latency.
"""

import json
from dataclasses import dataclass, field
from typing import NamedTuple

from ..trace import Trace

DELIVERED, DROPPED, IN_FLIGHT = "delivered", "dropped", "in flight"


class Arrow(NamedTuple):
    """One message as drawn: from (x0, y0) to (x1, y1), and its fate at t.

    A named tuple rather than a dataclass: a busy run draws thousands.
    """

    id: str
    type: str
    src: str
    dst: str
    x0: float
    y0: float
    x1: float
    y1: float
    fate: str
    reason: str = None
    send_index: int = None
    end_index: int = None

    @property
    def label(self):
        return f"{self.type} {self.id}"


@dataclass(frozen=True)
class Span:
    """A stretch of one lifeline, such as a role held or a crash."""

    row: int
    start: float
    end: float
    value: object = None
    text: str = ""


@dataclass(frozen=True)
class Window:
    """A partition or cut link from ``start`` to ``end``; ``rows`` it spans."""

    start: float
    end: float
    rows: tuple
    text: str
    healed: bool


@dataclass(frozen=True)
class Op:
    """A client operation as an interval; ``index`` in the history's order."""

    row: int
    index: int
    start: float
    end: float
    status: str  # "ok", "failed" (timed out), or "pending" at the cursor
    text: str


@dataclass(frozen=True)
class Scene:
    lanes: tuple
    servers: int
    t_end: float
    t: float
    arrows: tuple
    bands: tuple
    labels: tuple
    crashes: tuple
    lines: tuple
    windows: tuple
    timers: tuple
    ops: tuple
    band_field: str
    label_field: str
    points: dict = field(default_factory=dict)

    def count(self, fate):
        return sum(1 for a in self.arrows if a.fate == fate)

    def row(self, name):
        return self.lanes.index(name)


def as_trace(run_or_trace):
    """The trace of a ``Run``, a ``Trace`` itself, or a list of events."""
    if isinstance(run_or_trace, Trace):
        return run_or_trace
    trace = getattr(run_or_trace, "trace", None)
    if isinstance(trace, Trace):
        return trace
    if isinstance(run_or_trace, list):
        return Trace(run_or_trace)
    raise ValueError(f"{run_or_trace!r} is neither a dsim Run nor a Trace")


def build_scene(run_or_trace, t=None, band=None, label=None):
    """The ``Scene`` of a run, at the cursor time ``t`` (None: the whole run)."""
    trace = as_trace(run_or_trace)
    lanes = tuple(trace.nodes + trace.clients)
    t_end = max(trace.duration, 1e-9)
    if t is not None:
        if not isinstance(t, (int, float)) or isinstance(t, bool) or t < 0:
            raise ValueError(f"t={t!r} must be a time in seconds >= 0")
        t = min(float(t), t_end)
    cut = t_end if t is None else t
    rows = {name: i for i, name in enumerate(lanes)}
    states = [e for e in trace.events if e["kind"] == "state"]
    band = _pick(band, states, ("role", "status"), "band")
    label = _pick(label, states, ("term", "tx"), "label")
    crashes = _crashes(trace, rows, cut)
    bands, labels = _bands(trace, rows, cut, band, label)
    return Scene(
        lanes=lanes, servers=len(trace.nodes), t_end=t_end, t=t,
        arrows=tuple(_arrows(trace, rows, cut)), bands=bands, labels=labels,
        crashes=crashes, lines=_lifelines(lanes, crashes, cut),
        windows=tuple(_windows(trace, rows, cut)),
        timers=tuple((rows[e["node"]], e["t"], e["name"]) for e in trace.events
                     if e["kind"] == "timer" and e["t"] <= cut),
        ops=tuple(_ops(trace, rows, cut)), band_field=band, label_field=label)


def _pick(chosen, states, defaults, what):
    if chosen is not None:
        if not isinstance(chosen, str):
            raise ValueError(f"{what}={chosen!r} must be the name of a recorded "
                             "state field, such as 'role'")
        return chosen or None
    for name in defaults:
        if any(name in e["fields"] for e in states):
            return name
    return None


def typical_latency(trace):
    """The median delivery time of the run's messages (for lost ones' paths)."""
    spans = sorted(m.arrived - m.sent for m in trace.messages.values()
                   if m.arrived is not None)
    return spans[len(spans) // 2] if spans else 0.05


def _arrows(trace, rows, cut):
    typical = max(typical_latency(trace), 1e-9)
    t_end = trace.duration
    sends, ends = {}, {}
    for index, e in enumerate(trace.events):
        if e["kind"] == "send":
            sends[e["id"]] = index
        elif e["kind"] in ("deliver", "drop") and e["t"] <= cut:
            ends[e["id"]] = index
    for m in trace.messages.values():
        if m.sent > cut:
            continue
        y0, y1 = rows[m.src], rows[m.dst]
        if m.src == m.dst:
            y1 = y0 - 0.3
        yield _arrow(m, y0, y1, cut, typical, t_end,
                     (sends[m.id], ends.get(m.id)))


def _arrow(m, y0, y1, cut, typical, t_end, indices):
    base = dict(id=m.id, type=m.type, src=m.src, dst=m.dst, x0=m.sent, y0=y0,
                send_index=indices[0], end_index=indices[1])
    if m.arrived is not None:
        end, f_end = m.arrived, 1.0
    elif m.dropped is not None:
        end = m.dropped
        f_end = min(max((m.dropped - m.sent) / typical, 0.25), 1.0)
    else:
        end, f_end = max(t_end, m.sent), 0.5
    if end <= cut:
        fate = DELIVERED if m.arrived is not None else (
            DROPPED if m.dropped is not None else IN_FLIGHT)
        return Arrow(x1=end, y1=y0 + f_end * (y1 - y0), fate=fate,
                     reason=m.reason if fate == DROPPED else None, **base)
    flown = (cut - m.sent) / (end - m.sent) if end > m.sent else 1.0
    f = f_end * flown
    return Arrow(x1=cut, y1=y0 + f * (y1 - y0), fate=IN_FLIGHT, **base)


def _crashes(trace, rows, cut):
    spans, down = [], {}
    for e in trace.events:
        if e["t"] > cut:
            break
        if e["kind"] == "crash":
            down.setdefault(e["node"], e["t"])
        elif e["kind"] == "recover" and e["node"] in down:
            spans.append(Span(rows[e["node"]], down.pop(e["node"]), e["t"],
                              text="crashed"))
    spans += [Span(rows[n], start, cut, text="crashed") for n, start in down.items()]
    return tuple(sorted(spans, key=lambda s: (s.row, s.start)))


def _lifelines(lanes, crashes, cut):
    """Each lane's line from 0 to the cursor, broken where the node was down."""
    lines = []
    for row in range(len(lanes)):
        start = 0.0
        for span in (s for s in crashes if s.row == row):
            lines.append(Span(row, start, span.start))
            start = span.end
        if start < cut or start == 0.0:
            lines.append(Span(row, start, cut))
    return tuple(lines)


def _bands(trace, rows, cut, band, label):
    """Runs of one band value, and where the band or label value changes."""
    current = {}
    bands, labels = [], []
    for e in trace.events:
        if e["t"] > cut:
            break
        if e["kind"] not in ("state", "crash") or e["node"] not in rows:
            continue
        fields = e["fields"] if e["kind"] == "state" else {}
        key = (fields.get(band) if band else None,
               fields.get(label) if label else None)
        _change(current, rows[e["node"]], e["t"], key, bands, labels, label)
    for row in list(current):
        _change(current, row, cut, (None, None), bands, labels, label)
    return tuple(bands), tuple(labels)


def _change(current, row, t, key, bands, labels, label):
    previous = current.get(row)
    if previous is not None and previous[1] == key:
        return
    if previous is not None:
        start, (value, mark) = previous
        if value is not None and t > start:
            bands.append(Span(row, start, t, value, str(value)))
        if (value, mark) != (None, None) and t >= start:
            labels.append(Span(row, start, t, (value, mark),
                               _describe(value, mark, label)))
    current[row] = (t, key)


def _describe(value, mark, label):
    parts = [str(value)] if value is not None else []
    if mark is not None:
        shown = mark if isinstance(mark, str) else _json(mark)
        parts.append(f"{label} {shown}")
    return " · ".join(parts)


def _json(value):
    return json.dumps(value, separators=(",", ":"))


def _windows(trace, rows, cut):
    open_at = {}
    for e in trace.events:
        if e["t"] > cut:
            break
        if e["kind"] in ("partition", "heal"):
            key = _json({k: v for k, v in e.items() if k not in ("t", "kind")})
            if e["kind"] == "partition":
                open_at.setdefault(key, (e["t"], e))
            elif key in open_at:
                start, event = open_at.pop(key)
                yield _window(event, rows, start, e["t"], True)
    for start, event in open_at.values():
        yield _window(event, rows, start, cut, False)


def _window(event, rows, start, end, healed):
    if "groups" in event:
        named = {n for g in event["groups"] for n in g}
        rest = [n for n in rows if n not in named and n in rows]
        groups = [",".join(g) for g in event["groups"]] + (
            [",".join(rest)] if rest else [])
        return Window(start, end, tuple(range(len(rows))),
                      "partition " + " | ".join(groups), healed)
    a, b = event["src"], event["dst"]
    arrow = "→" if event.get("oneway") else "–"
    span = tuple(sorted((rows[a], rows[b])))
    return Window(start, end, span, f"cut {a}{arrow}{b}", healed)


def _ops(trace, rows, cut):
    started = {}
    index = 0
    for e in trace.events:
        if e["t"] > cut:
            break
        if e["kind"] == "invoke":
            started[e["op_id"]] = (index, e)
            index += 1
        elif e["kind"] == "complete" and e["op_id"] in started:
            number, inv = started.pop(e["op_id"])
            ok = e.get("ok", True)
            yield Op(rows[e["client"]], number, inv["t"], e["t"],
                     "ok" if ok else "failed", op_text(inv, e))
    for number, inv in started.values():
        yield Op(rows[inv["client"]], number, inv["t"], cut, "pending",
                 op_text(inv, None))


def op_text(invoke, complete):
    """``write(3) → ok``, ``read → 2``, ``get k1 → ?`` for an unknown outcome."""
    name = invoke["op"]
    if invoke.get("key") is not None:
        name += f" {invoke['key']}"
    value = invoke.get("value")
    if value is not None:
        shown = _json(value)[1:-1] if isinstance(value, list) else value
        name += f"({shown})"
    if complete is None:
        return f"{name} …"
    if not complete.get("ok", True):
        return f"{name} → ?"
    result = complete.get("result")
    return f"{name} → {'ok' if result is None else _json(result)}"
