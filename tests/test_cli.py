"""The command line: list, run with faults and outputs, clear errors."""

import io
import json

import pytest

from dsim import Trace
from dsim.cli import main, parse_crash, parse_partition
from dsim.network import Crash, Cut, OneWay, Partition


def run_cli(*args):
    out = io.StringIO()
    code = main(list(args), out=out)
    return code, out.getvalue()


def test_list_names_every_scenario_with_its_summary():
    code, out = run_cli("list")
    assert code == 0
    assert "ping-pong" in out and "n1 pings n2" in out
    assert "register" in out and "kv-store" in out


def test_run_writes_trace_and_history(tmp_path):
    trace_path, history_path = tmp_path / "t.jsonl", tmp_path / "h.json"
    code, out = run_cli("run", "register", "--seed", "2", "--drop-rate", "0.2",
                        "--trace", str(trace_path), "--history", str(history_path))
    assert code == 0
    assert out.startswith("register seed 2: ")
    trace = Trace.load(trace_path)
    history = json.loads(history_path.read_text())
    assert history["model"] == "register"
    assert len(history["operations"]) == len(trace.of_kind("invoke"))


def test_run_applies_each_kind_of_fault(tmp_path):
    path = tmp_path / "t.jsonl"
    code, _ = run_cli("run", "ping-pong", "--drop", "n1:1", "--crash", "n2@1-1.6",
                      "--partition", "n1>n2@1.8-2.5", "--until", "3",
                      "--trace", str(path))
    assert code == 0
    trace = Trace.load(path)
    reasons = {(e["id"], e["reason"]) for e in trace.of_kind("drop")}
    assert ("n1:1", "manual") in reasons
    assert {"crash", "recover", "partition", "heal"} <= {e["kind"] for e in trace}


def test_run_param_overrides_scenario_defaults():
    code, out = run_cli("run", "ping-pong", "--param", "rounds=2")
    assert code == 0 and "send 4" in out


@pytest.mark.parametrize("text, expected", [
    ("n1,n2|n3@1-4", Partition([["n1", "n2"], ["n3"]], 1.0, 4.0)),
    ("n1>n2@2", OneWay("n1", "n2", 2.0)),
    ("n1/n2", Cut("n1", "n2")),
])
def test_partition_specs_parse(text, expected):
    assert parse_partition(text) == expected


def test_crash_spec_parses():
    assert parse_crash("n2@1-1.5") == Crash("n2", 1.0, 1.5)


@pytest.mark.parametrize("args, message", [
    (["run", "nope"], "unknown scenario 'nope'; the scenarios are"),
    (["run", "ping-pong", "--drop-rate", "2"], "drop rate 2.0 is outside [0, 1]"),
    (["run", "ping-pong", "--crash", "n9@1"], "unknown node(s) n9"),
    (["run", "ping-pong", "--crash", "n1"], "crash 'n1' needs a time"),
    (["run", "ping-pong", "--partition", "n1+n2"],
     "partition 'n1+n2' is not understood"),
    (["run", "ping-pong", "--partition", "n1>n2@3-1"], "heal must be later than start"),
    (["run", "ping-pong", "--param", "speed=3"], "has no parameter speed"),
])
def test_bad_arguments_exit_2_with_a_message(capsys, args, message):
    code, _ = run_cli(*args)
    assert code == 2
    assert message in capsys.readouterr().err
