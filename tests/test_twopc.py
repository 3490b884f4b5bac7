"""Two-phase commit: the protocol's steps, its scenarios, and its failures."""

import io

import pytest

from dsim import Crash, Faults, scenario, scenarios
from dsim.cli import main
from dsim.protocols import twopc
from dsim.twopc_lab import atomicity, in_doubt_table, outcomes, statuses

PARTICIPANTS = ["p1", "p2", "p3"]
# The longest a participant can stay in doubt beyond the coordinator's
# downtime when the crash falls just after the commit point: its vote's
# trip (latency at most 0.08 s, after prepares that arrive up to 0.04 s
# apart), the log write, the notices sent GAP apart, and the commit's trip.
SLACK = 0.08 + 0.04 + twopc.FLUSH + 3 * twopc.GAP + 0.08


def run(name, seed=0, **options):
    return scenario(name).run(seed=seed, **options)


def protocol_messages(trace):
    """(src, dst, type) of every message that is not a client's write."""
    return [(e["src"], e["dst"], e["type"]) for e in trace.of_kind("send")
            if e["type"] not in ("put", "reply")]


def test_scenarios_are_listed_with_a_summary():
    names = [n for n in scenarios() if n.startswith("2pc-")]
    assert names == [
        "2pc-commit", "2pc-commit-lost", "2pc-crash-after-first-commit",
        "2pc-crash-after-log", "2pc-crash-before-log", "2pc-heuristic",
        "2pc-participant-crash", "2pc-standbys", "2pc-vote-no"]
    out = io.StringIO()
    assert main(["list"], out=out) == 0
    assert "2pc-crash-after-log" in out.getvalue()


def test_commit_runs_the_two_phases_in_order():
    trace = run("2pc-commit").trace
    steps = [m for m in protocol_messages(trace) if "p1" in m[:2]]
    assert steps == [("co", "p1", "execute"), ("p1", "co", "executed"),
                     ("co", "p1", "prepare"), ("p1", "co", "vote"),
                     ("co", "p1", "commit"), ("p1", "co", "ack")]
    assert outcomes(trace) == {p: "committed" for p in PARTICIPANTS}
    assert [s for _, s in statuses(trace, "p1")] == [
        None, "working", "prepared", "committed"]


def test_commit_is_the_same_trace_for_the_same_seed():
    assert run("2pc-commit", seed=4).trace == run("2pc-commit", seed=4).trace


def test_vote_no_aborts_everyone_and_sends_no_commit():
    trace = run("2pc-vote-no").trace
    assert outcomes(trace) == {p: "aborted" for p in PARTICIPANTS}
    assert "commit" not in {t for _, _, t in protocol_messages(trace)}
    assert statuses(trace, "co")[-1][1] == "aborted"


def test_crash_before_log_presumes_abort_on_recovery():
    trace = run("2pc-crash-before-log").trace
    crash = trace.of_kind("crash")[0]
    assert crash["node"] == "co"
    assert not any(e["t"] < crash["t"] and e["kind"] == "timer"
                   and e["name"] == "log" for e in trace)
    assert outcomes(trace) == {p: "aborted" for p in PARTICIPANTS}


def test_crash_after_log_blocks_every_participant_until_recovery():
    trace = run("2pc-crash-after-log").trace
    recover = trace.of_kind("recover")[0]["t"]
    for row in in_doubt_table(trace):
        assert row.outcome == "committed"
        assert row.learned > recover
    assert statuses(trace, "p1")[-2][1] == "in-doubt"


def test_crash_after_first_commit_leaves_only_the_others_in_doubt():
    trace = run("2pc-crash-after-first-commit").trace
    crash = trace.of_kind("crash")[0]["t"]
    table = in_doubt_table(trace)
    assert table["p1"].learned < crash + 0.08  # its commit was on the wire
    assert table["p2"].learned > crash + 2.0
    assert table["p3"].learned > crash + 2.0
    assert atomicity(trace).ok


def test_participant_recovers_in_doubt_holding_its_lock():
    trace = run("2pc-participant-crash").trace
    recover = trace.index_of("recover", node="p2")
    after = [e for e in trace.events[recover:]
             if e["kind"] == "state" and e["node"] == "p2"]
    assert after[1]["fields"]["status"] == "in-doubt"
    assert after[1]["fields"]["locks"] == ["x2"]
    assert after[-1]["fields"]["status"] == "committed"
    assert after[-1]["fields"]["locks"] == []


def test_lost_commit_is_sent_again_until_acknowledged():
    trace = run("2pc-commit-lost").trace
    lost = trace.of_kind("drop")
    assert [(e["dst"], e["type"], e["reason"]) for e in lost] == [
        ("p2", "commit", "manual")]
    commits = [e for e in trace.of_kind("send")
               if (e["src"], e["dst"], e["type"]) == ("co", "p2", "commit")]
    assert commits[0]["id"] == lost[0]["id"] and len(commits) >= 2
    learned = in_doubt_table(trace)["p2"].learned
    assert learned == trace.messages[commits[1]["id"]].arrived
    assert outcomes(trace)["p2"] == "committed"


