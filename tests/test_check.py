"""The checker's verdicts: known cases, real runs, budgets and pictures."""

import io
import json
from pathlib import Path

import pytest

from dsim import Faults, scenario
from dsim.check import Verdict, check, draw_verdict, highlight_events
from dsim.check.cli import check_files

DATA = Path(__file__).parent / "data" / "histories"
FILES = sorted(DATA.glob("*.json"))


def history(model, *ops, initial=None):
    return {"model": model, "initial": initial, "operations": list(ops)}


def op(client, name, invoke, complete, **fields):
    return {"client": client, "op": name, "invoke": invoke, "complete": complete,
            **fields}


# ----- the classic cases -----

def test_check_stale_read_after_completed_write_is_refuted():
    v = check(history("register", op("c1", "write", 0, 1, value=1),
                      op("c2", "read", 2, 3, result=0), initial=0))
    assert v.result == "not linearizable" and v.ok is False
    assert v.order == [0] and v.stuck == [1]
    assert ("#1 c2 read -> 0 (2 s to 3 s) returned 0, but the register held 1 "
            "by then: #0 c1 write 1 had already completed at 1 s, before #1 "
            "began at 2 s.") in v.reasons[1]


def test_check_read_of_null_after_a_write_explains_the_starting_value():
    v = check(history("register", op("c1", "write", 0, 1, value=1),
                      op("c2", "read", 2, 3)))
    assert v.stuck == [1]
    assert v.reasons[1].endswith("returned null, but the register held 1 by then: "
                                 "#0 c1 write 1 had already completed at 1 s, "
                                 "before #1 began at 2 s. null was the starting "
                                 "value, and no write brings it back after #0 "
                                 "replaced it.")


def test_check_new_then_old_during_a_write_names_the_earlier_read():
    v = check(DATA / "bad_new_then_old.json")
    assert v.order == [0, 1] and v.stuck == [2]
    assert ("returned 1, but the register held 2 by then: #1 c2 read -> 2 had "
            "already returned 2 at 2 s, before #2 began at 3 s.") in v.reasons[2]
    assert "1 was the starting value, and no write brings it back" in v.reasons[2]
    assert v.cited == [1]


def test_check_new_and_old_reads_that_overlap_are_fine():
    v = check(DATA / "ok_new_and_old_overlapping.json")
    assert v.ok is True
    assert v.order == [2, 0, 1]


def test_check_cas_with_unknown_outcome_may_take_effect_or_not():
    took = check(DATA / "ok_cas_unknown_took_effect.json")
    never = check(DATA / "ok_cas_unknown_never.json")
    flicker = check(DATA / "bad_cas_unknown_flickers.json")
    assert (took.ok, never.ok, flicker.ok) == (True, True, False)
    assert took.order == [0, 1, 2] and never.order == [1, 2]
    assert flicker.stuck == [2]


def test_check_two_cas_from_the_same_value_cannot_both_succeed():
    v = check(DATA / "bad_cas_lost_update.json")
    assert v.ok is False and v.stuck == [1]
    assert "succeeded, so the register must have held 0, but it held 1" in v.reasons[1]


def test_check_failed_cas_that_should_have_swapped_is_refuted():
    v = check(history("register", op("c1", "cas", 0, 1, value=[5, 6], result=False),
                      initial=5))
    assert v.ok is False and v.order == [] and v.stuck == [0]
    assert "failed, so the register must have held something other than 5" \
        in v.reasons[0]
    assert v.explanation.startswith("No order can even begin")


def test_check_kv_names_the_failing_key_and_explains_in_its_words():
    v = check(DATA / "bad_kv_append_lost.json")
    assert v.key == "x" and v.order == [0, 1] and v.stuck == [3]
    assert "returned \"a\", but key 'x' held \"ab\" by then" in v.reasons[3]
    assert v.explanation.startswith("Key 'x' fails on its own")


def test_check_kv_keys_are_independent_and_missing_keys_read_empty():
    v = check(history("kv", op("c1", "put", 0, 1, key="x", value="1"),
                      op("c2", "get", 2, 3, key="y", result=""),
                      op("c2", "get", 4, 5, key="x", result="1")))
    assert v.ok is True and v.order == [0, 1, 2]


def test_check_kv_initial_values_count():
    v = check(history("kv", op("c1", "append", 0, 1, key="x", value="b"),
                      op("c1", "get", 2, 3, key="x", result="ab"),
                      initial={"x": "a"}))
    assert v.ok is True


def test_check_equal_times_count_as_concurrent():
    v = check(history("register", op("c1", "write", 0, 1, value=1),
                      op("c2", "read", 1, 2, result=None)))
    assert v.ok is True and v.order == [1, 0]


def test_check_true_is_not_one():
    v = check(history("register", op("c1", "write", 0, 1, value=True),
                      op("c2", "read", 2, 3, result=1)))
    assert v.ok is False


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_check_files_with_known_answers(path):
    out = io.StringIO()
    code = check_files([str(path)], out)
    expected = "linearizable" if path.stem.startswith("ok_") else "not linearizable"
    assert out.getvalue().splitlines()[0] == f"{path}: {expected}"
    assert code == (0 if expected == "linearizable" else 1)


