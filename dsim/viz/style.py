"""How the diagram looks: sizes, fonts, colours and line styles.

Everything is chosen for a projector in a lit room: fonts of at least
12 points at the saved size, thick lines, and the Okabe-Ito palette,
which colour-blind viewers can tell apart. No meaning rides on colour
alone: a message's fate is also its line style and end marker, and a
role or status is also a hatch pattern and a written label.
"""

import functools

import matplotlib
from cycler import cycler

# Okabe & Ito, "Color Universal Design" (2008).
BLACK = "#000000"
ORANGE = "#E69F00"
SKY = "#56B4E9"
GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#8C8C8C"
LIGHT = "#D9D9D9"

DPI = 100
WIDTH = 14.0  # inches: 1400 px at the saved size, a projector's width
LANE_HEIGHT = 0.95  # inches per lifeline
MARGINS = {"left": 1.25, "right": 0.35, "top": 1.0, "bottom": 0.75}

FONT = 14
SMALL = 12  # the smallest text drawn; still legible on a projector
TITLE = 18

LIFELINE = {"color": "#4D4D4D", "linewidth": 1.6}

# A message's fate: colour, line style and the marker at its end.
DELIVERED = {"color": BLUE, "linestyle": "solid"}
DROPPED = {"color": VERMILLION, "linestyle": (0, (5, 3))}
IN_FLIGHT = {"color": ORANGE, "linestyle": (0, (1.5, 2))}
GONE = {"color": GREY, "linestyle": (0, (2, 3))}
NEW = {"color": PURPLE}
HIGHLIGHT = {"color": BLACK}

CRASH = {"color": BLACK, "hatch": "xx", "fill": "#BFBFBF"}
PARTITION = {"color": "#7F7F7F", "alpha": 0.16, "hatch": "//"}
OPERATION = {"ok": SKY, "failed": GREY, "stuck": VERMILLION}

# Known roles and statuses of the course's protocols: colour, hatch and
# how thick the band is, so each reads without its colour.
BANDS = {
    "follower": (LIGHT, "", 0.16),
    "candidate": (ORANGE, "//", 0.22),
    "leader": (GREEN, "", 0.28),
    "working": (LIGHT, "", 0.16),
    "prepared": (SKY, "..", 0.22),
    "in-doubt": (YELLOW, "xx", 0.26),
    "committed": (GREEN, "", 0.26),
    "aborted": (PURPLE, "\\\\", 0.26),
}
OTHER_BANDS = [(SKY, ".."), (ORANGE, "//"), (GREEN, ""), (PURPLE, "\\\\"),
               (YELLOW, "xx"), (LIGHT, "--"), (BLUE, "++")]


def band_style(value, order):
    """Colour, hatch and half-height of the band for a state value.

    ``order`` is where the value first appears among the run's unknown
    values, so a run always styles its values the same way.
    """
    if value in BANDS:
        return BANDS[value]
    colour, hatch = OTHER_BANDS[order % len(OTHER_BANDS)]
    return colour, hatch, 0.2


def text_width(text, size=SMALL):
    """An estimate of a text's width in pixels (DejaVu Sans averages 0.6 em)."""
    return 0.62 * size * DPI / 72 * len(text)


def text_height(size=SMALL):
    return 1.35 * size * DPI / 72


# Plots beside the diagrams (distributions, sweeps, bar charts) share its
# projector sizes and colour-blind-safe colours.
CHART = {
    "font.size": FONT, "axes.titlesize": 16, "axes.labelsize": FONT,
    "xtick.labelsize": SMALL, "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL, "legend.title_fontsize": SMALL,
    "lines.linewidth": 2.2, "lines.markersize": 7,
    "axes.prop_cycle": cycler(color=[BLUE, VERMILLION, GREEN, ORANGE, PURPLE,
                                     SKY, BLACK, YELLOW]),
}


def charted(draw):
    """Draw a chart with the course's sizes and colours (a decorator)."""
    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        with matplotlib.rc_context(CHART):
            return draw(*args, **kwargs)
    return drawn
