"""The simulation kernel: nodes as handlers, a faulty network, a trace.

A ``Simulation`` owns a ``simpy.Environment``. SimPy schedules every
delivery, timer and client step; the kernel adds message ids, latency,
faults, crashes and the record of what happened.

Nodes are written the way protocol papers write them: a handler per
message type (``on_vote(msg)`` for type ``"vote"``), a handler per timer
(``on_timer_election()`` for the timer ``"election"``), and the actions
``send``, ``broadcast``, ``set_timer``, ``cancel_timer``, ``record``.

State and crashes follow one rule. Whatever ``__init__`` sets is the
state a node starts with; ``self.durable`` is the part that survives a
crash. When a node crashes it loses its pending timers and every other
attribute returns to what ``__init__`` set; when it recovers,
``on_recover`` runs (by default the same as ``on_start``)::

    class Counter(Node):
        def __init__(self, node_id):
            super().__init__(node_id)
            self.durable.total = 0   # kept across a crash
            self.seen = 0            # lost in a crash

Determinism: the k-th message of a node is ``"<node>:<k>"`` and draws its
latency and its drop chance from streams keyed by the sender, so the same
scenario, seed and faults give the same trace, and dropping one message
changes only what causally follows the moment it would have arrived: the
receiver's later steps, and what they reach in turn.

Limitations: when two events fall on exactly the same simulated instant
at one node, they run in the order SimPy scheduled them. Continuous
latency models make such ties vanishingly rare; with ``Constant`` latency
a counterfactual run may order tied events differently.
"""

import copy
import gc
import types

import simpy
from simpy.events import NORMAL

from .network import Faults, Uniform
from .params import seconds, whole
from .randomness import stream
from .trace import Trace

DEFAULT_LATENCY = Uniform(0.01, 0.03)
DEFAULT_UNTIL = 60.0
DEFAULT_MAX_EVENTS = 1_000_000


class Message:
    """A message on the wire: ``id``, ``src``, ``dst``, ``type``, ``payload``.

    The kernel also keeps on it when it was ``sent``, when it ``arrived``
    (or was lost), why it was ``lost``, and the clock ``stamps`` it carries.

    A message in flight is itself the event of its arrival on SimPy's
    queue: SimPy's ``step`` reads an event's ``callbacks``, ``_ok`` and
    ``_value`` and nothing else, and a message carries exactly those. One
    small object per message, scheduled once, keeps the kernel's cost per
    message close to SimPy's own. (Nothing waits on a message event, so it
    is not a ``simpy.Event`` and cannot be yielded from a process.)
    """

    __slots__ = ("n", "src", "dst", "type", "payload", "sent", "arrived", "lost",
                 "stamps", "received_stamps", "callbacks")
    _ok = True  # read by SimPy's step, with _value: an arrival never fails
    _value = None

    def __init__(self, src, n, dst, mtype, payload, now):
        self.n = n
        self.src = src
        self.dst = dst
        self.type = mtype
        self.payload = payload
        self.sent = now

    # Set only when they apply; read them with getattr(msg, name, None).
    # arrived: when it arrived or was lost; lost: why it was lost;
    # stamps and received_stamps: clocks at the send and at the delivery.

    @property
    def id(self):
        """The readable id: the sender and its own count, such as ``"n2:7"``."""
        return f"{self.src}:{self.n}"

    def __repr__(self):
        return (f"<Message {self.id} {self.src}->{self.dst} {self.type} "
                f"{self.payload!r}>")


_new = object.__new__

# What a crash leaves alone: the durable state and the kernel's own links.
_KERNEL_ATTRS = ("durable", "_sim", "_host")


class BoundReached(Exception):
    """Raised inside a run when it passes its maximum event count."""


class _Host:
    """The kernel's bookkeeping for one node; survives the node's crashes."""

    __slots__ = ("sent", "timers", "generation", "crashed", "state",
                 "streams", "initial", "delay", "drop_rng", "handlers",
                 "draw", "low", "span", "node_id", "sim", "env", "append",
                 "schedule", "arrivals", "fast")

    def __init__(self, node_id, sim):
        # what every send reads, kept in slots: the message path's cost is here
        self.node_id = node_id
        self.sim = sim
        self.env = sim.env
        self.append = sim._records.append
        self.schedule = sim.env.schedule
        self.arrivals = sim._arrivals
        self.fast = False
        self.handlers = {}
        self.low = self.span = None
        self.sent = 0
        self.timers = {}
        self.generation = 0
        self.crashed = False
        self.state = {}
        self.streams = {}
        self.initial = None


