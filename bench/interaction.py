"""How long a learner waits between dropping a message and seeing the result.

The interaction measured is the explorer's: drop one message of a busy
five-node run (the ``gossip`` scenario, about 1,500 messages), run the
scenario again from scratch, compare it with the run before, and redraw
the diagram on the same figure (new data in the same artists, with the
diff overlay; the explorer shows the title and the diff summary as
text beside the figure), ending with a full draw of the Agg canvas. The floor is
what matplotlib alone needs to draw that many plain line segments, as
one ``LineCollection``, on a figure of the same size. Each figure is
the median of repeated runs.

Usage: python bench/interaction.py [--repeats N]
"""

import argparse
import statistics
import time

from matplotlib.collections import LineCollection

from dsim import Faults, scenario
from dsim.viz import Diagram
from dsim.viz.diagram import new_figure


def median_ms(samples):
    return statistics.median(samples) * 1000


def interaction(sc, run, view, message_id):
    """Drop, re-run, diff and redraw; returns the seconds taken by each part."""
    fig = view.fig
    start = time.perf_counter()
    after = sc.run(seed=run.seed, faults=Faults(drop=[message_id]))
    ran = time.perf_counter()
    view.update(after, diff=run)  # computes diff_runs(run, after) once
    fig.canvas.draw()
    return ran - start, time.perf_counter() - ran


def floor_figure(lanes, segments):
    """The same segments as one plain LineCollection on a same-size figure."""
    fig = new_figure(lanes)
    ax = fig.axes[0]
    ax.add_collection(LineCollection(segments, linewidth=1.0))
    ax.set_xlim(0, max(x for seg in segments for x, _ in seg))
    ax.set_ylim(lanes, -1)
    return fig


def timed_draw(fig):
    start = time.perf_counter()
    fig.canvas.draw()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    repeats = parser.parse_args().repeats
    sc = scenario("gossip")
    run = sc.run(seed=0)
    trace = run.trace
    lanes = len(trace.nodes)
    view = Diagram(lanes=lanes, captions=False)  # as the explorer draws it
    view.update(run)
    view.fig.canvas.draw()  # warm up: fonts, caches
    ids = [m.id for m in trace.messages.values()]
    picks = [ids[(i * 97) % len(ids)] for i in range(repeats)]
    rows = {m.id: (m.src, m.dst) for m in trace.messages.values()}
    order = {n: i for i, n in enumerate(trace.nodes)}
    segments = [((m.sent, order[rows[m.id][0]]), (m.arrived, order[rows[m.id][1]]))
                for m in trace.messages.values() if m.arrived is not None]
    plain = floor_figure(lanes, segments)
    # interleaved, so that both see the same load on a shared machine
    parts, base = [], []
    for mid in picks:
        parts.append(interaction(sc, run, view, mid))
        base.append(timed_draw(plain))
    rerun = [p[0] for p in parts]
    redraw = [p[1] for p in parts]
    total = [a + b for a, b in parts]
    x, y = median_ms(total), median_ms(base)
    print(f"scenario gossip: {lanes} nodes, {len(ids)} messages, "
          f"{len(trace)} events; {repeats} repeats")
    print(f"re-run median {median_ms(rerun):.1f} ms; diff and redraw median "
          f"{median_ms(redraw):.1f} ms")
    print(f"interaction ms: {x:.1f} (floor {y:.1f}, ratio {x / y:.2f})")


if __name__ == "__main__":
    main()
