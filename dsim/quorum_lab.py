"""The quorum notebook's instruments: the rule, staleness, costs, checks.

Everything the notebook ``01_quorum_reads`` computes or draws lives here,
so its cells stay a few lines long:

- ``rule(n, w, r)``: whether read and write quorums must overlap, in words;
- ``stale_chance`` and ``measure_staleness``: the closed form
  ``C(n - w, r) / C(n, r)`` for a read quorum that misses every replica
  of the write quorum, and a Monte Carlo estimate from real runs of the
  ``quorum-stale`` scenario; ``staleness_figure`` sets them side by side;
- ``costs``: what each fix costs in round trips, latency and messages,
  and whether it makes the runs linearizable;
- ``verdict_panel``: the checker's verdict on a run, as the explorer's
  panel;
- ``QuorumLab``: sliders for n, w and r around an explorer, which refuse
  bad values with a message and keep the last good run on screen;
- exercise checks that answer "right" or "not yet" and say why.

The closed form assumes what ``fanout="quorum"`` runs: the write reaches
exactly ``w`` replicas and the read asks exactly ``r``, each set picked
uniformly at random. Sending every phase to all replicas (``"all"``) lets
the write keep spreading after it returns, so real staleness is lower.

Limitations: staleness is measured for a read that starts the moment the
write returns, by the same client; how staleness decays with time after
the write (the "t-visibility" of probabilistically bounded staleness) is
not modelled.
"""

import html
import math
from dataclasses import dataclass

from .protocols.quorum import check_quorum
from .scenario import scenario

VARIANTS = {
    "last write wins": {"repair": "none", "read_before_write": False},
    "+ async read repair": {"repair": "async", "read_before_write": False},
    "+ sync read repair": {"repair": "sync", "read_before_write": False},
    "ABD: sync repair + read before write": {"repair": "sync",
                                             "read_before_write": True},
}

STALENESS_CONFIGS = ((3, 1, 1), (3, 1, 2), (3, 2, 1), (4, 1, 1), (4, 2, 2),
                     (5, 1, 1), (5, 1, 3), (5, 2, 2), (5, 2, 3), (3, 2, 2))


# ----- the rule -----


def rule(n, w, r):
    """The quorum rule for ``n``, ``w``, ``r`` in one sentence."""
    check_quorum(n, w, r)
    if w + r > n:
        return (f"w + r = {w + r} > n = {n}: every read quorum shares at least "
                f"{w + r - n} replica(s) with every write quorum")
    return (f"w + r = {w + r} <= n = {n}: a read can ask only replicas the "
            f"write missed (chance {stale_chance(n, w, r):.0%} when both "
            "quorums are random)")


# ----- staleness: closed form and Monte Carlo -----


def stale_chance(n, w, r):
    """The chance that a random r-set misses a random w-set of n replicas."""
    check_quorum(n, w, r)
    return math.comb(n - w, r) / math.comb(n, r)


@dataclass(frozen=True)
class Staleness:
    """How often a read right after a write missed it, out of ``trials``."""

    n: int
    w: int
    r: int
    fanout: str
    trials: int
    stale: int
    expected: float

    @property
    def rate(self):
        return self.stale / self.trials

    @property
    def error(self):
        """The standard error of ``rate`` (binomial, from the expected rate)."""
        p = self.expected
        return math.sqrt(max(p * (1 - p), 1e-12) / self.trials)

    @property
    def label(self):
        return f"n={self.n} w={self.w} r={self.r}"


def measure_staleness(n, w, r, trials, fanout="quorum", first_seed=0):
    """Run ``quorum-stale`` ``trials`` times; count reads that miss the write."""
    check_quorum(n, w, r)
    if isinstance(trials, bool) or not (isinstance(trials, int) and trials > 0):
        raise ValueError(f"trials={trials!r} must be a whole number > 0")
    stale_scenario = scenario("quorum-stale")
    stale = 0
    for seed in range(first_seed, first_seed + trials):
        run = stale_scenario.run(seed=seed, n=n, w=w, r=r, fanout=fanout)
        read = [e for e in run.trace.of_kind("complete") if e["op"] == "read"]
        stale += read[0]["result"] is None
    return Staleness(n, w, r, fanout, trials, stale, stale_chance(n, w, r))


def staleness_table(trials, configs=STALENESS_CONFIGS, fanouts=("quorum", "all")):
    """``measure_staleness`` for each configuration and fanout."""
    return [measure_staleness(n, w, r, trials, fanout)
            for fanout in fanouts for (n, w, r) in configs]


