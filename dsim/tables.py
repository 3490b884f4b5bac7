"""Readable tables of a run's events, for notebooks and terminals.

A trace is a list of dicts; a learner wants to read it as a story: at
what time, at which node, what happened. ``event_table`` lays the events
out one per row, with times in milliseconds, and shows itself as HTML in
a notebook and as aligned text anywhere else.
"""

import html
import json

from .trace import lifeline
from .viz.scene import as_trace

_HIDDEN = {"start", "end"}


def describe(event):
    """One event in words, such as ``ping n1:2 n1→n2 lost (manual)``."""
    kind = event["kind"]
    if kind == "send":
        payload = "" if event["payload"] is None else " " + json.dumps(
            event["payload"], separators=(",", ":"))
        return f"sends {event['type']} {event['id']} to {event['dst']}{payload}"
    if kind == "deliver":
        return f"receives {event['type']} {event['id']} from {event['src']}"
    if kind == "drop":
        return (f"{event['type']} {event['id']} {event['src']}→{event['dst']} "
                f"lost ({event['reason']})")
    if kind == "timer":
        return f"timer {event['name']} fires"
    if kind == "state":
        return ", ".join(f"{k}={_short(v)}" for k, v in event["fields"].items())
    if kind in ("partition", "heal"):
        verb = "cut" if kind == "partition" else "healed"
        if "groups" in event:
            return f"network {verb}: " + " | ".join(
                ",".join(g) for g in event["groups"])
        arrow = "→" if event.get("oneway") else "↔"
        return f"link {event['src']}{arrow}{event['dst']} {verb}"
    if kind == "invoke":
        return f"invokes {event['op']} {_short(event.get('value'))}".rstrip()
    if kind == "complete":
        if not event.get("ok", True):
            return f"{event['op']} failed or timed out (outcome unknown)"
        return f"{event['op']} returns {_short(event.get('result'))}"
    return kind


def _short(value):
    return "" if value is None else json.dumps(value, separators=(",", ":"))


class EventTable:
    """Rows of (time in ms, where, kind, what happened)."""

    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __str__(self):
        widths = [max(len(str(r[i])) for r in self.rows + [self.header])
                  for i in range(4)]
        lines = [self.header] + self.rows
        return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths))
                         .rstrip() for r in lines)

    header = ("t (ms)", "where", "kind", "what happened")

    def _repr_html_(self):
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(str(c))}</td>"
                             for c in row) + "</tr>" for row in self.rows)
        return (f"<table class='dsim-events' style='font-size:14px'><thead><tr>{head}"
                f"</tr></thead><tbody>{body}</tbody></table>")


def event_table(run_or_trace, kinds=None, nodes=None, until=None):
    """The events of a run as a readable table.

    - ``kinds``: only these kinds, such as ``["send", "drop"]``;
    - ``nodes``: only events at these nodes (network events always show);
    - ``until``: only events up to this time in seconds.
    """
    trace = as_trace(run_or_trace)
    rows = []
    for event in trace:
        if event["kind"] in _HIDDEN or (kinds and event["kind"] not in kinds):
            continue
        if until is not None and event["t"] > until:
            break
        where = lifeline(event) or "network"
        if nodes and where not in nodes and where != "network":
            continue
        rows.append((f"{1000 * event['t']:.1f}", where, event["kind"],
                     describe(event)))
    return EventTable(rows)
