"""Sweeps: many seeded trials of one experiment, spread over workers.

A trial is a plain function of one picklable case (a seed, or a tuple of
parameters and a seed) that returns a picklable result. Each case names
every random draw of its trial, so a sweep's results depend on the cases
alone: the same on one core, on all local cores, or on a cluster.

``sweep`` hands the cases out in chunks to any
``concurrent.futures.Executor``: by default a process pool on the local
cores; a ``ThreadPoolExecutor`` for tests; or a cluster's executor, such
as the one a Dask client returns from ``client.get_executor()``, so a
large sweep moves to a cluster without changing the notebook that runs
it. Results come back in the order of the cases.

Progress is reported to a callback, ``progress(done, total)``, called in
the caller's thread as chunks finish. ``progress_bar`` makes such a
callback that draws an ipywidgets bar in a notebook.

Limitations: a trial and its cases must be picklable for a process pool
or a cluster, so a trial is a module-level function, not a lambda or a
function typed into a notebook cell. A chunk that raises stops the sweep
with that error; the other chunks' results are lost.
"""

import concurrent.futures
import multiprocessing
import os

from .params import whole

DEFAULT_CHUNK = 25


def local_workers():
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_chunk(trial, cases):
    """Run ``trial`` on each case of one chunk, in a worker."""
    return [trial(case) for case in cases]


def sweep(trial, cases, executor=None, workers=None, chunk=DEFAULT_CHUNK,
          progress=None):
    """``[trial(case) for case in cases]``, computed in parallel.

    - ``executor``: any ``concurrent.futures.Executor``; it is left
      running. None makes a process pool for this sweep alone.
    - ``workers``: the size of that pool (default: the local cores);
      ``workers=1`` runs every trial here, in this process.
    - ``chunk``: how many cases go to a worker at a time.
    - ``progress``: called as ``progress(done, total)`` after each chunk.
    """
    if not callable(trial):
        raise ValueError(f"trial={trial!r} must be a function of one case")
    cases = list(cases)
    whole("chunk", chunk)
    if workers is not None:
        whole("workers", workers)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise ValueError(f"executor={executor!r} has no submit(): pass a "
                         "concurrent.futures.Executor or None for local cores")
    chunks = [cases[i:i + chunk] for i in range(0, len(cases), chunk)]
    if executor is None and (workers == 1 or len(chunks) <= 1):
        return _inline(trial, chunks, len(cases), progress)
    if executor is not None:
        return _gather(executor, trial, chunks, len(cases), progress)
    try:
        with _local_pool(workers or local_workers()) as pool:
            return _gather(pool, trial, chunks, len(cases), progress)
    except concurrent.futures.process.BrokenProcessPool:
        raise RuntimeError(
            "the local worker processes stopped before finishing. Each worker "
            "starts by importing the script that called sweep(), so in a script "
            "put the call under 'if __name__ == \"__main__\":'; or pass "
            "workers=1 to run every trial in this process") from None


def _local_pool(workers):
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in methods else None)
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)


def _inline(trial, chunks, total, progress):
    results, done = [], 0
    _report(progress, 0, total)
    for cases in chunks:
        results.extend(run_chunk(trial, cases))
        done += len(cases)
        _report(progress, done, total)
    return results


def _gather(executor, trial, chunks, total, progress):
    futures = {executor.submit(run_chunk, trial, cases): index
               for index, cases in enumerate(chunks)}
    parts = [None] * len(chunks)
    done = 0
    _report(progress, 0, total)
    for future in _completed(futures):
        index = futures[future]
        parts[index] = future.result()
        done += len(chunks[index])
        _report(progress, done, total)
    return [result for part in parts for result in part]


def _completed(futures):
    """The futures as they finish when the executor's futures allow it."""
    if all(isinstance(f, concurrent.futures.Future) for f in futures):
        return concurrent.futures.as_completed(futures)
    return iter(futures)


def _report(progress, done, total):
    if progress is not None:
        progress(done, total)


class ProgressBar:
    """A notebook progress bar usable as a sweep's ``progress`` callback."""

    def __init__(self, description="trials"):
        import ipywidgets

        self.bar = ipywidgets.IntProgress(value=0, min=0, max=1,
                                          description=description)
        self.label = ipywidgets.Label("")
        self.widget = ipywidgets.HBox([self.bar, self.label])

    def __call__(self, done, total):
        self.bar.max = max(total, 1)
        self.bar.value = done
        self.label.value = f"{done} / {total}"
        self.bar.bar_style = "success" if done >= total else ""

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def progress_bar(description="trials"):
    """A ``ProgressBar`` shown at once in the running notebook cell."""
    from IPython.display import display

    bar = ProgressBar(description)
    display(bar.widget)
    return bar
