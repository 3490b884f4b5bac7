"""The Raft notebook's lab: the election-time experiment, panels, checks.

The experiment follows section 9.3 (figure 16) of Ongaro and Ousterhout,
"In Search of an Understandable Consensus Algorithm": five servers, a
broadcast time of about 15 ms, a leader that crashes at a random point of
its heartbeat interval (half the minimum election timeout), and the time
until the others have a new leader, over many trials per range of
election timeouts.

Each trial stops as soon as a new leader is elected, so even the slow
ranges cost little, and ``election_times`` spreads the trials over cores
(or any executor) with ``dsim.sweep``.

Limitations: the servers' logs are equal, so every server is eligible
(the paper's runs had some that were not); the network is a uniform
5-10 ms one-way delay, which gives round trips of 10-20 ms, with no loss.
A trial gives up after ``limit`` seconds without a leader; the table and
the plot count such trials as longer than the limit.
"""

import io
import math
import statistics
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .feedback import Feedback
from .kernel import Simulation
from .network import Crash, Exponential, Faults, Partition
from .params import whole
from .protocols.raft import (RaftNode, election_safety, leader_at, leaders,
                             leaders_by_term, terms)
from .randomness import derive_seed, stream
from .scenario import scenario
from .sweep import sweep
from .viz.style import charted

PAPER_RANGES = ((0.150, 0.150), (0.150, 0.151), (0.150, 0.155),
                (0.150, 0.175), (0.150, 0.200), (0.150, 0.300),
                (0.012, 0.024))
TRIAL_LATENCY = Exponential(mean=0.006, floor=0.002)
TRIAL_NODES = 5
TRIAL_LIMIT = 20.0


def range_label(election):
    """``(0.15, 0.3)`` as ``"150-300 ms"``."""
    low, high = (round(x * 1000, 3) for x in election)
    return f"{low:g}-{high:g} ms"


class _Elected(Exception):
    """Ends a trial the moment a new leader is elected."""


class _TrialNode(RaftNode):
    """A Raft node that ends the trial when it wins a later term."""

    crash_at = None

    def become_leader(self):
        super().become_leader()
        if self.now > self.crash_at:
            raise _Elected(self.now)


def election_trial(case):
    """Seconds from the leader's crash to a new leader (None past the limit).

    ``case`` is ``(low, high, seed)``: n1 wins the first election at once,
    leads for a while, and crashes at a random point of a heartbeat
    interval; the other four elect a successor with timeouts drawn from
    [low, high].
    """
    low, high, seed = case
    heartbeat = low / 2
    crash_at = 4 * high + stream(seed, "crash").random() * heartbeat
    sim = Simulation(seed=seed, latency=TRIAL_LATENCY, until=crash_at + TRIAL_LIMIT,
                     faults=Faults(crashes=[Crash("n1", crash_at)]))
    for i in range(1, TRIAL_NODES + 1):
        node = _TrialNode(f"n{i}", election=(low, high), heartbeat=heartbeat,
                          first_timeout=0.0 if i == 1 else 2 * high)
        node.crash_at = crash_at
        sim.add(node)
    try:
        sim.run()
    except _Elected as elected:
        return elected.args[0] - crash_at
    return None


@dataclass(frozen=True)
class ElectionTimes:
    """The measured times to elect, per range of election timeouts."""

    ranges: tuple
    times: tuple
    limit: float = TRIAL_LIMIT

    def of(self, election):
        return self.times[self.ranges.index(tuple(election))]

    def table(self):
        """Rows of ``(range, trials, median_ms, p95_ms, max_ms, over_limit)``."""
        return [_row(r, times, self.limit) for r, times in zip(self.ranges, self.times)]


def _row(election, times, limit):
    done = sorted(t for t in times if t is not None)
    over = len(times) - len(done)
    ordered = done + [math.inf] * over

    def ms(value):
        return value * 1000

    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return (range_label(election), len(times), ms(statistics.median(ordered)),
            ms(p95), ms(ordered[-1]), over)


