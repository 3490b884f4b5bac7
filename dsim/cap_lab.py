"""The CAP lab: both registers on one partition, measured side by side.

The registers of ``dsim.protocols.cap`` run on the same replicas, clients,
workload, seed and faults. This module measures what each one gave its
clients, per side of the partition: how many operations succeeded while
the partition was in force and how fast, whether the whole history is
linearizable (the checker's verdict), which writes the AP replicas threw
away when they converged, and what every replica holds at the end. It
also measures the cost CAP leaves out, the latency of a majority round
trip when nothing is broken (Abadi's PACELC, 2012; ``latency_sweep``,
``far_apart``), moves a client across an explorer's partition
(``move_client``), and holds the checks for the notebook's exercises.

A side of a partition is one of its groups: the nodes and clients that
can still reach each other. The side holding a majority of the replicas
is the majority side.

Limitations: the measures read the first partition of a run only, and
count an operation as "during the partition" when it was invoked while
the partition was in force, even if it completed after the heal.
"""

import base64
import html
import io
import statistics
from dataclasses import dataclass

from .feedback import Feedback
from .network import Faults, Partition, PerLink, Uniform
from .protocols.cap import majority
from .scenario import scenario
from .settings import trials
from .viz.style import BLUE, VERMILLION, charted

REGISTERS = {"CP": "cap-cp", "AP": "cap-ap"}
ONLY = {"CP": ("patience",), "AP": ("resend",)}
STANDARD_GROUPS = (("n1", "n2", "c1"), ("n3", "c2"))


def split(groups=STANDARD_GROUPS, start=1.0, heal=3.0):
    """Faults with one partition: ``groups`` cut apart from ``start`` to ``heal``.

    The default is the standard split brain: n1, n2 and client c1 on one
    side, n3 and client c2 on the other, from 1 s to 3 s.
    """
    return Faults(cuts=[Partition([list(g) for g in groups], start=start,
                                  heal=heal)])


def register_name(run):
    """``"CP"`` or ``"AP"`` for a run of one of the two CAP scenarios."""
    name = getattr(run.scenario, "name", None)
    for label, scenario_name in REGISTERS.items():
        if name == scenario_name:
            return label
    raise ValueError(f"run of {name!r} is not a CAP register run: the CAP "
                     f"scenarios are {', '.join(REGISTERS.values())}")


# ----- measuring one run -----


@dataclass(frozen=True)
class Window:
    """Where the first partition of a run put everyone, and when."""

    sides: tuple
    start: float
    heal: float


@dataclass(frozen=True)
class SideMetrics:
    """What the clients of one side got while the partition was in force."""

    members: tuple
    replicas: int
    majority: bool
    ops: int
    succeeded: int
    latency: float

    @property
    def share(self):
        """The fraction of operations that succeeded (None when there were none)."""
        return self.succeeded / self.ops if self.ops else None

    @property
    def label(self):
        kind = "majority" if self.majority else "minority"
        return f"{' '.join(self.members)} ({kind})"


@dataclass(frozen=True)
class RunMetrics:
    """One register's run: per side, for the whole history, and at the end."""

    register: str
    sides: tuple
    ops: int
    succeeded: int
    latency: float
    verdict: object
    lost: tuple
    final: dict

    @property
    def linearizable(self):
        return self.verdict.result == "linearizable"

    @property
    def converged(self):
        """Whether every replica ends holding the same value."""
        return len({repr(v) for v in self.final.values()}) == 1

    def side(self, member):
        """The metrics of the side that ``member`` (a node or client) was on."""
        for side in self.sides:
            if member in side.members:
                return side
        raise ValueError(f"{member!r} is on no side of this run; the sides "
                         f"are {', '.join(s.label for s in self.sides)}")


def window(trace):
    """The first partition of ``trace`` as sides and times, or None."""
    start = next((e for e in trace.of_kind("partition") if "groups" in e), None)
    if start is None:
        return None
    groups = [tuple(g) for g in start["groups"]]
    named = {n for g in groups for n in g}
    rest = tuple(n for n in trace.nodes + trace.clients if n not in named)
    if rest:
        groups.append(rest)
    heal = next((e["t"] for e in trace.of_kind("heal")
                 if e.get("groups") == start["groups"] and e["t"] >= start["t"]),
                trace.duration)
    return Window(tuple(groups), start["t"], heal)


