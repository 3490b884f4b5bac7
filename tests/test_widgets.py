"""The explorer, driven through its buttons and methods, without a browser."""

import pytest

from dsim import Crash, Cut, Faults, scenario
from dsim.widgets import Explorer


def explorer(**options):
    return Explorer("ping-pong", seed=1, **options)


def status(ex):
    return ex.w_status.value


def test_explorer_drop_button_reruns_and_counts():
    ex = explorer()
    assert "delivered 10" in status(ex) and "dropped 0" in status(ex)
    ex.w_messages.value = "n1:2"
    ex.w_drop.click()
    assert ex.run.faults.drop == ("n1:2",)
    assert "dropped 1" in status(ex)
    assert ex.previous is not None
    assert "New: drop n1:2 ping n1→n2 (manual)" in ex.w_diff.value
    assert ex.run.trace.events == scenario("ping-pong").run(
        seed=1, faults=Faults(drop=["n1:2"])).trace.events


def test_explorer_restore_button_undoes_drop():
    ex = explorer()
    ex.w_messages.value = "n1:2"
    ex.w_drop.click()
    assert ex.w_messages.value == "n1:2" and not ex.w_restore.disabled
    assert "dropped by you" in ex.w_messages.label
    ex.w_restore.click()
    assert ex.run.faults.drop == ()
    assert "dropped 0" in status(ex)


def test_explorer_message_labels_start_with_id():
    ex = explorer()
    labels = [label for label, _ in ex.w_messages.options]
    assert labels[0].startswith("n1:1 ping n1→n2 @0.000s")
    assert len(labels) == len(ex.run.trace.messages)


def test_explorer_crash_and_recover_at_cursor():
    ex = explorer()
    ex.set_time(1.0)
    ex.w_node.value = "n2"
    ex.w_crash.click()
    assert [(c.node, c.at, c.recover) for c in ex.run.faults.crashes] == [
        ("n2", 1.0, None)]
    ex.set_time(1.6)
    ex.w_recover.click()
    assert [(c.node, c.at, c.recover) for c in ex.run.faults.crashes] == [
        ("n2", 1.0, 1.6)]
    ex.set_time(1.3)
    assert "down" in ex.w_state.value


def test_explorer_cut_and_heal_link():
    ex = explorer()
    ex.set_time(0.9)
    ex.w_node.value, ex.w_link.value = "n1", "n2"
    ex.w_cut.click()
    assert ex.run.faults.cuts == (Cut("n1", "n2", start=0.9),)
    ex.set_time(1.7)
    ex.w_heal.click()
    assert ex.run.faults.cuts == (Cut("n1", "n2", start=0.9, heal=1.7),)
    assert any(m.reason == "partition" for m in ex.run.trace.dropped())


def test_explorer_partition_from_text_and_bad_node_message():
    ex = Explorer("raft-election", seed=0)
    ex.set_time(0.5)
    ex.w_groups.value = "n1,n2|n3,n4,n5"
    ex.w_partition.click()
    assert ex.run.faults.cuts[0].groups == (("n1", "n2"), ("n3", "n4", "n5"))
    ex.w_groups.value = "n1|n9"
    ex.w_partition.click()
    assert ("unknown node &#x27;n9&#x27;: the nodes and clients are n1, n2, n3, "
            "n4, n5") in ex.w_error.value
    assert len(ex.run.faults.cuts) == 1


def test_explorer_partition_can_put_a_client_on_a_side():
    ex = Explorer("cap-ap", seed=0)
    ex.partition("n1,n2,c1|n3,c2", at=1.0)
    assert ex.run.faults.cuts[-1].groups == (("n1", "n2", "c1"), ("n3", "c2"))


def test_explorer_set_faults_replaces_the_plan_in_one_run():
    ex = explorer()
    plan = Faults(drop=["n1:2"], crashes=[Crash("n2", 1.0, 1.5)])
    ex.set_faults(plan)
    assert ex.run.faults == plan and ex.previous.faults == Faults()
    with pytest.raises(ValueError, match="must be a dsim Faults plan"):
        ex.set_faults("n1:2")


