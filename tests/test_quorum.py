"""The quorum store: its scenarios, its guarantees, and its bad input."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsim import Crash, Exponential, Faults, Simulation, Uniform, scenario
from dsim.protocols.quorum import QuorumConfig, Step, build_plain
from dsim.quorum_lab import lost_writes, measure_staleness, op_costs, stale_chance

SEEDS = range(40)


def results(run):
    """(client, op, value or result, ok) for each completed operation."""
    return [(e["client"], e["op"], e["result"] if e["op"] == "read" else e["value"],
             e["ok"]) for e in run.trace.of_kind("complete")]


def history_ops(run):
    return run.history(model="register")["operations"]


# ----- the scenarios do what their summaries say -----


def test_ok_every_read_returns_the_write_before_it():
    run = scenario("quorum-ok").run(seed=3)
    assert results(run) == [("c1", "write", 1, True), ("c2", "read", 1, True),
                            ("c1", "write", 2, True), ("c2", "read", 2, True)]


@pytest.mark.parametrize("seed", SEEDS)
def test_race_new_then_old_while_the_write_is_in_flight(seed):
    run = scenario("quorum-race").run(seed=seed)
    write, first, second = history_ops(run)
    assert (first["result"], second.get("result")) == (1, None)
    assert first["complete"] < second["invoke"] < second["complete"]
    assert second["complete"] < write["complete"]


@pytest.mark.parametrize("fix", [{"repair": "sync"},
                                 {"repair": "sync", "read_before_write": True},
                                 {"r": 3}])
def test_race_fixes_make_the_later_read_agree(fix):
    for seed in SEEDS:
        run = scenario("quorum-race").run(seed=seed, **fix)
        reads = [op.get("result") for op in history_ops(run)[1:]]
        assert reads[0] == reads[1], (fix, seed, reads)


def test_race_async_repair_fails_when_its_repair_is_lost():
    race = scenario("quorum-race")
    healthy = race.run(seed=0, repair="async")
    repair = [e["id"] for e in healthy.trace.of_kind("send")
              if e["type"] == "store" and e["payload"]["step"] == "async-repair"]
    assert repair == ["c2:4", "c3:4"]
    broken = race.run(seed=0, repair="async", faults=healthy.faults.with_drop("c2:4"))
    assert [op.get("result") for op in history_ops(broken)[1:]] == [1, None]


def test_down_quorums_answer_while_a_replica_is_crashed():
    run = scenario("quorum-down").run(seed=1)
    assert [e["kind"] for e in run.trace.of_kind("crash", "recover")] == [
        "crash", "recover"]
    assert results(run) == [("c1", "write", 1, True), ("c1", "write", 2, True),
                            ("c2", "read", 2, True), ("c2", "read", 2, True)]


def test_down_with_w_equal_n_the_write_fails():
    run = scenario("quorum-down").run(seed=1, w=3)
    assert ("c1", "write", 2, False) in results(run)


def test_partition_writer_cut_off_fails_and_its_write_surfaces_later():
    run = scenario("quorum-partition").run(seed=2)
    assert results(run) == [("c1", "write", 1, True), ("c2", "read", 1, True),
                            ("c1", "write", 2, False), ("c1", "read", 2, True)]


def test_skew_lww_acknowledges_a_write_it_then_loses():
    run = scenario("quorum-skew").run(seed=0)
    assert results(run) == [("c1", "write", 1, True), ("c2", "write", 2, True),
                            ("c3", "read", 1, True)]
    assert [(w.client, w.value) for w in lost_writes(run)] == [("c2", 2)]


def test_skew_read_before_write_keeps_the_later_write():
    run = scenario("quorum-skew").run(seed=0, read_before_write=True)
    assert results(run)[-1] == ("c3", "read", 2, True)
    assert lost_writes(run) == []


def test_scenarios_same_seed_same_trace():
    for name in ("quorum-race", "quorum-mix", "quorum-partition"):
        a = scenario(name).run(seed=5).trace.dumps()
        assert a == scenario(name).run(seed=5).trace.dumps()


# ----- sequential operations see the latest completed write -----


def sequential(config, ops, seed):
    """Clients take turns; each operation ends before the next one starts."""
    spacing = config.timeout + 0.01
    scripts = {}
    for k, (client, is_write) in enumerate(ops):
        step = Step("write", k + 1, k * spacing) if is_write else Step(
            "read", None, k * spacing)
        scripts.setdefault(f"c{client}", []).append(step)
    sim = Simulation(seed=seed, latency=Uniform(0.01, 0.05), until=len(ops) + 5.0)
    build_plain(sim, scripts, n=config.n, w=config.w, r=config.r,
                repair=config.repair, read_before_write=config.read_before_write,
                fanout=config.fanout, timeout=config.timeout, skew={})
    return sim.run()


@st.composite
def overlapping_configs(draw):
    n = draw(st.integers(1, 6))
    w = draw(st.integers(1, n))
    r = draw(st.integers(n - w + 1, n))
    return QuorumConfig(n=n, w=w, r=r, repair=draw(st.sampled_from(
        ["none", "async", "sync"])), read_before_write=draw(st.booleans()),
        fanout=draw(st.sampled_from(["all", "quorum"])), timeout=0.2)


@settings(max_examples=150, deadline=None)
@given(config=overlapping_configs(),
       ops=st.lists(st.tuples(st.integers(1, 3), st.booleans()), min_size=1,
                    max_size=12),
       seed=st.integers(0, 10**6))
def test_overlapping_quorums_sequential_reads_see_latest_write(config, ops, seed):
    run = sequential(config, ops, seed)
    latest = None
    for op in history_ops(run):
        assert op["complete"] is not None
        if op["op"] == "write":
            latest = op["value"]
        else:
            assert op.get("result") == latest, (config, op)


def test_disjoint_quorums_sequential_read_can_miss_the_write():
    config = QuorumConfig(n=3, w=1, r=1, fanout="quorum", timeout=0.2)
    misses = sum(history_ops(sequential(config, [(1, True), (2, False)], s))[1]
                 .get("result") is None for s in range(60))
    assert 20 <= misses <= 60 * 0.9


# ----- staleness: the Monte Carlo agrees with the closed form -----


@pytest.mark.parametrize("n, w, r", [(3, 1, 1), (4, 2, 2), (5, 1, 3), (5, 2, 3),
                                     (3, 2, 2)])
def test_staleness_matches_closed_form_within_sampling_error(n, w, r):
    measured = measure_staleness(n, w, r, trials=600)
    assert measured.expected == stale_chance(n, w, r)
    assert abs(measured.rate - measured.expected) <= 4 * measured.error


def test_stale_chance_closed_form_values():
    assert stale_chance(3, 1, 1) == pytest.approx(2 / 3)
    assert stale_chance(5, 2, 2) == pytest.approx(3 / 10)
    assert stale_chance(5, 3, 3) == 0


def test_staleness_sent_to_all_is_lower_than_the_closed_form():
    measured = measure_staleness(5, 1, 1, trials=200, fanout="all")
    assert measured.rate < measured.expected / 2


# ----- costs: round trips read from the trace -----


def test_costs_round_trips_per_variant():
    def trips(**options):
        ops = op_costs(scenario("quorum-race").run(seed=0, **options)).values()
        return [(op["op"], len(op["steps"])) for op in ops]

    assert trips() == [("write", 1), ("read", 1), ("read", 1)]
    # c2 finds n2 behind and writes the new value back before returning; its
    # write-back to n3 lands too, so c3 finds both replicas up to date
    assert trips(repair="sync") == [("write", 1), ("read", 2), ("read", 1)]
    assert trips(repair="sync", read_before_write=True) == [
        ("write", 2), ("read", 1), ("read", 1)]


# ----- bad input -----


@pytest.mark.parametrize("params, message", [
    ({"w": 4}, "w=4 is larger than n=3 replicas"),
    ({"r": 5}, "r=5 is larger than n=3 replicas"),
    ({"w": 0}, "w=0 is not allowed: w must be at least 1"),
    ({"r": -2}, "r=-2 is not allowed: r must be at least 1"),
    ({"n": 0}, "n=0 is not allowed: n must be at least 1"),
    ({"w": 1.5}, "w=1.5 must be a whole number"),
    ({"repair": "eager"}, "repair='eager' is not one of none, async, sync"),
    ({"fanout": "some"}, "fanout='some' is not one of all, quorum"),
    ({"timeout": 0}, "timeout=0 must be a number of seconds > 0"),
    ({"skew": {"c1": "fast"}}, "skew of 'c1' is 'fast'"),
])
def test_bad_parameters_rejected_with_a_clear_message(params, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        scenario("quorum-race").run(seed=0, **params)


def test_bad_replica_names_rejected():
    with pytest.raises(ValueError, match="slow names n7, but the replicas are "
                                         "n1, n2, n3"):
        scenario("quorum-race").run(seed=0, slow=["n7"])
    with pytest.raises(ValueError, match="down names n4"):
        scenario("quorum-down").run(seed=0, down="n4")


# ----- linearizability, judged by the checker -----


def verdicts(name, seeds, **options):
    from dsim.check import check

    return [check(scenario(name).run(seed=seed, **options)).result for seed in seeds]


def test_race_not_linearizable_across_seeds():
    assert set(verdicts("quorum-race", SEEDS)) == {"not linearizable"}


@pytest.mark.parametrize("fix", [{"repair": "sync"},
                                 {"repair": "sync", "read_before_write": True}])
def test_race_fixed_linearizable_across_seeds(fix):
    assert set(verdicts("quorum-race", SEEDS, **fix)) == {"linearizable"}


def test_skew_lww_not_linearizable_and_abd_is():
    assert verdicts("quorum-skew", range(10)) == ["not linearizable"] * 10
    assert set(verdicts("quorum-skew", range(10), repair="sync",
                        read_before_write=True)) == {"linearizable"}


def test_mix_with_a_fast_clock_breaks_last_write_wins_on_some_seeds():
    assert "not linearizable" in verdicts("quorum-mix", range(20))


ABD = {"repair": "sync", "read_before_write": True}


@st.composite
def faulty_abd_runs(draw):
    n = draw(st.integers(1, 5))
    w = draw(st.integers(1, n))
    r = draw(st.integers(n - w + 1, n))
    replicas = [f"n{i}" for i in range(1, n + 1)]
    crashes = [Crash(node, draw(st.floats(0, 0.5)),
                     draw(st.one_of(st.none(), st.floats(0.6, 1.0))))
               for node in draw(st.lists(st.sampled_from(replicas), unique=True,
                                         max_size=n))]
    faults = Faults(drop_rate=draw(st.sampled_from([0.0, 0.05, 0.2])),
                    crashes=crashes)
    skew = {f"c{i}": draw(st.floats(-0.1, 0.1)) for i in (1, 2, 3)}
    return dict(seed=draw(st.integers(0, 10**6)), faults=faults, n=n, w=w, r=r,
                skew=skew, fanout=draw(st.sampled_from(["all", "quorum"])),
                timeout=0.3, latency=Exponential(0.02, floor=0.002), **ABD)


def abd_linearizable(options):
    from dsim.check import check

    v = check(scenario("quorum-mix").run(**options))
    assert v.result == "linearizable", (options, v.explanation)


@settings(max_examples=60, deadline=None)
@given(options=faulty_abd_runs())
def test_abd_linearizable_under_delays_drops_crashes_and_skew(options):
    abd_linearizable(options)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(options=faulty_abd_runs())
def test_abd_linearizable_full_count(options):
    abd_linearizable(options)
