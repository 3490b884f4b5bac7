"""The sweep: seeded trials over any executor, in the order of the cases."""

import concurrent.futures

import pytest

from dsim.sweep import ProgressBar, sweep


def square_plus_seed(case):
    return case * case + 1


def test_sweep_inline_keeps_case_order_and_reports_progress():
    seen = []
    results = sweep(square_plus_seed, range(10), workers=1, chunk=3,
                    progress=lambda done, total: seen.append((done, total)))
    assert results == [k * k + 1 for k in range(10)]
    assert seen == [(0, 10), (3, 10), (6, 10), (9, 10), (10, 10)]


def test_sweep_any_executor_gives_the_same_results():
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        seen = []
        results = sweep(square_plus_seed, range(50), executor=pool, chunk=4,
                        progress=lambda done, total: seen.append(done))
    assert results == sweep(square_plus_seed, range(50), workers=1)
    assert seen[0] == 0 and seen[-1] == 50 and sorted(seen) == seen
    assert len(seen) == 1 + 13


def test_sweep_local_process_pool_matches_inline():
    cases = list(range(30))
    assert sweep(square_plus_seed, cases, workers=2, chunk=5) == \
        sweep(square_plus_seed, cases, workers=1)


class OrderedExecutor:
    """An executor whose futures are not concurrent.futures futures."""

    class Done:
        def __init__(self, value):
            self.value = value

        def result(self):
            return self.value

    def submit(self, fn, *args):
        return self.Done(fn(*args))


def test_sweep_accepts_executor_with_its_own_futures():
    assert sweep(square_plus_seed, range(7), executor=OrderedExecutor(),
                 chunk=2) == [k * k + 1 for k in range(7)]


@pytest.mark.parametrize("kwargs, message", [
    ({"chunk": 0}, "chunk=0 must be a whole number >= 1"),
    ({"workers": 1.5}, "workers=1.5 must be a whole number >= 1"),
    ({"executor": object()}, "has no submit"),
])
def test_sweep_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sweep(square_plus_seed, range(3), **kwargs)


def test_sweep_rejects_a_trial_that_is_not_callable():
    with pytest.raises(ValueError, match="trial=3 must be a function"):
        sweep(3, range(3))


def test_progress_bar_follows_the_count():
    bar = ProgressBar("runs")
    bar(0, 40)
    bar(25, 40)
    assert (bar.bar.value, bar.bar.max, bar.label.value) == (25, 40, "25 / 40")
    bar(40, 40)
    assert bar.bar.bar_style == "success"
