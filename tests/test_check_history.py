"""Histories in and out: validation, JSON files, edn, the command line."""

import io
import json

import pytest

from dsim import Faults, scenario
from dsim.check import (HistoryError, check, load_history, loads_history,
                        save_history, to_edn)
from dsim.check.cli import check_files
from dsim.cli import main

GOOD = {"model": "register", "initial": None, "operations": [
    {"client": "c1", "op": "write", "value": 3, "invoke": 0.0, "complete": 1.5},
    {"client": "c2", "op": "read", "invoke": 0.5, "complete": 2.0, "result": 3},
    {"client": "c3", "op": "cas", "value": [3, 4], "invoke": 2.1, "complete": None}]}


def broken(index, **changes):
    """GOOD with operation ``index`` changed (a value of ... removes a field)."""
    history = json.loads(json.dumps(GOOD))
    op = history["operations"][index]
    for name, value in changes.items():
        if value is ...:
            del op[name]
        else:
            op[name] = value
    return history


@pytest.mark.parametrize("history, message", [
    (broken(1, complete=0.2),
     "operation 1 (client c2): field 'complete' = 0.2 is before its invoke at 0.5"),
    (broken(0, invoke=...),
     "operation 0 (client c1): the write has no field 'invoke'"),
    (broken(2, complete=...),
     "operation 2 (client c3): the cas has no field 'complete' (null when the "
     "outcome is unknown)"),
    (broken(0, op="increment"),
     "operation 0 (client c1): field 'op' is 'increment', which a register "
     "history does not have; its operations are read, write, cas"),
    (broken(0, value=...), "operation 0 (client c1): the write has no field 'value'"),
    (broken(2, value=[3]),
     "operation 2 (client c3): field 'value' = [3] must be [expected, new] for a cas"),
    (broken(1, invoke=-1),
     "operation 1 (client c2): field 'invoke' = -1 must be a time in seconds >= 0"),
    (broken(1, client=None),
     "operation 1: field 'client' must name the client, got None"),
    (broken(2, complete=3.0),
     "operation 2 (client c3): field 'result' = None must be true or false for a "
     "completed cas"),
    ({"model": "queue", "operations": []},
     "model 'queue' is not known; the models are 'register', 'kv'"),
    ({"model": "kv", "operations": [
        {"client": "c1", "op": "get", "invoke": 0, "complete": 1, "result": ""}]},
     "operation 0 (client c1): the get has no field 'key'"),
    ({"model": "kv", "operations": [{"client": "c1", "op": "append", "key": "k",
                                     "value": 3, "invoke": 0, "complete": 1}]},
     "operation 0 (client c1): field 'value' = 3 must be a string (a kv append "
     "stores strings)"),
    ({"model": "kv", "operations": [{"client": "c1", "op": "get", "key": "k",
                                     "invoke": 0, "complete": 1}]},
     "operation 0 (client c1): field 'result' = None must be the string a "
     "completed get returned"),
])
def test_history_errors_name_the_operation_and_field(history, message):
    with pytest.raises(HistoryError) as caught:
        check(history)
    assert str(caught.value) == message


def test_history_error_is_a_value_error():
    assert issubclass(HistoryError, ValueError)


def test_history_read_without_result_returned_null():
    history = {"model": "register", "initial": None, "operations": [
        {"client": "c1", "op": "read", "invoke": 0, "complete": 1}]}
    assert check(history).ok is True


def test_history_malformed_json_names_the_line(tmp_path):
    path = tmp_path / "h.json"
    path.write_text('{"model": "register",\n "operations": [}\n')
    with pytest.raises(HistoryError) as caught:
        load_history(path)
    assert str(caught.value) == (f"{path}: not valid JSON at line 2 column 17 "
                                 "(Expecting value)")


def test_history_save_and_load_round_trip(tmp_path):
    run = scenario("kv-store").run(seed=5, faults=Faults(drop_rate=0.2))
    path = tmp_path / "kv.json"
    save_history(run, path)
    loaded = load_history(path)
    assert loaded == run.history(model="kv")
    assert any(op["complete"] is None for op in loaded["operations"])
    assert check(path).result == check(run).result == "linearizable"