def _operations(trace):
    """Each client operation as (client, invoke time, latency or None)."""
    invoked = {}
    ops = []
    for e in trace:
        if e["kind"] == "invoke":
            invoked[e["op_id"]] = len(ops)
            ops.append([e["client"], e["t"], None])
        elif e["kind"] == "complete" and e.get("ok", True):
            op = ops[invoked[e["op_id"]]]
            op[2] = e["t"] - op[1]
    return [tuple(op) for op in ops]


def _median(latencies):
    return statistics.median(latencies) if latencies else None


def _side(members, replicas, ops):
    latencies = [lat for _, _, lat in ops if lat is not None]
    held = sum(1 for m in members if m in replicas)
    return SideMetrics(tuple(members), held, held >= majority(len(replicas)),
                       len(ops), len(latencies), _median(latencies))


def _final(trace):
    end = trace.duration
    return {n: trace.state_at(n, end).get("value") for n in trace.nodes}


def _lost(trace):
    lost = []
    for e in trace.of_kind("state"):
        for value in e["fields"].get("lost", ()):
            if value not in lost:
                lost.append(value)
    return tuple(lost)


def measure(run):
    """The ``RunMetrics`` of a run of ``cap-cp`` or ``cap-ap``."""
    from .check import check

    trace = run.trace
    replicas = trace.nodes
    ops = _operations(trace)
    part = window(trace)
    if part is None:
        sides = (_side(replicas + trace.clients, replicas, ops),)
    else:
        during = [op for op in ops if part.start <= op[1] < part.heal]
        sides = tuple(_side(g, replicas, [op for op in during if op[0] in g])
                      for g in part.sides)
    done = [lat for _, _, lat in ops if lat is not None]
    return RunMetrics(register_name(run), sides, len(ops), len(done),
                      _median(done), check(run.history()), _lost(trace),
                      _final(trace))


# ----- both registers, side by side -----


def _params_for(label, params):
    other = [p for key, names in ONLY.items() if key != label for p in names]
    return {k: v for k, v in params.items() if k not in other}


def run_register(label, seed=0, faults=None, **params):
    """Run the ``"CP"`` or ``"AP"`` register; params the other lacks are skipped."""
    if label not in REGISTERS:
        raise ValueError(f"register {label!r} is not known: use 'CP' or 'AP'")
    return scenario(REGISTERS[label]).run(seed=seed, faults=faults,
                                          **_params_for(label, params))


@dataclass(frozen=True)
class Comparison:
    """Both registers on the same seed, faults and workload."""

    cp: object
    ap: object
    cp_metrics: RunMetrics
    ap_metrics: RunMetrics

    @property
    def metrics(self):
        return (self.cp_metrics, self.ap_metrics)

    def _repr_html_(self):
        images = "".join(f"<img src='data:image/png;base64,{_png(fig)}' "
                         "style='max-width:100%'/>" for fig in self.figures())
        return f"<div>{images}{metrics_table(self.metrics)}</div>"

    def __str__(self):
        return metrics_text(self.metrics)

    def figures(self, t=None):
        """The two runs' diagrams, CP first, drawn on the same time scale."""
        from .viz import diagram

        end = max(self.cp.trace.duration, self.ap.trace.duration)
        figures = []
        for label, run, metrics in (("CP", self.cp, self.cp_metrics),
                                    ("AP", self.ap, self.ap_metrics)):
            fig = diagram(run, t=t, title=_title(label, run), label="value",
                          verdict=metrics.verdict)
            fig.axes[0].set_xlim(right=end * 1.02)
            figures.append(fig)
        return tuple(figures)


def _png(fig):
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=80)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _title(label, run):
    what = ("every operation needs a majority" if label == "CP"
            else "each replica answers alone, last write wins")
    return f"{label} register: {what} · seed {run.seed}"


