"""Exercise checks for the first notebook, on the ping-pong scenario.

Each check runs the scenario with the learner's answer and says whether
it does what was asked, and if not, what happened instead.
"""

from .feedback import Feedback, unanswered
from .network import Faults
from .scenario import scenario

SEED = 1


def _final(run, node):
    return run.trace.state_at(node, run.trace.duration)


def check_drop_for_four(message_id):
    """Which one message, dropped, leaves n2 with only 4 pings answered?"""
    if message_id is None:
        return unanswered()
    run = scenario("ping-pong").run(seed=SEED, faults=Faults(drop=[message_id]))
    if message_id not in run.trace.messages:
        return Feedback(False, f"no message {message_id} was sent in this run; "
                        "pick an id from the diagram, such as n1:3")
    answered = _final(run, "n2")["answered"]
    if answered == 4:
        return Feedback(True, f"{message_id} never reached n2, so n2 answered "
                        "4 pings; n1 sees one pong fewer, and nothing else moved.")
    return Feedback(False, f"with {message_id} dropped n2 still answered "
                    f"{answered} pings: a lost pong leaves n2 unaware. Drop a "
                    "ping before it arrives.")


def check_after_crash(answered, since_restart):
    """n2 crashes at 1.2 s and restarts at 1.9 s: its counters at the end?"""
    if answered is None or since_restart is None:
        return unanswered()
    from .network import Crash
    run = scenario("ping-pong").run(
        seed=SEED, faults=Faults(crashes=[Crash("n2", 1.2, 1.9)]))
    final = _final(run, "n2")
    want = (final["answered"], final["since_restart"])
    if (answered, since_restart) == want:
        return Feedback(True, f"answered={want[0]} survives the crash because it "
                        "is durable; since_restart starts again from 0 because "
                        "it is volatile.")
    return Feedback(False, f"the run ends with answered={want[0]} and "
                    f"since_restart={want[1]}. A ping that reaches n2 while it "
                    "is down is lost; durable state survives, volatile does not.")


def check_silent_pongs(faults):
    """A fault plan under which n2 answers all 5 pings but n1 hears no pong."""
    if faults is None:
        return unanswered()
    if not isinstance(faults, Faults):
        return Feedback(False, "the answer must be a Faults(...) plan")
    run = scenario("ping-pong").run(seed=SEED, faults=faults)
    answered = _final(run, "n2").get("answered", 0)
    ponged = _final(run, "n1").get("ponged", 0)
    if answered == 5 and ponged == 0:
        return Feedback(True, "every ping got through and every pong was lost: "
                        "to n1, a dead n2 and a deaf link look exactly alike.")
    return Feedback(False, f"n2 answered {answered} pings and n1 received "
                    f"{ponged} pongs; you want 5 and 0. Cut only the direction "
                    "from n2 to n1.")
