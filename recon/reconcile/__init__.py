"""Reconcile one source against one target for a cycle: findings with evidence.

``run`` is the use case behind ``recon reconcile``; ``correlation`` matches target accounts to
source users by the ordered rules of ``[reconcile.<source>.<target>]``.
"""

from recon.reconcile.run import ReconcileSummary, reconcile

__all__ = ["ReconcileSummary", "reconcile"]
