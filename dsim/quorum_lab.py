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
- ``draw``, ``QuorumExplorer`` and ``verdict_panel``: a run's diagram
  with what each replica holds and the checker's verdict drawn over it,
  and the verdict explained under the explorer;
- ``lost_writes``: writes the store acknowledged and then lost;
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

from .feedback import NOT_ANSWERED, Feedback
from .params import whole
from .protocols.quorum import check_quorum
from .scenario import scenario
from .viz.style import charted
from .widgets import Explorer

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
    def spread(self):
        """The standard error of ``rate`` estimated from ``rate`` itself."""
        return math.sqrt(self.rate * (1 - self.rate) / self.trials)

    @property
    def label(self):
        overlap = " (overlap)" if self.w + self.r > self.n else ""
        return f"n={self.n} w={self.w} r={self.r}{overlap}"


def measure_staleness(n, w, r, trials, fanout="quorum", first_seed=0):
    """Run ``quorum-stale`` ``trials`` times; count reads that miss the write."""
    check_quorum(n, w, r)
    whole("trials", trials)
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


@charted
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
                        yerr=[2 * row.spread for row in chosen], fmt=marker,
                        color=colour, markersize=8, capsize=4, label=text)
    ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=11)
    ax.set_ylabel("reads that miss the latest write", fontsize=12)
    ax.set_ylim(0, 1.25)
    trials = rows[0].trials if rows else 0
    ax.set_title(f"Stale reads right after a write ({trials} runs each; "
                 "bars: 2 standard errors)", fontsize=13)
    ax.legend(loc="upper right", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return ax.figure


# ----- costs -----


@dataclass(frozen=True)
class Cost:
    """What one protocol variant costs, and what it buys, over many runs."""

    variant: str
    read_trips: float
    write_trips: float
    read_ms: float
    write_ms: float
    messages_per_op: float
    race_linearizable: int
    mix_linearizable: int
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


def costs(seeds, variants=None):
    """Each variant's price on ``quorum-mix`` runs, and its verdicts.

    For every seed, runs ``quorum-mix`` (random concurrent operations, one
    client's clock fast) and ``quorum-race``; averages round trips, latency
    and messages over the mix's operations, and counts the runs of each
    scenario the checker finds linearizable. ``variants`` is a list of
    names from ``VARIANTS`` (all by default) or a dict from a name to the
    scenario parameters it sets.
    """
    from .check import check

    seeds = list(seeds)
    rows = []
    for variant, options in _variants(VARIANTS if variants is None
                                       else variants).items():
        ops, race_good, mix_good = [], 0, 0
        for seed in seeds:
            run = scenario("quorum-mix").run(seed=seed, **options)
            ops += op_costs(run).values()
            mix_good += check(run).ok is True
            race_good += check(scenario("quorum-race").run(
                seed=seed, **options)).ok is True
        done = [op for op in ops if op["ms"] is not None]
        reads = [op for op in done if op["op"] == "read"]
        writes = [op for op in done if op["op"] == "write"]
        rows.append(Cost(
            variant, _mean(len(op["steps"]) for op in reads),
            _mean(len(op["steps"]) for op in writes),
            _mean(op["ms"] for op in reads), _mean(op["ms"] for op in writes),
            _mean(op["messages"] for op in ops), race_good, mix_good,
            len(seeds)))
    return CostTable(rows)


def _variants(variants):
    if isinstance(variants, dict):
        return variants
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"variant {unknown[0]!r} is not one of "
                         f"{', '.join(map(repr, VARIANTS))}")
    return {v: VARIANTS[v] for v in variants}


class CostTable(list):
    """``Cost`` rows that show as a table in a notebook."""

    HEADERS = ("protocol", "read round trips", "write round trips", "read ms",
               "write ms", "messages per op", "race linearizable",
               "mix linearizable")

    def cells(self, row):
        return (row.variant, f"{row.read_trips:.2f}", f"{row.write_trips:.2f}",
                f"{row.read_ms:.0f}", f"{row.write_ms:.0f}",
                f"{row.messages_per_op:.1f}",
                f"{row.race_linearizable} / {row.runs}",
                f"{row.mix_linearizable} / {row.runs}")

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


@dataclass(frozen=True)
class LostWrite:
    """A write the store acknowledged at ``acknowledged`` s, then lost."""

    client: str
    value: object
    acknowledged: float


def lost_writes(run):
    """Acknowledged writes whose value no replica ever stored."""
    stored = {e["fields"].get("value") for e in run.trace.of_kind("state")
              if e["node"] in run.trace.nodes}
    return [LostWrite(e["client"], e["value"], round(e["t"], 4))
            for e in run.trace.of_kind("complete")
            if e["op"] == "write" and e["ok"] and e["value"] not in stored]


def verdict(run):
    """The checker's verdict on ``run``'s history (kept on the run)."""
    from .check import check

    if getattr(run, "_verdict", None) is None:
        run._verdict = check(run)
    return run._verdict


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


# ----- the lab: sliders for n, w and r around an explorer -----