def test_history_save_refuses_a_malformed_history(tmp_path):
    with pytest.raises(HistoryError, match="field 'complete' = 0.2 is before"):
        save_history(broken(1, complete=0.2), tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_history_loads_checks_text():
    assert loads_history(json.dumps(GOOD)) == GOOD
    with pytest.raises(HistoryError, match="^<history>: a history must be a JSON"):
        loads_history("[1, 2]")


# ----- edn -----

def test_to_edn_register_events_in_time_order():
    history = json.loads(json.dumps(GOOD))
    history["operations"].append({"client": "c3", "op": "cas", "value": [3, 5],
                                  "invoke": 3, "complete": 4, "result": False})
    assert to_edn(history) == (
        "[{:process 0, :type :invoke, :f :write, :value 3, :time 0, :index 0}\n"
        " {:process 1, :type :invoke, :f :read, :value nil, :time 500000000, "
        ":index 1}\n"
        " {:process 0, :type :ok, :f :write, :value 3, :time 1500000000, :index 2}\n"
        " {:process 1, :type :ok, :f :read, :value 3, :time 2000000000, :index 3}\n"
        " {:process 2, :type :invoke, :f :cas, :value [3 4], :time 2100000000, "
        ":index 4}\n"
        " {:process 3, :type :invoke, :f :cas, :value [3 5], :time 3000000000, "
        ":index 5}\n"
        " {:process 3, :type :fail, :f :cas, :value [3 5], :time 4000000000, "
        ":index 6}\n"
        " {:process 2, :type :info, :f :cas, :value [3 4], :time 4000000000, "
        ":index 7}]\n")


def test_to_edn_kv_uses_independent_key_tuples():
    history = {"model": "kv", "initial": None, "operations": [
        {"client": "a", "op": "put", "key": "k1", "value": "x\"y", "invoke": 0,
         "complete": 1},
        {"client": "a", "op": "get", "key": "k1", "invoke": 2, "complete": 3,
         "result": "x\"y"},
        {"client": "b", "op": "append", "key": "k2", "value": "z", "invoke": 2,
         "complete": None}]}
    lines = to_edn(history).splitlines()
    assert lines[0] == ('[{:process 0, :type :invoke, :f :write, '
                        ':value ["k1" "x\\"y"], :time 0, :index 0}')
    assert ':f :read, :value ["k1" nil]' in lines[2]
    assert lines[4] == (' {:process 0, :type :ok, :f :read, :value ["k1" "x\\"y"], '
                        ':time 3000000000, :index 4}')
    assert lines[5] == (' {:process 1, :type :info, :f :append, :value ["k2" "z"], '
                        ':time 3000000000, :index 5}]')


# ----- the command line -----

def write(tmp_path, name, history):
    path = tmp_path / name
    path.write_text(json.dumps(history) if isinstance(history, dict) else history)
    return str(path)


def test_cli_exit_status_is_2_for_a_malformed_file_and_names_it(tmp_path, capsys):
    good = write(tmp_path, "good.json", GOOD)
    bad = write(tmp_path, "bad.json", broken(0, op="increment"))
    assert main(["check", good, bad]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{good}: linearizable"
    assert lines[1].startswith(f"{bad}: malformed history: operation 0 (client c1): "
                               "field 'op' is 'increment'")


def test_cli_exit_status_is_2_for_broken_json(tmp_path):
    bad = write(tmp_path, "bad.json", '{"model": ')
    out = io.StringIO()
    assert check_files([bad], out) == 2
    assert out.getvalue().startswith(f"{bad}: malformed history: not valid JSON")


def test_cli_exit_status_is_2_for_a_missing_file(tmp_path):
    out = io.StringIO()
    missing = str(tmp_path / "none.json")
    assert check_files([missing], out) == 2
    assert out.getvalue() == (f"{missing}: malformed history: cannot read it "
                              "(No such file or directory)\n")


def test_cli_exit_status_is_1_when_any_is_not_linearizable(tmp_path, capsys):
    good = write(tmp_path, "good.json", GOOD)
    stale = write(tmp_path, "stale.json", broken(1, result=7))
    assert main(["check", good, stale]) == 1
    out = capsys.readouterr().out
    assert f"{stale}: not linearizable\n  The longest valid order" in out
    assert "  - #1 c2 read -> 7" in out


def test_cli_budget_option_reaches_the_search(tmp_path, capsys):
    run = scenario("register").run(seed=1, faults=Faults(drop_rate=0.05),
                                   clients=5, ops=100)
    path = write(tmp_path, "big.json", run.history())
    assert main(["check", "--budget", "1e-9", path]) == 3
    assert capsys.readouterr().out.startswith(f"{path}: unknown")
    assert main(["check", "--budget", "60", path]) == 0
