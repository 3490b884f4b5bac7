"""The kernel's contracts: determinism, minimal counterfactuals, faults, bounds."""

import os
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsim import (Client, Crash, Cut, Faults, Node, OneWay, Partition,
                  Simulation, Uniform, scenario)
from dsim.trace import lifeline
from relay import relay_simulation

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Echo(Node):
    """Sends ``count`` pings to ``peer`` at 1 s intervals and answers pings."""

    def __init__(self, node_id, peer=None, count=0):
        super().__init__(node_id)
        self.peer = peer
        self.count = count
        self.sent_pings = 0
        self.got = 0
        self.durable.answered = 0

    def on_start(self):
        if self.count:
            self.set_timer("ping", 1.0)

    def on_timer_ping(self):
        self.sent_pings += 1
        self.send(self.peer, "ping")
        if self.sent_pings < self.count:
            self.set_timer("ping", 1.0)

    def on_ping(self, msg):
        self.got += 1
        self.durable.answered += 1
        self.record(got=self.got, answered=self.durable.answered)
        self.send(msg.src, "pong")

    def on_pong(self, msg):
        self.got += 1


def echo_run(faults=None, count=5, until=20.0):
    sim = Simulation(seed=1, latency=Uniform(0.1, 0.2), faults=faults, until=until)
    sim.add(Echo("a", "b", count), Echo("b"))
    return sim.run()


def kinds(trace, kind, **fields):
    return [e for e in trace if e["kind"] == kind
            and all(e.get(k) == v for k, v in fields.items())]


# ----- determinism -----

def test_run_same_scenario_twice_gives_identical_trace():
    faults = Faults(drop=["n1:2"], drop_rate=0.1, crashes=[Crash("n3", 0.5, 1.2)],
                    cuts=[Partition([["n1"]], 0.3, 0.9)])
    first = relay_simulation(7, faults=faults).run().trace.dumps()
    second = relay_simulation(7, faults=faults).run().trace.dumps()
    assert first == second
    assert '"kind":"drop"' in first and '"kind":"crash"' in first


def test_run_in_two_processes_gives_byte_identical_trace(tmp_path):
    args = ["run", "ping-pong", "--seed", "4", "--drop", "n1:2",
            "--crash", "n2@1-1.6", "--partition", "n1>n2@1.8-2.5"]
    outputs = []
    for hash_seed in ("1", "2"):
        path = tmp_path / f"trace{hash_seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-m", "dsim", *args, "--trace", str(path)],
                       check=True, cwd=ROOT, env=env, capture_output=True)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    in_process = scenario("ping-pong").run(
        seed=4, faults=Faults(drop=["n1:2"], crashes=[Crash("n2", 1, 1.6)],
                              cuts=[OneWay("n1", "n2", 1.8, 2.5)])).trace
    assert in_process.dumps().encode() == outputs[0]


def test_seed_changes_the_run():
    one = relay_simulation(1).run().trace.dumps()
    two = relay_simulation(2).run().trace.dumps()
    assert one != two


# ----- counterfactual minimality -----

def _comparable(event):
    return repr(sorted(event.items()))


def _predecessors(trace):
    preds = [[] for _ in trace]
    for a, targets in enumerate(trace._edges()):
        for b in targets:
            preds[b].append(a)
    return preds


def _tainted(trace, preds, reach):
    """Events at or after the change reached their lifeline, and all they cause."""
    tainted = set()
    for i, event in enumerate(trace):
        owner = lifeline(event)
        if (owner is not None and event["t"] >= reach.get(owner, float("inf"))
                or any(p in tainted for p in preds[i])):
            tainted.add(i)
    return tainted


