"""Raft leader election: terms, votes, randomized timeouts, stale leaders.

Follows section 5.2 of Ongaro and Ousterhout, "In Search of an
Understandable Consensus Algorithm" (USENIX ATC 2014), and chapters 3,
6.2 and 9.6 of Ongaro's thesis for the two refinements.

- Every node starts as a follower. A follower that hears nothing from a
  leader for its election timeout (drawn anew, uniformly, from the
  ``election`` range each time it is reset) becomes a candidate: it moves
  to the next term, votes for itself and sends ``request-vote`` to all.
- A node grants at most one vote per term, and only to a candidate whose
  log is at least as up to date as its own (a later last term, or the
  same last term and at least as many entries). Its term, its vote and
  its log are durable: a crash forgets neither.
- A candidate with votes from a majority becomes leader and sends empty
  ``append-entries`` (heartbeats) every ``heartbeat`` seconds.
- Any node that sees a higher term in any message adopts it and becomes a
  follower: this is how a stale leader learns that it was replaced.

Two refinements, off by default:

- ``prevote``: before it starts an election a node asks the others
  whether they would vote for it (``pre-vote``). A node says yes only if
  the log is up to date and it has not heard from a leader within the
  minimum election timeout. Nobody changes term for a pre-vote, so a node
  behind a flaky link no longer drives up everyone's term.
- ``check_quorum``: a leader that has not heard from a majority within
  the minimum election timeout steps down, and a node that has heard from
  a leader within that time ignores vote requests (the leader lease).

Every node records ``role`` (follower, candidate, leader), ``term``,
``vote`` and ``last_log`` (the index and term of its last entry) whenever
they change. ``leaders``, ``leader_at`` and ``election_safety`` read these
back from a trace, so a saved trace can be checked without this code.

Scenarios: ``raft-election`` (a first election), ``raft-leader-crash``,
``raft-split-vote`` (identical timeouts, split votes forever),
``raft-stale-leader`` (the leader cut off in a minority),
``raft-flaky-link`` (a cut link makes leadership bounce) and
``raft-log-check`` (the first candidate has a stale log and cannot win).

Limitations: only leader election is modelled. Logs are fixed when a
scenario starts; there is no client request, no log replication and no
commit, so heartbeats carry no entries and their consistency check is
skipped. Membership is fixed. The leader-crash and stale-leader scenarios
find "the leader at time t" by running the same seed and faults up to t
first, so a fault the learner adds before t can change which node they
crash or cut off.
"""

from ..kernel import Simulation, Node
from ..network import Crash, Cut, Constant, OneWay, Partition, Uniform
from ..params import seconds
from ..scenario import Scenario, register

ROLES = ("follower", "candidate", "leader")
ELECTION = (0.15, 0.30)
HEARTBEAT = 0.075
LATENCY = Uniform(0.005, 0.02)