class Node:
    """A process of the distributed system, written as handlers."""

    is_client = False

    def __init__(self, node_id):
        if not isinstance(node_id, str) or not node_id or ":" in node_id:
            raise ValueError(f"node id {node_id!r} must be a non-empty name "
                             "without ':' (for example 'n1')")
        self.node_id = node_id
        self.durable = types.SimpleNamespace()
        self._sim = None
        self._host = None

    # ----- handlers a protocol overrides -----

    def on_start(self):
        """Runs at time zero, in the order the nodes were added."""

    def on_recover(self):
        """Runs when the node restarts after a crash; volatile state is fresh."""
        self.on_start()

    def on_message(self, msg):
        """Hands ``msg`` to ``on_<type>``; override for other dispatch."""
        self._typed_handler(msg.type)(msg)

    def _handler(self, mtype):
        """What the kernel calls for a message of type ``mtype``, found once."""
        handlers = self._host.handlers
        if mtype not in handlers:
            if type(self).on_message is not Node.on_message:
                handlers[mtype] = self.on_message
            else:
                handlers[mtype] = self._typed_handler(mtype)
        return handlers[mtype]

    def _typed_handler(self, mtype):
        name = "on_" + mtype.replace("-", "_")
        handler = getattr(self, name, None)
        if handler is None:
            raise TypeError(f"node {self.node_id} ({type(self).__name__}) "
                            f"has no handler {name}() for messages of "
                            f"type {mtype!r}")
        return handler

    def on_timer(self, name):
        """Hands a fired timer to ``on_timer_<name>``."""
        handler = getattr(self, "on_timer_" + name.replace("-", "_"), None)
        if handler is None:
            raise TypeError(f"node {self.node_id} ({type(self).__name__}) has no "
                            f"handler on_timer_{name}() for its timer")
        handler()

    # ----- actions -----

    @property
    def now(self):
        """Simulated time in seconds."""
        return self._sim.env._now

    @property
    def peers(self):
        """The other server nodes (clients excluded), in the order added."""
        return [n for n in self._sim.server_ids if n != self.node_id]

    def send(self, dst, type, payload=None):
        """Send a message to ``dst``; returns the ``Message`` (``.id`` is "n1:4")."""
        host = self._host
        n = host.sent = host.sent + 1
        now = host.env._now
        # Message(host.node_id, n, dst, type, payload, now), written out:
        # this line runs for every message, and a call to __init__ costs more
        msg = _new(Message)
        msg.n = n
        msg.src = host.node_id
        msg.dst = dst
        msg.type = type
        msg.payload = payload
        msg.sent = now
        sim = host.sim
        sim._room -= 2  # room for the send and for its arrival or loss
        if sim._room < 0:
            raise BoundReached()
        # (callables held in slots are read into locals before the call:
        # the interpreter calls them faster that way)
        if host.span is None:
            delay_of = host.delay
            delay = delay_of(dst)
        else:
            draw = host.draw
            delay = host.low + host.span * draw()
        if host.fast:
            # No faults and no clocks: on arrival SimPy itself records the
            # message and calls the receiver's handler. SimPy only reads an
            # event's callbacks, so one list per receiver and type serves all.
            append = host.append
            append(msg)
            msg.arrived = now + delay
            msg.callbacks = (host.arrivals.get((dst, type))
                             or sim._arrival(host, dst, type))
        elif sim._send_with_faults(host, msg, delay):
            return msg
        schedule = host.schedule
        schedule(msg, NORMAL, delay)
        return msg

    def broadcast(self, type, payload=None, to=None):
        """Send the same message to every peer (or to ``to``); returns them."""
        targets = self.peers if to is None else to
        return [self.send(dst, type, payload) for dst in targets]

    def set_timer(self, name, delay):
        """Fire ``on_timer_<name>`` after ``delay`` s, replacing a pending one."""
        if not delay >= 0:
            raise ValueError(f"timer {name!r} on {self.node_id}: delay {delay!r} "
                             "must be >= 0 seconds")
        self._sim._set_timer(self, name, delay)

    def cancel_timer(self, name):
        """Forget the pending timer ``name``, if any."""
        self._host.timers.pop(name, None)

    def timer_pending(self, name):
        return name in self._host.timers

    def rng(self, key="default"):
        """This node's random stream for ``key``; the k-th draw is fixed."""
        streams = self._host.streams
        if key not in streams:
            streams[key] = stream(self._sim.seed, "node", self.node_id, key)
        return streams[key]

    def record(self, **fields):
        """Record state the diagram shows, such as ``role`` and ``term``."""
        state = self._host.state
        state.update(fields)
        self._sim._log({"t": self._sim.env._now, "kind": "state",
                        "node": self.node_id, "fields": dict(state)})

    @property
    def recorded(self):
        """The fields recorded so far (a copy)."""
        return dict(self._host.state)

    def reply(self, request, result=None, ok=True):
        """Answer a client's request message with its result."""
        payload = {"op_id": request.payload["op_id"], "result": result, "ok": ok}
        return self.send(request.src, "reply", payload)