def _changed_regions(before, after, receiver, arrival):
    """The events each run's change reaches, grown until both runs agree.

    The change starts at the receiver, at the moment the message arrived
    (or would have). From there it spreads along happened-before in both
    runs; wherever it reaches a lifeline in one run, that lifeline counts
    as changed from then on in the other run too.
    """
    runs = [(before, _predecessors(before)), (after, _predecessors(after))]
    reach = {receiver: arrival}
    while True:
        regions = [_tainted(trace, preds, reach) for trace, preds in runs]
        grown = dict(reach)
        for (trace, _), region in zip(runs, regions):
            for i in region:
                owner = lifeline(trace[i])
                if owner is not None:
                    grown[owner] = min(grown.get(owner, float("inf")), trace[i]["t"])
        if grown == reach:
            return regions
        reach = grown


def _unchanged(trace, region, skip=()):
    return Counter(_comparable(e) for i, e in enumerate(trace)
                   if i not in region and i not in skip and e["kind"] != "end")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nodes=st.integers(2, 5),
       hops=st.integers(1, 3),
       latency=st.sampled_from(["uniform", "exponential", "per-link"]),
       crash=st.booleans(), cut=st.booleans(), pick=st.integers(0, 10_000))
def test_dropping_a_message_changes_only_its_causal_future(
        seed, nodes, hops, latency, crash, cut, pick):
    """Events not caused by the drop are the same in both runs.

    The drop changes the receiver from the moment the message would have
    arrived; from there the change follows happened-before in each run.
    It can reach further than the original delivery's causal future,
    because the receiver now acts differently and what it sends goes to
    nodes the delivery never reached, so the changed region is grown in
    both runs together. Every event outside it must be identical, one for
    one, in both runs: keyed randomness leaves nothing else to move.
    """
    faults = Faults(
        crashes=[Crash("n2", 0.7, 1.3)] if crash else [],
        cuts=[Partition([["n1"]], 0.4, 1.1)] if cut else [])
    original = relay_simulation(seed, nodes, hops, latency=latency,
                                faults=faults).run().trace
    delivered = [i for i, e in enumerate(original) if e["kind"] == "deliver"]
    if not delivered:
        return
    index = delivered[pick % len(delivered)]
    message = original[index]
    changed = relay_simulation(
        seed, nodes, hops, latency=latency,
        faults=Faults(drop=[message["id"]], crashes=faults.crashes,
                      cuts=faults.cuts),
    ).run().trace

    region_before, region_after = _changed_regions(
        original, changed, message["dst"], message["t"])
    assert original.causal_future(index) | {index} <= region_before
    drop = changed.index_of("drop", id=message["id"], reason="manual")
    kept_before = _unchanged(original, region_before)
    kept_after = _unchanged(changed, region_after, skip={drop})
    assert kept_before == kept_after
    assert sum(kept_before.values()) > 0


# ----- faults -----

def test_one_way_partition_passes_traffic_one_way_only():
    trace = echo_run(Faults(cuts=[OneWay("a", "b", start=0.0)])).trace
    assert len(kinds(trace, "drop", src="a", reason="partition")) == 5
    assert not kinds(trace, "deliver", src="a")

    trace = echo_run(Faults(cuts=[OneWay("b", "a", start=0.0)])).trace
    assert len(kinds(trace, "deliver", src="a", dst="b")) == 5
    assert len(kinds(trace, "drop", src="b", reason="partition")) == 5


def test_partition_cuts_both_ways_and_heals():
    trace = echo_run(Faults(cuts=[Partition([["a"], ["b"]], 1.5, 3.5)])).trace
    # pings leave at 1, 2, 3, 4, 5 s; those of 2 and 3 s fly into the cut
    lost = [e["id"] for e in kinds(trace, "drop")]
    assert lost == ["a:2", "a:3"]
    assert [e["t"] for e in kinds(trace, "partition")] == [1.5]
    assert [e["t"] for e in kinds(trace, "heal")] == [3.5]
    assert kinds(trace, "partition")[0]["groups"] == [["a"], ["b"]]


