"""The space-time diagram of a run, drawn from its trace.

Time runs left to right, one row per node and then per client (the
lifelines of Lamport's 1978 paper, turned on their side to suit a wide
screen). Messages are arrows from send to delivery, labelled by type and
id where the label fits; a lost message is dashed and ends in a cross
where it was lost, with the reason; a message in flight at the cursor
is dotted and ends in a dot part-way along its path. A node's recorded
``role`` (or ``status``) is a band along its lifeline, with a hatch and
a written label, and its ``term`` (or ``tx``) is written beside it;
crash spans are hatched and break the lifeline; partitions shade the
time they last; client operations are bars from invoke to complete.

Speed: a ``Diagram`` keeps its figure and its collections, and a redraw
replaces their data. Every message is one segment of a ``LineCollection``
(never one artist per arrow), arrowheads are one more collection, and
text, the costly part of a figure, is placed only where it fits without
overlapping, a few dozen labels at most. Dense runs draw thinner, paler
lines and drop the arrowheads.

Limitations: labels that do not fit are left out rather than moved, so
in a dense run only some messages are named; the message list of the
explorer names them all. Arrowheads are computed for the figure's size
when drawn and look skewed if an interactive figure is resized without
a redraw.
"""

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from . import style as S
from .diff import diff_runs
from .scene import DELIVERED, DROPPED, IN_FLIGHT, as_trace, build_scene
from ..trace import lifeline

FATES = (DELIVERED, DROPPED, IN_FLIGHT)
MAX_MESSAGE_LABELS = 40
LABEL_DENSITY = 0.12  # above this many messages per pixel, name none of them
HEAD_PX = 12  # arrowhead length in pixels


class DiagramFigure(Figure):
    """A matplotlib ``Figure`` that shows itself as a PNG in a notebook."""

    def _repr_png_(self):
        out = io.BytesIO()
        self.savefig(out, format="png", dpi=S.DPI)
        return out.getvalue()


def figure_size(lanes, width=None):
    m = S.MARGINS
    return (width or S.WIDTH,
            m["top"] + m["bottom"] + S.LANE_HEIGHT * max(lanes, 1.6))


def new_figure(lanes, figure_class=DiagramFigure, width=None):
    """A figure sized for ``lanes`` lifelines, with its one axes placed.

    ``width`` is in inches (default: the projector width of the style).
    """
    width, height = figure_size(lanes, width)
    fig = figure_class(figsize=(width, height), dpi=S.DPI)
    if type(fig.canvas) is not FigureCanvasAgg:
        FigureCanvasAgg(fig)
    m = S.MARGINS
    fig.add_axes([m["left"] / width, m["bottom"] / height,
                  1 - (m["left"] + m["right"]) / width,
                  1 - (m["top"] + m["bottom"]) / height])
    return fig


