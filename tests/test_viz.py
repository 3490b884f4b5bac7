"""The diagram is drawn from the trace: what it shows must match it."""

import types

import numpy as np
import pytest
from matplotlib.text import Text

from dsim import Crash, Cut, Faults, scenario
from dsim.cli import main
from dsim.viz import (Diagram, animation_html, build_scene, diagram, diff_runs,
                      save_gif, save_png)
from dsim.viz.scene import DELIVERED, DROPPED, IN_FLIGHT


def faulty_ping_pong():
    faults = Faults(drop=["n1:2"], crashes=[Crash("n2", 1.2, 1.8)],
                    cuts=[Cut("n1", "n2", start=1.9, heal=2.2)])
    return scenario("ping-pong").run(seed=1, faults=faults)


def drawn(run, t=None):
    view = Diagram(lanes=2)
    view.update(run, t=t)
    return view


def segments(view, fate):
    return len(view.messages[fate].get_segments())


@pytest.mark.parametrize("t", [None, 0.05, 0.55, 1.25, 2.0])
def test_diagram_arrows_match_trace_at_cursor(t):
    run = faulty_ping_pong()
    trace = run.trace
    view = drawn(run, t)
    at = trace.duration if t is None else t
    assert segments(view, DELIVERED) == len(trace.delivered(at))
    assert segments(view, DROPPED) == len(trace.dropped(at))
    assert segments(view, IN_FLIGHT) == len(trace.in_flight(at))
    assert len(view.lost.get_offsets()) == len(trace.dropped(at))
    assert len(view.flying.get_offsets()) == len(trace.in_flight(at))


def test_diagram_draws_in_flight_message_part_way():
    run = scenario("ping-pong").run(seed=1)
    ping = run.trace.messages["n1:1"]
    middle = (ping.sent + ping.arrived) / 2
    (arrow,) = [a for a in build_scene(run, t=middle).arrows if a.id == "n1:1"]
    assert arrow.fate == IN_FLIGHT
    assert arrow.x1 == pytest.approx(middle)
    assert arrow.y1 == pytest.approx(0.5)  # half-way from row 0 (n1) to row 1


def test_diagram_breaks_lifeline_during_crash():
    scene = build_scene(faulty_ping_pong())
    (crash,) = scene.crashes
    assert (crash.row, crash.start, crash.end) == (1, 1.2, 1.8)
    n2_lines = [(s.start, s.end) for s in scene.lines if s.row == 1]
    assert n2_lines == [(0.0, 1.2), (1.8, scene.t_end)]


def test_diagram_lost_message_reason_and_window():
    scene = build_scene(faulty_ping_pong())
    reasons = {a.id: a.reason for a in scene.arrows if a.fate == DROPPED}
    assert reasons == {"n1:2": "manual", "n1:4": "crashed", "n1:5": "partition"}
    (window,) = scene.windows
    assert (window.start, window.end, window.text) == (1.9, 2.2, "cut n1–n2")


def test_diagram_bands_follow_raft_roles():
    run = scenario("raft-leader-crash").run(seed=0)
    scene = build_scene(run)
    assert scene.band_field == "role" and scene.label_field == "term"
    assert {s.value for s in scene.bands} <= {"follower", "candidate", "leader"}
    for span in scene.bands:
        node = scene.lanes[span.row]
        middle = (span.start + span.end) / 2
        assert run.trace.state_at(node, middle).get("role") == span.value


def test_diagram_client_operations_are_intervals():
    run = scenario("register").run(seed=1)
    scene = build_scene(run)
    history = run.history()["operations"]
    assert len(scene.ops) == len(history)
    for op in scene.ops:
        assert op.start == history[op.index]["invoke"]
        assert scene.lanes[op.row] == history[op.index]["client"]


def test_diagram_text_is_projector_sized():
    fig = diagram(faulty_ping_pong(), t=1.3)
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
    assert sizes and min(sizes) >= 12


