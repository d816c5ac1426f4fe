"""``recon audit``: the periodic audit, its lock, its metrics and its webhook message.

:mod:`recon.audit.run` runs the stages; :mod:`recon.audit.lock` keeps one audit per data folder;
:mod:`recon.audit.metrics` turns findings into Prometheus metrics; :mod:`recon.audit.notify` posts
threshold breaches to a webhook; :mod:`recon.audit.thresholds` says what a breach is.
"""

from recon.audit.run import STAGES, AuditPlan, AuditResult, StageRun, parse_only, plan_audit, run_audit

__all__ = ["STAGES", "AuditPlan", "AuditResult", "StageRun", "parse_only", "plan_audit", "run_audit"]
