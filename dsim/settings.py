"""Run-wide settings a notebook reads, such as how many trials to run.

The tests execute every notebook top to bottom. Experiments with many
trials (election times, staleness estimates) shrink to a quick size there,
because the tests set ``DSIM_QUICK=1``; a learner gets the full size.
"""

import os


def quick():
    """Whether notebooks should run their quick, smaller experiments."""
    return os.environ.get("DSIM_QUICK", "") not in ("", "0")


def trials(full, quick_count):
    """``full`` trials normally, ``quick_count`` when running quick."""
    return quick_count if quick() else full
