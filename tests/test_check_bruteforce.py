"""The checker against exhaustive search, on thousands of small histories.

The brute force here shares no code with ``dsim.check``: it tries every
order of every subset of the unknown-outcome operations, keeping an
order only while it respects real time and a plain re-statement of the
models' rules. Histories are drawn from seeded generators: some come
from a real sequential execution (linearizable by construction), some
have one result corrupted, some have random results; small values and
whole-number times make equal values and tied times common.
"""

import random

from dsim.check import check

READS = ("read", "get")


def legal_step(model, state, op):
    """(ok, new state) for ``op`` on ``state``: the models, restated."""
    name, value = op["op"], op.get("value")
    known = op["complete"] is not None
    key = op.get("key")
    current = state.get(key, "") if model == "kv" else state
    if name in READS:
        ok = not known or op.get("result") == current
        return ok, state
    if name == "cas":
        swaps = current == value[0]
        if known and op["result"] is not swaps:
            return False, state
        return True, value[1] if swaps else state
    new = value if name in ("write", "put") else current + value
    if model == "kv":
        return True, {**state, key: new}
    return True, new


def brute_force(history):
    """Whether some order of the operations is a linearization."""
    model, ops = history["model"], history["operations"]
    start = {} if model == "kv" else history["initial"]

    def must_wait(i, remaining):
        return any(ops[j]["complete"] is not None
                   and ops[j]["complete"] < ops[i]["invoke"] for j in remaining)

    def extend(state, remaining):
        if all(ops[j]["complete"] is None for j in remaining):
            return True
        for i in remaining:
            rest = remaining - {i}
            if must_wait(i, rest):
                continue
            ok, new = legal_step(model, state, ops[i])
            if ok and extend(new, rest):
                return True
        return False

    return extend(start, frozenset(range(len(ops))))


def valid_linearization(history, order):
    """Whether ``order`` (op indices) is a complete, legal, real-time order."""
    model, ops = history["model"], history["operations"]
    state = {} if model == "kv" else history["initial"]
    placed = set(order)
    if any(op["complete"] is not None and i not in placed
           for i, op in enumerate(ops)):
        return False
    for k, i in enumerate(order):
        later = order[k + 1:]
        if any(ops[j]["complete"] is not None
               and ops[j]["complete"] < ops[i]["invoke"] for j in later):
            return False
        ok, state = legal_step(model, state, ops[i])
        if not ok:
            return False
    return True


# ----- generators -----

def _operation(rng, model, keys):
    if model == "register":
        name = rng.choice(("read", "write", "write", "cas"))
        value = {"read": None, "write": rng.randint(0, 2),
                 "cas": [rng.randint(0, 2), rng.randint(0, 2)]}[name]
        return {"op": name, "value": value}
    name = rng.choice(("get", "get", "put", "append"))
    value = None if name == "get" else rng.choice(("a", "b", "ab"))
    return {"op": name, "key": rng.choice(keys), "value": value}


def _timeline(rng, n, clients):
    """Per-client sequential intervals with whole-number times (ties likely)."""
    free = {f"c{i}": 0 for i in range(1, clients + 1)}
    spans = []
    for _ in range(n):
        client = rng.choice(sorted(free))
        invoke = free[client] + rng.randint(0, 2)
        complete = invoke + rng.randint(0, 3)
        free[client] = complete
        spans.append((client, invoke, complete))
    return spans


