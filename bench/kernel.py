"""How fast is the kernel, against plain SimPy doing the same work?

The workload: every node keeps 4 requests in flight to random peers; a
request is answered with a reply; a reply lets its sender issue the next
request, until 200,000 messages have been sent. Latency is uniform.

The yardstick is the same workload written directly on SimPy, in its
fastest form: a Timeout per message whose callback hands the message
straight to its receiver, with no ids, no faults and no trace. Both sides
draw latencies and peers the same way, straight from ``random()``. dsim runs
it with everything a course run has: message ids, fault checks, keyed
latency streams, and the trace recorded. The last line is the ratio of
the two throughputs for the smaller of the two sizes.

    python bench/kernel.py [--messages N] [--repeat R]
"""

import argparse
import gc
import random
import statistics
import time

import simpy

from dsim import Node, Simulation, Uniform

LOW, HIGH = 0.001, 0.010
SPAN = HIGH - LOW
IN_FLIGHT = 4


def plain_simpy(nodes, total, seed):
    """The yardstick: SimPy timeouts and callbacks, nothing else."""
    env = simpy.Environment()
    rand = random.Random(seed).random
    timeout = env.timeout
    others = nodes - 1
    sent = 0

    def send(src, dst, is_request):
        nonlocal sent
        sent += 1
        ev = timeout(LOW + SPAN * rand(), (src, dst, is_request))
        ev.callbacks.append(receive)

    def receive(event):
        src, dst, is_request = event._value
        if is_request:
            send(dst, src, False)
        elif sent < total:
            peer = int(rand() * others)
            send(dst, peer + (peer >= dst), True)

    for node in range(nodes):
        for _ in range(IN_FLIGHT):
            peer = int(rand() * others)
            send(node, peer + (peer >= node), True)
    env.run()
    return sent


class Worker(Node):
    """Keeps requests in flight to random peers and answers its own."""

    def __init__(self, node_id, peers, total, counter):
        super().__init__(node_id)
        self.others = [p for p in peers if p != node_id]
        self.total = total
        self.counter = counter

    def on_start(self):
        self.rand = self.rng("peer").random
        self.k = len(self.others)
        for _ in range(IN_FLIGHT):
            self.counter[0] += 1
            self.send(self.others[int(self.rand() * self.k)], "request")

    def on_request(self, msg):
        self.counter[0] += 1
        self.send(msg.src, "reply")

    def on_reply(self, msg):
        counter = self.counter
        if counter[0] < self.total:
            counter[0] += 1
            self.send(self.others[int(self.rand() * self.k)], "request")


def dsim_run(nodes, total, seed):
    counter = [0]
    sim = Simulation(seed=seed, latency=Uniform(LOW, HIGH),
                     until=1e9, max_events=10 * total)
    names = [f"n{i}" for i in range(1, nodes + 1)]
    sim.add(*[Worker(name, names, total, counter) for name in names])
    run = sim.run()
    return counter[0], run


def timed(fn, nodes, total, seed):
    """Messages per second of one run, timed on its own."""
    gc.collect()
    start = time.perf_counter()
    result = fn(nodes, total, seed)
    elapsed = time.perf_counter() - start
    sent = result[0] if isinstance(result, tuple) else result
    return sent / elapsed


def compare(nodes, total, repeat):
    """Median throughputs and ratio, from runs taken in alternation.

    The two contenders run one after the other, pair by pair, so a busy
    moment on a shared machine slows both sides of a pair alike.
    """
    base, ours, ratios = [], [], []
    for seed in range(repeat):
        base.append(timed(plain_simpy, nodes, total, seed))
        ours.append(timed(dsim_run, nodes, total, seed))
        ratios.append(ours[-1] / base[-1])
    return (statistics.median(base), statistics.median(ours),
            statistics.median(ratios))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    ratios = {}
    for nodes in (5, 100):
        base, ours, ratios[nodes] = compare(nodes, args.messages, args.repeat)
        print(f"{nodes:3} nodes: simpy {base:,.0f} msg/s, dsim {ours:,.0f} msg/s "
              f"with trace, ratio {ratios[nodes]:.2f}")

    start = time.perf_counter()
    _, run = dsim_run(5, args.messages, 0)
    middle = time.perf_counter()
    events = len(run.trace)
    end = time.perf_counter()
    print(f"5 nodes: run {1000 * (middle - start):.0f} ms; turning the "
          f"{events:,} recorded events into dicts took {1000 * (end - middle):.0f} ms "
          "(done once per run, when the trace is first used)")
    print(f"kernel ratio dsim/simpy: {min(ratios.values()):.2f}")


if __name__ == "__main__":
    main()
