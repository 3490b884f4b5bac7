"""The notebook's causality helpers and exercise checks, on known runs."""

import pytest

from dsim import Faults, scenario
from dsim.causality import (causal_path, check_concurrent, check_merge,
                            check_stamps, claims, cone, event, events,
                            exercise_inputs, lamport_order, misleading_pairs,
                            relation, version_table)


@pytest.fixture(scope="module")
def chat():
    return scenario("clocks-chat").run(seed=0)


def names(evs):
    return [e.name for e in evs]


def test_relation_names_the_causal_path_of_a_reply(chat):
    rel = relation(chat, "send alice:1", "deliver bob:2")
    assert rel.order == "before" and rel.vector == "before"
    assert names(rel.path) == ["send alice:1", "deliver alice:1", "send bob:1",
                               "send bob:2", "deliver bob:2"]
    assert "Lamport clocks cannot say" in rel.explain()


def test_relation_of_concurrent_posts_has_no_path(chat):
    rel = relation(chat, "send carol:1", "send alice:1")
    assert (rel.order, rel.vector, rel.path) == ("concurrent", "concurrent", ())
    assert "equal clocks" in rel.lamport


def test_relation_reads_after_the_other_way_round(chat):
    rel = relation(chat, "deliver bob:2", "send alice:1")
    assert (rel.order, rel.vector) == ("after", "after")
    assert names(rel.path)[0] == "send alice:1"


def test_event_rejects_an_unknown_name(chat):
    with pytest.raises(ValueError, match=r"no stamped event 'send zoe:1' in this "
                       r"run: name one as 'send ID' or 'deliver ID'"):
        event(chat, "send zoe:1")


def test_events_refuses_an_unstamped_run():
    run = scenario("ping-pong").run(rounds=1)
    with pytest.raises(ValueError, match=r"has no clock stamps: run the scenario "
                       r"with stamper=Stamper\(\)"):
        events(run)


def test_cone_splits_every_other_event_into_past_future_or_concurrent(chat):
    c = cone(chat, "send bob:2")
    assert names(c.past) == ["send alice:1", "deliver alice:1", "send bob:1"]
    assert names(c.future) == ["deliver carol:2", "deliver alice:3",
                               "deliver bob:2", "deliver alice:2",
                               "deliver alice:4"]
    assert len(c.past) + len(c.future) + len(c.concurrent) + 1 == len(events(chat))


def test_dropping_a_message_makes_events_concurrent():
    before = scenario("clocks-cart").run(seed=0)
    after = scenario("clocks-cart").run(seed=0, faults=Faults(drop=["r2:2"]))
    assert relation(before, "send r2:1", "send r3:1").order == "before"
    assert relation(after, "send r2:1", "send r3:1").order == "concurrent"


def test_lamport_order_ranks_by_clock_then_node(chat):
    order = lamport_order(chat)
    keys = [r.event.key for r in order]
    assert keys == sorted(keys)
    assert [r.event.name for r in order[:4]] == ["send alice:1", "send carol:1",
                                                 "send alice:2", "deliver alice:1"]
    assert sorted(r.real_rank for r in order) == list(range(1, len(order) + 1))
    assert order.inversions


def test_misleading_pairs_are_concurrent_with_different_lamport_clocks(chat):
    pairs = misleading_pairs(chat)
    assert pairs
    for a, b in pairs:
        assert a.lamport < b.lamport
        assert causal_path(chat, a, b) is None and causal_path(chat, b, a) is None


def test_claims_show_the_name_taken_back():
    run = scenario("clocks-usernames").run(seed=0)
    [s1, s3] = claims(run)
    assert (s1.server, s1.claim, s1.outcome) == ("s1", "(1, s1)", "granted")
    assert (s3.server, s3.outcome, s3.granted) == ("s3", "revoked", 0.11)
    assert s3.decided > s3.granted


def test_version_table_finds_the_concurrent_writes():
    run = scenario("clocks-cart").run(seed=0)
    table = [(a.writer, b.writer, rel) for a, b, rel in version_table(run)]
    assert table == [("r1", "r2", "concurrent"), ("r1", "r3", "before"),
                     ("r2", "r3", "before")]


def test_check_concurrent_says_not_answered_then_right_or_why_wrong(chat):
    assert check_concurrent(chat, "send bob:2", None).ok is None
    right = names(cone(chat, "send bob:2").concurrent)
    assert check_concurrent(chat, "send bob:2", right).ok is True
    wrong = check_concurrent(chat, "send bob:2", ["deliver alice:1"])
    assert wrong.ok is False
    assert ("deliver alice:1 is not concurrent: deliver alice:1 -> send bob:1 "
            "-> send bob:2") in wrong.message


def test_check_stamps_explains_the_rule_it_missed(chat):
    inputs = exercise_inputs(chat, "deliver bob:2")
    assert inputs["previous"] == {"lamport": 2, "vclock": {"alice": 0, "bob": 0,
                                                           "carol": 2}}
    assert inputs["carried"] == {"lamport": 4, "vclock": {"alice": 1, "bob": 3,
                                                          "carol": 0}}
    assert check_stamps(chat, "deliver bob:2").ok is None
    right = check_stamps(chat, "deliver bob:2", 5, {"alice": 1, "bob": 3,
                                                    "carol": 3})
    assert right.ok is True
    wrong = check_stamps(chat, "deliver bob:2", 3, {"alice": 1, "bob": 3})
    assert wrong.ok is False
    assert "the Lamport clock is 5, not 3" in wrong.message
    assert "the vector clock is {alice:1, bob:3, carol:3}" in wrong.message


def test_check_merge_accepts_the_rule_and_names_a_counterexample(chat):
    def merge(local, carried, node):
        out = {k: max(local.get(k, 0), carried.get(k, 0))
               for k in local.keys() | carried.keys()}
        out[node] = out.get(node, 0) + 1
        return out

    assert check_merge(None).ok is None
    assert check_merge(merge, [chat]).ok is True
    forgot_tick = check_merge(lambda local, carried, node: {**local, **carried})
    assert forgot_tick.ok is False
    assert "it should be {'a': 3, 'b': 3}" in forgot_tick.message
    broken = check_merge(lambda local, carried, node: local["zzz"])
    assert "raised KeyError" in broken.message
