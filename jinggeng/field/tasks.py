"""Background tasks of field execution (run by `jinggeng worker`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.tasks import task

from jinggeng.field.services.idempotency import requests_prune
from jinggeng.field.services.routes import plan_day_default, visits_plan_day


@task()
def field_plan_day(day: str | None = None) -> dict[str, Any]:
    """Plan the visits of ``day`` (ISO date; default today) from the routes and carry missed
    visits over. Idempotent: running it again, or after a worker restart, adds nothing. Also
    forgets device request keys older than ``FIELD_REQUEST_KEEP_DAYS``."""
    when = dt.date.fromisoformat(day) if day else plan_day_default()
    return {**visits_plan_day(day=when).as_dict(), "pruned_request_keys": requests_prune()}
