"""Raft leader election: the protocol's rules, its scenarios, its traces."""

import json

import pytest

from dsim import Crash, Faults, Partition, Simulation, scenario
from dsim.cli import main
from dsim.protocols import raft
from dsim.protocols.raft import RaftNode, add_nodes, leader_at, leaders


def run(name, seed=0, **options):
    return scenario(name).run(seed=seed, **options)


def states(trace, node):
    return [e["fields"] for e in trace if e["kind"] == "state" and e["node"] == node]


def test_election_elects_one_leader_that_every_node_follows():
    trace = run("raft-election").trace
    [(t, leader, term)] = leaders(trace)
    assert term == 1 and 0.15 < t < 0.35
    assert leader_at(trace, trace.duration) == leader
    finals = {n: states(trace, n)[-1] for n in trace.nodes}
    assert {f["term"] for f in finals.values()} == {1}
    assert sorted(f["role"] for f in finals.values()) == ["follower"] * 4 + ["leader"]


def test_election_same_seed_gives_identical_trace():
    assert run("raft-election", seed=7).trace.dumps() == \
        run("raft-election", seed=7).trace.dumps()


def test_vote_granted_at_most_once_per_term():
    for seed in range(20):
        trace = run("raft-split-vote", seed=seed, until=0.5,
                    election=[0.15, 0.16], latency=None).trace
        granted = {}
        for e in trace.of_kind("send"):
            if e["type"] == "vote" and e["payload"]["granted"]:
                key = (e["src"], e["payload"]["term"])
                assert granted.setdefault(key, e["dst"]) == e["dst"]


def test_log_check_refuses_candidate_with_stale_log():
    trace = run("raft-log-check").trace
    n2_votes = [e for e in trace.of_kind("send")
                if e["type"] == "vote" and e["dst"] == "n2"]
    granted = sorted(e["src"] for e in n2_votes if e["payload"]["granted"])
    refused = sorted(e["src"] for e in n2_votes if not e["payload"]["granted"])
    assert granted == ["n5"] and refused == ["n1", "n3", "n4"]
    assert leaders(trace) == [(pytest.approx(leaders(trace)[0][0]), "n3", 3)]


def test_split_vote_repeats_with_identical_timeouts():
    trace = run("raft-split-vote", until=2.0).trace
    assert leaders(trace) == []
    assert raft.terms(trace) == 13
    rounds = {e["t"] for e in trace.of_kind("timer")}
    assert sorted(rounds) == pytest.approx([0.15 * k for k in range(1, 14)])


def test_split_vote_ends_once_timeouts_are_random():
    trace = run("raft-split-vote", election=[0.15, 0.3]).trace
    assert len(leaders(trace)) == 1


def test_leader_crash_new_leader_in_later_term_and_old_one_rejoins():
    trace = run("raft-leader-crash").trace
    (t1, old, term1), (t2, new, term2) = leaders(trace)
    assert trace.of_kind("crash")[0]["node"] == old
    assert new != old and term2 > term1 and 1.0 < t2 < 1.6
    assert states(trace, old)[-1] == {"role": "follower", "term": term2,
                                      "vote": states(trace, old)[-1]["vote"],
                                      "last_log": [0, 0]}


def test_term_and_vote_survive_a_crash():
    sim = Simulation(seed=3, until=1.0,
                     faults=Faults(crashes=[Crash("n2", 0.5, 0.6)]))
    add_nodes(sim, n=3)
    trace = sim.run().trace
    before = [e["fields"] for e in trace
              if e["kind"] == "state" and e["node"] == "n2" and e["t"] < 0.5][-1]
    after = [e["fields"] for e in trace
             if e["kind"] == "state" and e["node"] == "n2" and e["t"] >= 0.6][0]
    assert after["term"] == before["term"] and after["vote"] == before["vote"]
    assert after["role"] == "follower"


def test_stale_leader_keeps_leading_until_heal_then_steps_down():
    trace = run("raft-stale-leader").trace
    (_, old, term1), (_, new, term2) = leaders(trace)
    assert term2 > term1
    during = raft.states_at(trace, 1.5)
    assert during[old] == ("leader", term1) and during[new] == ("leader", term2)
    assert leader_at(trace, 1.5) == new
    after = raft.states_at(trace, 2.0)
    assert after[old] == ("follower", term2)