def test_message_in_flight_when_partition_starts_is_lost_at_its_start():
    # a:1 leaves at 1.0 s and needs 0.1-0.2 s; the cut begins at 1.05 s
    trace = echo_run(Faults(cuts=[Cut("a", "b", 1.05, 1.06)]), count=1).trace
    (drop,) = kinds(trace, "drop")
    assert drop["id"] == "a:1" and drop["t"] == 1.05 and drop["reason"] == "partition"


def test_crashed_node_receives_nothing_fires_no_timers_and_keeps_durable_state():
    class Ticker(Echo):
        def on_start(self):
            self.record(got=self.got, answered=self.durable.answered)
            self.set_timer("tick", 0.5)

        def on_timer_tick(self):
            self.set_timer("tick", 0.5)

    sim = Simulation(seed=1, latency=Uniform(0.1, 0.2), until=8.0,
                     faults=Faults(crashes=[Crash("b", 2.5, 4.5)]))
    a, b = sim.add(Echo("a", "b", 5), Ticker("b"))
    trace = sim.run().trace
    crash_t, recover_t = 2.5, 4.5
    during = [e for e in trace if crash_t < e["t"] < recover_t]
    assert not [e for e in during if e.get("node") == "b" or e.get("dst") == "b"
                and e["kind"] == "deliver"]
    assert [e["id"] for e in kinds(trace, "drop", reason="crashed")] == ["a:3", "a:4"]
    # volatile state restarts from what __init__ set; the durable count survives
    after = [e for e in kinds(trace, "state", node="b") if e["t"] >= recover_t]
    assert after[0]["fields"] == {"got": 0, "answered": 2}
    assert after[-1]["fields"] == {"got": 1, "answered": 3}
    assert trace.state_at("b", 3.0) == {} and not trace.is_up("b", 3.0)
    assert trace.is_up("b", 5.0)


def test_drop_by_id_rule_and_rate_are_recorded_with_their_reason():
    trace = echo_run(Faults(drop=["a:2"])).trace
    (drop,) = kinds(trace, "drop")
    assert (drop["id"], drop["reason"]) == ("a:2", "manual")
    sent = kinds(trace, "send", id="a:2")[0]["t"]
    assert sent < drop["t"] < sent + 0.2

    trace = echo_run(Faults(drop_if=[lambda m: m.type == "pong"])).trace
    lost = {(e["type"], e["reason"]) for e in kinds(trace, "drop")}
    assert lost == {("pong", "rule")}

    assert {e["reason"] for e in kinds(echo_run(Faults(drop_rate=1.0)).trace,
                                       "drop")} == {"rate"}
    assert not kinds(echo_run(Faults(drop_rate=0.0)).trace, "drop")


def test_client_timeout_leaves_unknown_outcome_in_history():
    run = scenario("register").run(seed=3, faults=Faults(drop_rate=0.3), ops=8)
    history = run.history()
    assert history["model"] == "register"
    ops = history["operations"]
    assert len(ops) == 24
    unknown = [op for op in ops if op["complete"] is None]
    assert unknown and all("result" not in op for op in unknown)
    done = [op for op in ops if op["complete"] is not None]
    assert all(op["invoke"] < op["complete"] for op in done)
    assert all("result" in op for op in done if op["op"] in ("read", "cas"))


# ----- bounds -----

class Storm(Node):
    def on_start(self):
        self.send(self.node_id, "echo")

    def on_echo(self, msg):
        self.send(self.node_id, "echo")
        self.send(self.node_id, "echo")


def test_runaway_protocol_stops_at_max_events_with_a_message():
    sim = Simulation(seed=0, latency=Uniform(0.001, 0.002), max_events=500)
    sim.add(Storm("n1"))
    run = sim.run()
    assert run.end == "max_events"
    assert "its bound of 500 events" in run.message
    assert "max_events=" in run.message
    # every message in flight keeps a place for its arrival; a send takes
    # two places, so the run stops one short of the bound or on it
    in_flight = len(run.trace.in_flight(run.trace.end["t"]))
    assert len(run.trace) - 1 + in_flight in (499, 500)
    sim = Simulation(seed=0, latency=Uniform(0.001, 0.002), max_events=501)
    sim.add(Storm("n1"))
    run = sim.run()
    in_flight = len(run.trace.in_flight(run.trace.end["t"]))
    assert len(run.trace) - 1 + in_flight in (500, 501)
    assert run.trace.end["reason"] == "max_events"


