"""dsim.check: is a history linearizable, and if not, why not?

    from dsim.check import check
    v = check(run)            # or a history dict, or a JSON file's path
    v.result                  # "linearizable", "not linearizable", "unknown"
    print(v.explanation)      # the order found, or where every order breaks
    draw_verdict(history, v)  # the operations as intervals, with the points

Models: ``register`` (read, write, cas) and ``kv`` (get, put, append),
checked one key at a time. The search follows Wing and Gong with Lowe's
memo; see ``dsim.check.search``.
"""

from .draw import draw_verdict, highlight_events
from .history import (HistoryError, as_history, load_history, loads_history,
                      save_history, to_edn)
from .verdict import Verdict, check

__all__ = ["HistoryError", "Verdict", "as_history", "check", "draw_verdict",
           "highlight_events", "load_history", "loads_history", "save_history",
           "to_edn"]
