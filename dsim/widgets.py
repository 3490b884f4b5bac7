"""The explorer: a run to watch and to break, in one notebook widget.

``Explorer("raft-election")`` shows the space-time diagram of a scenario
with the controls a learner needs to break it: play, pause, step and a
time slider for the cursor; drop a message (click its arrow, or pick it
from the list) and restore it; cut and heal links or whole partitions,
crash and recover nodes at the cursor's time; a drop rate and a seed.
Every change runs the scenario again from scratch (runs take
milliseconds; the explorer never reaches into a running simulation) and
shows what changed against the previous run. "Reproduce this run" gives
the Python lines that make exactly this run, for a cell or a bug report.

With the ipympl backend (``%matplotlib widget``) the diagram is a live
canvas and a click on an arrow drops that message; with any other
backend, and when a notebook runs headless, the diagram is an image
redrawn after every change, and the message list does the dropping.

Limitations: the cursor's state panel shows what nodes recorded with
``record``, not every variable of the protocol. A run that stops at its
event bound is shown as far as it got; the status line says so.
"""

import html
import io

import ipywidgets as widgets
import matplotlib
from matplotlib.figure import Figure

from .network import Crash, Cut, Faults, Partition
from .scenario import Scenario, scenario as named_scenario
from .viz.diagram import Diagram, new_figure, state_text
from .viz.scene import DROPPED

FRAMES = 100
LIVE_WIDTH = 10.5  # inches at 100 dpi: fits a notebook on a 1280-pixel screen


def _resolve(scenario_or_name):
    if isinstance(scenario_or_name, Scenario):
        return scenario_or_name
    if isinstance(scenario_or_name, str):
        return named_scenario(scenario_or_name)
    raise ValueError(f"{scenario_or_name!r} is neither a scenario nor the name "
                     "of one (see python -m dsim list)")


def ipympl_active():
    """Whether matplotlib draws with ipympl, whose canvas reports clicks."""
    backend = matplotlib.get_backend().lower()
    return "ipympl" in backend or backend == "widget"


