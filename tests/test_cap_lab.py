"""The CAP lab: per-side metrics, the twin run, the latency sweep, the checks."""

import pytest

from dsim import Faults, Partition, scenario
from dsim import cap_lab as lab


@pytest.fixture(scope="module")
def standard():
    return lab.compare(0, lab.split())


def test_split_defaults_to_the_standard_split_brain():
    (cut,) = lab.split().cuts
    assert cut == Partition([["n1", "n2", "c1"], ["n3", "c2"]], start=1.0, heal=3.0)


def test_window_reads_the_partition_and_adds_the_unnamed_side():
    run = scenario("cap-ap").run(faults=Faults(cuts=[Partition([["n3"]], 0.5, 2.0)]))
    part = lab.window(run.trace)
    assert part == lab.Window((("n3",), ("n1", "n2", "c1", "c2")), 0.5, 2.0)
    assert lab.window(scenario("cap-ap").run().trace) is None


def test_measure_standard_split_cp_refuses_only_the_minority(standard):
    cp = standard.cp_metrics
    assert [(s.members, s.majority, s.ops, s.succeeded) for s in cp.sides] == [
        (("n1", "n2", "c1"), True, 5, 5), (("n3", "c2"), False, 5, 0)]
    assert cp.side("c2").share == 0.0 and cp.side("c2").latency is None
    assert cp.linearizable and cp.lost == ()


def test_measure_standard_split_ap_serves_both_and_loses_a_write(standard):
    ap = standard.ap_metrics
    assert [(s.ops, s.succeeded) for s in ap.sides] == [(5, 5), (5, 5)]
    assert not ap.linearizable
    assert ap.lost == (104,)
    assert ap.converged and ap.final == {"n1": 205, "n2": 205, "n3": 205}


def test_measure_latency_quorum_costs_more_than_local(standard):
    cp, ap = standard.metrics
    assert cp.side("c1").latency > 2 * ap.side("c1").latency


def test_measure_without_partition_has_one_side_for_everyone():
    both = lab.compare(0)
    for metrics in both.metrics:
        (side,) = metrics.sides
        assert side.members == ("n1", "n2", "n3", "c1", "c2")
        assert (side.ops, side.succeeded) == (20, 20)


def test_side_names_an_unknown_member():
    metrics = lab.compare(0, lab.split()).cp_metrics
    with pytest.raises(ValueError, match=r"^'c9' is on no side of this run"):
        metrics.side("c9")


def test_metrics_text_lays_out_both_registers(standard):
    lines = str(standard).splitlines()
    assert lines[0].split() == ["register", "side", "while", "partitioned", "ops",
                                "succeeded", "median", "latency", "linearizable",
                                "writes", "lost", "replicas", "at", "the", "end"]
    assert lines[1].startswith("CP") and "yes" in lines[1]
    assert "0/5 (0%)" in lines[2]
    assert lines[3].startswith("AP") and "NO" in lines[3] and "104" in lines[3]
    assert "5/5 (100%)" in lines[4]


def test_twin_runs_the_other_register_on_the_same_faults():
    faults = lab.split(start=0.5, heal=2.0)
    cp = lab.run_register("CP", 4, faults, ops=6)
    ap = lab.twin(cp)
    assert ap.scenario.name == "cap-ap"
    assert (ap.seed, ap.faults, ap.params) == (4, faults, {"ops": 6})
    assert lab.twin(ap).trace == cp.trace


def test_side_by_side_shows_both_registers_cp_first():
    ap = lab.run_register("AP", 0, lab.split())
    table = lab.side_by_side(ap)
    assert table.index("<b>CP</b>") < table.index("<b>AP</b>")
    assert "n3 c2 (minority)" in table


def test_run_register_and_register_name_reject_strangers():
    with pytest.raises(ValueError, match=r"^register 'CA' is not known"):
        lab.run_register("CA")
    with pytest.raises(ValueError, match=r"^run of 'ping-pong' is not a CAP"):
        lab.measure(scenario("ping-pong").run())