class Diagram:
    """A space-time diagram that can be redrawn for another run or time.

    ``update(run_or_trace, t=...)`` draws a run; ``set_time(t)`` moves the
    cursor on the run already shown. ``captions=False`` leaves the title,
    the diff summary and the verdict line off the figure, for a host (the
    explorer) that shows them as text of its own. ``scene`` is what is drawn now, and
    ``arrow_at(fate, i)`` names the message of segment ``i``.
    """

    def __init__(self, ax=None, lanes=3, captions=True):
        self.captions = captions
        if ax is None:
            ax = new_figure(lanes).axes[0]
        self.fig, self.ax = ax.figure, ax
        self.scene = None
        self.trace = None
        self.options = {}
        self._transient = []
        self._scenes = {}
        self._diff = None
        self._legend = (None, None)
        self._frame_key = None
        self._arrows = {fate: [] for fate in FATES}
        self._style_axes()
        self._make_artists()

    # ----- building -----

    def _style_axes(self):
        ax = self.ax
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0, labelsize=S.FONT + 2, pad=10)
        ax.tick_params(axis="x", labelsize=S.FONT, width=1.5, length=6)
        ax.grid(axis="x", color="#BBBBBB", linewidth=0.8, linestyle=":")
        ax.set_axisbelow(True)

    def _make_artists(self):
        ax = self.ax

        def lines(zorder, **kw):
            coll = LineCollection([], zorder=zorder, **kw)
            ax.add_collection(coll)
            return coll

        def dots(zorder, **kw):
            return ax.scatter(np.empty(0), np.empty(0), zorder=zorder, **kw)

        self.lifelines = lines(1, capstyle="butt", **S.LIFELINE)
        self.ghosts = lines(2, linewidth=2.0, **S.GONE)
        self.glow = lines(3, linewidth=9, alpha=0.55, capstyle="round", **S.NEW)
        self.messages = {
            DELIVERED: lines(4, **S.DELIVERED),
            DROPPED: lines(4, **S.DROPPED),
            IN_FLIGHT: lines(4, **S.IN_FLIGHT),
        }
        for coll in self.messages.values():
            coll.set_picker(True)
            coll.set_pickradius(6)
        self.heads = lines(4, color=S.BLUE, capstyle="round")
        self.emphasis = lines(5, linewidth=4.5, color=S.BLACK)
        self.ops = {
            "ok": lines(3, linewidth=9, color=S.OPERATION["ok"], capstyle="butt"),
            "failed": lines(3, linewidth=9, color=S.OPERATION["failed"],
                            linestyle=(0, (2, 1)), capstyle="butt"),
            "pending": lines(3, linewidth=9, color=S.OPERATION["ok"],
                             linestyle=(0, (1, 1)), capstyle="butt"),
            "stuck": lines(4, linewidth=11, color=S.OPERATION["stuck"],
                           capstyle="butt"),
        }
        self.lost = dots(6, marker="X", s=150, color=S.VERMILLION,
                         edgecolors="white", linewidths=1.0)
        self.flying = dots(6, marker="o", s=80, color=S.ORANGE,
                           edgecolors=S.BLACK, linewidths=1.2)
        self.crash_marks = dots(6, marker="X", s=260, color=S.BLACK,
                                edgecolors="white", linewidths=1.0)
        self.timer_marks = dots(5, marker="v", s=55, color=S.GREY)
        self.rings = dots(7, marker="o", s=330, facecolors="none",
                          edgecolors=S.BLACK, linewidths=2.5)
        self.points = dots(7, marker="D", s=110, color=S.BLACK,
                           edgecolors="white", linewidths=1.0)
        self.cursor = ax.axvline(0.0, color=S.BLACK, linewidth=2.5, zorder=8,
                                 visible=False)

    # ----- drawing -----

    def update(self, run_or_trace=None, t=None, title=None, highlight=None,
               verdict=None, band=None, label=None, diff=None):
        """Draw ``run_or_trace`` (default: the one shown) at cursor time ``t``."""
        if run_or_trace is not None:
            self.trace = as_trace(run_or_trace)
            self.options = {"title": _title(run_or_trace, title)}
        elif self.trace is None:
            raise ValueError("update() needs a run or trace to draw")
        elif title is not None:
            self.options["title"] = title
        self.options.update(highlight=highlight, verdict=verdict, band=band,
                            label=label, diff=diff)
        return self._draw(t)

    def set_time(self, t):
        """Move the cursor to ``t`` (None: the whole run) and redraw."""
        if self.trace is None:
            raise ValueError("set_time() needs a run drawn first")
        return self._draw(t)

    def arrow_at(self, fate, index):
        """The ``Arrow`` drawn as segment ``index`` of the ``fate`` collection."""
        return self._arrows[fate][index]

    def _scene_of(self, run_or_trace, t, band, label):
        """The scene of a trace, remembered for the last few traces drawn."""
        trace = as_trace(run_or_trace)
        key = (id(trace), t, band, label)
        cache = self._scenes
        if key not in cache or cache[key][0] is not trace:
            cache[key] = (trace, build_scene(trace, t, band, label))
            while len(cache) > 4:
                del cache[next(iter(cache))]
        return cache[key][1]

    def _diff_of(self, before):
        """``diff_runs(before, shown)``, computed once per pair of runs."""
        pair = (as_trace(before), self.trace)
        if self._diff is None or self._diff[0] != tuple(map(id, pair)):
            self._diff = (tuple(map(id, pair)), pair, diff_runs(*pair))
        return self._diff[2]

    @property
    def diff(self):
        """The ``RunDiff`` of the last diff drawn, or None."""
        return None if self._diff is None else self._diff[2]

    def _draw(self, t):
        o = self.options
        scene = self._scene_of(self.trace, t, o["band"], o["label"])
        self.scene = scene
        for artist in self._transient:
            artist.remove()
        self._transient = []
        self._frame(scene)
        self._placer = _Placer(self.ax)
        self._draw_cursor(scene)
        self._draw_lifelines(scene)
        self._draw_windows(scene)
        self._draw_bands(scene)
        self._draw_crashes(scene)
        self._draw_ops(scene)
        self._draw_messages(scene)
        self._draw_timers(scene)
        self._draw_overlays(scene, o)
        self._draw_legend(scene)
        return self.fig

    def _frame(self, scene):
        ax = self.ax
        pad = scene.t_end * 0.015
        ax.set_xlim(-pad, scene.t_end + pad)
        ax.set_ylim(len(scene.lanes) - 0.45, -0.75)
        ms = scene.t_end < 1.0
        if self._frame_key != (scene.lanes, scene.servers, ms):
            self._frame_key = (scene.lanes, scene.servers, ms)
            ax.set_yticks(range(len(scene.lanes)), scene.lanes)
            ax.xaxis.set_major_formatter(FuncFormatter(
                (lambda x, _: f"{x * 1000:g}") if ms else (lambda x, _: f"{x:g}")))
            ax.set_xlabel("time (ms)" if ms else "time (s)", fontsize=S.FONT)
            for row, tick in enumerate(ax.get_yticklabels()):
                tick.set_fontstyle("italic" if row >= scene.servers else "normal")

    def _keep(self, artist):
        self._transient.append(artist)
        return artist

    def _text(self, x, y, text, size=S.SMALL, force=False, limit=None, **kw):
        """Place ``text`` at data (x, y) if it fits; returns whether it did.

        ``limit`` is the x where the text's room ends (a band's end, say).
        """
        ha, va = kw.setdefault("ha", "left"), kw.setdefault("va", "center")
        if limit is not None and not force:
            to_px = self.ax.transData.transform
            room = (to_px((limit, y))[0] - to_px((x, y))[0]) / self._placer.scale
            if room < S.text_width(text, size):
                return False
        if not self._placer.claim(x, y, text, size, ha, va, force):
            return False
        self._keep(self.ax.text(x, y, text, fontsize=size, zorder=9,
                                clip_on=False, **kw))
        return True

    def _draw_cursor(self, scene):
        self.cursor.set_visible(scene.t is not None)
        if scene.t is None:
            return
        self.cursor.set_xdata([scene.t, scene.t])
        for row, name in enumerate(scene.lanes):
            text = self._state_text(name, scene.t)
            if text:
                self._text(scene.t, row + 0.36, " " + text, size=S.SMALL,
                           force=True, weight="bold",
                           bbox={"facecolor": "white", "edgecolor": "none",
                                 "alpha": 0.85, "pad": 1})

    def _state_text(self, name, t):
        return state_text(self.trace, name, t, self.scene.band_field,
                          self.scene.label_field)

    def _draw_lifelines(self, scene):
        self.lifelines.set_segments(
            [((s.start, s.row), (s.end, s.row)) for s in scene.lines])

    def _draw_windows(self, scene):
        if not scene.windows:
            return
        verts = [_rect(w.start, w.end, min(w.rows) - 0.5, max(w.rows) + 0.45)
                 for w in scene.windows]
        self._keep(self.ax.add_collection(PolyCollection(
            verts, facecolor=S.PARTITION["color"], alpha=S.PARTITION["alpha"],
            edgecolor="none", zorder=0)))
        self._keep(self.ax.add_collection(PolyCollection(
            verts, facecolor="none", edgecolor=S.GREY, hatch="//",
            linewidth=1.2, linestyle="--", zorder=0)))
        for w in scene.windows:
            text = w.text + ("" if w.healed else "")
            self._text(w.start, min(w.rows) - 0.52, text, va="bottom",
                       force=True, color="#404040", weight="bold")

    def _draw_bands(self, scene):
        order = {}
        by_value = {}
        for span in scene.bands:
            by_value.setdefault(span.value, []).append(span)
        self._band_styles = {}
        for value, spans in by_value.items():
            colour, hatch, half = S.band_style(
                value, order.setdefault(value, len(order)))
            self._band_styles[value] = (colour, hatch)
            verts = [_rect(s.start, s.end, s.row - half, s.row + half)
                     for s in spans]
            self._keep(self.ax.add_collection(PolyCollection(
                verts, facecolor=colour, edgecolor="#333333", hatch=hatch,
                linewidth=0.8, zorder=2)))
        for span in scene.labels:
            half = S.band_style(span.value[0], 0)[2] if span.value[0] is not None \
                else 0.12
            self._text(span.start, span.row - half - 0.03, span.text,
                       va="bottom", limit=span.end)

    def _draw_crashes(self, scene):
        marks = [(s.start, s.row) for s in scene.crashes]
        self.crash_marks.set_offsets(_points(marks))
        if not scene.crashes:
            return
        verts = [_rect(s.start, s.end, s.row - 0.2, s.row + 0.2)
                 for s in scene.crashes]
        self._keep(self.ax.add_collection(PolyCollection(
            verts, facecolor=S.CRASH["fill"], edgecolor=S.CRASH["color"],
            hatch=S.CRASH["hatch"], linewidth=1.0, zorder=2)))
        for s in scene.crashes:
            self._text(s.start, s.row + 0.24, " crashed", va="top",
                       weight="bold", limit=s.end)

    def _draw_ops(self, scene):
        groups = {status: [] for status in self.ops}
        for op in scene.ops:
            groups[op.status].append(((op.start, op.row - 0.16),
                                      (op.end, op.row - 0.16)))
        for status, coll in self.ops.items():
            coll.set_segments(groups.get(status, []))
        for op in scene.ops:
            self._placer.block(op.start, op.end, op.row - 0.22, op.row - 0.1)
        for op in scene.ops:
            self._text(op.start, op.row - 0.3, op.text, va="bottom")

    def _draw_messages(self, scene):
        arrows = {fate: [a for a in scene.arrows if a.fate == fate]
                  for fate in FATES}
        self._arrows = arrows
        width, alpha = _density(len(scene.arrows), self.ax.bbox.width)
        for fate, coll in self.messages.items():
            coll.set_segments(_segments(arrows[fate]))
            coll.set_linewidth(width)
            coll.set_alpha(alpha)
        heads = arrows[DELIVERED] if width >= 1.4 else []
        self.heads.set_segments(_arrowheads(self.ax, heads))
        self.heads.set_linewidth(width)
        self.heads.set_alpha(alpha)
        self.lost.set_offsets(_points([(a.x1, a.y1) for a in arrows[DROPPED]]))
        self.flying.set_offsets(_points([(a.x1, a.y1) for a in arrows[IN_FLIGHT]]))
        self._label_messages(arrows)

    def _label_messages(self, arrows):
        for a in arrows[DROPPED] + arrows[IN_FLIGHT]:
            self._placer.block_point(a.x1, a.y1, 9)
        placed = 0
        groups = {}
        for a in arrows[DROPPED]:
            groups.setdefault((a.type, a.reason), []).append(a)
        for members in groups.values():
            placed += self._label_loss(members)
        if len(self.scene.arrows) > LABEL_DENSITY * self.ax.bbox.width:
            return  # too dense to tell which label names which arrow
        for a in arrows[IN_FLIGHT] + arrows[DELIVERED]:
            if placed >= MAX_MESSAGE_LABELS:
                break
            placed += self._text((a.x0 + a.x1) / 2, (a.y0 + a.y1) / 2, a.label,
                                 ha="center", color=S.BLUE, backgroundcolor="white")

    def _label_loss(self, members):
        """Name one lost message of a group, and how many more were lost alike."""
        more = f", +{len(members) - 1} more" if len(members) > 1 else ""
        style = {"color": S.VERMILLION, "weight": "bold",
                 "backgroundcolor": "white"}
        for a in members[:20]:
            text = f"{a.label} lost ({a.reason}{more})"
            for dy, ha, va in ((-0.12, "left", "bottom"), (0.12, "left", "top"),
                               (-0.12, "right", "bottom"), (0.12, "right", "top")):
                if self._text(a.x1, a.y1 + dy, text, ha=ha, va=va, **style):
                    return True
        return False

    def _draw_timers(self, scene):
        shown = len(scene.timers) <= LABEL_DENSITY * self.ax.bbox.width
        self._timers_shown = shown and bool(scene.timers)
        self.timer_marks.set_offsets(_points(
            [(t, row - 0.12) for row, t, _ in scene.timers] if shown else []))

    def _draw_overlays(self, scene, o):
        rings, ring_colours, glow, emphasis, ghosts = [], [], [], [], []
        fade = False
        if o["diff"] is not None:
            diff = self._diff_of(o["diff"])
            glow, rings, ghosts = self._diff_overlay(scene, diff, o["diff"])
            ring_colours = [S.PURPLE] * len(rings)
            self._subtitle(diff.summary())
        if o["highlight"]:
            marked = set(o["highlight"])
            fade = True
            emphasis = [((a.x0, a.y0), (a.x1, a.y1)) for a in scene.arrows
                        if a.send_index in marked or a.end_index in marked]
            extra = self._event_points(marked, scene, messages=False)
            rings += extra
            ring_colours += [S.BLACK] * len(extra)
        for coll in self.messages.values():
            coll.set_alpha(0.3 if fade else coll.get_alpha())
        self.glow.set_segments(glow)
        self.ghosts.set_segments(ghosts)
        self.emphasis.set_segments(emphasis)
        self.rings.set_offsets(_points(rings))
        if rings:
            self.rings.set_edgecolors(ring_colours)
        self._draw_verdict(scene, o["verdict"])
        self._draw_title(o["title"])

    def _diff_overlay(self, scene, diff, before):
        new = diff.indices("new")
        glow = _segments([a for a in scene.arrows
                          if a.send_index in new or a.end_index in new])
        rings = self._event_points(new, scene, messages=False)
        old = self._scene_of(before, scene.t, scene.band_field, scene.label_field)
        gone = diff.indices("gone")
        ghosts = _segments([a for a in old.arrows
                            if a.send_index in gone or a.end_index in gone])
        return glow, rings, ghosts

    def _event_points(self, indices, scene, messages=True):
        points = []
        cut = scene.t_end if scene.t is None else scene.t
        for index in sorted(indices):
            e = self.trace[index]
            if not messages and e["kind"] in ("send", "deliver", "drop"):
                continue
            owner = lifeline(e)
            if owner in scene.lanes and e["t"] <= cut:
                points.append((e["t"], scene.row(owner)))
        return points

    def _draw_verdict(self, scene, verdict):
        if verdict is None:
            self.points.set_offsets(_points([]))
            self.ops["stuck"].set_segments([])
            return
        by_index = {op.index: op for op in scene.ops}
        points = getattr(verdict, "points", {}) or {}
        self.points.set_offsets(_points(
            [(t, by_index[i].row - 0.16) for i, t in points.items()
             if i in by_index and t is not None]))
        stuck = [by_index[i] for i in getattr(verdict, "stuck", ()) or ()
                 if i in by_index]
        self.ops["stuck"].set_segments(
            [((op.start, op.row - 0.16), (op.end, op.row - 0.16)) for op in stuck])
        ok = getattr(verdict, "ok", None)
        if ok is not None:
            text = ("linearizable: every operation takes effect at its ◆"
                    if ok else "NOT linearizable: the red operations fit no order")
            self._subtitle(text)

    def _subtitle(self, text):
        if not self.captions:
            return
        text = text if len(text) <= 115 else text[:114] + "…"
        m = S.MARGINS
        height = self.fig.get_figheight()
        y = 1 - 0.5 / height
        self._keep(self.fig.text(m["left"] / self.fig.get_figwidth(), y, text,
                                 fontsize=S.SMALL, va="top", color="#333333"))

    def _draw_title(self, title):
        if not title or not self.captions:
            return
        m = S.MARGINS
        self._keep(self.fig.text(m["left"] / self.fig.get_figwidth(),
                                 1 - 0.12 / self.fig.get_figheight(), title,
                                 fontsize=S.TITLE, weight="bold", va="top"))

    def _draw_legend(self, scene):
        handles = []
        present = {fate: scene.count(fate) for fate in FATES}
        styles = ((DELIVERED, S.DELIVERED, None), (DROPPED, S.DROPPED, "X"),
                  (IN_FLIGHT, S.IN_FLIGHT, "o"))
        names = {DELIVERED: "delivered", DROPPED: "lost", IN_FLIGHT: "in flight"}
        for fate, style, marker in styles:
            if present[fate]:
                handles.append(Line2D([], [], linewidth=2.5, marker=marker,
                                      markersize=9, label=names[fate], **style))
        for value, (colour, hatch) in getattr(self, "_band_styles", {}).items():
            handles.append(Patch(facecolor=colour, hatch=hatch, edgecolor="#333333",
                                 label=str(value)))
        if scene.crashes:
            handles.append(Patch(facecolor=S.CRASH["fill"], hatch="xx",
                                 edgecolor=S.BLACK, label="crashed"))
        if scene.windows:
            handles.append(Patch(facecolor="#DDDDDD", hatch="//", edgecolor=S.GREY,
                                 label="partition"))
        if scene.ops:
            handles.append(Line2D([], [], linewidth=8, color=S.OPERATION["ok"],
                                  label="operation (invoke → complete)"))
        if self._timers_shown:
            handles.append(Line2D([], [], linestyle="none", marker="v",
                                  color=S.GREY, markersize=8, label="timer fired"))
        if self.options.get("diff") is not None:
            handles.append(Line2D([], [], linewidth=7, alpha=0.55, label="new",
                                  **S.NEW))
            handles.append(Line2D([], [], linewidth=2, label="gone", **S.GONE))
        labels = [h.get_label() for h in handles]
        if labels == self._legend[0]:
            return
        if self._legend[1] is not None:
            self._legend[1].remove()
        legend = None
        if handles:
            legend = self.ax.legend(
                handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
                ncol=min(len(handles), 7), frameon=False, fontsize=S.SMALL,
                handlelength=2.4, columnspacing=1.4, borderaxespad=0.2)
        self._legend = (labels, legend)


