"""Clients: workloads that invoke operations and wait for replies.

A client is a node whose behaviour is a SimPy process, the workload: a
generator that invokes operations, sends requests, waits for replies or
gives up after a timeout. Every invoke and complete lands in the trace,
so every run yields a history the linearizability checker can read::

    def writer(client):
        yield from client.call("n1", "write", value=3, timeout=0.5)
        op = yield from client.call("n2", "read", timeout=0.5)
        # op.result is what n2 answered, op.ok is False on a timeout

    sim.add(Client("c1", writer))

``call`` sends a request whose type is the operation's name, so a server
answers it in ``on_write(msg)`` with ``self.reply(msg, result)``. For
protocols where the client itself coordinates (reading a quorum of
replicas, say), ``invoke``, ``send``, ``wait_for`` and ``complete`` are
the pieces ``call`` is made of.

An operation that times out completes with ``ok`` false: its effect is
unknown, and the history marks it ``complete: null``.
"""

from dataclasses import dataclass

from .kernel import Node


@dataclass
class Operation:
    """One client operation, from invoke to complete."""

    client: str
    op_id: str
    op: str
    key: object
    value: object
    invoke: float
    complete: float = None
    result: object = None
    ok: bool = None


class Client(Node):
    """A node that runs a workload and records the operations it invokes."""

    is_client = True

    def __init__(self, client_id, workload=None):
        super().__init__(client_id)
        if workload is not None and not callable(workload):
            raise ValueError(f"workload of {client_id} must be a generator "
                             f"function of the client, not {workload!r}")
        self.workload = workload
        self.operations = []
        self._inbox = []
        self._waiters = []

    def on_start(self):
        if self.workload is not None:
            self._sim.env.process(self.workload(self))

    def on_message(self, msg):
        for index, (match, event) in enumerate(self._waiters):
            if match(msg):
                del self._waiters[index]
                event.succeed(msg)
                return
        self._inbox.append(msg)

    # ----- the pieces of an operation -----

    def invoke(self, op, key=None, value=None):
        """Record that an operation starts now; returns its ``Operation``."""
        op_id = f"{self.node_id}/{len(self.operations) + 1}"
        operation = Operation(self.node_id, op_id, op, key, value, self.now)
        self.operations.append(operation)
        self._sim._log({"t": self.now, "kind": "invoke", "client": self.node_id,
                        "op_id": op_id, "op": op, "key": key, "value": value})
        return operation

    def complete(self, operation, result=None, ok=True):
        """Record that ``operation`` ended now, with ``result`` or failure."""
        operation.complete = self.now
        operation.result = result
        operation.ok = bool(ok)
        self._sim._log({"t": self.now, "kind": "complete", "client": self.node_id,
                        "op_id": operation.op_id, "op": operation.op,
                        "key": operation.key, "value": operation.value,
                        "result": result, "ok": bool(ok)})

    def sleep(self, seconds):
        """A SimPy event that fires after ``seconds``: ``yield client.sleep(1)``."""
        return self._sim.env.timeout(seconds)

    def wait_for(self, match, timeout=None):
        """A SimPy event for the next message ``match(msg)`` accepts.

        Its value is the message, or None if ``timeout`` seconds pass first.
        Messages that arrived earlier and matched nobody are looked at first.
        """
        env = self._sim.env
        event = env.event()
        for index, msg in enumerate(self._inbox):
            if match(msg):
                del self._inbox[index]
                event.succeed(msg)
                return event
        entry = (match, event)
        self._waiters.append(entry)
        if timeout is not None:
            def expire(_):
                if not event.triggered:
                    self._waiters.remove(entry)
                    event.succeed(None)
            env.timeout(timeout).callbacks.append(expire)
        return event

    def call(self, dst, op, key=None, value=None, timeout=1.0):
        """Invoke ``op`` on node ``dst`` and wait for its reply (a generator).

        Use as ``operation = yield from client.call(...)``.
        """
        operation = self.invoke(op, key, value)
        self.send(dst, op, {"op_id": operation.op_id, "op": op,
                            "key": key, "value": value})
        reply = yield self.wait_for(
            lambda m: m.type == "reply" and m.payload["op_id"] == operation.op_id,
            timeout)
        if reply is None:
            self.complete(operation, ok=False)
        else:
            self.complete(operation, reply.payload["result"], reply.payload["ok"])
        return operation