def staleness_figure(rows, ax=None):
    """Measured staleness beside the closed form, one column per (n, w, r)."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 4.8), layout="constrained")
    labels = list(dict.fromkeys(row.label for row in rows))
    xs = {label: i for i, label in enumerate(labels)}
    firsts = {row.label: row for row in rows}
    ax.bar([xs[lb] for lb in labels], [firsts[lb].expected for lb in labels],
           width=0.7, color="#d9d9d9", edgecolor="#555555",
           label="closed form C(n-w, r) / C(n, r)")
    marks = {"quorum": ("o", "#0072b2", "measured: write and read reach only "
                                        "their quorums"),
             "all": ("s", "#d55e00", "measured: sent to all, read at once")}
    for fanout, (marker, colour, text) in marks.items():
        chosen = [row for row in rows if row.fanout == fanout]
        if chosen:
            shift = -0.15 if fanout == "quorum" else 0.15
            ax.errorbar([xs[row.label] + shift for row in chosen],
                        [row.rate for row in chosen],
                        yerr=[2 * row.error for row in chosen], fmt=marker,
                        color=colour, markersize=8, capsize=4, label=text)
    ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=11)
    ax.set_ylabel("reads that miss the latest write", fontsize=12)
    ax.set_ylim(0, 1.05)
    trials = rows[0].trials if rows else 0
    ax.set_title(f"Stale reads right after a write ({trials} runs each; "
                 "bars: 2 standard errors)", fontsize=13)
    ax.legend(loc="upper right", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return ax.figure


# ----- costs -----


@dataclass(frozen=True)
class Cost:
    """What one protocol variant costs, averaged over runs of a scenario."""

    variant: str
    read_trips: float
    write_trips: float
    read_ms: float
    write_ms: float
    messages_per_op: float
    linearizable: int
    runs: int


def op_costs(run):
    """Per operation: round trips waited for, latency, messages (from the trace)."""
    ops = {}
    for e in run.trace.of_kind("invoke"):
        ops[e["op_id"]] = {"op": e["op"], "invoke": e["t"], "ms": None,
                           "steps": set(), "messages": 0}
    for e in run.trace.of_kind("complete"):
        if e["ok"]:
            ops[e["op_id"]]["ms"] = 1000 * (e["t"] - ops[e["op_id"]]["invoke"])
    for e in run.trace.of_kind("send"):
        payload = e["payload"]
        if isinstance(payload, dict) and payload.get("op_id") in ops:
            op = ops[payload["op_id"]]
            op["messages"] += 1
            if payload["step"] != "async-repair":
                op["steps"].add(payload["step"])
    return ops


def _mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def costs(seeds, name="quorum-mix", variants=None, **params):
    """Run ``name`` under each variant for ``seeds``; a ``Cost`` per variant."""
    from .check import check

    variants = VARIANTS if variants is None else variants
    rows = []
    for variant, options in variants.items():
        ops, good = [], 0
        for seed in seeds:
            run = scenario(name).run(seed=seed, **{**params, **options})
            ops += op_costs(run).values()
            good += check(run).ok is True
        done = [op for op in ops if op["ms"] is not None]
        reads = [op for op in done if op["op"] == "read"]
        writes = [op for op in done if op["op"] == "write"]
        rows.append(Cost(
            variant, _mean(len(op["steps"]) for op in reads),
            _mean(len(op["steps"]) for op in writes),
            _mean(op["ms"] for op in reads), _mean(op["ms"] for op in writes),
            _mean(op["messages"] for op in ops), good, len(seeds)))
    return CostTable(rows)


class CostTable(list):
    """``Cost`` rows that show as a table in a notebook."""

    HEADERS = ("protocol", "read round trips", "write round trips", "read ms",
               "write ms", "messages per op", "linearizable runs")

    def cells(self, row):
        return (row.variant, f"{row.read_trips:.2f}", f"{row.write_trips:.2f}",
                f"{row.read_ms:.0f}", f"{row.write_ms:.0f}",
                f"{row.messages_per_op:.1f}", f"{row.linearizable} / {row.runs}")

    def _repr_html_(self):
        head = "".join(f"<th>{h}</th>" for h in self.HEADERS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in self.cells(row))
            + "</tr>" for row in self)
        return f"<table><tr>{head}</tr>{body}</table>"

    def __str__(self):
        lines = [" | ".join(self.HEADERS)]
        lines += [" | ".join(self.cells(row)) for row in self]
        return "\n".join(lines)


# ----- reading a run -----


def lost_writes(run):
    """Acknowledged writes whose value no replica ever stored."""
    stored = {e["fields"].get("value") for e in run.trace.of_kind("state")
              if e["node"] in run.trace.nodes}
    return [e for e in run.trace.of_kind("complete")
            if e["op"] == "write" and e["ok"] and e["value"] not in stored]


def verdict(run):
    """The checker's verdict on ``run``'s history."""
    from .check import check

    return check(run)


def verdict_panel(run):
    """HTML for the explorer's panel: the verdict, with its explanation."""
    v = verdict(run)
    mark = {True: "&#10004; linearizable", False: "&#10008; not linearizable"}
    head = mark.get(v.ok, "? unknown (the search ran out of budget)")
    colour = {True: "#1a7f37", False: "#b3261e"}.get(v.ok, "#555555")
    failed = sum(1 for e in run.trace.of_kind("complete") if not e["ok"])
    note = f"; {failed} operation(s) failed or timed out" if failed else ""
    return (f"<div style='font-size:15px'><b style='color:{colour}'>{head}</b>"
            f"{note}<pre style='white-space:pre-wrap'>"
            f"{html.escape(v.explanation)}</pre></div>")