class _Placer:
    """Keeps text from overlapping: a list of the boxes taken, in pixels."""

    def __init__(self, ax):
        self.ax = ax
        self.to_px = ax.transData.transform
        self.scale = ax.figure.dpi / S.DPI
        self.boxes = []
        box = ax.bbox
        self.bounds = (box.x0, box.y0 - 60, box.x1 + 40, box.y1 + 20)

    def claim(self, x, y, text, size, ha, va, force):
        px, py = self.to_px((x, y))
        width = S.text_width(text, size) * self.scale
        height = S.text_height(size) * self.scale
        x0 = px - {"left": 0, "center": width / 2, "right": width}[ha]
        y0 = py - {"bottom": 0, "center": height / 2, "top": height,
                   "baseline": 0}[va]
        box = (x0, y0, x0 + width, y0 + height)
        if not force and not self._free(box):
            return False
        self.boxes.append(box)
        return True

    def block(self, x0, x1, y0, y1):
        """Mark a data rectangle as taken (an operation's bar, say)."""
        (a, b), (c, d) = self.to_px([(x0, y0), (x1, y1)])
        self.boxes.append((min(a, c), min(b, d), max(a, c), max(b, d)))

    def block_point(self, x, y, radius):
        """Mark the pixels around a marker at data (x, y) as taken."""
        px, py = self.to_px((x, y))
        self.boxes.append((px - radius, py - radius, px + radius, py + radius))

    def _free(self, box):
        left, bottom, right, top = self.bounds
        if box[0] < left or box[2] > right or box[1] < bottom or box[3] > top:
            return False
        return not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3]
                       and b[1] < box[3] for b in self.boxes)


