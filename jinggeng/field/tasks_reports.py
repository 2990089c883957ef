"""Background tasks of the reports part of the field app (run by `jinggeng worker`)."""

from __future__ import annotations

from django.tasks import task

from jinggeng.field.services.reports import coverage_alert_send


@task()
def coverage_alerts() -> int:
    """Tell each area's responsible managers how many outlets were not visited within their
    cycle (未访问客户), once per area and day (dedupe keys), so running it again, or after a
    worker restart, sends nothing twice."""
    return coverage_alert_send()
