"""What the stages recorded, over cycles: drift history, charts and the self-contained HTML report.

``recorded`` reads what is on disk, ``history`` summarises drift over cycles (``recon history``),
``charts`` draws it with Altair and ``html`` writes ``recon report``'s page.
"""

from recon.reports.history import HistorySummary, history
from recon.reports.html import write_report

__all__ = ["HistorySummary", "history", "write_report"]
