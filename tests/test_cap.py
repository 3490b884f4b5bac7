"""The CAP registers: CP stays linearizable, AP stays available and converges."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsim import Crash, Faults, Partition, scenario
from dsim.check import check
from dsim.protocols.cap import homes_for

MEMBERS = ("n1", "n2", "n3", "c1", "c2")
STANDARD = Partition([["n1", "n2", "c1"], ["n3", "c2"]], start=1.0, heal=3.0)


@st.composite
def partitions(draw, heals=True):
    """A partition of the three replicas and two clients into 2 or 3 groups."""
    labels = draw(st.lists(st.integers(0, 2), min_size=5, max_size=5)
                  .filter(lambda ls: len(set(ls)) > 1))
    groups = [[m for m, g in zip(MEMBERS, labels) if g == k] for k in range(3)]
    start = draw(st.floats(0.0, 2.5))
    heal = start + draw(st.floats(0.5, 3.0)) if heals else None
    return Partition([g for g in groups if g], start=round(start, 3),
                     heal=None if heal is None else round(heal, 3))


def property_settings(examples):
    return settings(max_examples=examples, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def run(name, seed=0, cuts=(), **params):
    return scenario(name).run(seed=seed, faults=Faults(cuts=list(cuts)), **params)


def sides(partition):
    """Each member's group, with the unnamed members as one more group."""
    named = {m for g in partition.groups for m in g}
    groups = [set(g) for g in partition.groups]
    rest = set(MEMBERS) - named
    return groups + ([rest] if rest else [])


def replicas_with(member, partition):
    group = next(g for g in sides(partition) if member in g)
    return sum(1 for m in group if m.startswith("n"))


def ops_by_client(trace):
    """Each client's operations as (invoke time, ok or None if it never ended)."""
    invoked = {}
    for e in trace:
        if e["kind"] == "invoke":
            invoked[e["op_id"]] = [e["client"], e["t"], None]
        elif e["kind"] == "complete":
            invoked[e["op_id"]][2] = e["ok"]
    return list(invoked.values())


def final_values(trace):
    return {n: trace.state_at(n, trace.duration)["value"] for n in trace.nodes}


# ----- the CP register -----


def cp_partition_properties(seed, partition):
    result = run("cap-cp", seed, [partition], pattern="random")
    assert check(result.history()).result == "linearizable"
    for client, invoked, ok in ops_by_client(result.trace):
        if not partition.start <= invoked < partition.heal - 0.5:
            continue
        if replicas_with(client, partition) >= 2:
            assert ok, f"{client} on a majority side was refused at {invoked}"
        else:
            assert not ok, f"{client} on a minority side was served at {invoked}"


@property_settings(60)
@given(seed=st.integers(0, 10_000), partition=partitions())
def test_cp_register_linearizable_and_minority_refused(seed, partition):
    cp_partition_properties(seed, partition)


@pytest.mark.slow
@property_settings(400)
@given(seed=st.integers(0, 10_000), partition=partitions())
def test_cp_register_linearizable_and_minority_refused_full(seed, partition):
    cp_partition_properties(seed, partition)


@property_settings(30)
@given(seed=st.integers(0, 10_000), rate=st.floats(0.0, 0.3),
       node=st.sampled_from(["n1", "n2", "n3"]), at=st.floats(0.0, 3.0))
def test_cp_register_linearizable_with_loss_and_a_crash(seed, rate, node, at):
    faults = Faults(drop_rate=rate, crashes=[Crash(node, at, at + 1.0)])
    result = scenario("cap-cp").run(seed=seed, faults=faults, clients=3,
                                    pattern="random")
    assert check(result.history()).result == "linearizable"


def test_cp_register_refuses_the_minority_with_no_quorum():
    result = run("cap-cp", 0, [STANDARD])
    refused = [e for e in result.trace.of_kind("complete")
               if e["client"] == "c2" and 1.0 <= e["t"] < 3.0]
    assert [(e["op"], e["result"], e["ok"]) for e in refused] == [
        ("write", "no quorum", False), ("read", "no quorum", False),
        ("write", "no quorum", False), ("read", "no quorum", False),
        ("write", "no quorum", False)]


def test_cp_register_serves_everyone_without_a_partition():
    result = run("cap-cp", 3, clients=3, pattern="random")
    assert all(ok for _, _, ok in ops_by_client(result.trace))
    assert check(result.history()).ok


# ----- the AP register -----


def ap_partition_properties(seed, partition):
    result = run("cap-ap", seed, [partition], pattern="random")
    for client, invoked, ok in ops_by_client(result.trace):
        if replicas_with(client, partition) >= 1:
            assert ok, f"{client} was refused at {invoked}"
    assert result.end == "quiet", result.message
    assert len({repr(v) for v in final_values(result.trace).values()}) == 1