def test_latency_sweep_cp_pays_round_trips_ap_does_not():
    points = lab.latency_sweep(delays=(0.01, 0.1), seeds=[0])
    by = {(p.register, p.op, p.delay): p.latency for p in points}
    assert by["CP", "write", 0.1] > 4 * 0.1 * 0.9
    assert by["CP", "read", 0.1] > 2 * 0.1 * 0.9
    assert by["CP", "write", 0.1] > 5 * by["CP", "write", 0.01]
    for op in ("read", "write"):
        assert by["AP", op, 0.1] < 0.01 and by["AP", op, 0.01] < 0.01


def test_far_apart_ap_loses_writes_without_any_partition():
    both = lab.far_apart(0.3)
    cp, ap = both.metrics
    assert both.cp.faults.empty and both.ap.faults.empty
    assert (cp.succeeded, cp.ops) == (20, 20) and cp.linearizable
    assert cp.latency > 0.6
    assert (ap.succeeded, ap.ops) == (20, 20) and not ap.linearizable
    assert ap.lost == (101, 102, 103, 104, 105) and ap.converged


def test_wide_area_rejects_a_negative_delay():
    with pytest.raises(ValueError) as error:
        lab.wide_area(-0.1)
    assert str(error.value) == "delay=-0.1 must be a number of seconds >= 0"


# ----- exercise checks -----


@pytest.mark.parametrize("check", [lab.check_minority_counts, lab.check_lost_writes,
                                   lab.check_available_partition])
def test_checks_say_not_answered_yet_for_none(check):
    feedback = check(None)
    assert feedback.ok is None
    assert str(feedback).startswith("Not answered yet. ")


def test_check_minority_counts():
    assert lab.check_minority_counts((0, 5)).ok is True
    wrong = lab.check_minority_counts((5, 5))
    assert wrong.ok is False
    assert str(wrong).startswith("Not yet. (CP, AP) is (0, 5), not (5, 5).")
    assert lab.check_minority_counts(5).ok is False


def test_check_lost_writes():
    assert lab.check_lost_writes([104]).ok is True
    wrong = lab.check_lost_writes({204})
    assert str(wrong).startswith("Not yet. The AP replicas lost 104, not 204.")
    assert lab.check_lost_writes(104).ok is False


def test_check_available_partition():
    isolated_spare = Partition([["n2"]], start=1.0, heal=3.0)
    assert lab.check_available_partition(isolated_spare).ok is True
    moved = Faults(cuts=[Partition([["n1", "n2", "c1", "c2"]], start=1.0, heal=3.0)])
    assert lab.check_available_partition(moved).ok is True
    stranded = lab.check_available_partition(Partition([["n3", "c2"]], 1.0, 3.0))
    assert str(stranded) == ("Not yet. Some clients were refused: n3 c2 (minority) "
                             "got 0/5 (0%). A client is served only on a side "
                             "holding a majority of replicas.")
    clients_only = lab.check_available_partition(Partition([["c2"]], 1.0, 3.0))
    assert "nothing was cut" in str(clients_only)
    late = lab.check_available_partition(Partition([["n2"]], start=5.0))
    assert "No client invoked anything" in str(late)
    assert lab.check_available_partition("n2").ok is False


# ----- moving a client across the partition -----


def test_moved_puts_the_client_beside_a_node_keeping_the_times():
    (standard,) = lab.split().cuts
    assert lab.moved(standard, "c2", "n1") == Partition(
        [["n1", "n2", "c1", "c2"], ["n3"]], start=1.0, heal=3.0)
    isolate = Partition([["n3", "c2"]], start=0.5)
    assert lab.moved(isolate, "c2", "n1") == Partition([["n3"]], start=0.5)
    with pytest.raises(ValueError, match=r"^cannot move c2 beside itself$"):
        lab.moved(standard, "c2", "c2")


def test_move_client_reruns_the_explorer_with_the_new_sides():
    from dsim.widgets import Explorer

    ex = Explorer("cap-cp", seed=0, faults=lab.split(), panel=lab.side_by_side)
    run = lab.move_client(ex, "c2", beside="n1")
    assert run is ex.run
    assert ex.faults.cuts == (Partition([["n1", "n2", "c1", "c2"], ["n3"]],
                                        start=1.0, heal=3.0),)
    assert lab.measure(run).side("c2").share == 1.0
    assert "n1 n2 c1 c2 (majority)" in ex.w_panel.value
    with pytest.raises(ValueError, match=r"^'n1' is not a client of this run"):
        lab.move_client(ex, "n1", beside="n3")
