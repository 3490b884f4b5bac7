"""Keyed random streams: every draw is named by what it is for.

A simulation never shares one random stream between unrelated decisions.
Each stream is derived from the run's seed and a key such as
``("latency", "n2")`` or ``("timer", "n3", "election")``, so the k-th
draw of a stream depends on the seed, the key and k alone. When a
learner drops one message, the streams of everything that did not
causally follow it are untouched, and so is the rest of the diagram.

Seeds are derived with BLAKE2b rather than Python's ``hash``, which is
salted per process and would break run-to-run reproducibility.
"""

import hashlib
import random


def derive_seed(seed, *key):
    """Return a 64-bit integer seed for the stream named by ``key``."""
    text = "\x1f".join([repr(seed), *map(str, key)])
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stream(seed, *key):
    """Return a ``random.Random`` for the stream named by ``key``."""
    return random.Random(derive_seed(seed, *key))
