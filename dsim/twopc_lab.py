"""The two-phase commit notebook's lab: who was stuck, for how long, at what cost.

Everything here reads a run's trace, as the views do. ``in_doubt_table``
says, for each participant of ``dsim.protocols.twopc``, when it voted yes,
when it learned the outcome, how long it was in doubt in between (the
uncertainty window of Bernstein, Hadzilacos and Goodman's *Concurrency
Control and Recovery*, ch. 7), and how many other transactions queued on
its locked row meanwhile. ``atomicity`` is the all-or-nothing verdict.
``blocking_by_downtime`` measures the worst in-doubt time against the
coordinator's downtime, for plain 2PC and with the decision kept on a
majority, and ``plot_blocking`` draws it. The ``check_*`` functions are
the notebook's exercise checks: given the learner's answer (``None`` while
unanswered) they run what is needed and say right or wrong, and why.

Limitations: the table knows the transaction by the trace's records, so it
reads runs of ``dsim.protocols.twopc`` (or of a protocol that records
``tx``, ``status`` and ``locks`` the same way, with one transaction).
"""

import html
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg

from .feedback import Feedback
from .network import Crash, Faults
from .protocols.twopc import COMMIT, CRASH_AFTER_LOG, HEURISTIC, STANDBYS
from .trace import Trace
from .viz.diagram import DiagramFigure
from .viz.style import charted

DECIDED = ("committed", "aborted")
UNCERTAIN = ("prepared", "in-doubt")
STEPS = ("execute", "prepare", "vote", "log", "send", "ack")


@dataclass(frozen=True)
class InDoubt:
    """One participant's uncertainty window and what it cost others.

    ``voted`` is when it voted yes (None if it never did); ``learned`` when
    it reached an outcome after that (None if the run ended first);
    ``waited`` counts other transactions that found its row locked, and
    ``wait`` is the total time they spent in the row's queue.
    """

    node: str
    voted: float
    learned: float
    outcome: str
    in_doubt: float
    waited: int
    wait: float
    heuristic: str = None

    @property
    def stuck(self):
        """Whether the run ended with this participant still in doubt."""
        return self.voted is not None and self.learned is None


