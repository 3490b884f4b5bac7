"""A run as an animation, for places without a kernel.

The time cursor sweeps the run from start to end: each frame is the
diagram at one moment, with messages in flight part-way along their
arrows and each node's state written at the cursor. ``animation_html``
gives a self-contained HTML player (frames embedded as images, with
play, pause and step buttons) that works in a static notebook export or
a web page; ``save_gif`` writes a GIF for slides.

Limitations: frames are images, so a long run at many frames makes a
large file; the defaults (40 frames at 60 dots per inch) keep a typical
run to a few megabytes.
"""

import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter

from .diagram import Diagram, new_figure
from .scene import as_trace

FRAMES = 40
DPI = 60


def frame_times(run_or_trace, frames=FRAMES):
    """The cursor times of ``frames`` evenly spaced frames over the run."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
        raise ValueError(f"frames={frames!r} must be a whole number >= 2")
    return np.linspace(0.0, as_trace(run_or_trace).duration, frames)


def animation(run_or_trace, frames=FRAMES, interval=250, dpi=DPI, **options):
    """A matplotlib ``FuncAnimation`` of the cursor sweeping the run."""
    trace = as_trace(run_or_trace)
    times = frame_times(trace, frames)
    fig = new_figure(len(trace.nodes) + len(trace.clients))
    fig.set_dpi(dpi)
    view = Diagram(ax=fig.axes[0])
    view.update(run_or_trace, t=0.0, **options)

    def draw(i):
        view.set_time(float(times[i]))
        return []

    return FuncAnimation(fig, draw, frames=len(times), interval=interval,
                         blit=False, repeat=False)


def animation_html(run_or_trace, frames=FRAMES, interval=250, dpi=DPI, **options):
    """A self-contained HTML player of the run (no kernel needed)."""
    anim = animation(run_or_trace, frames, interval, dpi, **options)
    return anim.to_jshtml(default_mode="once")


def save_gif(run_or_trace, path, frames=FRAMES, fps=4, dpi=DPI, **options):
    """Write the run's animation to ``path`` as a GIF; returns the path."""
    anim = animation(run_or_trace, frames, 1000 / fps, dpi, **options)
    anim.save(path, writer=PillowWriter(fps=fps), dpi=dpi)
    return path