class RaftNode(Node):
    """One Raft server, doing leader election only.

    - ``election``: the (low, high) range of election timeouts, seconds;
    - ``heartbeat``: the leader's heartbeat interval, seconds;
    - ``log``: the terms of the entries already in the log, oldest first;
    - ``first_timeout``: a fixed first election timeout, or None to draw it;
    - ``prevote``, ``check_quorum``: the two refinements (see the module).
    """

    def __init__(self, node_id, election=ELECTION, heartbeat=HEARTBEAT, log=(),
                 first_timeout=None, prevote=False, check_quorum=False):
        super().__init__(node_id)
        self.low, self.high = election
        self.heartbeat = heartbeat
        self.first_timeout = first_timeout
        self.prevote = prevote
        self.check_quorum = check_quorum
        self.durable.log = list(log)
        self.durable.term = self.durable.log[-1] if self.durable.log else 0
        self.durable.voted_for = None
        self.durable.started = False
        self.role = "follower"
        self.leader = None
        self.last_contact = None
        self.votes = set()
        self.prevotes = set()
        self.heard = set()

    # ----- the durable state, by its names in the paper -----

    @property
    def term(self):
        return self.durable.term

    @property
    def voted_for(self):
        return self.durable.voted_for

    @property
    def majority(self):
        return (len(self.peers) + 1) // 2 + 1

    def last_log(self):
        log = self.durable.log
        return len(log), (log[-1] if log else 0)

    # ----- starting -----

    def on_start(self):
        first = not self.durable.started
        self.durable.started = True
        self._record()
        if first and self.first_timeout is not None:
            self.set_timer("election", self.first_timeout)
        else:
            self.reset_election_timer()

    def reset_election_timer(self):
        self.set_timer("election", self.rng("election").uniform(self.low, self.high))

    def _record(self):
        index, term = self.last_log()
        self.record(role=self.role, term=self.term, vote=self.voted_for,
                    last_log=[index, term])

    # ----- becoming a candidate -----

    def on_timer_election(self):
        if self.prevote:
            self.start_prevote()
        else:
            self.start_election()

    def start_prevote(self):
        self.prevotes = {self.node_id}
        self.reset_election_timer()
        index, last = self.last_log()
        self.broadcast("pre-vote", {"term": self.term + 1, "last_log_index": index,
                                    "last_log_term": last})
        self._count_prevotes()

    def start_election(self):
        self.durable.term += 1
        self.durable.voted_for = self.node_id
        self.role = "candidate"
        self.leader = None
        self.votes = {self.node_id}
        self._record()

        self.reset_election_timer()
        index, last = self.last_log()
        self.broadcast("request-vote", {"term": self.term, "last_log_index": index,
                                        "last_log_term": last})
        self._count_votes()

    # ----- voting -----

    def log_ok(self, payload):
        """Whether the candidate's log is at least as up to date as ours."""
        index, last = self.last_log()
        theirs = (payload["last_log_term"], payload["last_log_index"])
        return theirs >= (last, index)

    def in_lease(self):
        """Whether a leader was heard from within the minimum timeout."""
        if self.role == "leader":
            return True
        return (self.last_contact is not None
                and self.now - self.last_contact < self.low)

    def on_request_vote(self, msg):
        term = msg.payload["term"]
        if term > self.term and self.check_quorum and self.in_lease():
            self.send(msg.src, "vote", {"term": self.term, "granted": False})
            return

        if term > self.term:
            self.step_down(term)

        granted = (term == self.term
                   and self.voted_for in (None, msg.src)
                   and self.log_ok(msg.payload))
        if granted:
            self.durable.voted_for = msg.src
            self._record()
            self.reset_election_timer()
        self.send(msg.src, "vote", {"term": self.term, "granted": granted})

    def on_vote(self, msg):
        term = msg.payload["term"]
        if term > self.term:
            self.step_down(term)
            return
        if self.role == "candidate" and term == self.term and msg.payload["granted"]:
            self.votes.add(msg.src)
            self._count_votes()

    def _count_votes(self):
        if self.role == "candidate" and len(self.votes) >= self.majority:
            self.become_leader()

    def on_pre_vote(self, msg):
        term = msg.payload["term"]
        granted = (term > self.term and not self.in_lease()
                   and self.log_ok(msg.payload))
        self.send(msg.src, "pre-vote-reply",
                  {"term": self.term, "for_term": term, "granted": granted})

    def on_pre_vote_reply(self, msg):
        payload = msg.payload
        if payload["term"] > self.term and not payload["granted"]:
            self.step_down(payload["term"])
            return
        if (self.role == "follower" and payload["granted"]
                and payload["for_term"] == self.term + 1):
            self.prevotes.add(msg.src)
            self._count_prevotes()

    def _count_prevotes(self):
        if self.role == "follower" and len(self.prevotes) >= self.majority:
            self.prevotes = set()
            self.start_election()

    # ----- leading -----

    def become_leader(self):
        self.role = "leader"
        self.leader = self.node_id
        self._record()

        self.cancel_timer("election")
        self.heard = {self.node_id}
        if self.check_quorum:
            self.set_timer("quorum", self.low)
        self.on_timer_heartbeat()

    def on_timer_heartbeat(self):
        self.broadcast("append-entries", {"term": self.term, "entries": []})
        self.set_timer("heartbeat", self.heartbeat)

    def on_append_reply(self, msg):
        term = msg.payload["term"]
        if term > self.term:
            self.step_down(term)
        elif self.role == "leader" and term == self.term:
            self.heard.add(msg.src)

    def on_timer_quorum(self):
        if len(self.heard) < self.majority:
            self.step_down(self.term)
            return
        self.heard = {self.node_id}
        self.set_timer("quorum", self.low)

    # ----- following -----

    def on_append_entries(self, msg):
        term = msg.payload["term"]
        if term < self.term:
            self.send(msg.src, "append-reply", {"term": self.term, "success": False})
            return

        if term > self.term or self.role != "follower":
            self.step_down(term)
        self.leader = msg.src
        self.last_contact = self.now
        self.reset_election_timer()
        self.send(msg.src, "append-reply", {"term": self.term, "success": True})

    def step_down(self, term):
        """Become a follower; a higher ``term`` also clears the vote."""
        was_leader = self.role == "leader"
        if term > self.term:
            self.durable.term = term
            self.durable.voted_for = None
        self.role = "follower"
        self.leader = None
        self.votes = set()
        self.prevotes = set()
        self._record()

        if was_leader:
            self.cancel_timer("heartbeat")
            self.cancel_timer("quorum")
            self.reset_election_timer()


