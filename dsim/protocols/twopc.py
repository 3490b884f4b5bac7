"""Two-phase commit: an all-or-nothing transaction, and the price of it.

The protocol as Gray and Reuter's *Transaction Processing* (ch. 10) and
Kleppmann's *Designing Data-Intensive Applications* (ch. 9) give it. A
coordinator ``co`` runs one global transaction over participants
``p1..pn``, each of which owns one row the transaction writes:

1. ``execute``: the coordinator assigns the global id (``T1``) and sends
   each participant its writes. The participant locks the row and works
   (status ``working``); it answers ``executed``.
2. ``prepare``: when all have executed, the coordinator asks for votes.
   A participant that can commit writes its yes vote to its durable log,
   keeps its locks, and answers ``vote`` yes (status ``prepared``). This is
   the participant's point of no return: from now on only the coordinator
   may decide.
3. The coordinator forces its decision to its durable log: the commit
   point, the coordinator's point of no return. Only then does it send
   ``commit`` (or ``abort``) to the participants, one after another,
   resending every ``RETRY`` seconds until each has answered ``ack``.

Timeouts follow the rule that makes 2PC blocking. Before it votes, a
participant that hears nothing for ``TIMEOUT`` seconds aborts on its own.
After it has voted yes it may not: once the outcome is overdue it becomes
``in-doubt``, keeps its locks, and asks the coordinator every ``RETRY``
seconds. A participant that crashes after voting yes recovers from its log
straight into ``in-doubt``, locks held. A coordinator that recovers with no
logged decision aborts (presumed abort); with a logged one it sends it to
every participant again, since the acks it had received were not logged.

Other transactions (clients ``c1..``) write the same rows, one row each;
a write that finds its row locked waits in the row's queue, so a blocked
participant shows as clients waiting with growing latency.

An operator switch, ``heuristic``, forces an in-doubt participant to
commit or abort on its own at a given time, as real databases allow. When
the coordinator had decided the other way, atomicity is broken, and the
participant records the damage when the real outcome reaches it.

With ``standbys=2`` the coordinator also copies its logged decision to two
standby nodes ``s1``, ``s2`` and tells no participant until a majority of
the three holds it; in-doubt participants ask the standbys too, so a
coordinator that dies after its commit point no longer blocks anyone.

Recorded state: participants record ``tx``, ``status`` (``working``,
``prepared``, ``in-doubt``, ``committed``, ``aborted``), ``locks`` (the rows
held) and ``waiting`` (writes queued on those rows); the coordinator and
standbys record ``tx`` and ``status``.

Scenarios crash or drop at a named protocol step (``crash_at_step``,
``lose_decision_to``). The step is turned into an ordinary fault: the
scenario first runs the same seed and faults without it, finds when the
step happened, and adds a ``Crash`` (or a drop by message id) to the plan.

Limitations: one global transaction per run, one row per participant, and
writes of other transactions are single-row and never deadlock. Standbys
only make a decision available once it exists; when the coordinator dies
before deciding, the participants still block, because letting the
standbys decide abort safely needs consensus among them (Gray and
Lamport's Paxos Commit), which this module does not implement. Log writes
take a fixed time (``FLUSH``) and never fail.
"""

from ..clients import Client
from ..kernel import Node, Simulation
from ..network import Crash, Uniform
from ..scenario import Scenario, register

START = 0.2  # when the coordinator begins the transaction (s)
FLUSH = 0.05  # time to force a decision to the log (s)
GAP = 0.05  # time between two decision messages of the coordinator (s)
TIMEOUT = 1.0  # patience before a decision: for votes, or for prepare (s)
OVERDUE = 0.8  # after a yes vote, when the outcome counts as overdue (s)
RETRY = 0.5  # how often decisions and questions are sent again (s)
CLIENT_TIMEOUT = 8.0  # how long another transaction waits for its row (s)
CRASH_AFTER_VOTE = 0.01  # how soon after its vote a participant crashes (s)

COORDINATOR = "co"
OUTCOMES = ("commit", "abort")
STATUS = {"commit": "committed", "abort": "aborted"}
COORDINATOR_STEPS = ("before-log", "after-log", "after-first-send")


def row_of(node_id):
    """The row participant ``node_id`` owns: p1 owns x1, p2 owns x2."""
    return "x" + node_id[1:]


