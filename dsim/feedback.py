"""What an exercise check says back to the learner.

Every exercise in the course ends with a check the learner runs on their
own answer. The check returns a ``Feedback``: ``ok`` is True (right),
False (not yet, with the reason) or None (no answer given yet), and it
shows itself as a coloured sentence in a notebook and as plain text
elsewhere. A notebook saved with blank answers still runs top to bottom.
"""

import html
from dataclasses import dataclass

NOT_ANSWERED = "Replace None with your answer and run the cell again."

_HEADS = {True: "Right.", False: "Not yet.", None: "Not answered yet."}
_COLOURS = {True: "#007a5a", False: "#b3261e", None: "#555555"}


@dataclass(frozen=True, repr=False)
class Feedback:
    """The verdict of an exercise check, with the reason in words."""

    ok: object
    message: str

    def __str__(self):
        message = self.message[:1].upper() + self.message[1:]
        return f"{_HEADS[self.ok]} {message}"

    __repr__ = __str__

    def __bool__(self):
        return self.ok is True

    def _repr_html_(self):
        return (f"<div class='dsim-feedback' style='font-size:15px;"
                f"color:{_COLOURS[self.ok]}'>{html.escape(str(self))}</div>")


def unanswered(what=NOT_ANSWERED):
    return Feedback(None, what)
