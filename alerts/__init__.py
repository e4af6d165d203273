"""Slack alerts: rules are dbt models (marts.alert_candidates), this package renders and sends them.

`run_alerts(settings, dry_run, digest)` is the one entry point (`gtm alerts`, `gtm run`, `gtm demo`).
"""

from alerts.runner import AlertRun, run_alerts

__all__ = ["AlertRun", "run_alerts"]