def state_text(trace, name, t, band=None, label=None):
    """A node's state at ``t`` in words: ``leader · term 3``, or ``down``."""
    if not trace.is_up(name, t):
        return "down"
    fields = trace.state_at(name, t)
    parts = [str(fields[band])] if band in fields else []
    if label in fields:
        parts.append(f"{label} {fields[label]}")
    if not parts:
        parts = [f"{k} {v}" for k, v in list(fields.items())[:3]]
    return " · ".join(parts)


def _segments(arrows):
    """The arrows as an (n, 2, 2) array of segments, for a LineCollection."""
    if not arrows:
        return np.empty((0, 2, 2))
    ends = np.array([(a.x0, a.y0, a.x1, a.y1) for a in arrows], dtype=float)
    return ends.reshape(-1, 2, 2)


def _rect(x0, x1, y0, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _points(pairs):
    return np.array(pairs, dtype=float).reshape(-1, 2)


def _density(count, width_px):
    """Line width and opacity for ``count`` messages across ``width_px``."""
    per_px = count / max(width_px, 1.0)
    if per_px <= 0.05:
        return 2.4, 1.0
    width = max(0.7, 2.4 - 6.0 * (per_px - 0.05))
    return width, max(0.45, 1.0 - 1.5 * (per_px - 0.05))


def _arrowheads(ax, arrows):
    """Two short barbs at the end of each arrow, computed in pixels."""
    if not arrows:
        return []
    ends = np.array([(a.x0, a.y0, a.x1, a.y1) for a in arrows], dtype=float)
    start = ax.transData.transform(ends[:, :2])
    tip = ax.transData.transform(ends[:, 2:])
    d = tip - start
    norm = np.hypot(d[:, 0], d[:, 1])
    d = np.where(norm[:, None] > 0, d / np.maximum(norm, 1e-9)[:, None], [1.0, 0.0])
    barbs = []
    for angle in (0.42, -0.42):
        c, s = np.cos(angle), np.sin(angle)
        back = np.column_stack([d[:, 0] * c - d[:, 1] * s, d[:, 0] * s + d[:, 1] * c])
        length = HEAD_PX * ax.figure.dpi / S.DPI
        barbs.append(ax.transData.inverted().transform(tip - length * back))
    tips = ends[:, 2:]
    return np.concatenate([np.stack([barbs[0], tips], axis=1),
                           np.stack([barbs[1], tips], axis=1)])


def _title(run_or_trace, title):
    if title is not None:
        return title
    sc = getattr(run_or_trace, "scenario", None)
    if sc is None:
        return None
    faults = getattr(run_or_trace, "faults", None)
    extra = "" if faults is None or faults.empty else f" · {faults.as_code()}"
    return f"{sc.name}, seed {run_or_trace.seed}{extra}"


def diagram(run_or_trace, t=None, title=None, ax=None, highlight=None,
            verdict=None, band=None, label=None, diff=None):
    """The space-time diagram of a run as a matplotlib ``Figure``.

    - ``run_or_trace``: a ``Run`` or a ``Trace``;
    - ``t``: draw the run as it stood at ``t`` seconds (the cursor view);
    - ``highlight``: trace event indices to emphasise (a causal past, say);
    - ``verdict``: a linearizability verdict to overlay (its ``points``,
      ``stuck`` and ``ok``);
    - ``band`` / ``label``: the state fields drawn as the band and the
      label (default ``role`` or ``status``, and ``term`` or ``tx``);
    - ``diff``: an earlier run of the same scenario; what is new is
      emphasised and what is gone is ghosted.
    """
    trace = as_trace(run_or_trace)
    lanes = len(trace.nodes) + len(trace.clients)
    view = Diagram(ax=ax, lanes=lanes)
    view.update(run_or_trace, t=t, title=title, highlight=highlight,
                verdict=verdict, band=band, label=label, diff=diff)
    return view.fig


def diff_diagram(a, b, t=None, title=None, **options):
    """The diagram of run ``b``, with what changed since run ``a`` marked."""
    return diagram(b, t=t, title=title, diff=a, **options)


def save_png(run_or_trace, path, title=None, **options):
    """Draw the diagram of a run and write it to ``path`` as a PNG."""
    fig = diagram(run_or_trace, title=title, **options)
    fig.savefig(path, format="png", dpi=S.DPI)
    return path
