"""Figures and tables for the clocks notebook, drawn from stamped runs.

- ``clock_diagram``: the space-time diagram with both clocks written at
  every send and delivery, and an event's causal past and future marked;
- ``order_figure``: the same events in real-time order and in Lamport
  order, joined by lines that cross where the two orders disagree;
- ``stamps_table`` and ``stamps_panel``: every event's clocks, and how
  each relates to one chosen event, as HTML (the panel follows the
  explorer's re-runs);
- ``claims_table`` and ``versions_table``: the username and cart runs.

The logic lives in ``dsim.causality``; this module only draws.

Limitations: the stamps are placed beside their events and stacked when
several fall close together on one lifeline; in a dense run (more than a
few dozen events) they crowd each other, and the stamps table is the
readable view.
"""

from html import escape

import numpy as np
from matplotlib.lines import Line2D

from .causality import (claims, cone, events, lamport_order, relation,
                        version_table)
from .clocks import format_vclock
from .viz import diagram
from .viz import style as S
from .viz.diagram import DiagramFigure, new_figure
from .viz.scene import as_trace

PAST, FUTURE, FOCUS = S.BLUE, S.VERMILLION, S.BLACK
STEP = 0.15  # rows between stacked stamps
NEAR_PX = 110  # events closer than this on one lifeline share a label stack


def stamp_text(e, nodes):
    """The label of one event: its Lamport clock, then its vector clock.

    A send's label sits above its lifeline and a delivery's below; labels
    of events close together stack outwards in the order they happened.
    """
    return f"{e.lamport} {format_vclock(e.vclock, nodes)}"


def clock_diagram(run, focus=None, title=None, ax=None, **options):
    """The space-time diagram with ``lamport [vector]`` at every event.

    With ``focus`` (an event name such as ``"send bob:2"``), its causal
    past is ringed in blue, its future in vermilion, and the rest, the
    events concurrent with it, are left plain. Other ``options`` go to
    ``dsim.viz.diagram`` (``band=``, ``label=``, ...).
    """
    trace = as_trace(run)
    nodes = trace.nodes + trace.clients
    picked = None if focus is None else cone(run, focus)
    if title is None:
        order = ", ".join(nodes)
        title = (f"Lamport clock [vector clock: {order}]; sends above the "
                 "line, deliveries below")
    if ax is None:
        ax = new_figure(2 * len(nodes)).axes[0]  # room for the stamps
    fig = diagram(run, title=title, ax=ax, **options)
    ax = fig.axes[0]
    _write_stamps(ax, events(run), nodes)
    if picked is not None:
        _ring(ax, picked, nodes)
    return fig


def _write_stamps(ax, stamped, nodes):
    to_px = ax.transData.transform
    stacks = {}
    for e in stamped:
        row = nodes.index(e.node)
        side = -1 if e.name.startswith("send") else 1  # sends above the line
        x_px = to_px((e.t, row))[0]
        stack = stacks.setdefault((row, side), [])
        if not stack or x_px - stack[-1][0] > NEAR_PX:
            stack.append([x_px, 0])
        depth = stack[-1][1]
        stack[-1][1] += 1
        y = row + side * (0.24 + STEP * depth)
        ax.text(e.t, y, stamp_text(e, nodes), fontsize=S.SMALL,
                ha="center", va="center", zorder=11, color=S.BLACK,
                bbox={"facecolor": "white", "edgecolor": S.GREY,
                      "boxstyle": "round,pad=0.15", "alpha": 0.9})
        if depth == 0:
            ax.plot([e.t, e.t], [row, y], color=S.GREY, linewidth=1.0,
                    zorder=10)
    xy = np.array([(e.t, nodes.index(e.node)) for e in stamped], dtype=float)
    ax.scatter(xy[:, 0], xy[:, 1], s=22, color=S.BLACK, zorder=12)


def _ring(ax, picked, nodes):
    groups = ((picked.past, PAST, "causal past"),
              (picked.future, FUTURE, "causal future"),
              ((picked.event,), FOCUS, picked.event.name))
    handles = []
    for evs, colour, label in groups:
        if evs:
            xy = np.array([(e.t, nodes.index(e.node)) for e in evs], dtype=float)
            ax.scatter(xy[:, 0], xy[:, 1], s=170, facecolors="none",
                       edgecolors=colour, linewidths=2.6, zorder=12)
        handles.append(Line2D([], [], marker="o", linestyle="none",
                              markerfacecolor="none", markeredgecolor=colour,
                              markeredgewidth=2.6, markersize=12,
                              label=f"{label} ({len(evs)})"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0),
              ncol=3, frameon=False, fontsize=S.SMALL, borderaxespad=1.6)