def test_stale_leader_steps_down_alone_with_check_quorum():
    trace = run("raft-stale-leader", check_quorum=True).trace
    old = leaders(trace)[0][1]
    assert raft.states_at(trace, 1.5)[old][0] != "leader"
    assert leader_at(trace, 1.5) != old


def test_flaky_link_bounces_leadership_without_refinements():
    trace = run("raft-flaky-link").trace
    during = [node for t, node, _ in leaders(trace) if 0.6 < t < 2.6]
    assert len(during) >= 4 and len(set(during)) == 2


@pytest.mark.parametrize("options", [{"prevote": True}, {"check_quorum": True},
                                     {"prevote": True, "check_quorum": True}])
def test_flaky_link_stable_with_prevote_or_check_quorum(options):
    trace = run("raft-flaky-link", **options).trace
    assert [node for t, node, _ in leaders(trace) if 0.6 < t < 2.6] == []


def test_flaky_link_heal_disrupts_check_quorum_but_not_prevote():
    cq = run("raft-flaky-link", check_quorum=True).trace
    pv = run("raft-flaky-link", prevote=True).trace
    assert raft.terms(pv) == 1
    assert raft.terms(cq) > 2 and leaders(cq)[-1][0] > 2.6


def test_every_role_change_is_a_state_event_with_role_and_term():
    trace = run("raft-flaky-link").trace
    for e in trace.of_kind("state"):
        assert set(e["fields"]) == {"role", "term", "vote", "last_log"}
        assert e["fields"]["role"] in raft.ROLES


def test_cli_run_writes_trace_with_role_and_term(tmp_path, capsys):
    path = tmp_path / "stale.jsonl"
    assert main(["run", "raft-stale-leader", "--seed", "2",
                 "--trace", str(path)]) == 0
    events = [json.loads(line) for line in path.read_text().splitlines()]
    changes = [(e["node"], e["fields"]["role"], e["fields"]["term"])
               for e in events if e["kind"] == "state"]
    assert any(role == "leader" for _, role, _ in changes)
    assert raft.election_safety(events) == {}


def test_cli_lists_raft_scenarios(capsys):
    main(["list"])
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines() if line.startswith("raft-")]
    assert names == ["raft-election", "raft-flaky-link", "raft-leader-crash",
                     "raft-log-check", "raft-split-vote", "raft-stale-leader"]


@pytest.mark.parametrize("params, message", [
    ({"n": 0}, "n=0 must be a whole number of nodes >= 1"),
    ({"election": [0.3, 0.15]}, "election=[0.3, 0.15] is not allowed: "
                                "it needs 0 < low <= high seconds"),
    ({"heartbeat": 0.2}, "heartbeat=0.2 must be > 0 and shorter than the minimum "
                         "election timeout 0.15 s"),
    ({"logs": [[1]]}, "logs has 1 entries for n=5 nodes"),
    ({"logs": [[2, 1]] * 5}, "log [2, 1] of n1 must list the terms"),
    ({"timeouts": [0.1, -1, None, None, None]}, "timeouts[1]=-1 must be seconds"),
])
def test_bad_parameters_name_the_value(params, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")
                       .replace("]", r"\]").replace("(", r"\(")):
        run("raft-election", **params)


def test_bad_fault_times_name_the_value():
    with pytest.raises(ValueError, match="recover_at=0.5 must be later than "
                                         "crash_at=1.0"):
        run("raft-leader-crash", recover_at=0.5)
    with pytest.raises(ValueError, match="n=2 is too few"):
        run("raft-flaky-link", n=2)


def test_single_node_leads_alone():
    sim = Simulation(seed=0, until=0.5)
    sim.add(RaftNode("n1"))
    assert [node for _, node, _ in leaders(sim.run().trace)] == ["n1"]


def test_partitioned_minority_cannot_elect():
    faults = Faults(cuts=[Partition([["n1", "n2"]])])
    trace = run("raft-election", faults=faults, until=2.0).trace
    assert {node for _, node, _ in leaders(trace)} <= {"n3", "n4", "n5"}
    minority = raft.states_at(trace, 2.0)
    assert minority["n1"][0] != "leader" and minority["n2"][0] != "leader"
    assert minority["n1"][1] > minority["n3"][1]
