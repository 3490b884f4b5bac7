"""``python -m dsim check FILE...``: a verdict for each history file.

Prints ``FILE: linearizable``, ``FILE: not linearizable`` followed by
the explanation, ``FILE: unknown`` (the search ran out of budget) or
``FILE: malformed history`` with what is wrong. The exit status is 2 if
any file is malformed, else 1 if any history is not linearizable, else
3 if any verdict is unknown, else 0.
"""

from .history import HistoryError, load_history
from .verdict import check

EXIT = {"linearizable": 0, "not linearizable": 1, "unknown": 3}
PRECEDENCE = (2, 1, 3, 0)


def check_files(files, out, max_steps=None, max_seconds=None):
    """Check each history file, writing verdicts to ``out``; the exit code."""
    codes = [_check_file(path, out, max_steps, max_seconds) for path in files]
    return min(codes, key=PRECEDENCE.index, default=0)


def _check_file(path, out, max_steps, max_seconds):
    try:
        history = load_history(path)
    except HistoryError as exc:
        message = str(exc)
        if not message.startswith(f"{path}:"):
            message = f"{path}: {message}"
        print(message.replace(f"{path}:", f"{path}: malformed history:", 1),
              file=out)
        return 2
    verdict = check(history, max_steps=max_steps, max_seconds=max_seconds)
    print(f"{path}: {verdict.result}", file=out)
    if verdict.ok is not True:
        print(_indent(verdict.explanation), file=out)
    return EXIT[verdict.result]


def _indent(text):
    return "\n".join("  " + line for line in text.splitlines())