class Explorer(widgets.VBox):
    """A scenario's diagram with controls that change its faults and re-run.

    - ``scenario_or_name``: a ``Scenario`` or a registered name;
    - ``seed``, ``faults``, ``params``, ``until``: the first run;
    - ``panel``: optional ``panel(run) -> HTML`` shown under the diagram
      and recomputed after every run (a checker's verdict, a table);
    - ``band``, ``label``: the recorded fields drawn as the lifeline's band
      and label (default: ``role`` or ``status``, and ``term`` or ``tx``);
    - ``verdict``: optional ``verdict(run)``, such as ``dsim.check.check``,
      whose linearization points the diagram overlays after every run;
    - ``width``: the figure's width in inches (default: fits a notebook
      beside JupyterLab's side bar when live, projector width as an image);
    - ``interactive``: force the clickable canvas on or off (default:
      on when the ipympl backend is active).

    ``run`` is the run shown and ``previous`` the one before the last
    change. The methods ``drop``, ``restore``, ``crash``, ``recover``,
    ``cut``, ``heal``, ``partition``, ``set_seed``, ``set_rate`` and
    ``set_time`` do what the buttons do.
    """

    def __init__(self, scenario_or_name, seed=0, faults=None, params=None,
                 until=None, panel=None, interactive=None, band=None, label=None,
                 verdict=None, width=None):
        super().__init__()
        self.scenario = _resolve(scenario_or_name)
        for name, fn in (("panel", panel), ("verdict", verdict)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name}={fn!r} must be a function of a run")
        if width is not None and not (isinstance(width, (int, float))
                                      and 6 <= width <= 30):
            raise ValueError(f"width={width!r} must be a figure width in inches, "
                             "from 6 to 30")
        self.drawing = {"band": band, "label": label}
        self.verdict_fn = verdict
        self.verdict = None
        self.width = width
        self.params = dict(params or {})
        self.until = until
        self.panel_fn = panel
        self.previous = None
        self.diff = None
        self.t = None
        self.run = self._execute(seed, faults)
        self.interactive = ipympl_active() if interactive is None else interactive
        self._build_view()
        self._build_controls()
        self.add_class("dsim-explorer")
        self._refresh()

    # ----- running -----

    def _execute(self, seed, faults):
        return self.scenario.run(seed=seed, faults=faults, until=self.until,
                                 **self.params)

    def _rerun(self, seed=None, faults=None):
        seed = self.run.seed if seed is None else seed
        faults = self.run.faults if faults is None else faults
        run = self._execute(seed, faults)
        self.previous, self.run = self.run, run
        if self.t is not None and self.t > run.trace.duration:
            self.t = None
        self._refresh()
        return run

    @property
    def faults(self):
        return self.run.faults

    # ----- what the controls do -----

    def drop(self, message_id):
        """Lose ``message_id`` (such as ``"n1:2"``) and run again."""
        if message_id not in self.run.trace.messages:
            raise ValueError(f"message {message_id!r} is not in this run; its "
                             f"messages are {_some(self.run.trace.messages)}")
        if message_id in self.faults.drop:
            return self.run
        return self._rerun(faults=self.faults.with_drop(message_id))

    def restore(self, message_id):
        """Undo the drop of ``message_id`` and run again."""
        if message_id not in self.faults.drop:
            dropped = ", ".join(self.faults.drop) or "none"
            raise ValueError(f"message {message_id!r} was not dropped here; the "
                             f"dropped messages are: {dropped}")
        return self._rerun(faults=self.faults.without_drop(message_id))

    def crash(self, node, at=None, recover=None):
        """Crash ``node`` at ``at`` (default: the cursor) and run again."""
        self._check_server(node)
        crash = Crash(node, self._at(at), recover)
        return self._rerun(faults=self.faults.with_crash(crash))

    def recover(self, node, at=None):
        """Recover the crashed ``node`` at ``at`` (default: the cursor)."""
        self._check_server(node)
        at = self._at(at)
        for crash in self.faults.crashes:
            if crash.node == node and crash.at < at and (
                    crash.recover is None or crash.recover > at):
                healed = Crash(node, crash.at, at)
                faults = self.faults.without_crash(crash).with_crash(healed)
                return self._rerun(faults=faults)
        raise ValueError(f"{node} is not down at t={at:g} s: crash it first, at "
                         "an earlier time")

    def cut(self, cut):
        """Add a ``Cut``, ``OneWay`` or ``Partition`` and run again."""
        return self._rerun(faults=self.faults.with_cut(cut))

    def cut_link(self, a, b, at=None):
        """Cut the link between ``a`` and ``b`` from ``at`` (the cursor) on."""
        self._check_server(a)
        self._check_server(b)
        return self.cut(Cut(a, b, start=self._at(at)))

    def partition(self, groups, at=None):
        """Split the nodes into ``groups`` (``"n1,n2|n3"`` or lists) from ``at``."""
        if isinstance(groups, str):
            groups = [[n.strip() for n in g.split(",") if n.strip()]
                      for g in groups.split("|")]
        for name in (n for g in groups for n in g):
            self._check_node(name)
        return self.cut(Partition(groups, start=self._at(at)))

    def heal(self, cut=None, at=None):
        """Heal ``cut`` (default: every open cut) at ``at`` (the cursor)."""
        at = self._at(at)
        chosen = [c for c in self.faults.cuts if c.heal is None or c.heal > at]
        if cut is not None:
            if cut not in self.faults.cuts:
                raise ValueError(f"{cut!r} is not among this run's cuts")
            if cut.heal is not None and cut.heal <= at:
                raise ValueError(f"that cut already healed at {cut.heal:g} s, "
                                 f"before t={at:g} s")
            chosen = [cut]
        if not chosen:
            raise ValueError(f"no cut is open at t={at:g} s")
        faults = self.faults
        for c in chosen:
            faults = faults.without_cut(c)
            if at > c.start:
                faults = faults.with_cut(type(c)(**{**_fields(c), "heal": at}))
        return self._rerun(faults=faults)

    def set_faults(self, faults):
        """Replace the whole fault plan with ``faults`` and run again."""
        if not isinstance(faults, Faults):
            raise ValueError(f"faults={faults!r} must be a dsim Faults plan")
        return self._rerun(faults=faults)

    def set_seed(self, seed):
        return self._rerun(seed=seed)

    def set_rate(self, rate):
        return self._rerun(faults=self.faults.with_rate(rate))

    def set_time(self, t):
        """Move the cursor to ``t`` seconds (None: the whole run)."""
        duration = self.run.trace.duration
        if t is not None and not (isinstance(t, (int, float)) and 0 <= t):
            raise ValueError(f"t={t!r} must be a time in seconds >= 0")
        self.t = None if t is None or t >= duration else float(t)
        self._refresh_view()

    def step(self, direction=1):
        """Move the cursor to the next (1) or previous (-1) event's time."""
        times = sorted({e["t"] for e in self.run.trace.events})
        now = self.run.trace.duration if self.t is None else self.t
        later = [t for t in times if (t > now if direction > 0 else t < now)]
        target = (later[0] if direction > 0 else later[-1]) if later else (
            None if direction > 0 else 0.0)
        self.set_time(target)

    def as_code(self):
        return self.run.as_code()

    def _at(self, at):
        if at is not None:
            return at
        return self.run.trace.duration if self.t is None else self.t

    def _check_node(self, node):
        """Servers and clients alike: a partition may put a client on a side."""
        names = self.run.trace.nodes + self.run.trace.clients
        if node not in names:
            raise ValueError(f"unknown node {node!r}: the nodes and clients are "
                             f"{', '.join(names)}")

    def _check_server(self, node):
        nodes = self.run.trace.nodes
        if node not in nodes:
            raise ValueError(f"unknown node {node!r}: the nodes are "
                             f"{', '.join(nodes)}")

    # ----- the view -----

    def _build_view(self):
        lanes = len(self.run.trace.nodes) + len(self.run.trace.clients)
        if self.interactive:
            from ipympl.backend_nbagg import Canvas, FigureManager
            # a live canvas keeps its pixel size, so it must fit the notebook
            fig = new_figure(lanes, figure_class=Figure,
                             width=self.width or LIVE_WIDTH)
            canvas = Canvas(fig)
            FigureManager(canvas, 0)
            canvas.header_visible = False
            canvas.toolbar_visible = False
            canvas.mpl_connect("pick_event", self._on_pick)
            self.canvas = canvas
        else:
            fig = new_figure(lanes, width=self.width)
            self.canvas = widgets.Image(format="png", layout=widgets.Layout(
                max_width="100%", height="auto"))
        self.canvas.add_class("dsim-diagram")
        self.view = Diagram(ax=fig.axes[0], captions=False)
        self.figure = fig

    def _on_pick(self, event):
        for fate, coll in self.view.messages.items():
            if event.artist is coll and len(event.ind):
                arrow = self.view.arrow_at(fate, int(event.ind[0]))
                self._guard(self._toggle, arrow.id, fate)
                return

    def _toggle(self, message_id, fate):
        if fate == DROPPED and message_id in self.faults.drop:
            self.restore(message_id)
        elif fate != DROPPED:
            self.drop(message_id)
        self.w_messages.value = message_id

    def _build_controls(self):
        w = widgets
        nodes = self.run.trace.nodes
        self.w_title = w.HTML()
        self.w_status = _classed(w.HTML(), "dsim-status")
        self.w_error = _classed(w.HTML(), "dsim-error")
        self.w_play = w.Play(min=0, max=FRAMES, step=1, interval=120, value=FRAMES)
        self.w_time = w.FloatSlider(min=0.0, max=1.0, step=0.001, value=1.0,
                                    description="time (s)", readout_format=".3f",
                                    continuous_update=False,
                                    layout=w.Layout(width="520px"))
        self.w_back = _button("◀ step", "previous event", "dsim-step-back")
        self.w_next = _button("step ▶", "next event", "dsim-step")
        self.w_end = _button("whole run", "show the whole run", "dsim-whole")
        self.w_messages = _classed(w.Dropdown(description="message",
                                              layout=w.Layout(width="460px")),
                                   "dsim-messages")
        self.w_drop = _button("Drop", "lose this message and run again", "dsim-drop")
        self.w_restore = _button("Restore", "undo the drop of this message",
                                 "dsim-restore")
        self.w_node = w.Dropdown(options=nodes, description="node",
                                 layout=w.Layout(width="180px"))
        self.w_crash = _button("Crash at cursor", "crash the node at the cursor",
                               "dsim-crash")
        self.w_recover = _button("Recover at cursor", "restart the node",
                                 "dsim-recover")
        self.w_link = w.Dropdown(options=nodes, description="and",
                                 layout=w.Layout(width="160px"))
        self.w_cut = _button("Cut link at cursor", "cut node ↔ other", "dsim-cut")
        self.w_groups = w.Text(placeholder="n1,n2|n3", description="groups",
                               layout=w.Layout(width="220px"))
        self.w_partition = _button("Partition at cursor", "split into the groups",
                                   "dsim-partition")
        self.w_heal = _button("Heal at cursor", "heal every open cut", "dsim-heal")
        self.w_rate = w.FloatSlider(min=0.0, max=0.5, step=0.01,
                                    value=self.run.faults.drop_rate,
                                    description="drop rate", continuous_update=False)
        self.w_seed = w.BoundedIntText(value=self.run.seed, min=0, max=2**31 - 1,
                                       description="seed",
                                       layout=w.Layout(width="180px"))
        self.w_diff = _classed(w.HTML(), "dsim-diff")
        self.w_state = _classed(w.HTML(), "dsim-state")
        self.w_code = _classed(w.HTML(), "dsim-code")
        self.w_panel = _classed(w.HTML(), "dsim-panel")
        self._wire()
        row = w.HBox
        self.children = [
            self.w_title, self.w_status, self.canvas,
            row([self.w_play, self.w_time, self.w_back, self.w_next, self.w_end]),
            row([self.w_messages, self.w_drop, self.w_restore]),
            row([self.w_node, self.w_crash, self.w_recover, self.w_link, self.w_cut]),
            row([self.w_groups, self.w_partition, self.w_heal, self.w_rate,
                 self.w_seed]),
            self.w_error, self.w_diff, self.w_panel, self.w_state, self.w_code]

    def _wire(self):
        self.w_play.observe(self._on_play, "value")
        self.w_time.observe(self._on_slider, "value")
        self.w_back.on_click(lambda _: self._guard(self.step, -1))
        self.w_next.on_click(lambda _: self._guard(self.step, 1))
        self.w_end.on_click(lambda _: self._guard(self.set_time, None))
        self.w_drop.on_click(lambda _: self._guard(self.drop, self.w_messages.value))
        self.w_restore.on_click(
            lambda _: self._guard(self.restore, self.w_messages.value))
        self.w_crash.on_click(lambda _: self._guard(self.crash, self.w_node.value))
        self.w_recover.on_click(
            lambda _: self._guard(self.recover, self.w_node.value))
        self.w_cut.on_click(lambda _: self._guard(
            self.cut_link, self.w_node.value, self.w_link.value))
        self.w_partition.on_click(
            lambda _: self._guard(self.partition, self.w_groups.value))
        self.w_heal.on_click(lambda _: self._guard(self.heal))
        self.w_rate.observe(lambda c: self._guard(self._rate_changed, c["new"]),
                            "value")
        self.w_seed.observe(lambda c: self._guard(self._seed_changed, c["new"]),
                            "value")
        self.w_messages.observe(lambda _: self._sync_buttons(), "value")

    def _guard(self, action, *args):
        """Run a control's action; a bad input is shown, not raised."""
        try:
            action(*args)
            self.w_error.value = ""
        except ValueError as exc:
            self.w_error.value = (f"<span style='color:#D55E00;font-size:14px'>"
                                  f"{html.escape(str(exc))}</span>")

    def _rate_changed(self, rate):
        if rate != self.faults.drop_rate:
            self.set_rate(rate)

    def _seed_changed(self, seed):
        if seed != self.run.seed:
            self.set_seed(seed)

    def _on_play(self, change):
        if self._syncing:
            return
        duration = self.run.trace.duration
        self.set_time(change["new"] / FRAMES * duration)

    def _on_slider(self, change):
        if self._syncing:
            return
        self._guard(self.set_time, change["new"])

    _syncing = False

    # ----- redrawing -----

    def _refresh(self):
        trace = self.run.trace
        scene_name = html.escape(self.scenario.name)
        self.w_title.value = (f"<b style='font-size:18px'>{scene_name}</b> "
                              f"<span style='font-size:15px'>— "
                              f"{html.escape(self.scenario.summary)}</span>")
        self.w_status.value = _status(self.run)
        code = html.escape(self.run.as_code())
        self.w_code.value = ("<b>Reproduce this run:</b><pre style='font-size:14px;"
                             f"user-select:all'>{code}</pre>")
        if self.panel_fn is not None:
            self.w_panel.value = str(self.panel_fn(self.run))
        if self.verdict_fn is not None:
            self.verdict = self.verdict_fn(self.run)
        self._fill_messages(trace)
        self._syncing = True
        try:
            self.w_time.max = max(trace.duration, 1e-6)
            self.w_time.step = max(trace.duration / 1000, 1e-6)
            self.w_seed.value = self.run.seed
            self.w_rate.value = self.faults.drop_rate
        finally:
            self._syncing = False
        self._refresh_view(redraw=True)

    def _fill_messages(self, trace):
        chosen = self.w_messages.value
        options = [(_message_label(m, self.faults.drop), m.id)
                   for m in trace.messages.values()]
        self.w_messages.options = options
        ids = {mid for _, mid in options}
        if chosen in ids:
            self.w_messages.value = chosen
        self._sync_buttons()

    def _sync_buttons(self):
        chosen = self.w_messages.value
        dropped = chosen in self.faults.drop
        self.w_drop.disabled = chosen is None or dropped
        self.w_restore.disabled = not dropped

    def _refresh_view(self, redraw=False):
        duration = self.run.trace.duration
        self._syncing = True
        try:
            at = duration if self.t is None else self.t
            self.w_time.value = at
            self.w_play.value = round(at / duration * FRAMES) if duration else FRAMES
        finally:
            self._syncing = False
        if redraw or self.view.trace is None:
            self.view.update(self.run, t=self.t, diff=self.previous,
                             verdict=self.verdict, **self.drawing)
            self.diff = self.view.diff if self.previous is not None else None
            self.w_diff.value = _diff_html(self.diff)
        else:
            self.view.set_time(self.t)
        self.w_state.value = self._state_html()
        self._show_figure()

    def _show_figure(self):
        if self.interactive:
            self.figure.canvas.draw_idle()
            return
        out = io.BytesIO()
        self.figure.savefig(out, format="png")
        self.canvas.value = out.getvalue()

    def _state_html(self):
        trace = self.run.trace
        at = trace.duration if self.t is None else self.t
        scene = self.view.scene
        rows = []
        for name in trace.nodes + trace.clients:
            state = state_text(trace, name, at, scene.band_field, scene.label_field)
            fields = trace.state_at(name, at) if trace.is_up(name, at) else {}
            detail = ", ".join(f"{k}={v}" for k, v in fields.items())
            rows.append(f"<tr><td><b>{html.escape(name)}</b></td>"
                        f"<td>{html.escape(state)}</td>"
                        f"<td style='color:#555'>{html.escape(detail)}</td></tr>")
        flying = len(trace.in_flight(at))
        return (f"<b>State at t = {at:.3f} s</b> ({flying} message(s) in flight)"
                "<table style='font-size:15px'>" + "".join(rows) + "</table>")