def election_times(ranges=PAPER_RANGES, trials=1000, slow_trials=None, seed=0,
                   executor=None, workers=None, progress=None):
    """Run the experiment: ``trials`` crashes of the leader for each range.

    A range without any spread splits votes for a long time, so it gets
    ``slow_trials`` trials (default: a tenth of ``trials``, as in the
    paper). ``executor``, ``workers`` and ``progress`` go to ``sweep``.
    """
    ranges = tuple(tuple(float(x) for x in r) for r in ranges)
    for low, high in ranges:
        if not 0 < low <= high:
            raise ValueError(f"range {range_label((low, high))} is not allowed: "
                             "it needs 0 < low <= high seconds")
    whole("trials", trials)
    slow = max(1, trials // 10) if slow_trials is None else slow_trials
    cases = [(low, high, seed * 1_000_003 + k)
             for low, high in ranges
             for k in range(slow if low == high else trials)]
    results = sweep(election_trial, cases, executor=executor, workers=workers,
                    progress=progress)
    times = {r: [] for r in ranges}
    for (low, high, _), result in zip(cases, results):
        times[(low, high)].append(result)
    return ElectionTimes(ranges, tuple(tuple(times[r]) for r in ranges))


# ----- the table and the figure -----


class ElectionTable(list):
    """The experiment's rows, shown as a table in a notebook."""

    HEADER = ("election timeout", "trials", "median ms", "95th pct ms", "max ms",
              "no leader")

    def __str__(self):
        lines = ["  ".join(f"{h:>16}" for h in self.HEADER)]
        lines += ["  ".join(f"{_cell(v):>16}" for v in row) for row in self]
        return "\n".join(lines)

    def _repr_html_(self):
        head = "".join(f"<th>{h}</th>" for h in self.HEADER)
        body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row)
                       + "</tr>" for row in self)
        return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value):
    if isinstance(value, float):
        return "> limit" if math.isinf(value) else f"{value:,.0f}"
    return str(value)


def election_table(times):
    """The medians, 95th percentiles and maxima of an ``ElectionTimes``."""
    return ElectionTable(times.table())


class _PngFigure(Figure):
    """A figure that a notebook shows as a picture, with or without a kernel."""

    def _repr_png_(self):
        out = io.BytesIO()
        self.savefig(out, format="png", dpi=100)
        return out.getvalue()