class QuorumExplorer(Explorer):
    """An ``Explorer`` of a quorum scenario that draws what each replica
    holds and the checker's verdict on every run; its panel explains the
    verdict (``verdict_panel`` unless another ``panel`` is given)."""

    def __init__(self, scenario_or_name="quorum-race", panel=None, **options):
        options.setdefault("label", "holds")
        super().__init__(scenario_or_name, panel=panel or verdict_panel,
                         verdict=verdict, **options)


class QuorumLab:
    """Sliders for n, w, r and the protocol, driving an explorer of a scenario.

    Every change re-runs the scenario with the new parameters; the rule
    ``w + r > n`` is shown as the sliders move. A bad combination (w or r
    larger than n, or below 1) is refused with a message, and the last
    good run stays on screen. ``lab.set(n=..., w=..., r=...)`` does the
    same from code. For ``quorum-race`` a list picks the replicas the
    write is slow to reach.
    """

    def __init__(self, name="quorum-race", seed=0, n=3, w=2, r=2,
                 variant="last write wins", max_n=7):
        import ipywidgets as widgets

        self.scenario = scenario(name)
        self.seed = seed
        check_quorum(n, w, r)
        if variant not in VARIANTS:
            raise ValueError(f"variant {variant!r} is not one of "
                             f"{', '.join(map(repr, VARIANTS))}")
        self.params = {"n": n, "w": w, "r": r, **VARIANTS[variant]}
        if "slow" in self.scenario.params:
            self.params["slow"] = _replicas(n)[1:]
        self._variant = variant
        self._syncing = False
        self.error = None
        style = {"description_width": "initial"}
        layout = widgets.Layout(width="330px")
        self.n_slider = widgets.IntSlider(n, 1, max_n, description="n replicas",
                                          style=style, layout=layout,
                                          continuous_update=False)
        self.w_slider = widgets.IntSlider(w, 0, max_n, description="w write acks",
                                          style=style, layout=layout,
                                          continuous_update=False)
        self.r_slider = widgets.IntSlider(r, 0, max_n, description="r read replies",
                                          style=style, layout=layout,
                                          continuous_update=False)
        self.variant = widgets.Dropdown(options=list(VARIANTS), value=variant,
                                        description="protocol", style=style,
                                        layout=widgets.Layout(width="420px"))
        self.slow = widgets.SelectMultiple(
            options=_replicas(n), value=tuple(self.params.get("slow", ())),
            description="write slow to", rows=4, style=style,
            layout=widgets.Layout(width="220px",
                                  display="" if "slow" in self.params else "none"))
        self.rule = widgets.HTML()
        self.status = widgets.HTML()
        self.explorer = self._explorer(self.params, None)
        self.holder = widgets.VBox([self.explorer])
        for control in (self.n_slider, self.w_slider, self.r_slider,
                        self.variant, self.slow):
            control.observe(self._moved, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.n_slider, self.w_slider,
                                        self.r_slider, self.variant]), self.slow]),
            self.rule, self.status, self.holder])
        self._show_rule(n, w, r)

    @property
    def run(self):
        """The run on screen: the last good one."""
        return self.explorer.run

    def set(self, n=None, w=None, r=None, variant=None, slow=None):
        """Re-run with new settings; False (and a message) if they are bad."""
        params = dict(self.params)
        for key, value in (("n", n), ("w", w), ("r", r)):
            if value is not None:
                params[key] = value
        if variant is not None:
            if variant not in VARIANTS:
                return self._refuse(f"protocol {variant!r} is not one of "
                                    f"{', '.join(map(repr, VARIANTS))}")
            params.update(VARIANTS[variant])
        if slow is not None:
            params["slow"] = list(slow)
        try:
            check_quorum(params["n"], params["w"], params["r"])
            if "slow" in params:
                params["slow"] = _slow_after(params["slow"], self.params["n"],
                                             params["n"])
            explorer = self._explorer(params, self.run.faults)
        except ValueError as exc:
            self._show_rule(params["n"], params["w"], params["r"])
            return self._refuse(str(exc))
        self.params, self.explorer, self.error = params, explorer, None
        if variant is not None:
            self._variant = variant
        self.holder.children = [explorer]
        self.status.value = ""
        self._sync_controls()
        return True

    def _explorer(self, params, faults):
        """A new explorer; the old faults stay unless they name lost nodes."""
        try:
            return QuorumExplorer(self.scenario, seed=self.seed, faults=faults,
                                  params=params)
        except ValueError:
            if faults is None or faults.empty:
                raise
        return QuorumExplorer(self.scenario, seed=self.seed, params=params)

    def _refuse(self, message):
        self.error = message
        self.status.value = (f"<b style='color:#b3261e'>&#10008; {html.escape(message)}"
                             "</b> (the diagram below still shows the last good run)")
        self._sync_controls()
        return False

    def _moved(self, change):
        if self._syncing:
            return
        self.set(n=self.n_slider.value, w=self.w_slider.value,
                 r=self.r_slider.value, variant=self.variant.value,
                 slow=self.slow.value if "slow" in self.params else None)

    def _sync_controls(self):
        """Show the good settings on screen without re-running."""
        self._syncing = True
        try:
            n, w, r = self.params["n"], self.params["w"], self.params["r"]
            if self.error is None:
                self.n_slider.value, self.w_slider.value = n, w
                self.r_slider.value = r
                self.variant.value = self._variant
                self.slow.options = _replicas(n)
                self.slow.value = tuple(self.params.get("slow", ()))
                self._show_rule(n, w, r)
        finally:
            self._syncing = False

    def _show_rule(self, n, w, r):
        try:
            text, good = rule(n, w, r), w + r > n
        except ValueError as exc:
            text, good = str(exc), None
        mark = {True: "&#10004;", False: "&#9888;", None: "&#10008;"}[good]
        colour = {True: "#1a7f37", False: "#9a6700", None: "#b3261e"}[good]
        self.rule.value = (f"<span style='font-size:16px;color:{colour}'>"
                           f"{mark} {html.escape(text)}</span>")

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _replicas(n):
    return [f"n{i}" for i in range(1, n + 1)]