def test_heuristic_abort_breaks_atomicity_and_records_the_damage():
    trace = run("2pc-heuristic").trace
    verdict = atomicity(trace)
    assert not verdict.ok
    assert verdict.text == ("atomicity broken: p1 committed, p2 committed, "
                            "p3 aborted after an operator forced p3")
    last = [e for e in trace.of_kind("state") if e["node"] == "p3"][-1]
    assert last["fields"]["damage"] == "forced abort, coordinator said commit"


def test_heuristic_that_guesses_right_keeps_atomicity():
    forced = {"node": "p3", "at": 1.5, "outcome": "commit"}
    assert atomicity(run("2pc-heuristic", heuristic=forced)).ok


def test_standbys_answer_in_doubt_participants_while_coordinator_is_down():
    trace = run("2pc-standbys").trace
    recover = trace.of_kind("recover")[0]["t"]
    for row in in_doubt_table(trace):
        assert row.learned < recover
        assert row.in_doubt < 1.0


def test_working_participants_abort_on_their_own_when_coordinator_is_gone():
    faults = Faults(crashes=[Crash("co", 0.3, 3.0)])
    trace = run("2pc-commit", faults=faults).trace
    for node in PARTICIPANTS:
        decided = [t for t, s in statuses(trace, node) if s == "aborted"]
        assert decided and decided[0] < 3.0
        assert "vote" not in {e["type"] for e in trace.of_kind("send")
                              if e["src"] == node}


def test_other_writes_wait_for_the_lock_until_the_outcome():
    trace = run("2pc-crash-after-log").trace
    table = in_doubt_table(trace)
    for node in PARTICIPANTS:
        row = table[node]
        assert row.waited >= 1
        assert row.wait > 2.0  # the coordinator's downtime
    learned = table["p1"].learned
    replies = [e["t"] for e in trace.of_kind("send")
               if e["src"] == "p1" and e["type"] == "reply"]
    held = [t for t in replies if table["p1"].voted < t < learned]
    assert not held and learned in replies  # queued writes go on release


@pytest.mark.parametrize("downtime", [0.5, 1.0, 2.0, 4.0, 8.0])
@pytest.mark.parametrize("seed", range(5))
def test_in_doubt_time_is_downtime_plus_message_delays(downtime, seed):
    trace = run("2pc-crash-after-log", seed=seed, downtime=downtime).trace
    for row in in_doubt_table(trace):
        assert downtime < row.in_doubt <= downtime + SLACK


@pytest.mark.parametrize("seed", range(5))
def test_in_doubt_time_grows_with_downtime(seed):
    spells = [in_doubt_table(run("2pc-crash-after-log", seed=seed,
                                 downtime=d)) for d in (0.5, 1.0, 2.0, 4.0)]
    for node in PARTICIPANTS:
        times = [table[node].in_doubt for table in spells]
        assert times == sorted(times) and times[-1] - times[0] > 3.0


def test_command_line_runs_a_scenario_with_a_parameter():
    out = io.StringIO()
    assert main(["run", "2pc-crash-after-log", "--param", "downtime=3"],
                out=out) == 0
    assert "2pc-crash-after-log seed 0" in out.getvalue()


@pytest.mark.parametrize("params, message", [
    ({"participants": 1}, "participants=1 must be a whole number from 2 to 9"),
    ({"votes": {"p7": "no"}}, "votes names 'p7', which is not a participant: "
                              "the participants are p1, p2, p3"),
    ({"votes": {"p1": "maybe"}}, "vote 'maybe' of p1 must be 'yes' or 'no'"),
    ({"crash_at_step": "co:later"}, "crash_at_step='co:later' is not a step; "
                                    "the steps are co:before-log, co:after-log, "
                                    "co:after-first-send, p1:after-vote, "
                                    "p2:after-vote, p3:after-vote"),
    ({"downtime": -1}, "downtime=-1 must be a time in seconds > 0, or None "
                       "for a node that never recovers"),
    ({"lose_decision_to": "co"}, "lose_decision_to='co' is not a participant: "
                                 "the participants are p1, p2, p3"),
    ({"heuristic": {"node": "p1", "at": 1, "outcome": "maybe"}},
     "heuristic outcome 'maybe' must be 'commit' or 'abort'"),
    ({"standbys": 1}, "standbys=1 must be 0, 2 or 4, so that the coordinator "
                      "and its standbys have a majority"),
])
def test_bad_parameters_are_refused_by_name(params, message):
    with pytest.raises(ValueError) as caught:
        run("2pc-commit", **params)
    assert str(caught.value) == message