@property_settings(60)
@given(seed=st.integers(0, 10_000), partition=partitions())
def test_ap_register_answers_every_side_and_converges(seed, partition):
    ap_partition_properties(seed, partition)


@pytest.mark.slow
@property_settings(400)
@given(seed=st.integers(0, 10_000), partition=partitions())
def test_ap_register_answers_every_side_and_converges_full(seed, partition):
    ap_partition_properties(seed, partition)


@property_settings(30)
@given(seed=st.integers(0, 10_000), rate=st.floats(0.0, 0.4),
       node=st.sampled_from(["n1", "n2", "n3"]), at=st.floats(0.0, 3.0))
def test_ap_register_converges_despite_loss_and_a_crash(seed, rate, node, at):
    faults = Faults(drop_rate=rate, crashes=[Crash(node, at, at + 1.0)])
    result = scenario("cap-ap").run(seed=seed, faults=faults, until=30.0,
                                    pattern="random")
    assert result.end == "quiet", result.message
    assert len({repr(v) for v in final_values(result.trace).values()}) == 1


@pytest.mark.parametrize("seed", range(8))
def test_ap_register_split_brain_is_not_linearizable(seed):
    result = run("cap-ap", seed, [STANDARD])
    assert all(ok for _, _, ok in ops_by_client(result.trace))
    assert check(result.history()).result == "not linearizable"


@pytest.mark.parametrize("seed", range(4))
def test_ap_register_split_brain_loses_the_majority_sides_last_write(seed):
    result = run("cap-ap", seed, [STANDARD], ops=8)
    lost = {v for e in result.trace.of_kind("state") for v in e["fields"]["lost"]}
    assert lost == {104}
    assert set(final_values(result.trace).values()) == {204}


def test_ap_register_stale_read_on_the_minority_side():
    result = run("cap-ap", 0, [STANDARD])
    reads = [(e["client"], e["result"]) for e in result.trace.of_kind("complete")
             if e["op"] == "read" and 1.0 <= e["t"] < 3.0]
    assert reads == [("c1", 102), ("c2", 202), ("c1", 103), ("c2", 203),
                     ("c1", 104)]


# ----- what both share -----


def test_registers_get_the_same_workload():
    def invocations(name):
        return [(e["client"], e["op"], e["value"])
                for e in run(name, 5, pattern="random").trace.of_kind("invoke")]
    assert invocations("cap-cp") == invocations("cap-ap")


def test_registers_are_deterministic():
    for name in ("cap-cp", "cap-ap"):
        assert run(name, 9, [STANDARD]).trace == run(name, 9, [STANDARD]).trace


def test_client_home_follows_its_side_of_the_partition():
    replicas, clients = ["n1", "n2", "n3"], ["c1", "c2"]
    assert homes_for(replicas, clients, Faults()) == {"c1": "n1", "c2": "n3"}
    moved = Faults(cuts=[Partition([["n1", "n2", "c1", "c2"], ["n3"]])])
    assert homes_for(replicas, clients, moved) == {"c1": "n1", "c2": "n1"}
    stranded = Faults(cuts=[Partition([["c2"]])])
    assert homes_for(replicas, clients, stranded)["c2"] == "n3"
    assert homes_for(replicas, clients, moved, {"c2": "n2"})["c2"] == "n2"


def test_moving_a_client_to_the_majority_side_gets_it_served_by_cp():
    moved = Partition([["n1", "n2", "c1", "c2"], ["n3"]], start=1.0, heal=3.0)
    result = run("cap-cp", 0, [moved])
    assert all(ok for _, _, ok in ops_by_client(result.trace))


@pytest.mark.parametrize("params, message", [
    ({"replicas": 0}, "replicas=0 must be a whole number >= 1"),
    ({"replicas": 12}, "replicas=12 is too many: at most 9 replicas"),
    ({"clients": 1.5}, "clients=1.5 must be a whole number >= 1"),
    ({"interval": 0}, "interval=0 must be a number of seconds > 0"),
    ({"pattern": "bursty"}, "pattern='bursty' is not known: use 'alternate' "
                            "or 'random'"),
    ({"homes": {"c3": "n1"}}, "homes names client 'c3', but the clients are c1..c2"),
    ({"homes": {"c1": "n7"}}, "homes sends c1 to 'n7', but the replicas are "
                              "n1, n2, n3"),
    ({"patience": -1}, "patience=-1 must be a number of seconds > 0"),
])
def test_cp_scenario_rejects_bad_parameters(params, message):
    with pytest.raises(ValueError) as error:
        scenario("cap-cp").run(**params)
    assert str(error.value) == message


def test_ap_scenario_rejects_a_bad_resend():
    with pytest.raises(ValueError, match=r"^resend='soon' must be a number"):
        scenario("cap-ap").run(resend="soon")
