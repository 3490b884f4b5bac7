"""The ShiViz export: the format's own expression reads every event back."""

import json

import pytest

from dsim import Faults, Node, Simulation, scenario
from dsim.causality import events
from dsim.clocks import Stamper
from dsim.shiviz import PARSER, parse_shiviz, save_shiviz, to_shiviz


def test_shiviz_file_starts_with_the_expression_and_an_empty_delimiter():
    text = to_shiviz(scenario("clocks-chat").run(seed=0))
    lines = text.splitlines()
    assert lines[0] == PARSER and lines[1] == ""
    assert lines[2] == ('alice {"alice": 1, "bob": 0, "carol": 0} t=0.1 '
                        'lamport=1 send post alice:1 to bob')


@pytest.mark.parametrize("name, faults", [
    ("clocks-chat", Faults()), ("clocks-lost", Faults()),
    ("clocks-cart", Faults(drop_rate=0.3)), ("clocks-usernames", Faults()),
])
def test_shiviz_export_round_trips_every_event_and_stamp(name, faults, tmp_path):
    run = scenario(name).run(seed=3, faults=faults)
    path = save_shiviz(run, tmp_path / "run.log")
    parsed = parse_shiviz(path.read_text(encoding="utf-8"))
    expected = [(e.node, e.vclock, e.t, e.lamport, e.name) for e in events(run)]
    got = [(p["host"], p["clock"], float(p["t"]), int(p["lamport"]),
            " ".join(p["event"].split()[0:1] + p["event"].split()[2:3]))
           for p in parsed]
    assert got == expected


def test_shiviz_clocks_start_at_one_and_grow_by_one_per_host():
    parsed = parse_shiviz(to_shiviz(scenario("clocks-cart").run(seed=1)))
    seen = {}
    for p in parsed:
        seen.setdefault(p["host"], []).append(p["clock"][p["host"]])
    for host, own in seen.items():
        assert own == list(range(1, len(own) + 1)), host


def test_shiviz_refuses_a_host_name_with_white_space():
    class Talker(Node):
        def on_start(self):
            self.send("b", "hello")

        def on_hello(self, msg):
            pass

    sim = Simulation(stamper=Stamper())
    sim.add(Talker("a b"), Talker("b"))
    with pytest.raises(ValueError, match=r"node id 'a b' contains white space"):
        to_shiviz(sim.run())


def test_shiviz_clock_is_json_with_the_hosts_own_entry():
    parsed = parse_shiviz(to_shiviz(scenario("clocks-usernames").run(seed=0)))
    for p in parsed:
        assert p["clock"][p["host"]] >= 1
        json.dumps(p["clock"])