def compare(seed=0, faults=None, **params):
    """Run the CP and the AP register on one seed and faults; measure both."""
    cp = run_register("CP", seed, faults, **params)
    ap = run_register("AP", seed, faults, **params)
    return Comparison(cp, ap, measure(cp), measure(ap))


def twin(run):
    """The other register's run on the same seed, faults and parameters."""
    label = "AP" if register_name(run) == "CP" else "CP"
    return run_register(label, run.seed or 0, run.faults, **run.params)


def side_by_side(run):
    """The metrics table of ``run`` and of the other register on its faults.

    Made for the explorer's panel: after every change to the partition it
    runs the twin register on the same seed and faults.
    """
    other = twin(run)
    pair = sorted([run, other], key=lambda r: register_name(r) != "CP")
    return metrics_table([measure(r) for r in pair])


def moved(partition, client, beside):
    """``partition`` with ``client`` moved to the side of node ``beside``."""
    if client == beside:
        raise ValueError(f"cannot move {client} beside itself")
    groups = [[m for m in g if m != client] for g in partition.groups]
    target = next((g for g in groups if beside in g), None)
    if target is not None:
        target.append(client)
    return Partition([g for g in groups if g], start=partition.start,
                     heal=partition.heal)


def move_client(explorer, client, beside):
    """In an explorer, move ``client`` across its partition, beside ``beside``.

    The partition keeps its start and heal; the client now talks to a
    replica on its new side. Returns the explorer's new run.
    """
    old = next((c for c in explorer.faults.cuts if isinstance(c, Partition)), None)
    if old is None:
        raise ValueError("this run has no partition to move a client across; "
                         "add one with explorer.cut(Partition(...))")
    known = explorer.run.trace.clients
    if client not in known:
        raise ValueError(f"{client!r} is not a client of this run; the clients "
                         f"are {', '.join(known)}")
    new = moved(old, client, beside)
    explorer.cut(new)
    return explorer.heal(old, at=old.start)


# ----- rendering the metrics -----


def _percent(side):
    if side.share is None:
        return "no operations"
    return f"{side.succeeded}/{side.ops} ({side.share:.0%})"


def _ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def _lost_text(metrics):
    if metrics.register == "CP":
        return "none (acknowledged writes are on a majority)"
    if not metrics.lost:
        return "none"
    return ", ".join(map(str, metrics.lost))


def _final_text(metrics):
    by_value = {}
    for node, value in metrics.final.items():
        by_value.setdefault(repr(value), []).append(node)
    if len(by_value) == 1:
        return f"all hold {next(iter(by_value))}"
    return "; ".join(f"{' '.join(nodes)}: {value}" for value, nodes in by_value.items())


def _verdict_text(metrics):
    return {"linearizable": "yes", "not linearizable": "NO"}.get(
        metrics.verdict.result, metrics.verdict.result)


CELL = "border:1px solid #cccccc;padding:3px 8px;text-align:left"
COLUMNS = ("register", "side while partitioned", "ops succeeded",
           "median latency", "linearizable", "writes lost", "replicas at the end")


def metrics_rows(all_metrics):
    """The table as rows of text, one per register and side."""
    rows = []
    for m in all_metrics:
        for index, side in enumerate(m.sides):
            run_cells = ((m.register, _verdict_text(m), _lost_text(m), _final_text(m))
                         if index == 0 else ("", "", "", ""))
            label = side.label if len(m.sides) > 1 else "no partition: everyone"
            rows.append((run_cells[0], label, _percent(side), _ms(side.latency),
                         *run_cells[1:]))
    return rows


def metrics_text(all_metrics):
    """The metrics as a plain-text table."""
    rows = [COLUMNS, *metrics_rows(all_metrics)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                     for r in rows)