def _slow_after(slow, old_n, new_n):
    """The slow replicas once n changes: replicas added are slow too."""
    kept = [x for x in _replicas(new_n) if x in slow]
    return kept + _replicas(new_n)[old_n:]



# ----- exercise checks -----


def check_smallest_r(answer):
    """Exercise: with n = 5 and w = 2, the smallest r that always overlaps."""
    if answer is None:
        return Feedback(None, NOT_ANSWERED)
    if isinstance(answer, bool) or not isinstance(answer, int):
        return Feedback(False, f"{answer!r} is not a whole number of replicas.")
    if answer == 4:
        return Feedback(True, "w + r = 6 > 5: any 4 replicas include at least one "
                              "of the 2 the write reached.")
    if 1 <= answer < 4:
        return Feedback(False, f"With r = {answer}, w + r = {answer + 2} <= 5: the "
                               f"read can ask {answer} of the 3 replicas the write "
                               f"missed (chance {stale_chance(5, 2, answer):.0%}).")
    if answer == 5:
        return Feedback(False, "r = 5 overlaps too, but it is not the smallest; "
                               "and it makes every read wait for every replica.")
    return Feedback(False, f"r = {answer} is impossible: 1 <= r <= n = 5.")


def check_stale_chance(answer):
    """Exercise: the chance a read of r = 2 misses a write of w = 2 (n = 5)."""
    if answer is None:
        return Feedback(None, NOT_ANSWERED)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return Feedback(False, f"{answer!r} is not a probability (a number "
                               "between 0 and 1).")
    if abs(answer - 0.3) <= 0.005:
        return Feedback(True, "C(3, 2) / C(5, 2) = 3 / 10: the read must pick both "
                              "of its replicas among the 3 the write missed.")
    return Feedback(False, f"{answer} is not it. Count the ways to pick 2 of the 3 "
                           "replicas the write missed, out of the ways to pick 2 "
                           "of 5; or measure it: measure_staleness(5, 2, 2, 2000).")


def check_race_drop(answer):
    """Exercise: one message to drop so that async read repair fails the race."""
    if answer is None:
        return Feedback(None, NOT_ANSWERED)
    from .check import check

    race = scenario("quorum-race")
    base = race.run(seed=0, repair="async")
    sent = base.trace.messages
    if answer not in sent:
        return Feedback(False, f"{answer!r} is not a message of this run; ids look "
                               "like 'c2:4' (the 4th message c2 sent).")
    m = sent[answer]
    run = race.run(seed=0, repair="async", faults=base.faults.with_drop(answer))
    what = f"{answer} ({m.type} from {m.src} to {m.dst})"
    if check(run).ok is False:
        return Feedback(True, f"Without {what} the repair never reaches the replica "
                              "c3 asks, so c3 reads the old value after c2 read the "
                              "new one. Async repair narrows the window; it does "
                              "not close it.")
    return Feedback(False, f"Dropping {what} leaves the run linearizable. Look for "
                           "the message that carries c2's repair.")


def check_skew_threshold(answer):
    """Exercise: how far ahead c1's clock must run for c2's write to be lost."""
    if answer is None:
        return Feedback(None, NOT_ANSWERED)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return Feedback(False, f"{answer!r} is not a number of seconds.")
    skew = scenario("quorum-skew")
    below = lost_writes(skew.run(seed=0, skew={"c1": answer - 0.005}))
    above = lost_writes(skew.run(seed=0, skew={"c1": answer + 0.005}))
    if above and not below:
        return Feedback(True, "c2 writes at t = 0.1 s with its own correct clock; "
                              "any skew above 0.1 s stamps c1's earlier write later, "
                              "and last write wins keeps it.")
    side = "loses c2's write already" if below else "still keeps c2's write"
    return Feedback(False, f"At a skew of {answer} s last write wins {side}. "
                           "Compare c1's timestamp with c2's.")


def draw(run, title=None, **options):
    """The diagram of a quorum run: what each replica holds, and the verdict."""
    from .viz import diagram

    if title is None and run.scenario is not None:
        title = f"{run.scenario.name}, seed {run.seed}"
    return diagram(run, title=title, label="holds", verdict=verdict(run), **options)