# ----- verdicts on dsim runs -----

def test_check_single_server_runs_are_linearizable_under_loss():
    for seed in range(6):
        for name in ("register", "kv-store"):
            run = scenario(name).run(seed=seed, faults=Faults(drop_rate=0.1),
                                     ops=20)
            v = check(run)
            assert v.ok is True, (name, seed, v.explanation)
            ops = run.history(model=scenario(name).model)["operations"]
            done = {i for i, o in enumerate(ops) if o["complete"] is not None}
            assert done <= set(v.order) == set(v.points)
            for i in v.order:
                assert ops[i]["invoke"] <= v.points[i]
                assert i not in done or v.points[i] <= ops[i]["complete"]


def test_check_a_run_needs_its_model():
    run = scenario("ping-pong").run(seed=0)
    with pytest.raises(ValueError, match="names no history model"):
        check(run)


def test_check_refuses_what_is_not_a_history():
    with pytest.raises(ValueError, match="cannot check 3"):
        check(3)


def test_check_highlight_events_are_the_stuck_and_cited_operations():
    run = scenario("register").run(seed=2, ops=6)
    ops = run.history()["operations"]
    first_read = next(i for i, o in enumerate(ops)
                      if o["op"] == "read" and o["complete"] is not None)
    v = Verdict("not linearizable", "", stuck=[first_read], cited=[0])
    events = sorted(highlight_events(run, v))
    kinds = [(run.trace[i]["kind"], run.trace[i]["op_id"]) for i in events]
    invokes = [e for e in run.trace if e["kind"] == "invoke"]
    wanted = {invokes[0]["op_id"], invokes[first_read]["op_id"]}
    assert sorted(kinds) == sorted((k, o) for o in wanted
                                   for k in ("invoke", "complete"))


# ----- budgets -----

def test_check_budget_gives_unknown_with_progress():
    run = scenario("register").run(seed=1, faults=Faults(drop_rate=0.05),
                                   clients=5, ops=60)
    v = check(run, max_steps=20)
    assert v.result == "unknown" and v.ok is None
    assert 20 <= v.steps < 40
    assert "stopped at its budget (max_steps=20)" in v.explanation
    assert 0 < len(v.order) < len(run.history()["operations"])
    assert check(run).ok is True


def test_check_budget_must_be_positive():
    with pytest.raises(ValueError, match=r"max_steps=0 must be a number > 0"):
        check(DATA / "ok_cas_unknown_never.json", max_steps=0)
    with pytest.raises(ValueError, match=r"max_seconds='1' must be a number"):
        check(DATA / "ok_cas_unknown_never.json", max_seconds="1")


def test_check_unknown_from_the_command_line(tmp_path):
    run = scenario("register").run(seed=1, faults=Faults(drop_rate=0.05),
                                   clients=5, ops=60)
    path = tmp_path / "h.json"
    path.write_text(json.dumps(run.history()))
    out = io.StringIO()
    assert check_files([str(path)], out, max_steps=20) == 3
    assert out.getvalue().startswith(f"{path}: unknown\n  The search stopped")


# ----- pictures -----

def test_draw_verdict_marks_points_and_the_offending_stretch():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import LineCollection

    path = DATA / "bad_new_then_old.json"
    v = check(path)
    fig = draw_verdict(path, v)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["c1", "c2", "c3"]
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert list(diamonds[0].get_xdata()) == [v.points[0], v.points[1]]
    spans = [p for p in ax.patches if p.get_label() == "where every order breaks"]
    assert (spans[0].get_x(), spans[0].get_x() + spans[0].get_width()) == (1, 4)
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert sum(len(c.get_segments()) for c in bars) == 3
    assert ax.get_title(loc="left") == "not linearizable"
    fig.clf()


def test_draw_verdict_draws_only_the_failing_key():
    import matplotlib

    matplotlib.use("Agg")
    path = DATA / "bad_kv_append_lost.json"
    fig = draw_verdict(path, check(path))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c1", "c2", "c3"]
    assert ax.get_title(loc="left") == "not linearizable (key 'x')"
    assert [t.get_text() for t in ax.texts] == ['put x "a"', 'append x "b"',
                                               'get x -> "a"']
    fig.clf()


def test_draw_verdict_unknown_ops_trail_off_below_their_client():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import LineCollection

    path = DATA / "bad_cas_unknown_flickers.json"
    fig = draw_verdict(path, check(path))
    ax = fig.axes[0]
    segments = [[tuple(map(float, p)) for p in seg]
                for c in ax.collections if isinstance(c, LineCollection)
                for seg in c.get_segments()]
    right = ax.get_xlim()[1]
    assert [(0.0, 0.0), (1.0, 0.0)] in segments  # until the client moved on
    assert [(1.0, 0.22), (right, 0.22)] in segments  # may take effect later
    fig.clf()