class Coordinator(Node):
    """Runs one global transaction through execute, prepare and decision."""

    def __init__(self, node_id, participants, standbys=()):
        super().__init__(node_id)
        self.participants = list(participants)
        self.standbys = list(standbys)
        self.durable.next_tx = 1
        self.durable.log = {}
        self.tx = None
        self.executed = set()
        self.yes = set()
        self.deciding = False
        self.pending = None
        self.stored = set()
        self.announced = False
        self.to_notify = []
        self.acked = set()

    def on_start(self):
        self.set_timer("begin", START)

    def on_recover(self):
        if not self.durable.log:
            self.on_start()  # crashed before the transaction began
        for tx, entry in self.durable.log.items():
            self.tx = tx
            if entry["decision"] is None:
                self.record(tx=tx, status="working")
                self._decide("abort")
            else:
                self.record(tx=tx, status=STATUS[entry["decision"]])
                self._replicate()

    # ----- phase one: execute and prepare -----

    def on_timer_begin(self):
        tx = f"T{self.durable.next_tx}"
        self.durable.next_tx += 1
        self.durable.log[tx] = {"participants": self.participants,
                                "decision": None}
        self.tx = tx
        self.record(tx=tx, status="working")
        for node_id in self.participants:
            self.send(node_id, "execute", {"tx": tx, "row": row_of(node_id),
                                           "value": tx})
        self.set_timer("timeout", TIMEOUT)

    def on_executed(self, msg):
        if msg.payload["tx"] != self.tx or self.deciding:
            return
        self.executed.add(msg.src)
        if len(self.executed) == len(self.participants):
            self.broadcast("prepare", {"tx": self.tx}, to=self.participants)

    def on_vote(self, msg):
        if msg.payload["tx"] != self.tx or self.deciding:
            return
        if not msg.payload["yes"]:
            self._decide("abort")
            return
        self.yes.add(msg.src)
        if len(self.yes) == len(self.participants):
            self._decide("commit")

    def on_timer_timeout(self):
        if not self.deciding:
            self._decide("abort")

    # ----- phase two: the decision -----

    def _decide(self, decision):
        """Start forcing ``decision`` to the log; it is final in FLUSH s."""
        self.deciding = True
        self.cancel_timer("timeout")
        self.pending = decision
        self.set_timer("log", FLUSH)

    def on_timer_log(self):
        self.durable.log[self.tx]["decision"] = self.pending
        self.record(status=STATUS[self.pending])
        self._replicate()

    def _replicate(self):
        """Copy the decision to the standbys; announce once a majority has it."""
        self.deciding = True
        self.stored = {self.node_id}
        if not self.standbys:
            self._announce()
            return
        payload = {"tx": self.tx, "decision": self._decision()}
        self.broadcast("store", payload, to=self.standbys)
        self.set_timer("store", RETRY)

    def on_stored(self, msg):
        self.stored.add(msg.src)
        majority = (len(self.standbys) + 1) // 2 + 1
        if not self.announced and len(self.stored) >= majority:
            self.cancel_timer("store")
            self._announce()

    def on_timer_store(self):
        missing = [s for s in self.standbys if s not in self.stored]
        payload = {"tx": self.tx, "decision": self._decision()}
        self.broadcast("store", payload, to=missing)
        self.set_timer("store", RETRY)

    def _announce(self):
        self.announced = True
        self.to_notify = list(self.participants)
        self.set_timer("notify", GAP)

    def on_timer_notify(self):
        node_id = self.to_notify.pop(0)
        self.send(node_id, self._decision(), {"tx": self.tx})
        if self.to_notify:
            self.set_timer("notify", GAP)
        else:
            self.set_timer("retry", RETRY)

    def on_timer_retry(self):
        for node_id in self.participants:
            if node_id not in self.acked:
                self.send(node_id, self._decision(), {"tx": self.tx})
        self.set_timer("retry", RETRY)

    def on_ack(self, msg):
        self.acked.add(msg.src)
        if self.acked >= set(self.participants):
            self.cancel_timer("retry")

    def on_ask(self, msg):
        tx = msg.payload["tx"]
        entry = self.durable.log.get(tx)
        if entry is None:
            self.send(msg.src, "abort", {"tx": tx})  # never heard of it
        elif self.announced and tx == self.tx:
            self.send(msg.src, entry["decision"], {"tx": tx})

    def _decision(self):
        return self.durable.log[self.tx]["decision"]


