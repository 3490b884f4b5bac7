"""Views of a run: the space-time diagram, its time cursor, diffs, exports.

Every view is drawn from a trace alone (see ``dsim.trace``).
"""

from .diagram import Diagram, diagram, diff_diagram, save_png
from .diff import Change, RunDiff, diff_runs
from .scene import Scene, build_scene

__all__ = ["Change", "Diagram", "RunDiff", "Scene", "build_scene", "diagram",
           "diff_diagram", "diff_runs", "save_png"]
