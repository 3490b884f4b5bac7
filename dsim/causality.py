"""Reading causality off a stamped run: what the clocks notebook asks.

The events here are the ones the clocks stamp, sends and deliveries, each
named the way the diagram labels its message: ``"send alice:1"`` is the
tail of the arrow ``alice:1`` and ``"deliver alice:1"`` its head. A trace
index works too.

Happened-before is read from the trace alone (earlier on the same
lifeline, or a message's send before its delivery), so every answer here
can be set against what the clocks claim: ``relation`` says how two
events relate, which clock could have told, and the causal path that
proves it; ``cone`` gives an event's causal past and future;
``lamport_order`` lays out the Lamport total order against real time;
``claims`` and ``versions`` read the username and cart scenarios. The
exercise checks answer right or wrong, and why.

Limitations: timers and state changes are not stamped, so they take no
part in the relations here, although the trace counts them on their
lifelines. The trace must come from a run with a stamper (every
``clocks-`` scenario has one).
"""

import html
from collections import deque
from dataclasses import dataclass

from .clocks import VectorClock, compare, format_vclock
from .feedback import Feedback
from .trace import Trace, reachable

STAMPED = ("send", "deliver")


@dataclass(frozen=True)
class Event:
    """A stamped event: where, when, and both clocks."""

    index: int
    name: str
    node: str
    t: float
    lamport: int
    vclock: dict

    @property
    def key(self):
        """The Lamport total-order key: ``(lamport, node)``."""
        return (self.lamport, self.node)


def _trace(run_or_trace):
    if isinstance(run_or_trace, Trace):
        return run_or_trace
    trace = getattr(run_or_trace, "trace", None)
    if isinstance(trace, Trace):
        return trace
    raise ValueError(f"{run_or_trace!r} is neither a dsim Run nor a Trace")


def events(run):
    """Every stamped event of ``run``, in trace order."""
    found = []
    for index, e in enumerate(_trace(run)):
        if e["kind"] in STAMPED:
            if "lamport" not in e:
                raise ValueError(f"event {index} ({e['kind']} {e['id']}) has no "
                                 "clock stamps: run the scenario with "
                                 "stamper=Stamper()")
            node = e["src"] if e["kind"] == "send" else e["dst"]
            found.append(Event(index, f"{e['kind']} {e['id']}", node, e["t"],
                               e["lamport"], dict(e["vclock"])))
    return found


def event(run, ref):
    """The stamped event ``ref`` names: ``"send n1:2"``, ``"deliver n1:2"``
    or a trace index."""
    if isinstance(ref, Event):
        return ref
    stamped = events(run)
    for e in stamped:
        if ref == e.index or ref == e.name:
            return e
    example = stamped[0].name if stamped else "send n1:1"
    raise ValueError(f"no stamped event {ref!r} in this run: name one as "
                     f"'send ID' or 'deliver ID' (for example {example!r}) "
                     "or by its trace index")


def _graph(stamped):
    """Direct happened-before edges among the stamped events."""
    succ = {e.index: [] for e in stamped}
    last_on = {}
    sends = {}
    for e in stamped:
        if e.node in last_on:
            succ[last_on[e.node]].append(e.index)
        last_on[e.node] = e.index
        kind, mid = e.name.split(" ", 1)
        if kind == "send":
            sends[mid] = e.index
        elif mid in sends:
            succ[sends[mid]].append(e.index)
    return succ


def causal_path(run, a, b):
    """The shortest chain of events from ``a`` to ``b``, or None if none."""
    a, b = event(run, a), event(run, b)
    stamped = events(run)
    by_index = {e.index: e for e in stamped}
    succ = _graph(stamped)
    came_from = {a.index: None}
    todo = deque([a.index])
    while todo:
        here = todo.popleft()
        if here == b.index:
            path = []
            while here is not None:
                path.append(by_index[here])
                here = came_from[here]
            return tuple(reversed(path))
        for nxt in succ[here]:
            if nxt not in came_from:
                came_from[nxt] = here
                todo.append(nxt)
    return None