@dataclass(frozen=True)
class InDoubtTable:
    """The rows of ``in_doubt_table``, shown as a table in a notebook."""

    rows: tuple

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, node):
        for row in self.rows:
            if row.node == node:
                return row
        names = ", ".join(r.node for r in self.rows)
        raise KeyError(f"no participant {node!r}; the participants are {names}")

    def _repr_html_(self):
        head = ("<tr><th>participant</th><th>voted yes at</th><th>outcome</th>"
                "<th>in doubt for</th><th>transactions waiting</th>"
                "<th>their total wait</th></tr>")
        return ("<table class='dsim-twopc'>" + head
                + "".join(_html_row(r) for r in self.rows) + "</table>")

    def __repr__(self):
        lines = [f"{'node':5} {'voted':>7} {'outcome':>16} {'in doubt':>9} "
                 f"{'waited':>7} {'wait':>7}"]
        for r in self.rows:
            lines.append(f"{r.node:5} {_secs(r.voted):>7} {_outcome(r):>16} "
                         f"{_secs(r.in_doubt):>9} {r.waited:>7} {_secs(r.wait):>7}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Verdict:
    """A yes-or-no answer with the reason, such as atomicity kept or broken."""

    ok: bool
    text: str

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return ("✔ " if self.ok else "✘ ") + self.text

    def _repr_html_(self):
        colour = "#009E73" if self.ok else "#D55E00"
        mark = "✔" if self.ok else "✘"
        return (f"<div class='dsim-verdict' style='color:{colour}'>"
                f"<b>{mark}</b> {html.escape(self.text)}</div>")


# ----- reading a run -----


def as_trace(run_or_trace):
    """The trace of a ``Run``, or a ``Trace`` itself."""
    if isinstance(run_or_trace, Trace):
        return run_or_trace
    trace = getattr(run_or_trace, "trace", None)
    if not isinstance(trace, Trace):
        raise ValueError(f"{run_or_trace!r} is neither a dsim Run nor a Trace")
    return trace


def participants(run_or_trace):
    """The nodes that record ``locks``: the participants, in trace order."""
    trace = as_trace(run_or_trace)
    found = []
    for e in trace.of_kind("state"):
        if "locks" in e["fields"] and e["node"] not in found:
            found.append(e["node"])
    return found


def statuses(run_or_trace, node):
    """``node``'s recorded status changes as ``(t, status)`` pairs, crashes as None."""
    trace = as_trace(run_or_trace)
    changes, last = [], object()
    for e in trace:
        if e.get("node") != node or e["kind"] not in ("state", "crash"):
            continue
        status = e["fields"].get("status") if e["kind"] == "state" else None
        if status != last:
            changes.append((e["t"], status))
            last = status
    return changes


def outcomes(run_or_trace):
    """Each participant's final outcome: ``committed``, ``aborted`` or None."""
    trace = as_trace(run_or_trace)
    final = {}
    for node in participants(trace):
        decided = [s for _, s in statuses(trace, node) if s in DECIDED]
        final[node] = decided[-1] if decided else None
    return final


def in_doubt_table(run_or_trace):
    """Per participant: yes vote, outcome, time in doubt, waiting transactions."""
    trace = as_trace(run_or_trace)
    return InDoubtTable(tuple(_in_doubt(trace, node)
                              for node in participants(trace)))


def _in_doubt(trace, node):
    voted = _voted_yes(trace, node)
    learned = outcome = heuristic = None
    for e in trace.of_kind("state"):
        fields = e["fields"]
        if e["node"] == node and fields.get("status") in DECIDED:
            if voted is None or e["t"] >= voted:
                learned, outcome = e["t"], fields["status"]
                heuristic = fields.get("heuristic")
                break
    if voted is None:
        spell = None
    else:
        spell = (trace.duration if learned is None else learned) - voted
    waited, wait = _lock_waits(trace, node)
    return InDoubt(node, voted, learned if voted is not None else None,
                   outcome, spell, waited, wait, heuristic)


def _voted_yes(trace, node):
    for e in trace.of_kind("send"):
        if (e["src"] == node and e["type"] == "vote"
                and e["payload"].get("yes")):
            return e["t"]
    return None


def _lock_waits(trace, node):
    """Writes that found ``node``'s row locked: how many, and how long in all."""
    locked, queued, wait = False, {}, 0.0
    put_ops = {}
    for e in trace:
        kind = e["kind"]
        if kind == "send" and e["dst"] == node and e["type"] == "put":
            put_ops[e["id"]] = e["payload"]["op_id"]
        elif kind == "state" and e["node"] == node:
            locked = bool(e["fields"].get("locks"))
        elif kind == "crash" and e["node"] == node:
            locked = False
        elif kind == "deliver" and e["dst"] == node and e["id"] in put_ops:
            if locked:
                queued[put_ops[e["id"]]] = e["t"]
        elif kind == "send" and e["src"] == node and e["type"] == "reply":
            start = queued.get(e["payload"]["op_id"])
            if start is not None:
                wait += e["t"] - start
    answered = {e["payload"]["op_id"] for e in trace.of_kind("send")
                if e["src"] == node and e["type"] == "reply"}
    wait += sum(trace.duration - t for op, t in queued.items()
                if op not in answered)
    return len(queued), wait


def atomicity(run_or_trace):
    """All-or-nothing: every participant committed, or every one aborted."""
    trace = as_trace(run_or_trace)
    final = outcomes(trace)
    forced = {r.node: r.heuristic for r in in_doubt_table(trace) if r.heuristic}
    done = {n: s for n, s in final.items() if s is not None}
    if len(set(done.values())) > 1:
        who = ", ".join(f"{n} {s}" for n, s in final.items())
        why = (f" after an operator forced {', '.join(forced)}"
               if forced else " with no operator involved")
        return Verdict(False, f"atomicity broken: {who}{why}")
    waiting = [n for n, s in final.items() if s is None]
    if not done:
        return Verdict(True, "no participant has an outcome yet")
    text = f"atomic: every participant that finished {next(iter(done.values()))}"
    if waiting:
        text += f"; {', '.join(waiting)} still without an outcome"
    return Verdict(True, text)


def panel(run):
    """The explorer's panel: the in-doubt table and the atomicity verdict."""
    return (in_doubt_table(run)._repr_html_()
            + atomicity(run)._repr_html_())


# ----- experiments -----


def worst_in_doubt(run_or_trace):
    """The longest time any participant spent in doubt (0 if none voted yes)."""
    spells = [r.in_doubt for r in in_doubt_table(run_or_trace)
              if r.in_doubt is not None]
    return max(spells, default=0.0)


def blocking_by_downtime(downtimes, seed=0):
    """Worst in-doubt time when the coordinator crashes after its commit point.

    Returns ``(downtime, plain 2PC, with standbys)`` triples: the same
    crash, once with the decision only in the coordinator's log, once
    with it on a majority of the coordinator and two standbys.
    """
    rows = []
    for downtime in downtimes:
        if not (isinstance(downtime, (int, float)) and downtime > 0):
            raise ValueError(f"downtime {downtime!r} must be seconds > 0")
        plain = CRASH_AFTER_LOG.run(seed=seed, downtime=downtime,
                                    until=downtime + 15)
        kept = STANDBYS.run(seed=seed, downtime=downtime, until=downtime + 15)
        rows.append((downtime, worst_in_doubt(plain), worst_in_doubt(kept)))
    return rows


@charted
def plot_blocking(rows, ax=None):
    """Draw ``blocking_by_downtime`` rows: in-doubt time against downtime."""
    if ax is None:
        fig = DiagramFigure(figsize=(10, 4.8), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    downtimes = [r[0] for r in rows]
    ax.plot(downtimes, [r[1] for r in rows], "o-", color="#D55E00",
            label="2PC: decision only in the coordinator's log")
    ax.plot(downtimes, [r[2] for r in rows], "s--", color="#0072B2",
            label="decision on a majority (coordinator + 2 standbys)")
    ax.plot(downtimes, downtimes, ":", color="#777777", label="the downtime")
    ax.set_xlabel("coordinator downtime (s)")
    ax.set_ylabel("longest time in doubt (s)")
    ax.set_title("A crash after the commit point: who waits?")
    ax.legend(loc="upper left", frameon=False)
    ax.set_ylim(bottom=0)
    ax.figure.tight_layout()
    return ax.figure


# ----- exercise checks -----


def check_points_of_no_return(answer):
    """Exercise: which two steps can no longer be taken back?

    ``answer`` is a pair of names from ``STEPS``.
    """
    if answer is None:
        return Feedback(None, "give two of " + ", ".join(STEPS))
    chosen = set(answer) if not isinstance(answer, str) else {answer}
    unknown = chosen - set(STEPS)
    if unknown:
        return Feedback(False, f"{', '.join(sorted(unknown))} is not a step; "
                             f"the steps are {', '.join(STEPS)}")
    if chosen == {"vote", "log"}:
        return Feedback(True, "a participant that has logged its yes vote may no "
                            "longer abort on its own, and a coordinator that has "
                            "logged its decision may no longer change it")
    hints = []
    if "vote" not in chosen:
        hints.append("look at what a participant may do before and after its "
                     "yes vote (the 'working' timeout)")
    if "log" not in chosen:
        hints.append("a coordinator that crashes before logging aborts on "
                     "recovery; one that crashes after it must commit")
    return Feedback(False, "; ".join(hints) or "exactly two steps, please")


def check_in_doubt_time(answer, downtime=3.0, seed=0):
    """Exercise: p1's time in doubt when the coordinator is down ``downtime`` s."""
    if answer is None:
        return Feedback(None, "give a number of seconds")
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return Feedback(False, f"{answer!r} is not a number of seconds")
    run = CRASH_AFTER_LOG.run(seed=seed, downtime=downtime)
    actual = in_doubt_table(run)["p1"].in_doubt
    if abs(answer - actual) <= 0.25:
        return Feedback(True, f"p1 was in doubt {actual:.2f} s: the downtime plus "
                            "the vote's trip, the log write and the commit's trip")
    return Feedback(False, f"p1 was in doubt {actual:.2f} s, not {answer:g} s; "
                         "it cannot leave that state until the coordinator is "
                         "back, so start from the downtime")


def check_harmless_crash(at, seed=0):
    """Exercise: find a time to crash the coordinator (for 2 s) that blocks no one."""
    if at is None:
        return Feedback(None, "give a crash time in seconds")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0:
        return Feedback(False, f"{at!r} is not a time in seconds >= 0")
    run = COMMIT.run(seed=seed, faults=Faults(crashes=[Crash("co", at, at + 2)]))
    table = in_doubt_table(run)
    blocked = [r.node for r in table if r.in_doubt and r.in_doubt > 1.0]
    if blocked:
        return Feedback(False, f"crashing at {at:g} s left {', '.join(blocked)} in "
                             "doubt for over a second: they had voted yes")
    began = run.trace.index_of("timer", node="co", name="begin")
    if run.trace[began]["t"] > at:
        return Feedback(True, f"at {at:g} s the transaction had not begun; the "
                            "coordinator began it once it was back")
    if all(r.voted is None for r in table):
        return Feedback(True, f"at {at:g} s no one had voted yet, so each "
                            "participant aborted on its own after its timeout")
    return Feedback(True, f"at {at:g} s the outcome had already reached everyone "
                        "who voted: the crash blocks no one")


def check_heuristic(outcome, seed=0):
    """Exercise: which outcome should the operator force on p3 in 2pc-heuristic?"""
    if outcome is None:
        return Feedback(None, "'commit' or 'abort'")
    if outcome not in ("commit", "abort"):
        return Feedback(False, f"{outcome!r} must be 'commit' or 'abort'")
    forced = dict(HEURISTIC.params["heuristic"], outcome=outcome)
    verdict = atomicity(HEURISTIC.run(seed=seed, heuristic=forced))
    if verdict.ok:
        return Feedback(True, f"forcing {outcome} matched the coordinator's logged "
                            "decision, this time: the operator guessed right, but "
                            "only the coordinator's log could have told")
    return Feedback(False, f"forcing {outcome}: {verdict.text}")


def _html_row(r):
    cells = [r.node, _secs(r.voted), _outcome(r), _secs(r.in_doubt),
             str(r.waited), _secs(r.wait)]
    style = " style='background:#F0E442'" if r.stuck else ""
    return f"<tr{style}>" + "".join(
        f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _secs(value):
    return "–" if value is None else f"{value:.2f} s"


def _outcome(row):
    if row.stuck:
        return "still in doubt"
    text = row.outcome or "–"
    return f"{text} (forced)" if row.heuristic else text
