"""The trace: saved and loaded without loss, and the questions it answers."""

import json

import pytest

from dsim import Crash, Faults, Partition, Trace, scenario
from relay import relay_simulation


def ping_pong(**faults):
    return scenario("ping-pong").run(seed=3, faults=Faults(**faults)).trace


def test_trace_round_trips_through_json_lines(tmp_path):
    trace = relay_simulation(5, faults=Faults(
        drop=["n2:3"], drop_rate=0.1, crashes=[Crash("n3", 0.5, 1.0)],
        cuts=[Partition([["n1"], ["n2"]], 0.2, 0.8)])).run().trace
    path = tmp_path / "run.jsonl"
    trace.save(path)
    loaded = Trace.load(path)
    assert loaded == trace
    assert loaded.dumps() == path.read_text()
    assert {e["kind"] for e in loaded} >= {
        "start", "send", "deliver", "drop", "timer", "crash", "recover",
        "partition", "heal", "state", "invoke", "complete", "end"}


def test_trace_event_fields_follow_the_design():
    trace = ping_pong(drop=["n1:2"])
    send = trace[trace.index_of("send", id="n1:1")]
    assert send == {"t": 0.0, "kind": "send", "id": "n1:1", "src": "n1",
                    "dst": "n2", "type": "ping", "payload": {"n": 1}}
    drop = trace[trace.index_of("drop", id="n1:2")]
    assert set(drop) >= {"t", "kind", "id", "src", "dst", "reason"}
    deliver = trace[trace.index_of("deliver", id="n1:1")]
    assert set(deliver) >= {"t", "kind", "id", "src", "dst"}
    assert trace[0]["kind"] == "start" and trace.nodes == ["n1", "n2"]


def test_payload_tuples_come_back_as_lists_before_and_after_saving():
    run = scenario("register").run(seed=1, ops=10)
    cas = [e for e in run.trace if e["kind"] == "send" and e["type"] == "cas"]
    assert cas and all(isinstance(e["payload"]["value"], list) for e in cas)
    assert Trace.loads(run.trace.dumps()) == run.trace


def test_in_flight_lists_messages_sent_but_not_yet_arrived():
    trace = ping_pong()
    ping = trace.messages["n1:2"]
    middle = (ping.sent + ping.arrived) / 2
    assert [m.id for m in trace.in_flight(middle)] == ["n1:2"]
    assert "n1:2" not in [m.id for m in trace.in_flight(ping.arrived)]
    assert [m.id for m in trace.in_flight(ping.sent)] == ["n1:2"]


def test_dropped_message_leaves_flight_when_lost():
    trace = ping_pong(drop=["n1:2"])
    lost = trace.messages["n1:2"]
    assert lost.reason == "manual" and lost.arrived is None
    assert [m.id for m in trace.in_flight(lost.dropped - 1e-9)] == ["n1:2"]
    assert trace.in_flight(lost.dropped) == []


def test_state_at_gives_recorded_fields_at_that_moment():
    trace = ping_pong(crashes=[Crash("n2", 1.2, 1.9)])
    assert trace.state_at("n1", 0.0) == {"pinged": 1, "ponged": 0}
    assert trace.state_at("n2", 1.1) == {"answered": 3, "since_restart": 3}
    assert trace.state_at("n2", 1.5) == {}
    assert trace.state_at("n2", 1.9) == {"answered": 3, "since_restart": 0}
    with pytest.raises(ValueError, match="unknown node 'n7': this trace has n1, n2"):
        trace.state_at("n7", 1.0)


def test_causal_past_and_future_follow_lifelines_and_messages():
    trace = ping_pong()
    ping_send = trace.index_of("send", id="n1:1")
    ping_arrival = trace.index_of("deliver", id="n1:1")
    pong_send = trace.index_of("send", id="n2:1")
    pong_arrival = trace.index_of("deliver", id="n2:1")
    second_ping = trace.index_of("send", id="n1:2")
    assert {ping_arrival, pong_send, pong_arrival} <= trace.causal_future(ping_send)
    assert trace.happened_before(ping_send, pong_arrival)
    assert ping_send in trace.causal_past(pong_arrival)
    # the two nodes' first records are concurrent: no message links them
    n1_start = trace.index_of("state", node="n1")
    n2_start = trace.index_of("state", node="n2")
    assert not trace.happened_before(n1_start, n2_start)
    assert not trace.happened_before(n2_start, n1_start)
    # the first pong reached n1 before it sent its second ping
    assert pong_arrival in trace.causal_past(second_ping)
    assert second_ping not in trace.causal_past(pong_arrival)


@pytest.mark.parametrize("line, message", [
    ("{not json", "run.jsonl line 2: not a JSON object"),
    ("[1, 2]", "run.jsonl line 2: an event must be a JSON object"),
    ('{"kind": "send"}', "run.jsonl line 2: the event has no 't' field"),
    ('{"t": -1, "kind": "crash", "node": "n1"}', "t=-1 must be a time in seconds"),
    ('{"t": 1, "kind": "explode"}', "unknown kind 'explode'; the kinds are"),
    ('{"t": 1, "kind": "send", "id": "n1:1"}', "a send event needs the field 'src'"),
])
def test_malformed_trace_file_names_line_and_problem(tmp_path, line, message):
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps({"t": 0.0, "kind": "crash", "node": "n1"})
                    + "\n" + line + "\n")
    with pytest.raises(ValueError) as info:
        Trace.load(path)
    assert message in str(info.value)


def test_history_keeps_a_read_of_the_initial_null():
    run = scenario("register").run(seed=4, ops=6)
    reads = [op for op in run.history()["operations"]
             if op["op"] == "read" and op["complete"] is not None]
    assert reads and all("result" in op for op in reads)
    assert any(op["result"] is None for op in reads)
    writes = [op for op in run.history()["operations"] if op["op"] == "write"]
    assert all("result" not in op for op in writes)
