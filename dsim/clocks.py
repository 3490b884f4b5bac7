"""Logical clocks: Lamport clocks, vector clocks, and a stamper for runs.

A logical clock counts events, not seconds. Lamport's clock (Lamport,
"Time, Clocks, and the Ordering of Events in a Distributed System", 1978)
is one counter per node: tick before every event, and on receipt jump
past the counter the message carries. If ``a`` happened before ``b`` then
``L(a) < L(b)``; the converse does not hold, so a Lamport clock cannot
tell "caused" from "concurrent". Ordering by ``(L, node)`` gives a total
order consistent with causality.

A vector clock (Fidge 1988, Mattern 1989) keeps one counter per node.
Tick your own entry at every event; on receipt take the entry-wise
maximum with the carried vector, then tick. Now the converse holds:
``a`` happened before ``b`` exactly when ``V(a) < V(b)`` entry-wise, so
comparing two vectors says ``before``, ``after``, ``equal`` or
``concurrent``. A worked timeline, three nodes a, b, c::

    a: send m1  ->  L=1 V={a:1}
    b: send m2  ->  L=1 V={b:1}          (concurrent with a's send)
    c: deliver m1  L=2 V={a:1, c:1}
    c: deliver m2  L=3 V={a:1, b:1, c:2}  (after both sends)

``Stamper`` attaches both clocks to any run: ``Simulation(stamper=...)``
or ``scenario.run(stamper=Stamper())`` stamps every send and deliver
event with ``lamport`` (an int) and ``vclock`` (node -> int), and the
message carries the sender's stamps to its receiver.

Limitations: only sends and deliveries tick the clocks; timers and state
changes are local events the kernel does not stamp. The stamper keeps
the clocks outside the nodes, so a node's clocks survive its crashes, as
if kept on disk; a real node that kept them in memory would restart at
zero and could hand out stamps that break the guarantees above. A vector
clock grows with the number of nodes, which is why large systems use
version vectors per replica or hybrid clocks instead.
"""

RELATIONS = ("before", "after", "equal", "concurrent")


def _check_node(node_id):
    if not isinstance(node_id, str) or not node_id:
        raise ValueError(f"node id {node_id!r} must be a non-empty name "
                         "(for example 'n1')")
    return node_id


def _check_count(node_id, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"vector clock entry {node_id!r}: {value!r} must be "
                         "a whole number >= 0")
    return value


class LamportClock:
    """One node's Lamport clock: a counter, with the node id to break ties.

    ``tick()`` for a local event or a send; ``receive(carried)`` for a
    delivery, which takes ``max(own, carried) + 1``.
    """

    __slots__ = ("node_id", "value")

    def __init__(self, node_id, value=0):
        self.node_id = _check_node(node_id)
        self.value = _check_count(node_id, value)

    def tick(self):
        """Count one event here; returns the new value."""
        self.value += 1
        return self.value

    def receive(self, carried):
        """Count a delivery of a message stamped ``carried``."""
        _check_count("carried", carried)
        self.value = max(self.value, carried) + 1
        return self.value

    @property
    def key(self):
        """The total-order key ``(value, node_id)``: ties go by node id."""
        return (self.value, self.node_id)

    def __repr__(self):
        return f"LamportClock({self.node_id!r}, {self.value})"