# ----- reading elections back from a trace -----


def leaders(trace):
    """Every time a node became leader: ``(t, node, term)``, in order."""
    found = []
    role = {}
    for e in trace:
        if e["kind"] == "crash":
            role[e["node"]] = None
        elif e["kind"] == "state" and "role" in e["fields"]:
            fields = e["fields"]
            if fields["role"] == "leader" and role.get(e["node"]) != "leader":
                found.append((e["t"], e["node"], fields["term"]))
            role[e["node"]] = fields["role"]
    return found


def leaders_by_term(trace):
    """The nodes that were ever leader in each term: ``{term: [nodes]}``."""
    by_term = {}
    for _, node, term in leaders(trace):
        if node not in by_term.setdefault(term, []):
            by_term[term].append(node)
    return dict(sorted(by_term.items()))


def election_safety(trace):
    """The terms that had more than one leader (empty when the run is safe)."""
    return {term: nodes for term, nodes in leaders_by_term(trace).items()
            if len(nodes) > 1}


def states_at(trace, t):
    """The recorded ``(role, term)`` of every node up at time ``t``."""
    states = {}
    for e in trace:
        if e["t"] > t:
            break
        if e["kind"] == "crash":
            states.pop(e["node"], None)
        elif e["kind"] == "state" and "role" in e["fields"]:
            states[e["node"]] = (e["fields"]["role"], e["fields"]["term"])
    return states


def leader_at(trace, t):
    """The leader of the highest term at time ``t``, or None.

    A node that still believes it leads an older term (a stale leader) is
    not the leader: some node has already moved to a later term.
    """
    states = states_at(trace, t)
    if not states:
        return None
    top = max(term for _, term in states.values())
    for node, (role, term) in states.items():
        if role == "leader" and term == top:
            return node
    return None


def terms(trace):
    """The highest term any node reached in the run."""
    top = 0
    for e in trace:
        if e["kind"] == "state" and "term" in e["fields"]:
            top = max(top, e["fields"]["term"])
    return top


# ----- scenarios -----


def _check_range(election, heartbeat):
    if not (isinstance(election, (list, tuple)) and len(election) == 2
            and all(isinstance(x, (int, float)) for x in election)):
        raise ValueError(f"election={election!r} must be a (low, high) pair of "
                         "seconds, such as (0.15, 0.3)")
    low, high = election
    if not 0 < low <= high:
        raise ValueError(f"election={list(election)!r} is not allowed: "
                         "it needs 0 < low <= high seconds")
    if not (isinstance(heartbeat, (int, float)) and 0 < heartbeat < low):
        raise ValueError(f"heartbeat={heartbeat!r} must be > 0 and shorter than "
                         f"the minimum election timeout {low!r} s, or followers "
                         "time out between heartbeats")
    return float(low), float(high)


def _check_per_node(name, values, n):
    if values is not None and len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries for n={n} nodes: "
                         "give one per node, n1 first")


def _check_logs(logs, n):
    _check_per_node("logs", logs, n)
    for node, log in enumerate(logs or (), 1):
        terms_ok = all(isinstance(x, int) and x >= 1 for x in log)
        if not terms_ok or list(log) != sorted(log):
            raise ValueError(f"log {list(log)!r} of n{node} must list the terms of "
                             "its entries, whole numbers >= 1 that never decrease")


def add_nodes(sim, n=5, election=ELECTION, heartbeat=HEARTBEAT, logs=None,
              timeouts=None, prevote=False, check_quorum=False):
    """Add ``n`` Raft nodes ``n1``..``nn`` to ``sim``; returns their ids.

    ``logs`` gives each node's log (a list of entry terms) and ``timeouts``
    each node's first election timeout (None entries are drawn at random).
    """
    if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
        raise ValueError(f"n={n!r} must be a whole number of nodes >= 1")
    election = _check_range(election, heartbeat)
    _check_logs(logs, n)
    _check_per_node("timeouts", timeouts, n)
    for i in range(n):
        first = timeouts[i] if timeouts else None
        if first is not None and not (isinstance(first, (int, float)) and first >= 0):
            raise ValueError(f"timeouts[{i}]={first!r} must be seconds >= 0 or None")
        sim.add(RaftNode(f"n{i + 1}", election, heartbeat,
                         log=logs[i] if logs else (), first_timeout=first,
                         prevote=prevote, check_quorum=check_quorum))
    return list(sim.server_ids)