class Standby(Node):
    """Keeps a copy of the coordinator's decision and answers in-doubt asks."""

    def __init__(self, node_id):
        super().__init__(node_id)
        self.durable.log = {}

    def on_start(self):
        for tx, decision in self.durable.log.items():
            self.record(tx=tx, status=STATUS[decision])

    def on_store(self, msg):
        tx, decision = msg.payload["tx"], msg.payload["decision"]
        self.durable.log[tx] = decision
        self.record(tx=tx, status=STATUS[decision])
        self.send(msg.src, "stored", {"tx": tx})

    def on_ask(self, msg):
        decision = self.durable.log.get(msg.payload["tx"])
        if decision is not None:
            self.send(msg.src, decision, {"tx": msg.payload["tx"]})

    def on_ack(self, msg):
        """A participant thanks the standby that told it; nothing to do."""


class Participant(Node):
    """Owns one row; locks it for the global transaction and votes."""

    def __init__(self, node_id, deciders, vote_yes=True, heuristic=None):
        super().__init__(node_id)
        self.deciders = list(deciders)
        self.vote_yes = vote_yes
        self.heuristic = heuristic
        self.durable.data = {row_of(node_id): None}
        self.durable.prepared = {}
        self.durable.outcome = {}
        self.durable.forced = {}
        self.locks = {}
        self.work = {}
        self.queue = []

    def on_start(self):
        self.record(locks=[], waiting=0)
        self._arm_operator()

    def on_recover(self):
        self.on_start()
        for tx, write in self.durable.prepared.items():
            if tx not in self.durable.outcome:
                self.locks[write["row"]] = tx
                self.record(tx=tx, status="in-doubt", locks=self._held())
                self._ask(tx)

    # ----- phase one -----

    def on_execute(self, msg):
        tx, row = msg.payload["tx"], msg.payload["row"]
        if tx in self.work or tx in self.durable.outcome:
            return
        self.work[tx] = {"row": row, "value": msg.payload["value"]}
        self.locks[row] = tx
        self.record(tx=tx, status="working", locks=self._held())
        self.send(msg.src, "executed", {"tx": tx})
        self.set_timer("working", TIMEOUT)

    def on_timer_working(self):
        for tx in list(self.work):
            if tx not in self.durable.prepared:
                self._finish(tx, "abort")  # not voted yet: free to give up

    def on_prepare(self, msg):
        tx = msg.payload["tx"]
        if tx in self.durable.prepared:
            self.send(msg.src, "vote", {"tx": tx, "yes": True})
            return
        if tx not in self.work or not self.vote_yes:
            self._finish(tx, "abort")
            self.send(msg.src, "vote", {"tx": tx, "yes": False})
            return
        self.cancel_timer("working")
        self.durable.prepared[tx] = self.work[tx]
        self.record(status="prepared")
        self.send(msg.src, "vote", {"tx": tx, "yes": True})
        self.set_timer("overdue", OVERDUE)

    # ----- waiting for the outcome -----

    def on_timer_overdue(self):
        tx = self._undecided()
        if tx is not None:
            self.record(status="in-doubt")
            self._ask(tx)

    def on_timer_ask(self):
        tx = self._undecided()
        if tx is not None:
            self._ask(tx)

    def _ask(self, tx):
        self.broadcast("ask", {"tx": tx}, to=self.deciders)
        self.set_timer("ask", RETRY)

    def on_commit(self, msg):
        self._learn(msg, "commit")

    def on_abort(self, msg):
        self._learn(msg, "abort")

    def _learn(self, msg, decision):
        tx = msg.payload["tx"]
        forced = self.durable.forced.get(tx)
        if forced is not None and forced != decision:
            self.record(damage=f"forced {forced}, coordinator said {decision}")
        elif tx not in self.durable.outcome:
            self._finish(tx, decision)
        self.send(msg.src, "ack", {"tx": tx})

    def _finish(self, tx, decision, **extra):
        self.durable.outcome[tx] = decision
        write = self.durable.prepared.get(tx) or self.work.get(tx)
        if decision == "commit":
            self.durable.data[write["row"]] = write["value"]
        self.work.pop(tx, None)
        for name in ("working", "overdue", "ask"):
            self.cancel_timer(name)
        self.locks = {r: t for r, t in self.locks.items() if t != tx}
        self._serve_waiting()
        self.record(tx=tx, status=STATUS[decision], locks=self._held(),
                    waiting=len(self.queue), **extra)

    # ----- the operator's heuristic decision -----

    def _arm_operator(self):
        if self.heuristic is not None and self.heuristic["at"] >= self.now:
            self.set_timer("operator", self.heuristic["at"] - self.now)

    def on_timer_operator(self):
        tx = self._undecided()
        if tx is not None:
            forced = self.heuristic["outcome"]
            self.durable.forced[tx] = forced
            self._finish(tx, forced, heuristic=forced)

    # ----- other transactions on the same row -----

    def on_put(self, msg):
        if msg.payload["key"] in self.locks:
            self.queue.append(msg)
            self.record(waiting=len(self.queue))
            return
        self._apply(msg)

    def _serve_waiting(self):
        waiting, self.queue = self.queue, []
        for msg in waiting:
            if msg.payload["key"] in self.locks:
                self.queue.append(msg)
            else:
                self._apply(msg)

    def _apply(self, msg):
        self.durable.data[msg.payload["key"]] = msg.payload["value"]
        self.reply(msg)

    def _held(self):
        return sorted(self.locks)

    def _undecided(self):
        for tx in self.durable.prepared:
            if tx not in self.durable.outcome:
                return tx
        return None


