"""The clocks scenarios: chat, lost message, cart siblings, usernames."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsim import Crash, Faults, scenario


def statuses(run, node):
    return [e["fields"]["status"] for e in run.trace.of_kind("state")
            if e["node"] == node]


def claim_key(text):
    lamport, server = text.strip("()").split(", ")
    return (int(lamport), server)


def final(run, node):
    return run.trace.state_at(node, run.trace.duration)


def test_chat_carol_reads_the_answer_before_the_question():
    run = scenario("clocks-chat").run(seed=0)
    shown = [(e["t"], e["fields"]["last"], e["fields"]["status"])
             for e in run.trace.of_kind("state") if e["node"] == "carol"][1:]
    assert [(last, status) for _, last, status in shown] == [
        ("carol#1", "reading"), ("bob#1", "confused"), ("alice#1", "reading"),
        ("alice#2", "reading")]


def test_chat_with_causal_delivery_holds_the_answer_back():
    run = scenario("clocks-chat").run(seed=0, causal=True)
    shown = [e["fields"]["last"] for e in run.trace.of_kind("state")
             if e["node"] == "carol"]
    assert list(dict.fromkeys(shown)) == ["-", "carol#1", "alice#1", "bob#1",
                                          "alice#2"]
    assert "confused" not in statuses(run, "carol")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.2, 0.4]))
def test_chat_with_causal_delivery_never_confuses_anyone(seed, rate):
    run = scenario("clocks-chat").run(seed=seed, causal=True,
                                      faults=Faults(drop_rate=rate))
    for node in ("alice", "bob", "carol"):
        assert "confused" not in statuses(run, node)


def test_lost_question_leaves_the_answer_waiting_at_carol():
    run = scenario("clocks-lost").run(seed=0)
    drop = run.trace.of_kind("drop")
    assert [(e["id"], e["reason"]) for e in drop] == [("alice:2", "rule")]
    assert final(run, "carol")["status"] == "waiting"
    assert "bob#1" not in [e["fields"]["last"] for e in run.trace.of_kind("state")
                           if e["node"] == "carol"]


def test_chat_rejects_a_causal_flag_that_is_not_a_bool():
    with pytest.raises(ValueError, match=r"causal='yes' must be True or False"):
        scenario("clocks-chat").run(causal="yes")


def test_cart_merges_concurrent_writes_into_one_value():
    run = scenario("clocks-cart").run(seed=0)
    for node in ("r1", "r2", "r3"):
        assert final(run, node) == {"status": "one value",
                                    "value": "bread,eggs,milk"}
    assert "siblings" in statuses(run, "r2")


def test_cart_keeps_siblings_when_a_write_misses_a_replica():
    run = scenario("clocks-cart").run(seed=0, faults=Faults(drop=["r2:2"]))
    assert final(run, "r3")["value"] == "eggs,milk"
    assert final(run, "r1") == {"status": "siblings",
                                "value": "bread | eggs,milk"}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.sampled_from(
    ["r1:1", "r1:2", "r2:1", "r2:2", "r3:1", "r3:2"]), max_size=3, unique=True))
def test_cart_siblings_are_always_pairwise_concurrent(seed, drop):
    from dsim.clocks import compare
    sim = scenario("clocks-cart").simulation(seed=seed, faults=Faults(drop=drop))
    sim.run()
    for node in sim.nodes.values():
        siblings = node.durable.siblings
        for i, a in enumerate(siblings):
            for b in siblings[i + 1:]:
                assert compare(a["vv"], b["vv"]) == "concurrent"


def test_usernames_on_the_spot_grants_then_revokes():
    run = scenario("clocks-usernames").run(seed=0)
    assert statuses(run, "s3") == ["idle", "granted", "revoked"]
    assert final(run, "s1")["status"] == "granted"
    assert final(run, "s2")["owner"] == "s1"


def test_usernames_waiting_for_everyone_never_takes_a_name_back():
    run = scenario("clocks-usernames").run(seed=0, wait=True)
    assert statuses(run, "s1") == ["idle", "pending", "granted"]
    assert statuses(run, "s3") == ["idle", "pending", "refused"]


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_usernames_waiting_grants_exactly_the_smallest_claim(seed):
    run = scenario("clocks-usernames").run(seed=seed, wait=True)
    granted = [n for n in ("s1", "s3") if "granted" in statuses(run, n)]
    claims = {n: final(run, n)["claim"] for n in ("s1", "s3")}
    smallest = min(claims, key=lambda n: claim_key(claims[n]))
    assert granted == [smallest]


def test_usernames_waiting_blocks_while_a_server_is_down():
    run = scenario("clocks-usernames").run(
        seed=0, wait=True, faults=Faults(crashes=[Crash("s2", 0.05)]))
    assert final(run, "s1")["status"] == "pending"
    assert final(run, "s3")["status"] == "pending"
