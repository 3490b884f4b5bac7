"""Lamport clocks, vector clocks and the stamper, against the trace."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsim import Crash, Faults, Simulation, scenario
from dsim.causality import events, misleading_pairs
from dsim.clocks import LamportClock, Stamper, VectorClock, compare, format_vclock

# ----- the clocks on their own -----


def test_lamport_clock_receive_jumps_past_the_carried_value():
    clock = LamportClock("a")
    assert clock.tick() == 1
    assert clock.receive(5) == 6
    assert clock.receive(2) == 7
    assert clock.key == (7, "a")


def test_lamport_clock_rejects_a_negative_carried_value():
    with pytest.raises(ValueError, match=r"'carried': -1 must be a whole number >= 0"):
        LamportClock("a").receive(-1)


def test_vector_clock_compare_gives_the_four_relations():
    a = VectorClock({"a": 1})
    b = a.tick("b")
    assert a.compare(b) == "before"
    assert b.compare(a) == "after"
    assert a.compare({"a": 1, "b": 0}) == "equal"
    assert a.tick("a").compare(b) == "concurrent"


def test_vector_clock_merge_takes_the_entrywise_maximum():
    merged = VectorClock({"a": 3, "b": 1}).merge({"b": 4, "c": 2})
    assert merged.as_dict() == {"a": 3, "b": 4, "c": 2}
    assert merged.as_dict(["a", "b", "c", "d"]) == {"a": 3, "b": 4, "c": 2, "d": 0}


def test_vector_clock_rejects_a_bad_entry():
    with pytest.raises(ValueError, match=r"entry 'b': 1.5 must be a whole number"):
        VectorClock({"a": 1, "b": 1.5})
    with pytest.raises(ValueError, match=r"node id '' must be a non-empty name"):
        VectorClock({"": 1})


def test_format_vclock_lists_entries_in_node_order():
    assert format_vclock({"b": 2, "a": 1}, ["a", "b", "c"]) == "[1,2,0]"
    assert format_vclock({"b": 2, "a": 1}) == "{a:1, b:2}"


@given(st.dictionaries(st.sampled_from("abc"), st.integers(0, 4)),
       st.dictionaries(st.sampled_from("abc"), st.integers(0, 4)))
def test_compare_is_antisymmetric_and_merge_is_an_upper_bound(x, y):
    flip = {"before": "after", "after": "before", "equal": "equal",
            "concurrent": "concurrent"}
    assert compare(y, x) == flip[compare(x, y)]
    top = VectorClock(x).merge(y)
    assert compare(x, top) in ("before", "equal")
    assert compare(y, top) in ("before", "equal")


# ----- the stamper in a run -----


def test_stamper_stamps_the_worked_timeline_of_the_module():
    stamper = Stamper()
    assert stamper.on_send("a") == {"lamport": 1, "vclock": {"a": 1}}
    assert stamper.on_send("b") == {"lamport": 1, "vclock": {"b": 1}}
    carried_a = {"lamport": 1, "vclock": {"a": 1}}
    carried_b = {"lamport": 1, "vclock": {"b": 1}}
    assert stamper.on_deliver("c", carried_a) == {"lamport": 2,
                                                  "vclock": {"a": 1, "c": 1}}
    assert stamper.on_deliver("c", carried_b) == {
        "lamport": 3, "vclock": {"a": 1, "b": 1, "c": 2}}


def test_stamper_attaches_to_any_scenario():
    run = scenario("ping-pong").run(seed=1, rounds=2, stamper=Stamper())
    stamped = [(e["kind"], e["id"], e["lamport"], e["vclock"])
               for e in run.trace.of_kind("send", "deliver")]
    assert stamped == [
        ("send", "n1:1", 1, {"n1": 1}),
        ("deliver", "n1:1", 2, {"n1": 1, "n2": 1}),
        ("send", "n2:1", 3, {"n1": 1, "n2": 2}),
        ("deliver", "n2:1", 4, {"n1": 2, "n2": 2}),
        ("send", "n1:2", 5, {"n1": 3, "n2": 2}),
        ("deliver", "n1:2", 6, {"n1": 3, "n2": 3}),
        ("send", "n2:2", 7, {"n1": 3, "n2": 4}),
        ("deliver", "n2:2", 8, {"n1": 4, "n2": 4}),
    ]


def test_stamper_run_is_deterministic():
    first = scenario("clocks-chat").run(seed=4)
    again = scenario("clocks-chat").run(seed=4)
    assert first.trace.dumps() == again.trace.dumps()


# ----- properties over random runs with random drops -----

SCENARIOS = ("clocks-chat", "clocks-cart", "clocks-usernames", "ping-pong",
             "register")


NODES = {"clocks-chat": ("alice", "bob", "carol"), "clocks-cart": ("r1", "r2", "r3"),
         "clocks-usernames": ("s1", "s2", "s3"), "ping-pong": ("n1", "n2"),
         "register": ("n1",)}


@st.composite
def runs(draw):
    """A stamped run of a random scenario, seed, drop rate, drops and crash."""
    name = draw(st.sampled_from(SCENARIOS))
    nodes = NODES[name]
    drop = draw(st.lists(st.builds(lambda n, k: f"{n}:{k}", st.sampled_from(nodes),
                                   st.integers(1, 4)), max_size=2, unique=True))
    crashes = ()
    if draw(st.booleans()):
        at = draw(st.floats(0.05, 0.5))
        crashes = (Crash(draw(st.sampled_from(nodes)), at, at + 0.2),)
    faults = Faults(drop=drop, drop_rate=draw(st.sampled_from([0.0, 0.1, 0.3])),
                    crashes=crashes)
    return scenario(name).run(seed=draw(st.integers(0, 10_000)), faults=faults,
                              stamper=Stamper())


def check_clocks_match_causality(run):
    trace = run.trace
    stamped = events(run)
    assert stamped, "the run has no stamped events"
    future = {e.index: trace.causal_future(e.index) for e in stamped}
    for a in stamped:
        for b in stamped:
            if a.index == b.index:
                continue
            before = b.index in future[a.index]
            assert (compare(a.vclock, b.vclock) == "before") == before, (a, b)
            if before:
                assert a.lamport < b.lamport, (a, b)
                assert a.key < b.key


@settings(max_examples=40, deadline=None)
@given(runs())
def test_vector_clock_says_before_exactly_when_the_trace_has_a_causal_path(run):
    check_clocks_match_causality(run)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(runs())
def test_vector_clock_matches_causality_on_many_runs(run):
    check_clocks_match_causality(run)


def test_a_run_exists_where_lamport_orders_two_concurrent_events():
    found = None
    for seed in range(20):
        run = scenario("clocks-cart").run(seed=seed, faults=Faults(drop_rate=0.2))
        pairs = misleading_pairs(run)
        if pairs:
            found = (run, pairs[0])
            break
    assert found is not None
    run, (a, b) = found
    assert a.lamport < b.lamport
    assert b.index not in run.trace.causal_future(a.index)
    assert a.index not in run.trace.causal_future(b.index)


def test_stamps_survive_a_crash_like_durable_state():
    sim = Simulation(seed=2, stamper=Stamper(), faults=Faults(
        crashes=[Crash("r2", 0.15, 0.3)]))
    from dsim.protocols.chat import build_cart
    build_cart(sim)
    run = sim.run()
    mine = [e for e in events(run) if e.node == "r2"]
    assert [e.vclock["r2"] for e in mine] == list(range(1, len(mine) + 1))


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["clocks-chat", "clocks-cart", "clocks-usernames"]),
       st.integers(0, 10_000), st.integers(0, 5))
def test_dropping_a_message_changes_only_the_stamps_after_it(name, seed, pick):
    whole = scenario(name).run(seed=seed)
    sends = whole.trace.of_kind("send")
    dropped = sends[pick % len(sends)]["id"]
    broken = scenario(name).run(seed=seed, faults=Faults(drop=[dropped]))
    send_index = whole.trace.index_of("send", id=dropped)
    deliver = [i for i, e in enumerate(whole.trace)
               if e["kind"] == "deliver" and e["id"] == dropped]
    after = whole.trace.causal_future(deliver[0]) | set(deliver) if deliver else set()
    kept = {e.name: (e.lamport, e.vclock) for e in events(broken)}
    for e in events(whole):
        if e.index not in after:
            assert kept[e.name] == (e.lamport, e.vclock), e.name
    assert send_index not in after
