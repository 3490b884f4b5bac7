"""Checks for the numbers scenarios and tools take, worded one way.

Every count a learner can type (replicas, rounds, trials) and every
duration (an interval, a timeout) is checked where it enters, and a bad
one is named with what is allowed: ``rounds=0 must be a whole number
>= 1``. A bool is not a number here, though Python lets it pass for one.
"""

import math


def whole(name, value, least=1):
    """``value`` if it is a whole number >= ``least``; else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name}={value!r} must be a whole number >= {least}")
    return value


def seconds(name, value):
    """``value`` if it is a finite number of seconds > 0; else a ValueError."""
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 < value < math.inf):
        raise ValueError(f"{name}={value!r} must be a number of seconds > 0")
    return value
