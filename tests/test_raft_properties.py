"""Raft election safety and liveness under random seeded faults.

Each seed draws its own plan of message loss, partitions and crashes (and
switches pre-vote and check-quorum at random); every fault has healed by
2.5 s, and the run goes on to 4 s.
"""

import pytest

from dsim import raft_lab
from dsim.protocols.raft import RaftNode

DEFAULT_RUNS = 300
FULL_RUNS = 1000


def check_safety_and_liveness(seeds, workers=1):
    results = raft_lab.safety_report(seeds, workers=workers)
    unsafe = [(r.seed, r.unsafe_terms) for r in results if r.unsafe_terms]
    assert unsafe == []
    stuck = [r.seed for r in results if r.leader_after_heal is None]
    assert len(stuck) <= len(results) // 100
    return results


def test_election_safety_and_liveness_under_random_faults():
    results = check_safety_and_liveness(range(DEFAULT_RUNS))
    assert sum(len(r.leaders_by_term) > 1 for r in results) > DEFAULT_RUNS // 3


@pytest.mark.slow
def test_election_safety_and_liveness_full_count():
    check_safety_and_liveness(range(DEFAULT_RUNS, DEFAULT_RUNS + FULL_RUNS),
                              workers=2)


def test_safety_property_catches_a_double_vote(monkeypatch):
    def vote_for_anyone(self, msg):
        term = msg.payload["term"]
        if term > self.term:
            self.step_down(term)
        self.send(msg.src, "vote", {"term": self.term, "granted": term == self.term})

    monkeypatch.setattr(RaftNode, "on_request_vote", vote_for_anyone)
    results = raft_lab.safety_report(range(40), workers=1)
    assert any(r.unsafe_terms for r in results)


def test_random_faults_heal_by_the_bound_and_are_seeded():
    nodes = ["n1", "n2", "n3", "n4", "n5"]
    plans = [raft_lab.random_faults(seed, nodes, 2.5) for seed in range(50)]
    for plan in plans:
        assert all(c.heal <= 2.5 for c in plan.cuts)
        assert all(c.recover <= 2.5 for c in plan.crashes)
    again = raft_lab.random_faults(7, nodes, 2.5)
    assert (again.cuts, again.crashes) == (plans[7].cuts, plans[7].crashes)
    assert any(p.cuts for p in plans) and any(p.crashes for p in plans)