def _status(run):
    trace = run.trace
    end = trace.duration
    delivered = len(trace.delivered())
    dropped = len(trace.dropped())
    flying = len(trace.in_flight(end))
    return (f"<span style='font-size:16px'>delivered {delivered} · "
            f"dropped {dropped} · in flight at the end {flying} · "
            f"{html.escape(run.message)}</span>")


def _diff_html(diff):
    if diff is None:
        return ("<i>Change something (drop a message, crash a node) to see "
                "what it changes.</i>")
    return f"<b>Against the previous run:</b> {html.escape(diff.summary())}"


def _message_label(m, dropped_by_hand):
    label = f"{m.id} {m.type} {m.src}→{m.dst} @{m.sent:.3f}s"
    if m.id in dropped_by_hand:
        return label + " · dropped by you"
    if m.dropped is not None:
        return label + f" · lost ({m.reason})"
    if m.arrived is None:
        return label + " · in flight at the end"
    return label


def _some(messages, shown=5):
    ids = list(messages)
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _fields(cut):
    return {name: getattr(cut, name) for name in cut.__dataclass_fields__}


def _button(description, tooltip, css):
    return _classed(widgets.Button(description=description, tooltip=tooltip),
                    css)


def _classed(widget, css):
    widget.add_class(css)
    return widget


__all__ = ["Explorer", "ipympl_active"]