def other_transactions(row, owner, busy):
    """A client that keeps writing ``row`` at ``owner`` until ``busy`` s."""
    def workload(client):
        rng = client.rng("workload")
        count = 0
        while True:
            yield client.sleep(rng.uniform(0.05, 0.25))
            if client.now >= busy:
                return
            count += 1
            yield from client.call(owner, "put", key=row,
                                   value=f"{client.node_id}.{count}",
                                   timeout=CLIENT_TIMEOUT)
    return workload


# ----- scenarios -----


def _check_params(n, clients, votes, crash_at_step, downtime, lose_decision_to,
                  heuristic, standbys):
    if not (isinstance(n, int) and 2 <= n <= 9):
        raise ValueError(f"participants={n!r} must be a whole number from 2 to 9")
    if not (isinstance(clients, int) and clients >= 0):
        raise ValueError(f"clients={clients!r} must be a whole number >= 0")
    names = [f"p{i}" for i in range(1, n + 1)]
    for node_id, vote in dict(votes or {}).items():
        if node_id not in names:
            raise ValueError(f"votes names {node_id!r}, which is not a "
                             f"participant: the participants are {', '.join(names)}")
        if vote not in ("yes", "no"):
            raise ValueError(f"vote {vote!r} of {node_id} must be 'yes' or 'no'")
    if crash_at_step is not None:
        _check_step(crash_at_step, names)
    if downtime is not None and not (
            isinstance(downtime, (int, float)) and downtime > 0):
        raise ValueError(f"downtime={downtime!r} must be a time in seconds > 0, "
                         "or None for a node that never recovers")
    if lose_decision_to is not None and lose_decision_to not in names:
        raise ValueError(f"lose_decision_to={lose_decision_to!r} is not a "
                         f"participant: the participants are {', '.join(names)}")
    if heuristic is not None:
        _check_heuristic(heuristic, names)
    if standbys not in (0, 2, 4):
        raise ValueError(f"standbys={standbys!r} must be 0, 2 or 4, so that "
                         "the coordinator and its standbys have a majority")


def _check_step(step, names):
    allowed = [f"co:{s}" for s in COORDINATOR_STEPS] + [
        f"{p}:after-vote" for p in names]
    if step not in allowed:
        raise ValueError(f"crash_at_step={step!r} is not a step; the steps "
                         f"are {', '.join(allowed)}")


def _check_heuristic(heuristic, names):
    if not (isinstance(heuristic, dict) and
            set(heuristic) == {"node", "at", "outcome"}):
        raise ValueError(f"heuristic={heuristic!r} must be a dict with node, "
                         "at and outcome, such as "
                         "{'node': 'p3', 'at': 1.5, 'outcome': 'abort'}")
    if heuristic["node"] not in names:
        raise ValueError(f"heuristic node {heuristic['node']!r} is not a "
                         f"participant: the participants are {', '.join(names)}")
    if heuristic["outcome"] not in OUTCOMES:
        raise ValueError(f"heuristic outcome {heuristic['outcome']!r} must be "
                         "'commit' or 'abort'")
    at = heuristic["at"]
    if isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0:
        raise ValueError(f"heuristic time at={at!r} must be seconds >= 0")


def _populate(sim, n, clients, busy, votes, heuristic, standbys):
    names = [f"p{i}" for i in range(1, n + 1)]
    spares = [f"s{i}" for i in range(1, standbys + 1)]
    sim.add(Coordinator(COORDINATOR, names, spares))
    for node_id in names:
        forced = heuristic if heuristic and heuristic["node"] == node_id else None
        sim.add(Participant(node_id, [COORDINATOR, *spares],
                            vote_yes=votes.get(node_id, "yes") == "yes",
                            heuristic=forced))
    for node_id in spares:
        sim.add(Standby(node_id))
    for i in range(1, clients + 1):
        owner = names[(i - 1) % n]
        sim.add(Client(f"c{i}", other_transactions(row_of(owner), owner, busy)))