def order_figure(run, title=None):
    """Real-time order against Lamport order, one line per event.

    The top row lists the events as they happened in simulated time, the
    bottom row in Lamport total order ``(clock, node)``. A line joins each
    event's two places; lines that cross mark pairs the two orders rank
    differently, and a thick line an event that moved.
    """
    rows = lamport_order(run)
    count = len(rows)
    height = 6.2
    fig = DiagramFigure(figsize=(S.WIDTH, height), dpi=S.DPI)
    ax = fig.add_axes([1.9 / S.WIDTH, 1.0 / height, 1 - 2.2 / S.WIDTH,
                       2.9 / height])
    nodes = as_trace(run).nodes + as_trace(run).clients
    colours = [S.BLUE, S.ORANGE, S.GREEN, S.PURPLE, S.VERMILLION, S.SKY]
    for r in rows:
        colour = colours[nodes.index(r.event.node) % len(colours)]
        moved = r.rank != r.real_rank
        ax.plot([r.real_rank, r.rank], [1, 0], color=colour,
                linewidth=2.6 if moved else 1.2, alpha=1.0 if moved else 0.6)
        ax.text(r.real_rank, 1.05, r.event.name, rotation=60, ha="left",
                va="bottom", fontsize=S.SMALL, color=colour,
                rotation_mode="anchor")
        ax.text(r.rank, -0.08, str(r.event.lamport), ha="center", va="top",
                fontsize=S.SMALL, color=colour)
    ax.scatter([r.real_rank for r in rows], [1] * count, color=S.BLACK, s=16)
    ax.scatter([r.rank for r in rows], [0] * count, color=S.BLACK, s=16)
    ax.set_xlim(0.3, count + 0.7)
    ax.set_ylim(-0.3, 1.05)
    ax.set_yticks([0, 1], ["Lamport order\n(clock, node)", "real time"],
                  fontsize=S.SMALL)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], color=colours[i % len(colours)], linewidth=2.6,
                      label=name) for i, name in enumerate(nodes)]
    fig.legend(handles=handles, loc="lower right", ncol=len(nodes),
               frameon=False, fontsize=S.SMALL, bbox_to_anchor=(0.98, 0.0))
    moved = sum(1 for r in rows if r.rank != r.real_rank)
    fig.suptitle(title or f"{moved} of {count} events change place between "
                 "real time and Lamport order", fontsize=S.TITLE,
                 weight="bold", x=0.02, ha="left", y=0.98)
    return fig


# ----- HTML tables -----


def _table(head, rows):
    th = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        f"<td style='text-align:left'>{escape(str(c))}</td>" for c in row)
        + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


class HTML(str):
    """A string of HTML that a notebook shows as HTML."""

    def _repr_html_(self):
        return str(self)


def stamps_table(run, focus=None):
    """Every stamped event with both clocks; with ``focus``, its relation."""
    trace = as_trace(run)
    nodes = trace.nodes + trace.clients
    head = ["event", "node", "time (ms)", "Lamport", "vector"]
    centre = None
    if focus is not None:
        names = {e.name for e in events(run)}
        centre = focus if focus in names else None
        head.append(f"vs {focus}")
    rows = []
    for e in events(run):
        row = [e.name, e.node, f"{e.t * 1000:.1f}", e.lamport,
               format_vclock(e.vclock, nodes)]
        if focus is not None:
            row.append(_versus(run, centre, e))
        rows.append(row)
    note = ""
    if focus is not None and centre is None:
        note = (f"<p><b>{escape(focus)}</b> did not happen in this run "
                "(its message was lost?).</p>")
    return HTML(note + _table(head, rows))


def _versus(run, centre, e):
    if centre is None:
        return "-"
    order = relation(run, centre, e).order
    return {"before": "after it", "after": "before it", "same": "itself",
            "concurrent": "concurrent"}[order]


def stamps_panel(focus):
    """An explorer panel: the stamps table, with each event against ``focus``."""
    def panel(run):
        return str(stamps_table(run, focus))
    return panel


def claims_table(run):
    """Who claimed the name, with which Lamport stamp, and what happened."""
    rows = [(c.server, c.claim, _ms(c.granted), c.outcome, _ms(c.decided))
            for c in claims(run)]
    return HTML(_table(["server", "claim (L, node)", "granted at (ms)",
                        "final status", "decided at (ms)"], rows))


def versions_table(run):
    """Each pair of cart versions and how their version vectors compare."""
    rows = [(f"{a.writer}: {a.label}", f"{b.writer}: {b.label}", rel)
            for a, b, rel in version_table(run)]
    return HTML(_table(["version", "version", "version vectors say"], rows))


def _ms(t):
    return "-" if t is None else f"{t * 1000:.0f}"