def executed(rng, model, n, clients, unknown_rate):
    """A history from a real sequential execution at random points."""
    keys = ["x", "y"][: rng.randint(1, 2)]
    initial = rng.choice((None, 0)) if model == "register" else None
    ops = []
    for client, invoke, complete in _timeline(rng, n, clients):
        op = {"client": client, **_operation(rng, model, keys),
              "invoke": invoke, "complete": complete}
        ops.append(op)
    points = {i: rng.uniform(op["invoke"], op["complete"]) for i, op in enumerate(ops)}
    state = {} if model == "kv" else initial
    for i in sorted(points, key=points.get):
        op = ops[i]
        lost = rng.random() < unknown_rate
        if lost:
            op["complete"] = None
            if rng.random() < 0.5:
                continue  # it never took effect
        state = _execute(model, state, op, record=not lost)
    for op in ops:
        if op["value"] is None:
            del op["value"]
        if model == "register":
            op.pop("key", None)
    return {"model": model, "initial": initial, "operations": ops}


def _execute(model, state, op, record):
    key = op.get("key")
    current = state.get(key, "") if model == "kv" else state
    name, value = op["op"], op["value"]
    if name in READS:
        result, new = current, current
    elif name == "cas":
        result = current == value[0]
        new = value[1] if result else current
    else:
        result, new = None, value if name in ("write", "put") else current + value
    if record and result is not None:
        op["result"] = result
    return {**state, key: new} if model == "kv" else new


def corrupted(rng, history):
    """The same history with one read or cas result changed."""
    readers = [op for op in history["operations"]
               if "result" in op and op["complete"] is not None]
    if readers:
        op = rng.choice(readers)
        if op["op"] == "cas":
            op["result"] = not op["result"]
        elif op["op"] == "get":
            op["result"] = rng.choice(("", "a", "b", "ab", "ba"))
        else:
            op["result"] = rng.choice((None, 0, 1, 2))
    return history


def histories(seed, count):
    rng = random.Random(seed)
    for _ in range(count):
        model = rng.choice(("register", "kv"))
        history = executed(rng, model, rng.randint(1, 7), rng.randint(1, 3),
                           rng.choice((0.0, 0.2, 0.5)))
        if rng.random() < 0.5:
            history = corrupted(rng, history)
        yield history


# ----- the tests -----

def test_check_agrees_with_brute_force_on_random_histories():
    tally = {True: 0, False: 0}
    unknown_seen = 0
    for history in histories(seed=7, count=6000):
        expected = brute_force(history)
        verdict = check(history)
        assert verdict.ok is expected, (history, str(verdict))
        tally[expected] += 1
        unknown_seen += any(op["complete"] is None for op in history["operations"])
        if expected:
            assert valid_linearization(history, verdict.order), (history, verdict)
    assert min(tally.values()) > 1200, tally
    assert unknown_seen > 2000


def test_check_points_lie_inside_intervals_and_follow_the_order():
    for history in histories(seed=11, count=400):
        verdict = check(history)
        ops = history["operations"]
        times = [verdict.points[i] for i in verdict.order]
        assert times == sorted(times)
        for i, t in verdict.points.items():
            op = ops[i]
            assert op["invoke"] <= t
            assert op["complete"] is None or t <= op["complete"]


def test_check_refutation_prefix_is_valid_and_stuck_ops_follow_it():
    refuted = 0
    for history in histories(seed=13, count=600):
        verdict = check(history)
        if verdict.ok is not False:
            continue
        refuted += 1
        ops = history["operations"]
        assert verdict.stuck and verdict.explanation
        assert not set(verdict.stuck) & set(verdict.order)
        if verdict.key is not None:
            ops = [op if op.get("key") == verdict.key else None for op in ops]
        for i in verdict.stuck:
            assert f"#{i} " in verdict.reasons[i]
            assert ops[i]["complete"] is not None
    assert refuted > 100


def test_check_random_results_agree_with_brute_force():
    rng = random.Random(3)
    for _ in range(800):
        model = rng.choice(("register", "kv"))
        history = executed(rng, model, rng.randint(2, 5), rng.randint(2, 3), 0.3)
        for op in history["operations"]:
            if op["complete"] is not None and op["op"] in READS:
                op["result"] = rng.choice((None, 0, 1)) if model == "register" \
                    else rng.choice(("", "a", "ab"))
        assert check(history).ok is brute_force(history), history
