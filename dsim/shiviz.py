"""Export a stamped run as a log for ShiViz, the space-time log visualizer.

ShiViz (Beschastnikh et al., "Debugging distributed systems", CACM 2016;
https://bestchai.bitbucket.io/shiviz/) draws a run from nothing but a
text log in which every event names its host and carries its vector
clock as JSON. It reads the log with a regular expression that has the
named groups ``host``, ``clock`` and ``event``; a file loaded from disk
holds that expression on its first line, the expression that separates
several runs on its second (empty here: one run), and the log after.

Each send and delivery of the run becomes one line::

    alice {"alice": 1, "bob": 0, "carol": 0} t=0.1 lamport=1 send post alice:1 to bob

ShiViz wants each host's own clock entry to start at 1 and grow by one
per event, which is exactly how ``dsim.clocks.Stamper`` ticks it, since
only sends and deliveries are stamped. ``t`` and ``lamport`` are extra
fields ShiViz shows beside each event.

Limitations: lost messages appear as sends with no delivery, since a loss
happens at no host; timers, state changes and crashes carry no clock and
are left out. ShiViz writes its expressions in JavaScript syntax, so
``parser()`` rewrites the named groups for Python's ``re``.
"""

import json
import re

from .causality import events

PARSER = (r"(?<host>\S+) (?<clock>\{[^}]*\}) t=(?<t>\S+) "
          r"lamport=(?<lamport>\d+) (?<event>.*)")


def _line(trace, e):
    raw = trace[e.index]
    kind, mid = e.name.split(" ", 1)
    if kind == "send":
        what = f"send {raw['type']} {mid} to {raw['dst']}"
    else:
        what = f"deliver {raw['type']} {mid} from {raw['src']}"
    clock = json.dumps(e.vclock)
    return f"{e.node} {clock} t={e.t!r} lamport={e.lamport} {what}"


def to_shiviz(run):
    """The text of a ShiViz log file for ``run`` (which must be stamped)."""
    stamped = events(run)
    for e in stamped:
        if re.search(r"\s", e.node):
            raise ValueError(f"node id {e.node!r} contains white space, which "
                             "a ShiViz host name cannot")
    trace = getattr(run, "trace", run)
    lines = [PARSER, ""] + [_line(trace, e) for e in stamped]
    return "\n".join(lines) + "\n"


def save_shiviz(run, path):
    """Write ``run`` as a ShiViz log file at ``path``; returns the path."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(to_shiviz(run))
    return path


def parser(expression=PARSER):
    """ShiViz's JavaScript expression compiled for Python's ``re``."""
    return re.compile(expression.replace("(?<", "(?P<"))


def parse_shiviz(text):
    """Read a ShiViz log file back, with the expression on its first line.

    Returns one dict per event: ``host``, ``clock`` (a dict), ``event``,
    and the extra fields (``t`` and ``lamport`` for a dsim export).
    """
    expression, _, rest = text.partition("\n")
    _delimiter, _, log = rest.partition("\n")
    pattern = parser(expression)
    found = []
    for match in pattern.finditer(log):
        fields = match.groupdict()
        fields["clock"] = json.loads(fields["clock"])
        found.append(fields)
    return found
