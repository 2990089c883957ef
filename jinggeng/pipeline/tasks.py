"""Background tasks of the sales process (run by `jinggeng worker`)."""

from __future__ import annotations

from django.tasks import task

from jinggeng.pipeline.services import pipeline_alerts_run


@task()
def pipeline_alerts() -> dict[str, int]:
    """Reminders, large-deal and stale-deal alerts, once. Each alert is sent once (dedupe keys),
    so running this again, or after a worker restart, sends nothing twice."""
    return pipeline_alerts_run()