def metrics_table(all_metrics):
    """The metrics as an HTML table: one block of rows per register."""
    head = "".join(f"<th style='{CELL}'>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for m in all_metrics:
        span = len(m.sides)
        for index, side in enumerate(m.sides):
            label = side.label if span > 1 else "no partition: everyone"
            cells = [label, _percent(side), _ms(side.latency)]
            row = "".join(f"<td style='{CELL}'>{html.escape(c)}</td>" for c in cells)
            if index == 0:
                first = f"<td rowspan={span} style='{CELL}'><b>{m.register}</b></td>"
                tail = "".join(f"<td rowspan={span} style='{CELL}'>{html.escape(c)}"
                               "</td>" for c in
                               (_verdict_text(m), _lost_text(m), _final_text(m)))
                row = first + row + tail
            body.append(f"<tr>{row}</tr>")
    return (f"<table class='dsim-cap-metrics' style='border-collapse:collapse;"
            f"font-size:14px'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


# ----- the cost CAP leaves out: latency with nothing broken -----


@dataclass(frozen=True)
class SweepPoint:
    """The median latency of one register's reads or writes at one delay."""

    register: str
    op: str
    delay: float
    latency: float


def wide_area(delay, replicas=3, local=0.002):
    """Replicas ``delay`` s apart (one way, +-10%); clients ``local`` s from all."""
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or delay < 0:
        raise ValueError(f"delay={delay!r} must be a number of seconds >= 0")
    names = [f"n{i}" for i in range(1, replicas + 1)]
    links = {(a, b): Uniform(0.9 * delay, 1.1 * delay)
             for a in names for b in names if a != b}
    return PerLink(links, default=Uniform(local, 1.5 * local))


def _sweep_params(delay):
    return {"timeout": 0.35 + 8 * delay, "patience": 0.2 + 6 * delay,
            "interval": max(0.4, 6 * delay), "resend": 0.25 + 4 * delay}


def latency_sweep(delays=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2), seeds=None):
    """Median latency of reads and writes per register as replicas move apart.

    No faults: every run is the everyday case. ``seeds`` defaults to a few
    (fewer when notebooks run quick).
    """
    seeds = range(trials(4, 1)) if seeds is None else seeds
    points = []
    for delay in delays:
        latency = wide_area(delay)
        for label in REGISTERS:
            by_op = {"read": [], "write": []}
            for seed in seeds:
                run = run_register(label, seed, latency=latency,
                                   **_sweep_params(delay))
                _collect(run.trace, by_op)
            points += [SweepPoint(label, op, delay, _median(lats))
                       for op, lats in by_op.items()]
    return tuple(points)


def far_apart(delay, seed=0):
    """Both registers with replicas ``delay`` s apart and nothing broken.

    Clients keep their usual pace, an operation every 0.4 s when they can;
    timeouts grow with the delay, so the CP register can finish its round
    trips, and the run lasts until every operation has ended.
    """
    params = {k: v for k, v in _sweep_params(delay).items() if k != "interval"}
    return compare(seed, latency=wide_area(delay), until=60.0, **params)


def _collect(trace, by_op):
    invoked = {}
    for e in trace:
        if e["kind"] == "invoke":
            invoked[e["op_id"]] = e["t"]
        elif e["kind"] == "complete" and e["ok"]:
            by_op[e["op"]].append(e["t"] - invoked[e["op_id"]])


@charted
def plot_latency(points, ax=None):
    """Median latency against the replicas' one-way delay, per register and op."""
    if ax is None:
        from .viz.diagram import DiagramFigure

        ax = DiagramFigure(figsize=(10, 5)).subplots()
    styles = {"CP": (BLUE, "CP (majority quorum)"),
              "AP": (VERMILLION, "AP (local replica)")}
    for label, (color, name) in styles.items():
        for op, dash in (("write", "-"), ("read", "--")):
            mine = [p for p in points if p.register == label and p.op == op]
            ax.plot([p.delay * 1000 for p in mine],
                    [p.latency * 1000 for p in mine], dash, color=color,
                    marker="o", label=f"{name}: {op}s")
    ax.set_xlabel("one-way delay between replicas (ms)")
    ax.set_ylabel("median operation latency (ms)")
    ax.set_title("No partition: what linearizability costs every day")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.figure.tight_layout()
    return ax.figure


# ----- exercise checks -----


def _client_side(metrics, client):
    side = metrics.side(client)
    return side.succeeded, side.ops


def check_minority_counts(answer, seed=0):
    """Exercise: how many of c2's operations succeed during the standard
    split, under CP and under AP? ``answer`` is the pair ``(cp, ap)``."""
    if answer is None:
        return Feedback(None, "give a pair (CP count, AP count) of c2's "
                        "operations that succeed while the partition is in force.")
    both = compare(seed, split())
    (cp_ok, ops), (ap_ok, _) = (_client_side(m, "c2") for m in both.metrics)
    if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
        return Feedback(False, f"{answer!r} is not a pair: write (CP count, AP count).")
    if tuple(answer) == (cp_ok, ap_ok):
        return Feedback(True, f"c2 invoked {ops} operations while cut off with n3. "
                        f"CP served {cp_ok}: n3 alone is not a majority of 3. AP "
                        f"served {ap_ok}: n3 answers from its own copy.")
    return Feedback(False, f"(CP, AP) is ({cp_ok}, {ap_ok}), not {tuple(answer)!r}. "
                    "Count only c2's operations invoked between 1 s and 3 s; "
                    "the metrics table shows them on c2's side.")


def check_lost_writes(answer, seed=0):
    """Exercise: which acknowledged writes did the AP register lose when the
    standard split healed? ``answer`` is a collection of written values."""
    if answer is None:
        return Feedback(None, "list the values of the acknowledged writes that "
                        "the AP replicas threw away when they converged.")
    lost = measure(run_register("AP", seed, split())).lost
    try:
        chosen = set(answer)
    except TypeError:
        return Feedback(False, f"{answer!r} is not a collection of values; "
                        "write a list such as [101, 202].")
    if chosen == set(lost):
        return Feedback(True, f"{_values(lost)} was acknowledged, then discarded: "
                        "it was concurrent with a write on the other side that "
                        "carried a later timestamp, so last write wins dropped it. "
                        "Earlier writes on the same side were overwritten in the "
                        "ordinary way, by writes that had seen them.")
    return Feedback(False, f"the AP replicas lost {_values(lost)}, not "
                    f"{_values(sorted(chosen, key=repr))}. Look for the last write "
                    "each side made before the heal at 3 s, and compare their times.")


def _values(values):
    return ", ".join(map(str, values)) or "nothing"


def check_available_partition(answer, seed=0):
    """Exercise: find a partition that cuts a replica off, under which the CP
    register still serves every operation invoked while it is in force.
    ``answer`` is a ``Partition`` or a ``Faults`` plan holding one."""
    if answer is None:
        return Feedback(None, "give a Partition (groups, start, heal) that cuts "
                        "at least one replica off from another replica.")
    faults = answer if isinstance(answer, Faults) else None
    if isinstance(answer, Partition):
        faults = Faults(cuts=[answer])
    if faults is None or not any(isinstance(c, Partition) for c in faults.cuts):
        return Feedback(False, f"{answer!r} is not a Partition; write, for "
                        "example, Partition([['n2']], start=1.0, heal=3.0).")
    run = run_register("CP", seed, faults)
    part = window(run.trace)
    cut = [g for g in part.sides if any(n in run.trace.nodes for n in g)]
    if len(cut) < 2:
        return Feedback(False, "every replica is still on one side, so nothing "
                        "was cut; put at least one replica in another group.")
    metrics = measure(run)
    during = sum(s.ops for s in metrics.sides)
    failed = [s for s in metrics.sides if s.succeeded < s.ops]
    if during == 0:
        return Feedback(False, "no client invoked anything while the partition "
                        "was in force; the clients stop at about 4 s, so start "
                        "it earlier.")
    if failed:
        names = "; ".join(f"{s.label} got {_percent(s)}" for s in failed)
        return Feedback(False, f"some clients were refused: {names}. A client "
                        "is served only on a side holding a majority of replicas.")
    return Feedback(True, f"all {during} operations invoked during the partition "
                    "succeeded, and the history is still linearizable: CP gives up "
                    "availability only for clients stranded on a minority side. "
                    "A partition that strands no client costs nothing.")