def test_diagram_dense_run_thins_lines_and_labels():
    run = scenario("raft-stale-leader").run(seed=0)
    view = drawn(run)
    texts = [t for t in view.ax.texts if t.get_text()]
    assert len(texts) < 60
    assert view.messages[DELIVERED].get_linewidth()[0] < 2.4


def test_diagram_highlight_and_verdict_overlays():
    run = scenario("register").run(seed=1)
    verdict = types.SimpleNamespace(points={0: 0.02, 1: 0.05}, stuck=[2],
                                    order=[0, 1], ok=False)
    send = run.trace.index_of("send", id="c1:1")
    view = Diagram(lanes=4)
    view.update(run, highlight={send}, verdict=verdict)
    assert len(view.points.get_offsets()) == 2
    assert len(view.ops["stuck"].get_segments()) == 1
    assert len(view.emphasis.get_segments()) == 1


def test_diagram_rejects_what_is_not_a_run():
    with pytest.raises(ValueError, match="'nope' is neither a dsim Run nor a Trace"):
        diagram("nope")
    with pytest.raises(ValueError, match=r"t=-1 must be a time in seconds >= 0"):
        diagram(faulty_ping_pong(), t=-1)


def test_diff_runs_lists_consequences_of_a_drop():
    before = scenario("ping-pong").run(seed=1)
    after = scenario("ping-pong").run(seed=1, faults=Faults(drop=["n1:2"]))
    diff = diff_runs(before, after)
    assert [c.what for c in diff.new][:4] == [
        "drop n1:2 ping n1→n2 (manual)", "state n1 pinged=3, ponged=1",
        'send n2:2 pong n2→n1 {"n":3}', "deliver n2:2 pong n2→n1"]
    assert [c.what for c in diff.gone][:3] == [
        "deliver n1:2 ping n1→n2", 'send n2:2 pong n2→n1 {"n":2}',
        "deliver n2:2 pong n2→n1"]
    assert (len(diff.new), len(diff.gone), len(diff.moved)) == (10, 14, 6)
    # what does not follow the lost ping stays put: the pings themselves
    unchanged = {"send n1:3", "send n1:4", "send n1:5", "timer n1"}
    touched = [c.what for c in diff.new + diff.gone + diff.moved]
    assert not [w for w in touched if any(w.startswith(u) for u in unchanged)]
    assert diff.summary().startswith("10 new, 14 gone, 6 moved. New: drop n1:2")


def test_diff_runs_of_identical_runs_is_empty():
    diff = diff_runs(faulty_ping_pong(), faulty_ping_pong())
    assert diff.same
    assert diff.summary() == "No change: the two runs are identical."


def test_diff_diagram_marks_new_and_gone():
    before = scenario("ping-pong").run(seed=1)
    after = scenario("ping-pong").run(seed=1, faults=Faults(drop=["n1:2"]))
    view = Diagram(lanes=2)
    view.update(after, diff=before)
    # gone: ping n1:2 delivered and the four pongs as they were before
    assert len(view.ghosts.get_segments()) == 5
    assert len(view.glow.get_segments()) == 4  # lost n1:2 and three new pongs


def test_save_png_and_command_line_write_png(tmp_path):
    path = save_png(faulty_ping_pong(), tmp_path / "a.png", title="faulty")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    target = tmp_path / "b.png"
    assert main(["run", "ping-pong", "--png", str(target)], out=open(
        tmp_path / "out.txt", "w")) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_animation_exports_html_player_and_gif(tmp_path):
    run = scenario("ping-pong").run(seed=1, rounds=2)
    html = animation_html(run, frames=3, dpi=30)
    assert html.count("data:image/png;base64") == 3
    gif = save_gif(run, tmp_path / "run.gif", frames=2, dpi=30)
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    with pytest.raises(ValueError, match="frames=1 must be a whole number >= 2"):
        animation_html(run, frames=1)


def test_diagram_figure_shows_itself_as_png():
    fig = diagram(scenario("ping-pong").run(seed=1, rounds=1))
    assert fig._repr_png_()[:4] == b"\x89PNG"
    assert np.isfinite(fig.axes[0].get_xlim()).all()
