"""The Raft lab: the election-time experiment, its table, the checks."""

import math

import pytest

from dsim import raft_lab


def test_election_trial_is_seeded_and_measures_from_the_crash():
    times = [raft_lab.election_trial((0.15, 0.3, seed)) for seed in range(20)]
    assert times == [raft_lab.election_trial((0.15, 0.3, s)) for s in range(20)]
    assert all(0.075 < t < 1.0 for t in times)


def test_identical_timeouts_can_split_votes_past_the_limit():
    times = [raft_lab.election_trial((0.15, 0.15, seed)) for seed in range(10)]
    assert None in times


def test_more_spread_gives_faster_more_predictable_elections():
    times = raft_lab.election_times(
        ranges=[(0.15, 0.151), (0.15, 0.155), (0.15, 0.3)], trials=60, workers=1)
    rows = {row[0]: row for row in times.table()}
    assert rows["150-151 ms"][2] > 1000          # median over a second
    assert rows["150-151 ms"][4] > 10_000        # some trials over 10 s
    assert rows["150-155 ms"][2] > rows["150-300 ms"][2]
    assert rows["150-300 ms"][4] < 1000 and rows["150-300 ms"][5] == 0


def test_election_times_same_with_threads_or_inline():
    import concurrent.futures
    ranges = [(0.012, 0.024), (0.15, 0.2)]
    inline = raft_lab.election_times(ranges, trials=30, workers=1)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        threaded = raft_lab.election_times(ranges, trials=30, executor=pool)
    assert inline == threaded


def test_election_table_counts_trials_over_the_limit():
    times = raft_lab.ElectionTimes(((0.15, 0.15),), ((0.2, None, 0.4, None),))
    [row] = raft_lab.election_table(times)
    assert row[:2] == ("150-150 ms", 4) and row[5] == 2
    assert math.isinf(row[2]) and math.isinf(row[4])
    assert "> limit" in str(raft_lab.election_table(times))


def test_election_times_rejects_a_bad_range():
    with pytest.raises(ValueError, match="range 300-150 ms is not allowed"):
        raft_lab.election_times([(0.3, 0.15)], trials=1)
    with pytest.raises(ValueError, match="trials=0 must be a whole number"):
        raft_lab.election_times(trials=0)


def test_cdf_plot_has_a_line_per_range_with_leaders():
    times = raft_lab.election_times([(0.15, 0.2), (0.012, 0.024)], trials=10,
                                    workers=1)
    fig = raft_lab.plot_election_cdf(times)
    labels = [line.get_label() for line in fig.axes[0].get_lines()
              if not line.get_label().startswith("_")]
    assert labels == ["150-200 ms", "12-24 ms"]


def test_checks_answer_none_without_raising():
    for check in (raft_lab.check_log_check_winner, raft_lab.check_second_election,
                  raft_lab.check_crash_tolerance):
        verdict = check(None)
        assert verdict.ok is None and str(verdict).startswith("Not answered yet.")


def test_log_check_winner_check():
    assert raft_lab.check_log_check_winner("n3").ok
    wrong = raft_lab.check_log_check_winner("n2")
    assert not wrong.ok and "log" in wrong.message


def test_second_election_check():
    assert raft_lab.check_second_election("n5:36").ok
    vote = raft_lab.check_second_election("n5:1")
    assert vote.ok is False and "majority" in vote.message
    assert "not a message of this run" in raft_lab.check_second_election("n9:1").message


def test_crash_tolerance_check():
    assert raft_lab.check_crash_tolerance(2).ok
    assert raft_lab.check_crash_tolerance(3).ok is False


def test_panel_names_leaders_and_safety():
    from dsim import scenario
    html = raft_lab.election_panel(scenario("raft-stale-leader").run())
    assert "at most one leader per term" in html and "<td>n3</td><td>3</td>" in html