@dataclass(frozen=True)
class Relation:
    """How two events relate, what each clock says, and the proof."""

    a: Event
    b: Event
    order: str  # "before" (a happened before b), "after", "concurrent", "same"
    vector: str  # what comparing the vector clocks gives
    lamport: str  # what the Lamport clocks alone allow one to conclude
    path: tuple  # events from the earlier to the later, or () if concurrent

    def explain(self):
        """The verdict in a few sentences."""
        a, b = self.a, self.b
        if self.order == "same":
            return f"{a.name} and {b.name} are the same event."
        lines = [_verdict(self)]
        lines.append(f"Vector clocks: {format_vclock(a.vclock)} vs "
                     f"{format_vclock(b.vclock)} compare as '{self.vector}', "
                     "so the vector clocks can tell.")
        lines.append(f"Lamport clocks: {a.lamport} vs {b.lamport}: {self.lamport}")
        if self.path:
            lines.append("Causal path: " + " -> ".join(
                f"{e.name} ({e.node})" for e in self.path))
        return "\n".join(lines)

    def __str__(self):
        return self.explain()

    def _repr_html_(self):
        return "<pre>" + html.escape(self.explain()) + "</pre>"


def _verdict(rel):
    a, b = rel.a.name, rel.b.name
    if rel.order == "before":
        return f"{a} happened before {b}."
    if rel.order == "after":
        return f"{b} happened before {a}."
    return (f"{a} and {b} are concurrent: no chain of messages and "
            "lifelines leads from either to the other.")


def _lamport_says(a, b):
    if a.lamport == b.lamport:
        return ("equal clocks, so neither happened before the other: they "
                "are concurrent (Lamport can prove this much).")
    first, second = (a, b) if a.lamport < b.lamport else (b, a)
    return (f"{second.name} did not happen before {first.name}; whether "
            f"{first.name} happened before {second.name} or the two are "
            "concurrent, Lamport clocks cannot say.")


def relation(run, a, b):
    """How events ``a`` and ``b`` relate (see ``Relation``)."""
    a, b = event(run, a), event(run, b)
    vector = compare(a.vclock, b.vclock)
    if a.index == b.index:
        return Relation(a, b, "same", vector, "the same event.", ())
    forward = causal_path(run, a, b)
    backward = None if forward else causal_path(run, b, a)
    order = "before" if forward else "after" if backward else "concurrent"
    return Relation(a, b, order, vector, _lamport_says(a, b),
                    forward or backward or ())


@dataclass(frozen=True)
class Cone:
    """An event's causal past, causal future, and what is concurrent with it."""

    event: Event
    past: tuple
    future: tuple
    concurrent: tuple

    def indices(self):
        """Trace indices of the past, the event and the future (to highlight)."""
        return {e.index for e in self.past + self.future} | {self.event.index}

    def _repr_html_(self):
        rows = [("past", self.past), ("future", self.future),
                ("concurrent", self.concurrent)]
        body = "".join(f"<tr><td>{label} ({len(es)})</td><td>"
                       f"{html.escape(', '.join(e.name for e in es))}</td></tr>"
                       for label, es in rows)
        return (f"<b>{html.escape(self.event.name)}</b> at {self.event.node}"
                f"<table>{body}</table>")


def cone(run, ref):
    """The causal past and future of the stamped event ``ref``."""
    centre = event(run, ref)
    succ = _graph(events(run))
    future = reachable(succ, centre.index)
    pred = {i: [] for i in succ}
    for i, targets in succ.items():
        for j in targets:
            pred[j].append(i)
    past = reachable(pred, centre.index)
    stamped = [e for e in events(run) if e.index != centre.index]
    return Cone(centre, tuple(e for e in stamped if e.index in past),
                tuple(e for e in stamped if e.index in future),
                tuple(e for e in stamped
                      if e.index not in past and e.index not in future))


def concurrent_pairs(run):
    """Every pair of stamped events that are concurrent, in trace order."""
    stamped = events(run)
    return [(a, b) for i, a in enumerate(stamped) for b in stamped[i + 1:]
            if compare(a.vclock, b.vclock) == "concurrent"]


# ----- the Lamport total order against real time -----


@dataclass(frozen=True)
class OrderRow:
    """One event's place in the Lamport total order and in real time."""

    rank: int
    real_rank: int
    event: Event


class LamportOrder(tuple):
    """Rows in Lamport total order; ``inversions`` are pairs real time
    orders the other way."""

    @property
    def inversions(self):
        """Pairs (earlier in Lamport order, later) whose real times disagree."""
        return [(r.event, s.event) for i, r in enumerate(self)
                for s in self[i + 1:] if s.event.t < r.event.t]

    def _repr_html_(self):
        head = ("<tr><th>Lamport rank</th><th>event</th><th>node</th>"
                "<th>(L, node)</th><th>real time (s)</th><th>real rank</th></tr>")
        body = "".join(_order_row(r) for r in self)
        note = (f"<p>{len(self.inversions)} pair(s) of events are ordered one "
                "way by Lamport clocks and the other way by real time; rows "
                "in <b>bold</b> moved.</p>")
        return f"<table>{head}{body}</table>{note}"