def test_explorer_overlays_a_verdict_and_chosen_fields():
    from dsim.check import check

    ex = Explorer("register", seed=1, verdict=check, label="value")
    assert ex.verdict is not None and ex.verdict.ok
    assert ex.view.scene.label_field == "value"
    ex.drop(next(iter(ex.run.trace.messages)))
    assert ex.verdict.ok


def test_explorer_seed_and_rate_rerun():
    ex = explorer()
    ex.w_seed.value = 7
    assert ex.run.seed == 7
    ex.w_rate.value = 0.3
    assert ex.run.faults.drop_rate == 0.3
    assert "drop_rate=0.3" in ex.w_code.value and "seed=7" in ex.w_code.value


def test_explorer_show_as_code_reproduces_run():
    ex = explorer()
    ex.drop("n2:3")
    ex.crash("n2", at=1.4)
    namespace = {}
    exec(ex.as_code(), namespace)
    assert namespace["run"].trace == ex.run.trace


def test_explorer_cursor_steps_and_slider():
    ex = explorer()
    ex.set_time(0.0)
    ex.w_next.click()
    assert ex.t == pytest.approx(ex.run.trace.messages["n1:1"].arrived)
    ex.w_time.value = 0.6
    assert ex.t == pytest.approx(0.6)
    assert "State at t = 0.600 s" in ex.w_state.value
    ex.w_end.click()
    assert ex.t is None


def test_explorer_panel_recomputed_after_each_run():
    ex = explorer(panel=lambda run: f"<b>{len(run.trace.dropped())} lost</b>")
    assert ex.w_panel.value == "<b>0 lost</b>"
    ex.drop("n1:1")
    assert ex.w_panel.value == "<b>1 lost</b>"


def test_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown scenario 'nope'"):
        Explorer("nope")
    ex = explorer()
    with pytest.raises(ValueError, match="message 'n7:1' is not in this run"):
        ex.drop("n7:1")
    with pytest.raises(ValueError, match="message 'n1:1' was not dropped here"):
        ex.restore("n1:1")
    with pytest.raises(ValueError, match="n2 is not down at t=1 s"):
        ex.recover("n2", at=1.0)


def test_explorer_inline_image_and_dom_classes():
    ex = explorer()
    assert ex.canvas.value[:4] == b"\x89PNG"
    classes = {c for w in _walk(ex) for c in w._dom_classes}
    assert {"dsim-messages", "dsim-drop", "dsim-restore", "dsim-status",
            "dsim-state", "dsim-diff", "dsim-code"} <= classes


def test_explorer_click_on_arrow_drops_message():
    ex = explorer()
    ex._toggle("n1:3", "delivered")
    assert ex.run.faults.drop == ("n1:3",)
    ex._toggle("n1:3", "dropped")
    assert ex.run.faults.drop == ()


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_explorer_ipympl_click_on_arrow_drops_it():
    from matplotlib.backend_bases import MouseEvent

    ex = explorer(interactive=True)
    ex.figure.canvas.draw()
    ping = ex.run.trace.messages["n1:3"]
    row = {"n1": 0, "n2": 1}
    middle = ((ping.sent + ping.arrived) / 2, (row[ping.src] + row[ping.dst]) / 2)
    x, y = ex.view.ax.transData.transform(middle)
    click = MouseEvent("button_press_event", ex.figure.canvas, x, y, button=1)
    ex.figure.pick(click)
    assert ex.run.faults.drop == ("n1:3",)
    assert "dropped 1" in status(ex)


def test_explorer_heal_never_lengthens_a_cut():
    ex = explorer()
    ex.cut(Cut("n1", "n2", start=0.5, heal=1.0))
    with pytest.raises(ValueError, match="already healed at 1 s, before t=1.5 s"):
        ex.heal(ex.faults.cuts[0], at=1.5)
    ex.heal(ex.faults.cuts[0], at=0.8)
    assert ex.faults.cuts[0].heal == 0.8
