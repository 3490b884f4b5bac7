"""dsim: run distributed protocols, watch them, break them.

The public surface, in the order a learner meets it: scenarios to run,
faults to inject, the trace a run leaves, and the pieces to write a
protocol of one's own.
"""

from .clients import Client, Operation
from .clocks import LamportClock, Stamper, VectorClock
from .kernel import Message, Node, Run, Simulation
from .network import (Constant, Crash, Cut, Exponential, Faults, OneWay,
                      Partition, PerLink, Uniform)
from .scenario import Scenario, register, scenario, scenarios
from .trace import Trace

__all__ = [
    "Client", "Constant", "Crash", "Cut", "Exponential", "Faults", "Message",
    "Node", "OneWay", "Operation", "Partition", "PerLink", "Run", "Scenario",
    "Simulation", "Trace", "Uniform", "register", "scenario", "scenarios",
    "LamportClock", "Stamper", "VectorClock",
]