class Simulation:
    """One run: nodes, clients, a network, faults and bounds.

    - ``seed``: names every random stream of the run;
    - ``latency``: a model from ``dsim.network`` (default uniform 10-30 ms);
    - ``faults``: a ``Faults`` plan;
    - ``until``: the time bound in seconds;
    - ``max_events``: the bound on trace events, against runaway protocols;
    - ``stamper``: optional clocks that stamp every send and deliver.
    """

    def __init__(self, seed=0, latency=None, faults=None, until=DEFAULT_UNTIL,
                 max_events=DEFAULT_MAX_EVENTS, stamper=None):
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed {seed!r} must be an integer")
        seconds("until", until)
        whole("max_events", max_events)
        if faults is not None and not isinstance(faults, Faults):
            raise ValueError(f"faults={faults!r} must be a dsim Faults plan")
        latency = DEFAULT_LATENCY if latency is None else latency
        if not hasattr(latency, "sample"):
            raise ValueError(f"latency={latency!r} is not a latency model "
                             "(Constant, Uniform, Exponential or PerLink)")
        self.seed = seed
        self.latency = latency
        self.faults = faults or Faults()
        self.until = float(until)
        self.max_events = max_events
        self.stamper = stamper
        self.env = simpy.Environment()
        self.nodes = {}
        self.server_ids = []
        self.client_ids = []
        self._records = []
        self._arrivals = {}
        self._hosts = {}
        self._ran = False
        self._room = max_events
        self._lossy = False
        self._deliver_callback = self._deliver

    # ----- building -----

    def add(self, *nodes):
        """Add nodes (servers or clients); returns the first, or all of them."""
        for node in nodes:
            if not isinstance(node, Node):
                raise ValueError(f"{node!r} is not a dsim Node")
            if node.node_id in self.nodes:
                raise ValueError(f"two nodes are named {node.node_id!r}")
            node._sim = self
            node._host = self._hosts[node.node_id] = _Host(node.node_id, self)
            self.nodes[node.node_id] = node
            ids = self.client_ids if node.is_client else self.server_ids
            ids.append(node.node_id)
        return nodes[0] if len(nodes) == 1 else list(nodes)

    def node(self, node_id):
        if node_id not in self.nodes:
            raise ValueError(f"unknown node {node_id!r}: the nodes are "
                             f"{', '.join(self.nodes)}")
        return self.nodes[node_id]

    # ----- running -----

    def run(self):
        """Run to quiet or to a bound; returns the ``Run`` with its trace."""
        if self._ran:
            raise RuntimeError("a Simulation runs once; build a new one to re-run")
        self._ran = True
        self._check_faults()
        self._prepare()
        collecting = gc.isenabled()
        gc.disable()  # the trace only grows; scanning it again and again is waste
        try:
            end = self._run_bounded()
        finally:
            if collecting:
                gc.enable()
        self._records.append(end)
        return Run(Trace.from_records(self._records), end)

    def _check_faults(self):
        unknown = sorted(self.faults.node_ids() - set(self.nodes))
        if unknown:
            raise ValueError(f"the faults name unknown node(s) {', '.join(unknown)}: "
                             f"the nodes are {', '.join(self.nodes)}")
        for crash in self.faults.crashes:
            if self.nodes[crash.node].is_client:
                raise ValueError(f"cannot crash {crash.node}: it is a client, and "
                                 "only server nodes crash")
        links = getattr(self.latency, "node_ids", lambda: set())()
        if links - set(self.nodes):
            names = ", ".join(sorted(links - set(self.nodes)))
            raise ValueError(f"the latency model names unknown node(s) {names}")

    def _prepare(self):
        faults = self.faults
        self._lossy = not faults.empty
        self._drop_ids = set(faults.drop)
        self._room = self.max_events
        fast = not self._lossy and self.stamper is None
        crashing = {crash.node for crash in faults.crashes}
        for node in self.nodes.values():
            host = node._host
            draw = stream(self.seed, "latency", node.node_id).random
            host.delay = _delay_function(self.latency, node.node_id, draw)
            host.draw = draw
            if type(self.latency) is Uniform:  # the common case, inlined in send
                host.low = self.latency.low
                host.span = self.latency.high - self.latency.low
            host.drop_rng = stream(self.seed, "drop", node.node_id).random
            if node.node_id in crashing:
                # only then: reading vars() slows every later attribute access
                host.initial = copy.deepcopy(
                    {k: v for k, v in vars(node).items() if k not in _KERNEL_ATTRS})
        self._log({"t": 0.0, "kind": "start", "seed": self.seed,
                   "nodes": list(self.server_ids), "clients": list(self.client_ids)})
        for cut in faults.cuts:
            self._schedule_at(cut.start, self._log,
                              {"t": cut.start, "kind": "partition", **cut.describe()})
            if cut.heal is not None:
                self._schedule_at(cut.heal, self._log,
                                  {"t": cut.heal, "kind": "heal", **cut.describe()})
        for crash in faults.crashes:
            self._schedule_at(crash.at, self._crash, crash.node)
            if crash.recover is not None:
                self._schedule_at(crash.recover, self._recover, crash.node)
        for node in self.nodes.values():
            node._host.fast = fast
            self._schedule_at(0.0, self._start, node)

    def _arrival(self, host, dst, type):
        """The callbacks for messages of ``type`` arriving at ``dst``."""
        if dst not in self.nodes:
            raise ValueError(f"{host.node_id} sent {type} to unknown node {dst!r}: "
                             f"the nodes are {', '.join(self.nodes)}")
        callbacks = [host.append, self.nodes[dst]._handler(type)]
        self._arrivals[(dst, type)] = callbacks
        return callbacks

    def _send_with_faults(self, host, msg, delay):
        """The general path: clocks, faults, and a check at arrival.

        Returns True when the message is lost and already scheduled as such.
        """
        if msg.dst not in self.nodes:
            raise ValueError(f"{msg.src} sent {msg.type} to unknown node "
                             f"{msg.dst!r}: the nodes are {', '.join(self.nodes)}")
        self._records.append(msg)
        if self.stamper is not None:
            msg.stamps = self.stamper.on_send(msg.src)
        if self._lossy and self._lose_if_faulty(msg, host, delay):
            return True
        msg.callbacks = [self._deliver_callback]
        return False

    def _run_bounded(self):
        env = self.env
        stop = env.event()
        stop._ok, stop._value = True, None
        env.schedule(stop, simpy.events.URGENT, self.until)
        try:
            env.run(until=stop)
        except BoundReached:
            return {"t": env.now, "kind": "end", "reason": "max_events",
                    "message": (f"stopped at t={env.now:.6g} s: the run reached "
                                f"its bound of {self.max_events} events, counting "
                                "messages in flight (max_events); raise it "
                                "with max_events=... or "
                                "--max-events N if the run is meant to be longer")}
        if any(item[3] is not stop for item in env._queue):
            return {"t": env.now, "kind": "end", "reason": "until",
                    "message": (f"stopped at the time bound until={self.until:g} s "
                                "with events still scheduled; raise it with "
                                "until=... or --until T to see more")}
        last = self._records[-1]
        if isinstance(last, dict):
            t = last["t"]
        else:
            t = getattr(last, "arrived", last.sent)
        return {"t": t, "kind": "end", "reason": "quiet",
                "message": f"ran until nothing was left to do, at t={t:.6g} s"}

    def _schedule_at(self, t, fn, arg):
        ev = self.env.timeout(t - self.env.now, arg)
        ev.callbacks.append(lambda e: fn(e._value))

    # ----- the message path (kept lean: it runs once per message) -----

    def _log(self, record):
        self._room -= 1
        if self._room < 0:
            raise BoundReached()
        self._records.append(record)

    def _lose_if_faulty(self, msg, host, delay):
        """Schedule the loss of ``msg`` if a fault takes it; says whether."""
        lost = self._loss(msg, host, delay)
        if lost is None:
            return False
        msg.lost = lost[1]
        msg.callbacks = [self._lose]
        self.env.schedule(msg, NORMAL, lost[0] - msg.sent)
        return True

    def _loss(self, msg, host, delay):
        """When and why ``msg`` is lost, as ``(time, reason)``, or None."""
        faults = self.faults
        now = msg.sent
        rate_hit = faults.drop_rate and host.drop_rng() < faults.drop_rate
        if msg.id in self._drop_ids:
            return (now + delay / 2, "manual")
        for rule in faults.drop_if:
            if rule(msg):
                return (now + delay / 2, "rule")
        if rate_hit:
            return (now + delay / 2, "rate")
        arrives = now + delay
        losses = [c.loss_time(msg.src, msg.dst, now, arrives) for c in faults.cuts]
        losses = [t for t in losses if t is not None]
        if losses:
            return (min(losses), "partition")
        return None

    def _lose(self, msg):
        msg.arrived = self.env._now
        self._records.append(msg)

    def _deliver(self, msg):
        host = self._hosts[msg.dst]
        msg.arrived = self.env._now
        if host.crashed:
            msg.lost = "crashed"
            self._records.append(msg)
            return
        if self.stamper is not None:
            msg.received_stamps = self.stamper.on_deliver(msg.dst, msg.stamps)
        self._records.append(msg)
        handler = host.handlers.get(msg.type)
        if handler is None:
            handler = self.nodes[msg.dst]._handler(msg.type)
        handler(msg)

    # ----- timers, crashes, recovery -----

    def _set_timer(self, node, name, delay):
        host = node._host
        host.generation += 1
        token = host.generation
        host.timers[name] = token
        ev = self.env.timeout(delay)
        ev.callbacks.append(lambda e: self._fire(node, name, token))

    def _fire(self, node, name, token):
        host = node._host
        if host.crashed or host.timers.get(name) != token:
            return
        del host.timers[name]
        self._log({"t": self.env._now, "kind": "timer",
                   "node": node.node_id, "name": name})
        node.on_timer(name)

    def _start(self, node):
        if not node._host.crashed:
            node.on_start()

    def _crash(self, node_id):
        node = self.nodes[node_id]
        host = node._host
        if host.crashed:
            return
        host.crashed = True
        host.timers.clear()
        host.state = {}
        self._log({"t": self.env._now, "kind": "crash", "node": node_id})
        kept = {k: vars(node)[k] for k in _KERNEL_ATTRS}
        vars(node).clear()
        vars(node).update(copy.deepcopy(host.initial))
        vars(node).update(kept)

    def _recover(self, node_id):
        node = self.nodes[node_id]
        if not node._host.crashed:
            return
        node._host.crashed = False
        self._log({"t": self.env._now, "kind": "recover", "node": node_id})
        node.on_recover()


def _delay_function(latency, src, draw):
    """A function of ``dst`` giving the next delay of ``src``'s messages."""
    sample = latency.sample
    return lambda dst: sample(src, dst, draw())


class Run:
    """The outcome of one run: its trace and how it ended."""

    def __init__(self, trace, end):
        self.trace = trace
        self.end = end["reason"]
        self.message = end["message"]
        self.scenario = None
        self.seed = None
        self.faults = None
        self.until = None
        self.params = {}

    def as_code(self):
        """Python lines that reproduce this run (for a scenario's runs)."""
        if self.scenario is None:
            raise ValueError("this run was not made from a named scenario")
        return self.scenario.as_code(self.seed, self.faults, self.until,
                                     **self.params)

    def history(self, model="register", initial=None):
        """The client operations, in the checker's history format."""
        return self.trace.history(model=model, initial=initial)

    def __repr__(self):
        return f"<Run {len(self.trace)} events, ended: {self.end}>"