def find_leader(sim, t, **params):
    """The leader at time ``t`` of a run with ``sim``'s seed, latency and faults.

    Runs the same nodes up to ``t`` first: determinism makes that run the
    first ``t`` seconds of ``sim``'s own. Falls back to ``n1`` if no node
    leads at ``t``.
    """
    probe = Simulation(seed=sim.seed, latency=sim.latency, faults=sim.faults,
                       until=t)
    add_nodes(probe, **params)
    return leader_at(probe.run().trace, t) or "n1"


def build_election(sim, **params):
    add_nodes(sim, **params)


def build_leader_crash(sim, crash_at, recover_at, **params):
    seconds("crash_at", crash_at)
    if recover_at is not None and recover_at <= crash_at:
        raise ValueError(f"recover_at={recover_at!r} must be later than "
                         f"crash_at={crash_at!r}, or None to stay down")
    leader = find_leader(sim, crash_at, **params)
    add_nodes(sim, **params)
    sim.faults = sim.faults.with_crash(Crash(leader, crash_at, recover_at))


def build_stale_leader(sim, cut_at, heal_at, **params):
    seconds("cut_at", cut_at)
    leader = find_leader(sim, cut_at, **params)
    ids = add_nodes(sim, **params)
    minority = [leader] + [n for n in ids if n != leader][:(len(ids) - 1) // 2 - 1]
    sim.faults = sim.faults.with_cut(Partition([minority], start=cut_at,
                                               heal=heal_at))


def build_flaky_link(sim, cut_at, heal_at, oneway, **params):
    seconds("cut_at", cut_at)
    leader = find_leader(sim, cut_at, **params)
    ids = add_nodes(sim, **params)
    if len(ids) < 3:
        raise ValueError(f"n={len(ids)} is too few: a flaky link needs n >= 3")
    other = next(n for n in ids if n != leader)
    cut = (OneWay(leader, other, start=cut_at, heal=heal_at) if oneway
           else Cut(leader, other, start=cut_at, heal=heal_at))
    sim.faults = sim.faults.with_cut(cut)


NODE_PARAMS = {"n": 5, "election": list(ELECTION), "heartbeat": HEARTBEAT,
               "logs": None, "timeouts": None, "prevote": False,
               "check_quorum": False}

ELECTION_SCENARIO = register(Scenario(
    name="raft-election",
    summary="five Raft nodes elect a leader with randomized election timeouts",
    build=build_election,
    params=dict(NODE_PARAMS),
    until=1.0,
    latency=LATENCY,
))

LEADER_CRASH = register(Scenario(
    name="raft-leader-crash",
    summary="the leader crashes at 1 s; the others elect a new one in a later term",
    build=build_leader_crash,
    params={**NODE_PARAMS, "crash_at": 1.0, "recover_at": 2.0},
    until=2.5,
    latency=LATENCY,
))

SPLIT_VOTE = register(Scenario(
    name="raft-split-vote",
    summary="identical timeouts and equal delays: every election splits the vote",
    build=build_election,
    params={**NODE_PARAMS, "election": [0.15, 0.15]},
    until=1.0,
    latency=Constant(0.01),
))

STALE_LEADER = register(Scenario(
    name="raft-stale-leader",
    summary="the leader is cut off in a minority, keeps leading, steps down at heal",
    build=build_stale_leader,
    params={**NODE_PARAMS, "cut_at": 0.6, "heal_at": 1.6},
    until=2.0,
    latency=LATENCY,
))

FLAKY_LINK = register(Scenario(
    name="raft-flaky-link",
    summary="a cut link between the leader and one node makes leadership bounce",
    build=build_flaky_link,
    params={**NODE_PARAMS, "n": 3, "cut_at": 0.6, "heal_at": 2.6,
            "oneway": False},
    until=3.0,
    latency=LATENCY,
))

LOG_CHECK = register(Scenario(
    name="raft-log-check",
    summary="the first node to time out has a stale log, so it cannot win",
    build=build_election,
    params={**NODE_PARAMS, "logs": [[1, 1], [1], [1, 1], [1, 1], [1]],
            "timeouts": [0.25, 0.16, 0.22, 0.28, 0.19]},
    until=1.0,
    latency=LATENCY,
))
