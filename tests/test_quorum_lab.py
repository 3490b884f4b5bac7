"""The quorum notebook's instruments: rule, staleness plot, costs, checks, lab."""

import matplotlib
import pytest

from dsim import scenario
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
    with pytest.raises(ValueError, match="trials=0 must be a whole number > 0"):
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
