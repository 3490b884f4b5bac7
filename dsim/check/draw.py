"""Pictures of a verdict: operations as intervals, and where they take effect.

One line per client, each operation a bar from its invoke to its
completion. An operation with unknown outcome is a pale bar up to the
client's next operation (when the client gave up on it), then a dotted
tail just below the line to the right edge: it may take effect at any
later time, or never. A
diamond marks each operation's linearization point, and a thin line
joins the diamonds in the order found, so a learner can follow the one
sequential story the history tells. When there is no such story, the
operations that cannot be placed are drawn in vermillion, the ones the
explanation points at in orange, and the stretch of time between them
is shaded: that is where every order breaks.

``highlight_events`` gives the trace events of those same operations,
for the space-time diagram's ``highlight=``.
"""

from .history import as_history, parse
from .models import Model

MAX_LABELS = 60
TAIL = 0.22  # how far below its client's line an unknown op's tail runs


def draw_verdict(history, verdict, ax=None):
    """Draw ``history`` with ``verdict``'s points; returns the Figure.

    For a key-value history that failed, only the failing key's
    operations are drawn.
    """
    import matplotlib.pyplot as plt

    from ..viz import style as S

    model_name, initial, ops = parse(as_history(history))
    if verdict.key is not None:
        ops = [op for op in ops if op.key == verdict.key]
    if ax is None:
        clients = len({op.client for op in ops}) or 1
        fig, ax = plt.subplots(figsize=(S.WIDTH, 1.2 + 0.7 * clients),
                               dpi=S.DPI, layout="constrained")
    _Drawing(ax, ops, verdict, Model(model_name, initial), S).draw()
    return ax.figure


class _Drawing:
    def __init__(self, ax, ops, verdict, model, style):
        self.ax, self.ops, self.v, self.model, self.S = ax, ops, verdict, model, style
        self.lanes = {}
        for op in ops:
            self.lanes.setdefault(op.client, len(self.lanes))
        self.gave_up = _gave_up(ops)
        ends = [op.complete for op in ops if op.known] + [op.invoke for op in ops]
        self.t_end = max(ends, default=1.0)
        self.t_start = min((op.invoke for op in ops), default=0.0)
        span = self.t_end - self.t_start or 1.0
        self.t_right = self.t_end + 0.08 * span

    def draw(self):
        self._stretch()
        self._bars()
        self._points()
        self._axes()

    def _colour(self, op):
        S, v = self.S, self.v
        if op.index in v.stuck:
            return S.VERMILLION
        if op.index in v.cited:
            return S.ORANGE
        if v.ok is False and op.index not in v.points:
            return S.LIGHT
        return S.SKY

    def _bars(self):
        from matplotlib.collections import LineCollection

        groups = {}
        for op in self.ops:
            y = self.lanes[op.client]
            colour = self._colour(op)
            if op.known:
                groups.setdefault((colour, "bar"), []).append(
                    ((op.invoke, y), (op.complete, y)))
                continue
            stop = self.gave_up[op.index]
            groups.setdefault((colour, "pale"), []).append(((op.invoke, y), (stop, y)))
            groups.setdefault((colour, "tail"), []).append(
                ((stop, y + TAIL), (self.t_right, y + TAIL)))
        looks = {"bar": {"linewidths": 7}, "pale": {"linewidths": 7, "alpha": 0.45},
                 "tail": {"linewidths": 1.5, "linestyles": (0, (1, 2))}}
        for (colour, look), segments in groups.items():
            self.ax.add_collection(LineCollection(
                segments, colors=colour, capstyle="butt", zorder=2, **looks[look]))
        if len(self.ops) <= MAX_LABELS:
            for op in self.ops:
                self._label(op)

    def _label(self, op):
        text = self.model.describe(op).split(" ", 1)[1]
        text = text.replace(" (outcome unknown)", " ?")
        self.ax.annotate(text, (op.invoke, self.lanes[op.client]),
                         xytext=(2, 7), textcoords="offset points",
                         fontsize=self.S.SMALL - 2, va="bottom", zorder=4)

    def _points(self):
        rows = {op.index: self.lanes[op.client] for op in self.ops}
        order = [i for i in self.v.order if i in self.v.points and i in rows]
        if not order:
            return
        xs = [self.v.points[i] for i in order]
        ys = [rows[i] + (TAIL if i in self.gave_up and self.v.points[i]
                         > self.gave_up[i] else 0) for i in order]
        self.ax.plot(xs, ys, color=self.S.GREY, linewidth=0.8, zorder=3)
        self.ax.plot(xs, ys, linestyle="none", marker="D", markersize=7,
                     color=self.S.BLACK, zorder=5,
                     label="linearization point, joined in order")

    def _stretch(self):
        v = self.v
        if v.ok is not False or not v.stuck:
            return
        by_index = {op.index: op for op in self.ops}
        involved = [by_index[i] for i in v.stuck + v.cited if i in by_index]
        stuck = [by_index[i] for i in v.stuck if i in by_index]
        start = min(op.invoke for op in involved)
        end = max(op.complete for op in stuck)
        self.ax.axvspan(start, end, color=self.S.VERMILLION, alpha=0.12,
                        zorder=1, label="where every order breaks")

    def _axes(self):
        ax, S = self.ax, self.S
        ax.set_yticks(range(len(self.lanes)), list(self.lanes),
                      fontsize=S.SMALL)
        ax.set_ylim(len(self.lanes) - 0.4, -0.8)
        span = self.t_right - self.t_start
        ax.set_xlim(self.t_start - 0.02 * span, self.t_right)
        ax.set_xlabel("time (s)", fontsize=S.SMALL)
        ax.tick_params(labelsize=S.SMALL)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        title = self.v.result
        if self.v.key is not None:
            title += f" (key {self.v.key!r})"
        ax.set_title(title, fontsize=S.FONT, loc="left")
        if self.v.points or self.v.stuck:
            ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncol=2,
                      fontsize=S.SMALL - 2, frameon=False)


def _gave_up(ops):
    """When each client moved on from its unknown-outcome operations.

    That is its next operation's invoke; after its last one, as long as
    its completed operations took on average.
    """
    spans = [op.complete - op.invoke for op in ops if op.known]
    typical = sum(spans) / len(spans) if spans else 1.0
    following, stops = {}, {}
    for op in sorted(ops, key=lambda op: op.invoke, reverse=True):
        if not op.known:
            stops[op.index] = following.get(op.client, op.invoke + typical)
        following[op.client] = op.invoke
    return stops


def highlight_events(trace, verdict):
    """Trace event indices of the verdict's stuck and cited operations.

    The history of a run lists its operations in the order of their
    ``invoke`` events, so operation ``i`` is the ``i``-th invoke; its
    ``complete`` event shares the invoke's ``op_id``.
    """
    trace = getattr(trace, "trace", trace)
    wanted = set(verdict.stuck) | set(verdict.cited)
    op_ids, found, seen = set(), set(), 0
    for index, e in enumerate(trace):
        if e["kind"] == "invoke":
            if seen in wanted:
                op_ids.add(e["op_id"])
                found.add(index)
            seen += 1
        elif e["kind"] == "complete" and e["op_id"] in op_ids:
            found.add(index)
    return found
