"""The quorum notebook's instruments: rule, staleness plot, costs, checks, lab."""

import html

import matplotlib
import pytest

from dsim.quorum_lab import (VARIANTS, Feedback, check_race_drop,
                             check_skew_threshold, check_smallest_r,
                             check_stale_chance, costs, measure_staleness, rule,
                             stale_chance, staleness_figure, staleness_table)

matplotlib.use("Agg")


def test_rule_says_whether_quorums_overlap():
    assert rule(3, 2, 2) == ("w + r = 4 > n = 3: every read quorum shares at "
                             "least 1 replica(s) with every write quorum")
    assert rule(5, 2, 2) == ("w + r = 4 <= n = 5: a read can ask only replicas "
                             "the write missed (chance 30% when both quorums are "
                             "random)")


@pytest.mark.parametrize("args, message", [
    ((3, 4, 1), "w=4 is larger than n=3 replicas"),
    ((3, 1, 0), "r=0 is not allowed: r must be at least 1"),
    ((-1, 1, 1), "n=-1 is not allowed: n must be at least 1"),
])
def test_rule_and_closed_form_reject_bad_quorums(args, message):
    for fn in (rule, stale_chance):
        with pytest.raises(ValueError, match=message):
            fn(*args)


def test_measure_staleness_rejects_bad_trials():
    with pytest.raises(ValueError, match="trials=0 must be a whole number >= 1"):
        measure_staleness(3, 1, 1, trials=0)


def test_staleness_figure_one_bar_per_configuration():
    rows = staleness_table(20, configs=((3, 1, 1), (4, 2, 2)))
    fig = staleness_figure(rows)
    ax = fig.axes[0]
    assert [round(p.get_height(), 4) for p in ax.patches] == [0.6667, 0.1667]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "n=3 w=1 r=1", "n=4 w=2 r=2"]


# ----- exercise checks -----


@pytest.mark.parametrize("check", [check_smallest_r, check_stale_chance,
                                   check_race_drop, check_skew_threshold])
def test_checks_unanswered_say_so_without_raising(check):
    assert check(None).ok is None
    assert str(check(None)).startswith("Not answered yet.")


def test_check_smallest_r_right_and_wrong_with_reasons():
    assert check_smallest_r(4).ok is True
    assert str(check_smallest_r(3)) == (
        "Not yet. With r = 3, w + r = 5 <= 5: the read can ask 3 of the 3 "
        "replicas the write missed (chance 10%).")
    assert check_smallest_r(5).ok is False
    assert check_smallest_r("four").ok is False


def test_check_stale_chance_accepts_three_tenths():
    assert check_stale_chance(0.3).ok is True
    assert check_stale_chance(3 / 10).ok is True
    assert check_stale_chance(0.4).ok is False


def test_check_skew_threshold_found_by_runs():
    assert check_skew_threshold(0.1).ok is True
    assert "still keeps c2's write" in str(check_skew_threshold(0.05))
    assert "loses c2's write already" in str(check_skew_threshold(0.2))


def test_feedback_html_names_the_outcome():
    assert "Right." in Feedback(True, "ok")._repr_html_()


# ----- the lab widget: bad settings are refused, the last good run stays -----


@pytest.fixture
def lab():
    from dsim.quorum_lab import QuorumLab

    return QuorumLab("quorum-race", seed=0)


@pytest.mark.parametrize("change, message", [
    ({"w": 4}, "w=4 is larger than n=3 replicas"),
    ({"r": 0}, "r=0 is not allowed: r must be at least 1"),
    ({"w": -1}, "w=-1 is not allowed: w must be at least 1"),
    ({"n": 0}, "n=0 is not allowed: n must be at least 1"),
    ({"variant": "eager"}, "protocol 'eager' is not one of"),
])
def test_lab_refuses_bad_settings_and_keeps_the_last_good_run(lab, change, message):
    shown = lab.run
    assert lab.set(**change) is False
    assert lab.error.startswith(message)
    assert html.escape(message.split(":")[0]) in lab.status.value
    assert lab.run is shown and lab.holder.children == (lab.explorer,)


def test_lab_slider_past_n_is_refused_then_a_good_move_reruns(lab):
    shown = lab.run
    lab.w_slider.value = 5
    assert lab.error.startswith("w=5 is larger than n=3 replicas")
    assert "w=5 is larger than n=3" in lab.rule.value
    assert lab.run is shown
    lab.w_slider.value = 3
    assert lab.error is None and lab.status.value == ""
    assert (lab.run.params["w"], lab.run.params["r"]) == (3, 2)
    assert "w + r = 5 &gt; n = 3" in lab.rule.value


def test_lab_panel_gives_the_verdict_on_every_run(lab):
    assert "not linearizable" in lab.explorer.w_panel.value
    lab.variant.value = "ABD: sync repair + read before write"
    assert lab.run.params["read_before_write"] is True
    assert "&#10004; linearizable" in lab.explorer.w_panel.value


def test_lab_keeps_dropped_messages_across_settings(lab):
    lab.explorer.drop("c1:1")
    assert "&#10004; linearizable" in lab.explorer.w_panel.value
    lab.set(r=3)
    assert lab.run.faults.drop == ("c1:1",)


def test_lab_growing_n_makes_the_new_replicas_slow(lab):
    lab.slow.value = ("n3",)
    assert lab.run.params["slow"] == ["n3"]
    lab.n_slider.value = 5
    assert lab.run.params["slow"] == ["n3", "n4", "n5"]
    assert lab.slow.options == ("n1", "n2", "n3", "n4", "n5")


def test_lab_rejects_bad_quorums_at_construction():
    from dsim.quorum_lab import QuorumLab

    with pytest.raises(ValueError, match="r=4 is larger than n=3 replicas"):
        QuorumLab("quorum-race", r=4)


# ----- costs and the race exercise, judged by the checker -----


def test_costs_only_abd_is_linearizable_everywhere_and_writes_twice():
    table = costs(range(4))
    assert [row.variant for row in table] == list(VARIANTS)
    lww, _, sync, abd = table
    assert (lww.race_linearizable, sync.race_linearizable) == (0, 4)
    assert (abd.race_linearizable, abd.mix_linearizable) == (4, 4)
    assert (lww.write_trips, abd.write_trips) == (1.0, 2.0)
    assert abd.write_ms > 1.5 * lww.write_ms
    assert "race linearizable" in table._repr_html_()


def test_check_race_drop_right_for_the_repair_message():
    assert check_race_drop("c2:4").ok is True
    assert check_race_drop("c1:1").ok is False
    assert "is not a message of this run" in str(check_race_drop("c9:1"))
