"""Scenarios: a protocol, a workload and defaults, runnable by name.

A scenario is the unit a learner runs and breaks: protocol + workload +
faults + seed. The faults and the seed are given per run; the rest is
fixed by the scenario and its parameters, so a run is reproduced by
``scenario.run(seed=..., faults=...)``, which is also what the explorer's
"show as code" prints.

Scenarios register themselves by name in the modules of
``dsim.protocols``; ``python -m dsim list`` shows them all.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field

from .kernel import DEFAULT_MAX_EVENTS, Simulation
from .network import Faults

_REGISTRY = {}
_LOADED = False


@dataclass(frozen=True)
class Scenario:
    """A named, parameterised recipe for a ``Simulation``.

    ``build(sim, **params)`` adds the nodes and clients; ``params`` holds
    the defaults a run may override; ``model`` names the checker model of
    the run's history (``"register"`` or ``"kv"``), if it has one.
    """

    name: str
    summary: str
    build: object
    params: dict = field(default_factory=dict)
    until: float = 10.0
    latency: object = None
    model: str = None

    def simulation(self, seed=0, faults=None, until=None, latency=None,
                   max_events=DEFAULT_MAX_EVENTS, stamper=None, **params):
        """A fresh ``Simulation`` of this scenario, ready to run."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            allowed = ", ".join(sorted(self.params)) or "none"
            raise ValueError(f"scenario {self.name!r} has no parameter "
                             f"{', '.join(unknown)}; its parameters are {allowed}")
        sim = Simulation(seed=seed, faults=faults,
                         until=self.until if until is None else until,
                         latency=self.latency if latency is None else latency,
                         max_events=max_events, stamper=stamper)
        self.build(sim, **{**self.params, **params})
        return sim

    def run(self, seed=0, faults=None, until=None, **options):
        """Run the scenario once; returns the ``Run`` with its trace."""
        run = self.simulation(seed=seed, faults=faults, until=until,
                              **options).run()
        run.scenario = self
        run.seed = seed
        run.faults = faults or Faults()
        run.until = until
        run.params = {k: v for k, v in options.items() if k in self.params}
        return run

    def as_code(self, seed=0, faults=None, until=None, **params):
        """Python lines that reproduce exactly this run."""
        args = [f"seed={seed!r}"]
        if faults is not None and not faults.empty:
            args.append(f"faults={faults.as_code()}")
        if until is not None:
            args.append(f"until={until!r}")
        args += [f"{k}={v!r}" for k, v in params.items()]
        return ("from dsim import *\n"
                f"run = scenario({self.name!r}).run({', '.join(args)})")


def register(scenario):
    """Add ``scenario`` to the registry; returns it."""
    if scenario.name in _REGISTRY:
        raise ValueError(f"two scenarios are named {scenario.name!r}")
    _REGISTRY[scenario.name] = scenario
    return scenario


def _load_all():
    global _LOADED
    if not _LOADED:
        _LOADED = True
        from . import protocols
        for info in pkgutil.iter_modules(protocols.__path__):
            importlib.import_module(f"{protocols.__name__}.{info.name}")


def scenarios():
    """Every registered scenario, by name."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def scenario(name):
    """The scenario called ``name``; an unknown name lists the known ones."""
    _load_all()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown scenario {name!r}; the scenarios are: {known}")
    return _REGISTRY[name]
