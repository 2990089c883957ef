"""Background tasks of order to cash (run by `jinggeng worker`)."""

from __future__ import annotations

from django.tasks import task

from jinggeng.orders.services import receivables_alert_overdue


@task()
def overdue_receivable_alerts() -> int:
    """Notify owners and their managers of overdue receivables, once per order and ageing bucket
    (dedupe keys), so running it again, or after a worker restart, sends nothing twice."""
    return receivables_alert_overdue()
