"""How fast the linearizability checker is on histories of simulated stores.

Both histories come from dsim's single-server scenarios run under message
loss, so some operations time out and their outcome is unknown:

- register-1000: 5 clients, 200 operations each (read, write, cas on
  values 0-4), about 10% unknown outcomes;
- kv-2000: 50 clients, 40 operations each over 10 keys (get, put,
  append), about 10% unknown outcomes.

Each is checked a few times; the median wall time is printed last, as
``checker ms NAME: X``. Run with ``.venv/bin/python bench/checker.py``.
"""

import statistics
import time

from dsim import Faults, scenario
from dsim.check import check

REPEATS = 5
DROP_RATE = 0.05  # per message; a request or its reply lost: ~10% timeouts


def histories():
    register = scenario("register").run(
        seed=1, faults=Faults(drop_rate=DROP_RATE), clients=5, ops=200)
    kv = scenario("kv-store").run(
        seed=1, faults=Faults(drop_rate=DROP_RATE), clients=50, ops=40, keys=10)
    return {"register-1000": register.history(model="register"),
            "kv-2000": kv.history(model="kv")}


def timed(history):
    times, verdict = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        verdict = check(history)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, verdict


def main():
    lines = []
    for name, history in histories().items():
        ops = history["operations"]
        unknown = sum(op["complete"] is None for op in ops)
        ms, verdict = timed(history)
        print(f"{name}: {len(ops)} operations, {unknown} with unknown outcome, "
              f"{verdict.result} in {verdict.steps} steps")
        lines.append(f"checker ms {name}: {ms:.0f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