@charted
def plot_election_cdf(times, ax=None):
    """Cumulative distribution of the time to elect, one line per range."""
    if ax is None:
        fig = _PngFigure(figsize=(12, 5.2), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    for election, values in zip(times.ranges, times.times):
        done = sorted(v * 1000 for v in values if v is not None)
        if not done:
            continue
        share = [(i + 1) / len(values) for i in range(len(done))]
        ax.step(done, share, where="post", label=range_label(election))
    ax.set_xscale("log")
    ax.set_xlim(5, times.limit * 1000)
    ax.axvline(times.limit * 1000, color="0.4", linestyle="--", linewidth=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time from the leader's crash to a new leader (ms, log scale)")
    ax.set_ylabel("share of trials with a leader")
    ax.set_title("Time to elect a new leader, by range of election timeouts")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="election timeout", loc="center left",
              bbox_to_anchor=(1.01, 0.5))
    return fig


# ----- safety and liveness under random faults -----


class LossyUntil:
    """A drop rule: lose each message sent before ``until`` with chance ``rate``.

    The draw is keyed by the message id, so the rule is deterministic.
    """

    def __init__(self, seed, rate, until):
        self.seed, self.rate, self.until = seed, rate, until

    def __call__(self, msg):
        if msg.sent >= self.until:
            return False
        return derive_seed(self.seed, "loss", msg.id) % 10_000 < self.rate * 10_000


def random_faults(seed, nodes, heal_by):
    """A random plan of losses, partitions and crashes, all over by ``heal_by``.

    Drawn from ``seed`` alone: up to 30% message loss, up to two partitions
    into random groups, up to two crashes with recoveries.
    """
    rng = stream(seed, "fault-plan")
    cuts = []
    for _ in range(rng.randint(0, 2)):
        shuffled = rng.sample(list(nodes), len(nodes))
        size = rng.randint(1, len(nodes) - 1)
        start = rng.uniform(0, heal_by * 0.8)
        cuts.append(Partition([shuffled[:size]], start=start,
                              heal=rng.uniform(start + 0.01, heal_by)))
    crashes = []
    for node in rng.sample(list(nodes), rng.randint(0, 2)):
        at = rng.uniform(0, heal_by * 0.8)
        crashes.append(Crash(node, at, rng.uniform(at + 0.01, heal_by)))
    rule = LossyUntil(seed, rng.uniform(0, 0.3), heal_by)
    return Faults(drop_if=[rule], cuts=cuts, crashes=crashes)


@dataclass(frozen=True)
class FaultyRun:
    """What a run under random faults showed: safety and liveness."""

    seed: int
    prevote: bool
    check_quorum: bool
    leaders_by_term: dict
    unsafe_terms: dict
    leader_after_heal: str


def faulty_run(seed, nodes=5, heal_by=2.5, settle=1.5):
    """One seeded run of ``raft-election`` under ``random_faults``.

    The refinements are switched on or off at random too. After every
    fault has healed (at ``heal_by`` s) the run goes on for ``settle``
    seconds, and ``leader_after_heal`` is the leader at its end.
    """
    rng = stream(seed, "options")
    options = {"prevote": rng.random() < 0.5, "check_quorum": rng.random() < 0.5}
    ids = [f"n{i}" for i in range(1, nodes + 1)]
    run = scenario("raft-election").run(
        seed=seed, faults=random_faults(seed, ids, heal_by),
        until=heal_by + settle, n=nodes, **options)
    return FaultyRun(seed, options["prevote"], options["check_quorum"],
                     leaders_by_term(run.trace), election_safety(run.trace),
                     leader_at(run.trace, heal_by + settle))


def safety_report(seeds, executor=None, workers=None, progress=None):
    """``faulty_run`` for each seed; the list of ``FaultyRun`` records."""
    return sweep(faulty_run, list(seeds), executor=executor, workers=workers,
                 progress=progress)


# ----- the explorer's panel -----


def election_panel(run):
    """HTML for the explorer: leaders per term and the safety verdict."""
    trace = run.trace
    rows = "".join(f"<tr><td>{t:.3f} s</td><td>{node}</td><td>{term}</td></tr>"
                   for t, node, term in leaders(trace))
    unsafe = election_safety(trace)
    verdict = ("<b style='color:#b00'>two leaders in term "
               f"{', '.join(map(str, unsafe))}</b>" if unsafe
               else "at most one leader per term")
    final = leader_at(trace, trace.duration)
    dropped = len(trace.dropped())
    return (f"<div><b>Elections</b> (highest term {terms(trace)}; {verdict}; "
            f"leader at the end: {final or 'none'}; {dropped} messages lost)"
            "<table><tr><th>became leader at</th><th>node</th><th>term</th></tr>"
            f"{rows or '<tr><td colspan=3>no leader yet</td></tr>'}</table></div>")


# ----- exercise checks -----


def _unanswered(what):
    return Feedback(None, f"set {what} and run this cell again")


def check_log_check_winner(answer):
    """Exercise: which node wins ``raft-log-check`` (seed 0)?"""
    if answer is None:
        return _unanswered("the answer to a node name such as 'n2'")
    run = scenario("raft-log-check").run(seed=0)
    _, winner, term = leaders(run.trace)[0]
    if answer != winner:
        return Feedback(False, f"{answer} does not win. n2 times out first but its "
                       "log (one entry) is behind n1, n3 and n4 (two entries), "
                       "so they refuse it; only n5 votes for it. Which "
                       "up-to-date node times out next?")
    return Feedback(True, f"{winner} wins term {term}. n2 timed out first (160 ms) "
                   "but its log is behind three nodes, so it got 2 votes of 5; "
                   "n5 (190 ms) had just voted for n2 and reset its timer; "
                   "n3 (220 ms) is the next node with an up-to-date log to time "
                   "out, and wins.")


def check_second_election(message_id):
    """Exercise: name one message of ``raft-election`` (seed 0) whose loss
    causes a second election."""
    if message_id is None:
        return _unanswered("message_id to an id such as 'n5:12'")
    base = scenario("raft-election").run(seed=0)
    if message_id not in base.trace.messages:
        return Feedback(False, f"{message_id!r} is not a message of this run; the "
                       "explorer lists the ids, such as "
                       f"{next(iter(base.trace.messages))!r}")
    kind = base.trace.messages[message_id].type
    run = scenario("raft-election").run(seed=0, faults=Faults(drop=[message_id]))
    if terms(run.trace) > 1:
        t, node, term = leaders(run.trace)[-1]
        return Feedback(True, f"without {message_id} ({kind}) a follower waited "
                       "longer than its election timeout, started term 2, and "
                       f"{node} leads term {term} from {t:.3f} s")
    why = {"vote": "a candidate needs 3 votes of 5, and the other votes still "
                   "make a majority",
           "request-vote": "the candidate still reaches a majority without it",
           "append-entries": "the follower's timeout (150-300 ms) outlasts one "
                             "missing heartbeat here; look for a follower whose "
                             "timeout is short"}
    return Feedback(False, f"dropping {message_id} ({kind}) changes nothing "
                   f"decisive: {why.get(kind, 'nothing waits on it')}")


def crashed_from_start(count, n=5):
    """Run ``raft-election`` with ``count`` of its ``n`` nodes down from t=0."""
    crashes = [Crash(f"n{i}", 0.0) for i in range(n - count + 1, n + 1)]
    return scenario("raft-election").run(seed=0, n=n,
                                         faults=Faults(crashes=crashes))


def check_crash_tolerance(answer, n=5):
    """Exercise: how many of ``n`` nodes can be down while a leader is elected?"""
    if answer is None:
        return _unanswered("the answer to a whole number")
    right = (n - 1) // 2
    elected = {k: bool(leaders(crashed_from_start(k, n).trace))
               for k in (right, right + 1)}
    facts = (f"with {right} down a leader is elected: {elected[right]}; with "
             f"{right + 1} down: {elected[right + 1]}")
    if answer == right:
        return Feedback(True, f"{facts}. A candidate needs {n // 2 + 1} votes, a "
                       f"majority of all {n} nodes, counted down or not.")
    return Feedback(False, f"{facts}. Count the votes a candidate needs.")
