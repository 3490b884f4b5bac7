"""The clocks notebook's figures and tables show what the trace holds."""

from dsim import Faults, scenario
from dsim.causality import events
from dsim.clocks_lab import (claims_table, clock_diagram, order_figure,
                             stamps_panel, stamps_table, versions_table)


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_clock_diagram_writes_both_stamps_at_every_event():
    run = scenario("clocks-chat").run(seed=0)
    shown = texts(clock_diagram(run))
    for label in ("1 [1,0,0]", "5 [1,3,3]", "7 [5,3,5]"):
        assert label in shown
    stamps = [t for t in shown if "[" in t and t[0].isdigit()]
    assert len(stamps) == len(events(run)) == 16


def test_clock_diagram_rings_the_cone_of_the_focus():
    run = scenario("clocks-chat").run(seed=0)
    fig = clock_diagram(run, focus="send bob:2")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["causal past (3)", "causal future (5)", "send bob:2 (1)"]


def test_order_figure_counts_the_events_that_move():
    fig = order_figure(scenario("clocks-chat").run(seed=0))
    assert fig._suptitle.get_text() == ("11 of 16 events change place between "
                                        "real time and Lamport order")


def test_stamps_table_follows_a_drop_in_its_last_column():
    panel = stamps_panel("send r3:1")
    whole = panel(scenario("clocks-cart").run(seed=0))
    broken = panel(scenario("clocks-cart").run(seed=0,
                                               faults=Faults(drop=["r2:2"])))
    assert whole.count(">concurrent<") == 2
    assert broken.count(">concurrent<") == 4


def test_stamps_table_says_when_the_focus_did_not_happen():
    run = scenario("clocks-chat").run(seed=0, faults=Faults(drop=["alice:1"]))
    html = stamps_table(run, focus="send bob:2")
    assert "did not happen in this run" in html


def test_claims_and_versions_tables_read_their_runs():
    claims = claims_table(scenario("clocks-usernames").run(seed=0))
    assert "<td style='text-align:left'>revoked</td>" in claims
    versions = versions_table(scenario("clocks-cart").run(seed=0))
    assert versions.count(">concurrent<") == 1
