"""Two-phase commit's safety, over random crashes, crash steps and drops.

Each property is checked on the trace alone: the participants' recorded
``status`` and the messages they sent and received.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsim import Crash, Faults, scenario
from dsim.protocols.twopc import COORDINATOR_STEPS
from dsim.trace import lifeline
from dsim.twopc_lab import DECIDED, UNCERTAIN, participants

NODES = ["co", "p1", "p2", "p3"]
STEPS = [f"co:{s}" for s in COORDINATOR_STEPS] + [
    f"p{i}:after-vote" for i in (1, 2, 3)]
OUTCOME_OF = {"commit": "committed", "abort": "aborted"}
QUICK = settings(max_examples=150, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow])
FULL = settings(max_examples=1200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def crashes(draw, recovering):
    plan = []
    for node in draw(st.lists(st.sampled_from(NODES), max_size=2, unique=True)):
        at = draw(st.floats(0.0, 1.5))
        if recovering or draw(st.booleans()):
            recover = at + draw(st.floats(0.05, 3.0))
        else:
            recover = None
        plan.append(Crash(node, at, recover))
    return plan


@st.composite
def faulty_runs(draw, recovering=False, lossy=True, heuristic=False):
    """A 2pc run under random faults; ``recovering``: every crash ends."""
    ids = [f"{n}:{k}" for n in NODES for k in range(1, 13)]
    faults = Faults(
        drop=draw(st.lists(st.sampled_from(ids), max_size=4)) if lossy else (),
        drop_rate=draw(st.sampled_from([0.0, 0.05, 0.2])) if lossy else 0.0,
        crashes=draw(crashes(recovering)))
    params = {
        "crash_at_step": draw(st.none() | st.sampled_from(STEPS)),
        "downtime": draw(st.floats(0.1, 3.0)) if recovering else
        draw(st.none() | st.floats(0.1, 3.0)),
        "lose_decision_to": draw(st.none() | st.sampled_from(["p1", "p2", "p3"])),
        "votes": draw(st.sampled_from([{}, {}, {"p2": "no"}])),
        "standbys": draw(st.sampled_from([0, 2])),
    }
    if heuristic:
        params["heuristic"] = {"node": draw(st.sampled_from(["p1", "p2", "p3"])),
                               "at": draw(st.floats(0.3, 3.0)),
                               "outcome": draw(st.sampled_from(["commit", "abort"]))}
    seed = draw(st.integers(0, 10_000))
    return scenario("2pc-commit").run(seed=seed, faults=faults, **params)


def decided(trace, forced=True):
    """Every (node, t, status) where a participant recorded an outcome.

    ``forced=False`` leaves out outcomes an operator forced.
    """
    nodes = participants(trace)
    return [(e["node"], e["t"], e["fields"]["status"])
            for e in trace.of_kind("state")
            if e["node"] in nodes and e["fields"].get("status") in DECIDED
            and (forced or "heuristic" not in e["fields"])]


def yes_votes(trace):
    return {e["src"]: e["t"] for e in trace.of_kind("send")
            if e["type"] == "vote" and e["payload"]["yes"]}


def assert_no_mixed_outcomes(run):
    statuses = {s for _, _, s in decided(run.trace)}
    assert len(statuses) <= 1, run.as_code()


def assert_commit_needs_every_yes(run):
    trace = run.trace
    votes = yes_votes(trace)
    for node, t, status in decided(trace, forced=False):
        if status == "committed":
            assert set(votes) == {"p1", "p2", "p3"}, run.as_code()
            assert max(votes.values()) <= t, run.as_code()


def assert_in_doubt_until_told(run):
    """Out of prepared or in-doubt only by hearing the outcome (or a crash)."""
    trace = run.trace
    for node in participants(trace):
        status, trigger = None, None
        for e in trace:
            if lifeline(e) != node:
                continue
            kind = e["kind"]
            if kind in ("deliver", "timer", "recover"):
                if status in UNCERTAIN and trigger is not None:
                    _check_told(trigger, None, run)
                trigger = e
            elif kind == "crash":
                status, trigger = None, None
            elif kind == "state":
                new = e["fields"].get("status")
                if status in UNCERTAIN and new not in UNCERTAIN:
                    _check_told(trigger, new, run)
                status = new


def _check_told(trigger, new, run):
    """The event that moved an uncertain participant, and where it went."""
    told = trigger["kind"] == "deliver" and trigger["type"] in OUTCOME_OF
    forced = trigger["kind"] == "timer" and trigger["name"] == "operator"
    if new is None:
        # an uncertain participant handled something else: not an outcome
        assert not told, run.as_code()
        return
    assert new in DECIDED, run.as_code()
    assert told or forced, run.as_code()
    if told:
        assert OUTCOME_OF[trigger["type"]] == new, run.as_code()


def assert_recovers_in_doubt(run):
    trace = run.trace
    for node in participants(trace):
        voted = yes_votes(trace).get(node)
        for index, e in enumerate(trace.events):
            if e["kind"] == "recover" and e["node"] == node and voted is not None \
                    and voted < e["t"] and not _decided_before(trace, node, e["t"]):
                after = [x for x in trace.events[index:] if x["kind"] == "state"
                         and x["node"] == node][:2]
                assert after[-1]["fields"]["status"] == "in-doubt", run.as_code()
                assert after[-1]["fields"]["locks"], run.as_code()


def _decided_before(trace, node, t):
    return any(n == node and when < t for n, when, _ in decided(trace))


@QUICK
@given(faulty_runs())
def test_outcomes_are_never_mixed_without_an_operator(run):
    assert_no_mixed_outcomes(run)


@QUICK
@given(faulty_runs())
def test_no_participant_commits_unless_every_participant_voted_yes(run):
    assert_commit_needs_every_yes(run)


@QUICK
@given(faulty_runs(heuristic=True))
def test_participant_stays_in_doubt_until_it_learns_the_outcome(run):
    assert_in_doubt_until_told(run)
    assert_recovers_in_doubt(run)


@QUICK
@given(faulty_runs(recovering=True, lossy=False))
def test_every_participant_learns_the_outcome_once_crashes_end(run):
    table = decided(run.trace)
    assert {n for n, _, _ in table} == {"p1", "p2", "p3"}, run.as_code()
    assert run.end == "quiet", run.as_code()
    assert_no_mixed_outcomes(run)


@pytest.mark.slow
@FULL
@given(faulty_runs(heuristic=True))
def test_full_count_safety_properties(run):
    if run.params.get("heuristic") is None:
        assert_no_mixed_outcomes(run)
    assert_commit_needs_every_yes(run)
    assert_in_doubt_until_told(run)
    assert_recovers_in_doubt(run)


def test_mixed_outcome_check_catches_a_heuristic_abort():
    run = scenario("2pc-heuristic").run(seed=0)
    with pytest.raises(AssertionError):
        assert_no_mixed_outcomes(run)
