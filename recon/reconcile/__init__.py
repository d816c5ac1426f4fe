"""Reconcile one source against one target for a cycle: findings with evidence.

``run`` is the use case behind ``recon reconcile``; ``correlation`` matches target accounts to
source users by the ordered rules of ``[reconcile.<source>.<target>]``.

``reconcile`` and ``ReconcileSummary`` are imported on first use (PEP 562), so that a user of
``correlation`` alone (``recon bulk plan``) does not load the export validation of ``run``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.reconcile.run import ReconcileSummary, reconcile

__all__ = ["ReconcileSummary", "reconcile"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from recon.reconcile import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