def _order_row(row):
    e = row.event
    cells = [row.rank, e.name, e.node, f"({e.lamport}, {e.node})",
             f"{e.t:.3f}", row.real_rank]
    text = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
    return f"<tr style='font-weight:bold'>{text}</tr>" if (
        row.rank != row.real_rank) else f"<tr>{text}</tr>"


def lamport_order(run):
    """The stamped events in Lamport total order, with their real-time rank."""
    stamped = events(run)
    by_time = sorted(stamped, key=lambda e: (e.t, e.index))
    real = {e.index: rank for rank, e in enumerate(by_time, 1)}
    ordered = sorted(stamped, key=lambda e: e.key)
    return LamportOrder(OrderRow(rank, real[e.index], e)
                        for rank, e in enumerate(ordered, 1))


def misleading_pairs(run):
    """Concurrent pairs whose Lamport clocks differ: the smaller looks first.

    Each pair is ``(a, b)`` with ``L(a) < L(b)`` although neither happened
    before the other; Lamport clocks alone cannot tell these from causes.
    """
    found = []
    for a, b in concurrent_pairs(run):
        if a.lamport != b.lamport:
            found.append((a, b) if a.lamport < b.lamport else (b, a))
    return found


# ----- usernames and carts -----


@dataclass(frozen=True)
class Claim:
    """One server's claim on the name and what became of it."""

    server: str
    claim: str
    granted: float
    outcome: str
    decided: float


def claims(run):
    """What each claiming server of ``clocks-usernames`` decided, and when."""
    found = {}
    for e in _trace(run).of_kind("state"):
        fields = e["fields"]
        if "claim" not in fields:
            continue
        server = e["node"]
        status = fields["status"]
        first = found.get(server)
        granted = first.granted if first else None
        if status == "granted" and granted is None:
            granted = e["t"]
        found[server] = Claim(server, fields["claim"], granted, status, e["t"])
    return [found[s] for s in sorted(found)]


@dataclass(frozen=True)
class Version:
    """A version of the cart a replica wrote: items and version vector."""

    writer: str
    t: float
    items: tuple
    vv: dict

    @property
    def label(self):
        return f"{','.join(self.items)} {format_vclock(self.vv)}"


def versions(run):
    """Every cart version written in a ``clocks-cart`` run, in write order."""
    seen = {}
    for e in _trace(run).of_kind("send"):
        if e["type"] == "version":
            payload = e["payload"]
            key = (e["src"], tuple(sorted(payload["vv"].items())))
            if key not in seen:
                seen[key] = Version(e["src"], e["t"], tuple(payload["items"]),
                                    dict(payload["vv"]))
    return list(seen.values())


def version_table(run):
    """Each pair of cart versions and how their version vectors compare."""
    found = versions(run)
    return [(a, b, VectorClock(a.vv).compare(b.vv))
            for i, a in enumerate(found) for b in found[i + 1:]]


# ----- exercise checks -----


def check_concurrent(run, ref, answer):
    """Check ``answer``: the events concurrent with ``ref`` (names or indices)."""
    centre = event(run, ref)
    if answer is None:
        return Feedback(None, f"list the events concurrent with {centre.name} "
                        "by name, each 'send ID' or 'deliver ID'.")
    if isinstance(answer, (str, int)):
        answer = [answer]
    chosen = {event(run, r).index: event(run, r) for r in answer}
    truth = {e.index: e for e in cone(run, centre).concurrent}
    missing = [truth[i] for i in truth if i not in chosen]
    extra = [chosen[i] for i in chosen if i not in truth]
    if not missing and not extra:
        return Feedback(True, f"these {len(truth)} events are exactly the ones "
                        f"with no causal path to or from {centre.name}.")
    reasons = []
    for e in extra:
        rel = relation(run, centre, e)
        proof = " -> ".join(x.name for x in rel.path) if rel.path else "itself"
        reasons.append(f"{e.name} is not concurrent: {proof}")
    if missing:
        names = ", ".join(e.name for e in missing)
        reasons.append(f"missing: {names} (neither their vector clocks nor "
                       f"{format_vclock(centre.vclock)} is below the other)")
    return Feedback(False, "; ".join(reasons) + ".")


