"""The two-phase commit lab: the in-doubt table, verdicts and exercise checks."""

import pytest

from dsim import Crash, Faults, scenario
from dsim import twopc_lab as lab


def test_in_doubt_table_reads_votes_outcomes_and_waits():
    table = lab.in_doubt_table(scenario("2pc-crash-after-log").run(seed=0))
    assert [r.node for r in table] == ["p1", "p2", "p3"]
    for row in table:
        assert row.outcome == "committed" and not row.stuck
        assert row.in_doubt == pytest.approx(row.learned - row.voted)
        assert row.waited >= 1 and row.wait > 2.0
    html = table._repr_html_()
    assert html.count("<tr>") == 4 and "in doubt for" in html


def test_in_doubt_table_marks_a_participant_still_waiting_at_the_end():
    run = scenario("2pc-crash-after-log").run(seed=0, downtime=None)
    table = lab.in_doubt_table(run)
    assert all(row.stuck and row.learned is None for row in table)
    assert "still in doubt" in repr(table)
    assert lab.atomicity(run).text == "no participant has an outcome yet"


def test_in_doubt_table_refuses_an_unknown_participant():
    table = lab.in_doubt_table(scenario("2pc-commit").run(seed=0))
    with pytest.raises(KeyError, match="no participant 'p9'; the participants "
                                       "are p1, p2, p3"):
        table["p9"]


def test_atomicity_says_who_finished_how():
    assert repr(lab.atomicity(scenario("2pc-vote-no").run(seed=0))) == (
        "✔ atomic: every participant that finished aborted")


def test_blocking_grows_with_downtime_only_without_standbys():
    rows = lab.blocking_by_downtime([1.0, 4.0])
    (d1, plain1, kept1), (d4, plain4, kept4) = rows
    assert plain4 - plain1 == pytest.approx(3.0, abs=0.01)
    assert kept1 == pytest.approx(kept4) and kept4 < 1.0
    fig = lab.plot_blocking(rows)
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_blocking_by_downtime_refuses_a_bad_downtime():
    with pytest.raises(ValueError, match=r"downtime -1 must be seconds > 0"):
        lab.blocking_by_downtime([-1])


def test_checks_wait_for_an_answer():
    for check in (lab.check_points_of_no_return, lab.check_in_doubt_time,
                  lab.check_harmless_crash, lab.check_heuristic):
        answer = check(None)
        assert answer.ok is None and repr(answer).startswith("Not answered yet.")


def test_points_of_no_return_check():
    assert lab.check_points_of_no_return(["log", "vote"]).ok is True
    wrong = lab.check_points_of_no_return(["prepare", "log"])
    assert wrong.ok is False and "'working' timeout" in wrong.message
    assert lab.check_points_of_no_return(["commit"]).message == (
        "commit is not a step; the steps are execute, prepare, vote, log, "
        "send, ack")


def test_in_doubt_time_check_runs_the_crash():
    actual = lab.in_doubt_table(
        scenario("2pc-crash-after-log").run(seed=0, downtime=3.0))["p1"].in_doubt
    assert lab.check_in_doubt_time(round(actual, 1)).ok is True
    assert lab.check_in_doubt_time(1.0).ok is False
    assert lab.check_in_doubt_time("3").message == "'3' is not a number of seconds"


@pytest.mark.parametrize("at, ok, words", [
    (0.1, True, "had not begun"),
    (0.3, True, "no one had voted yet"),
    (0.45, False, "left p1, p2, p3 in doubt"),
    (3.0, True, "already reached everyone"),
])
def test_harmless_crash_check(at, ok, words):
    answer = lab.check_harmless_crash(at)
    assert answer.ok is ok and words in answer.message


def test_heuristic_check():
    assert lab.check_heuristic("commit").ok is True
    assert lab.check_heuristic("abort").ok is False
    assert lab.check_heuristic("maybe").message == "'maybe' must be 'commit' or 'abort'"


def test_panel_shows_table_and_verdict():
    faults = Faults(crashes=[Crash("co", 0.56, 2.56)])
    html = lab.panel(scenario("2pc-commit").run(seed=0, faults=faults))
    assert "dsim-twopc" in html and "atomic: every participant" in html