def _probe(sim, setup):
    """The run without the step's fault: same seed, faults and latency."""
    probe = Simulation(seed=sim.seed, latency=sim.latency, faults=sim.faults,
                       until=sim.until, max_events=sim.max_events)
    _populate(probe, *setup)
    return probe.run().trace


def _first(trace, kind, **fields):
    for e in trace:
        if e["kind"] == kind and all(e.get(k) == v for k, v in fields.items()):
            return e
    return None


def _decision_sent(trace, dst=None):
    for e in trace.of_kind("send"):
        if (e["src"] == COORDINATOR and e["type"] in OUTCOMES
                and dst in (None, e["dst"])):
            return e
    return None


def step_time(trace, step):
    """When ``crash_at_step`` should crash its node in this run, or None."""
    node, _, when = step.partition(":")
    if when == "after-vote":
        vote = _first(trace, "send", src=node, type="vote")
        return vote and vote["t"] + CRASH_AFTER_VOTE
    if when == "after-first-send":
        sent = _decision_sent(trace)
        return sent and sent["t"] + GAP / 2
    logged = _first(trace, "timer", node=COORDINATOR, name="log")
    if logged is None:
        return None
    return logged["t"] + (GAP / 2 if when == "after-log" else -FLUSH / 2)


def build(sim, participants, clients, busy, votes, crash_at_step, downtime,
          lose_decision_to, heuristic, standbys):
    """Add the coordinator, participants, standbys and clients to ``sim``.

    A named step fault (``lose_decision_to``, ``crash_at_step``) becomes an
    ordinary entry of ``sim.faults``, found by probing the run without it.
    """
    votes = dict(votes or {})
    _check_params(participants, clients, votes, crash_at_step, downtime,
                  lose_decision_to, heuristic, standbys)
    setup = (participants, clients, busy, votes, heuristic, standbys)
    if lose_decision_to is not None:
        sent = _decision_sent(_probe(sim, setup), lose_decision_to)
        if sent is not None:
            sim.faults = sim.faults.with_drop(sent["id"])
    if crash_at_step is not None:
        at = step_time(_probe(sim, setup), crash_at_step)
        if at is not None:
            node = crash_at_step.partition(":")[0]
            recover = None if downtime is None else at + downtime
            sim.faults = sim.faults.with_crash(Crash(node, at, recover))
    _populate(sim, *setup)


DEFAULTS = {"participants": 3, "clients": 3, "busy": 2.0, "votes": {},
            "crash_at_step": None, "downtime": 2.0, "lose_decision_to": None,
            "heuristic": None, "standbys": 0}


def _scenario(name, summary, **params):
    return register(Scenario(
        name=name, summary=summary, build=build,
        params={**DEFAULTS, **params}, until=15.0,
        latency=Uniform(0.04, 0.08), model="kv"))


COMMIT = _scenario(
    "2pc-commit",
    "all participants vote yes; the coordinator logs commit and tells them")
VOTE_NO = _scenario(
    "2pc-vote-no",
    "p2 votes no; the coordinator aborts and every participant releases",
    votes={"p2": "no"})
CRASH_BEFORE_LOG = _scenario(
    "2pc-crash-before-log",
    "the coordinator crashes while logging; on recovery it presumes abort",
    crash_at_step="co:before-log")
CRASH_AFTER_LOG = _scenario(
    "2pc-crash-after-log",
    "the coordinator crashes after logging commit; all wait in doubt",
    crash_at_step="co:after-log")
CRASH_AFTER_SEND = _scenario(
    "2pc-crash-after-first-commit",
    "the coordinator crashes after telling p1; p2 and p3 wait in doubt",
    crash_at_step="co:after-first-send")
PARTICIPANT_CRASH = _scenario(
    "2pc-participant-crash",
    "p2 crashes after voting yes and recovers in doubt, its lock held",
    crash_at_step="p2:after-vote")
COMMIT_LOST = _scenario(
    "2pc-commit-lost",
    "the commit to p2 is lost; p2 waits in doubt until the resend arrives",
    lose_decision_to="p2")
HEURISTIC = _scenario(
    "2pc-heuristic",
    "an operator forces in-doubt p3 to abort; the coordinator said commit",
    crash_at_step="co:after-log",
    heuristic={"node": "p3", "at": 1.5, "outcome": "abort"})
STANDBYS = _scenario(
    "2pc-standbys",
    "the decision is on a majority before it is sent; a crash blocks no one",
    crash_at_step="co:after-log", standbys=2)