def exercise_inputs(run, ref):
    """What one needs to stamp ``ref``: the node's previous stamps and, for a
    delivery, the stamps the message carried."""
    target = event(run, ref)
    earlier = [e for e in events(run)
               if e.node == target.node and e.index < target.index]
    before = (earlier[-1].lamport, earlier[-1].vclock) if earlier else (0, {})
    carried = None
    if target.name.startswith("deliver"):
        send = event(run, "send" + target.name[len("deliver"):])
        carried = (send.lamport, send.vclock)
    return {"event": target.name, "node": target.node,
            "previous": {"lamport": before[0], "vclock": before[1]},
            "carried": None if carried is None else
            {"lamport": carried[0], "vclock": carried[1]}}


def check_stamps(run, ref, lamport=None, vclock=None):
    """Check a learner's ``lamport`` and ``vclock`` for the event ``ref``."""
    target = event(run, ref)
    if lamport is None and vclock is None:
        return Feedback(None, f"compute the Lamport clock and the vector clock "
                        f"of {target.name} at {target.node}.")
    wrong = []
    if lamport != target.lamport:
        wrong.append(f"the Lamport clock is {target.lamport}, not {lamport!r} "
                     "(max(own, carried) + 1 on a delivery, own + 1 on a send)")
    if not _same_vclock(vclock, target.vclock):
        wrong.append(f"the vector clock is {format_vclock(target.vclock)}, not "
                     f"{vclock!r} (entry-wise max with the carried vector on a "
                     "delivery, then add one to your own entry)")
    if wrong:
        return Feedback(False, "; ".join(wrong) + ".")
    return Feedback(True, f"{target.name} is stamped L={target.lamport}, "
                    f"V={format_vclock(target.vclock)}.")


MERGE_CASES = (
    ({"a": 2, "b": 0}, {"a": 1, "b": 3}, "a", {"a": 3, "b": 3}),
    ({"a": 1}, {"b": 2, "c": 1}, "a", {"a": 2, "b": 2, "c": 1}),
    ({"b": 4, "c": 1}, {"a": 5, "b": 1}, "c", {"a": 5, "b": 4, "c": 2}),
    ({}, {"a": 1}, "b", {"a": 1, "b": 1}),
)


def check_merge(merge, runs=()):
    """Check ``merge(local, carried, node)``: the vector of a delivery at
    ``node``, from its own last vector and the one the message carried.

    Tried on small cases, then on every delivery of the given ``runs``.
    """
    if merge is None:
        return Feedback(None, "write merge(local, carried, node) and pass it in.")
    if not callable(merge):
        return Feedback(False, f"{merge!r} is not a function.")
    cases = list(MERGE_CASES)
    for run in runs:
        cases += _merge_cases(run)
    for local, carried, node, expected in cases:
        try:
            got = merge(dict(local), dict(carried), node)
        except Exception as exc:  # the learner's code: report, don't raise
            return Feedback(False, f"merge({local}, {carried}, {node!r}) raised "
                            f"{type(exc).__name__}: {exc}")
        if got is None:
            return Feedback(None, "merge returned None: write its body, then "
                            "run the check again.")
        try:
            same = compare(got, expected) == "equal"
        except (ValueError, TypeError) as exc:
            return Feedback(False, f"merge({local}, {carried}, {node!r}) returned "
                            f"{got!r}, which is not a vector clock: {exc}")
        if not same:
            return Feedback(False, f"merge({local}, {carried}, {node!r}) returned "
                            f"{got!r}; it should be {expected} (entry-wise max, "
                            f"then one more for {node}).")
    return Feedback(True, f"your merge agrees with the stamper on {len(cases)} "
                    "deliveries.")


def _merge_cases(run):
    cases = []
    last = {}
    sends = {}
    for e in events(run):
        kind, mid = e.name.split(" ", 1)
        if kind == "send":
            sends[mid] = e.vclock
        else:
            cases.append((last.get(e.node, {}), sends[mid], e.node, e.vclock))
        last[e.node] = e.vclock
    return cases


def _same_vclock(given, truth):
    try:
        return given is not None and compare(given, truth) == "equal"
    except (ValueError, TypeError, AttributeError):
        return False
