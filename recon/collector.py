"""Python's cyclic garbage collector paused while a stage builds large, acyclic structures
(bulk plans and analyses, the simulator's model and exports)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off inside the block (reference counting still frees memory);
    what exists at its end is left out of later collections (``gc.freeze``).

    A plan, an analysis or a simulation allocates millions of small dicts, lists and records that
    live until the end and hold no reference cycles; the collector's repeated passes over them
    cost more than building them (measured: about half of a 1M-user plan's Python time; at 1M
    users a simulation's findings and a cycle's sync took 15-60x their 100k time). Enabled again
    with them in its youngest generation, it would walk them all again in each generation and
    once more in every full collection while the caller builds on them (measured: 1.9 s of
    reading a 1M-user plan back and pairing each operation with a result, against 0.65 s with
    the walks left out). So they are frozen: reference counting still frees them; only cyclic
    garbage alive at the end of the block is kept until the next block starts (which unfreezes
    what the previous one froze), a bounded cost for a command that exits afterwards.
    """
    gc.unfreeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
