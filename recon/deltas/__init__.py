"""Delta correctness: a filtered (incremental) export judged against two full snapshots.

``run`` is the use case behind ``recon deltas``; what counts as a change is ``recon.content``.
"""

from recon.deltas.run import DeltaSummary, deltas

__all__ = ["DeltaSummary", "deltas"]
