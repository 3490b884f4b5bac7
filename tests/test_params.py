"""The shared checks on counts and durations that scenarios and tools take."""

import math
import re

import pytest

from dsim import scenario
from dsim.params import seconds, whole


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3", None])
def test_whole_refuses_what_is_not_a_count(value):
    wanted = f"rounds={value!r} must be a whole number >= 1"
    with pytest.raises(ValueError, match=re.escape(wanted)):
        whole("rounds", value)


@pytest.mark.parametrize("value", [0, -0.5, math.inf, math.nan, False, "1"])
def test_seconds_refuses_what_is_not_a_duration(value):
    with pytest.raises(ValueError, match="must be a number of seconds > 0"):
        seconds("interval", value)


def test_checks_return_good_values_and_honour_a_least():
    assert whole("nodes", 2, least=2) == 2 and seconds("t", 0.25) == 0.25
    with pytest.raises(ValueError, match="nodes=1 must be a whole number >= 2"):
        whole("nodes", 1, least=2)


def test_a_bool_is_not_taken_for_a_count_by_the_scenarios():
    with pytest.raises(ValueError, match="clients=True must be a whole number"):
        scenario("register").run(clients=True)