class VectorClock:
    """An immutable vector clock: a count of events per node.

    Missing entries count as zero, so ``VectorClock({"a": 1})`` equals
    ``VectorClock({"a": 1, "b": 0})``.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries=None):
        if isinstance(entries, VectorClock):
            entries = entries._entries
        entries = dict(entries or {})
        for node_id, count in entries.items():
            _check_node(node_id)
            _check_count(node_id, count)
        self._entries = entries

    def __getitem__(self, node_id):
        return self._entries.get(node_id, 0)

    def tick(self, node_id):
        """This clock after one more event at ``node_id``."""
        _check_node(node_id)
        entries = dict(self._entries)
        entries[node_id] = entries.get(node_id, 0) + 1
        return VectorClock(entries)

    def merge(self, other):
        """The entry-wise maximum of this clock and ``other``."""
        other = VectorClock(other)
        entries = dict(self._entries)
        for node_id, count in other._entries.items():
            entries[node_id] = max(entries.get(node_id, 0), count)
        return VectorClock(entries)

    def compare(self, other):
        """``'before'``, ``'after'``, ``'equal'`` or ``'concurrent'``."""
        return compare(self, other)

    def as_dict(self, nodes=None):
        """The entries as a plain dict; with ``nodes``, one entry for each."""
        if nodes is None:
            return dict(self._entries)
        return {n: self[n] for n in nodes} | {
            n: c for n, c in self._entries.items() if n not in nodes}

    def __eq__(self, other):
        if isinstance(other, dict):
            other = VectorClock(other)
        return isinstance(other, VectorClock) and compare(self, other) == "equal"

    def __hash__(self):
        return hash(frozenset((n, c) for n, c in self._entries.items() if c))

    def __repr__(self):
        return f"VectorClock({self._entries!r})"


def compare(a, b):
    """How vector clock ``a`` relates to ``b`` (dicts or ``VectorClock``).

    - ``'before'``: every entry of ``a`` <= ``b``'s, and one is smaller;
    - ``'after'``: the same the other way round;
    - ``'equal'``: all entries equal;
    - ``'concurrent'``: each has an entry larger than the other's.
    """
    a = VectorClock(a)._entries
    b = VectorClock(b)._entries
    smaller = larger = False
    for node_id in a.keys() | b.keys():
        x, y = a.get(node_id, 0), b.get(node_id, 0)
        smaller |= x < y
        larger |= x > y
    if smaller and larger:
        return "concurrent"
    if smaller:
        return "before"
    return "after" if larger else "equal"


def format_vclock(vclock, nodes=None):
    """A compact text form such as ``[2,0,1]`` (in ``nodes`` order) or ``{a:2}``."""
    clock = VectorClock(vclock)
    if nodes is None:
        inner = ", ".join(f"{n}:{c}" for n, c in sorted(clock.as_dict().items()))
        return "{" + inner + "}"
    return "[" + ",".join(str(clock[n]) for n in nodes) + "]"


class Stamper:
    """Both clocks for every node of one run, as the kernel's stamper.

    The kernel calls ``on_send(node_id)`` when a node sends (the result
    is added to the send event and carried by the message) and
    ``on_deliver(node_id, carried)`` when a message is delivered (the
    result is added to the deliver event). With ``nodes``, every vector
    lists all of them, zeros included, which reads better on a diagram.

    A stamper belongs to one run: give each run a fresh one.
    """

    def __init__(self, nodes=None):
        self.nodes = None if nodes is None else [_check_node(n) for n in nodes]
        self.lamport = {}
        self.vector = {}

    def _clocks(self, node_id):
        if node_id not in self.lamport:
            self.lamport[node_id] = LamportClock(node_id)
            self.vector[node_id] = VectorClock()
        return self.lamport[node_id], self.vector[node_id]

    def _stamps(self, node_id):
        return {"lamport": self.lamport[node_id].value,
                "vclock": self.vector[node_id].as_dict(self.nodes)}

    def on_send(self, node_id):
        """Tick ``node_id``'s clocks for a send; returns the stamps."""
        lamport, vector = self._clocks(node_id)
        lamport.tick()
        self.vector[node_id] = vector.tick(node_id)
        return self._stamps(node_id)

    def on_deliver(self, node_id, carried):
        """Merge the ``carried`` stamps into ``node_id``'s clocks, then tick."""
        lamport, vector = self._clocks(node_id)
        if carried:
            lamport.receive(carried["lamport"])
            vector = vector.merge(carried["vclock"])
        else:
            lamport.tick()
        self.vector[node_id] = vector.tick(node_id)
        return self._stamps(node_id)