def test_time_bound_ends_run_with_a_message():
    run = echo_run(until=2.5)
    assert run.end == "until"
    assert "until=2.5 s" in run.message and "--until" in run.message
    assert run.trace.end["t"] == 2.5
    assert echo_run().end == "quiet"


# ----- bad input -----

@pytest.mark.parametrize("make, message", [
    (lambda: Uniform(-0.1, 0.2), "low=-0.1 is not allowed"),
    (lambda: Uniform(0.3, 0.2), "high=0.2 is below low=0.3"),
    (lambda: Faults(drop_rate=1.5), "drop rate 1.5 is outside [0, 1]"),
    (lambda: Faults(drop_rate=-0.1), "drop rate -0.1 is outside [0, 1]"),
    (lambda: Partition([["a"]], start=3, heal=2),
     "heals at 2.0 s, not after it starts"),
    (lambda: OneWay("a", "b", start=1, heal=1), "heal must be later than start"),
    (lambda: Crash("a", at=5, recover=4), "heal must be later than start"),
    (lambda: Faults(drop=["n2-7"]), "message id 'n2-7' is not of the form SENDER:N"),
    (lambda: Simulation(until=0), "until=0 must be a number of seconds > 0"),
    (lambda: Simulation(seed="x"), "seed 'x' must be an integer"),
    (lambda: Node("a:b"), "node id 'a:b' must be a non-empty name"),
    (lambda: scenario("raft-nope"), "unknown scenario 'raft-nope'; the scenarios are"),
    (lambda: scenario("ping-pong").run(rounds=0),
     "rounds=0 must be a whole number >= 1"),
    (lambda: scenario("ping-pong").run(speed=2), "has no parameter speed"),
])
def test_bad_input_is_named_where_it_enters(make, message):
    with pytest.raises(ValueError) as info:
        make()
    assert message in str(info.value)


def test_faults_naming_unknown_nodes_are_rejected_before_running():
    with pytest.raises(ValueError, match="unknown node.*n9.*the nodes are n1, n2"):
        scenario("ping-pong").run(faults=Faults(crashes=[Crash("n9", 1.0)]))
    with pytest.raises(ValueError, match="cannot crash c1: it is a client"):
        scenario("register").run(faults=Faults(crashes=[Crash("c1", 0.1)]))


def test_send_to_unknown_node_is_named():
    class Lost(Node):
        def on_start(self):
            self.send("zz", "hello")

    sim = Simulation()
    sim.add(Lost("n1"))
    with pytest.raises(ValueError, match="n1 sent hello to unknown node 'zz'"):
        sim.run()


def test_missing_handler_names_node_and_type():
    class Mute(Node):
        def on_start(self):
            self.send(self.node_id, "hello")

    sim = Simulation()
    sim.add(Mute("n1"))
    with pytest.raises(TypeError, match=r"node n1 \(Mute\) has no handler on_hello"):
        sim.run()


def test_simulation_runs_once():
    sim = Simulation()
    sim.add(Client("c1"))
    sim.run()
    with pytest.raises(RuntimeError, match="runs once"):
        sim.run()


def test_handler_override_can_fall_back_to_typed_dispatch():
    class Counting(Echo):
        def __init__(self, node_id, peer=None, count=0):
            super().__init__(node_id, peer, count)
            self.seen = 0

        def on_message(self, msg):
            self.seen += 1
            super().on_message(msg)

    sim = Simulation(seed=1, latency=Uniform(0.1, 0.2))
    a, b = sim.add(Echo("a", "b", 3), Counting("b"))
    sim.run()
    assert (b.seen, b.got) == (3, 3)
