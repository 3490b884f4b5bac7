"""Views of a run: the space-time diagram, its time cursor, diffs, exports.

Every view is drawn from a trace alone (see ``dsim.trace``).
"""

from .animate import animation, animation_html, save_gif
from .diagram import Diagram, diagram, diff_diagram, save_png
from .diff import Change, RunDiff, diff_runs
from .scene import Scene, build_scene

__all__ = ["Change", "Diagram", "RunDiff", "Scene", "animation",
           "animation_html", "build_scene", "diagram", "diff_diagram",
           "diff_runs", "save_gif", "save_png"]
