"""`jinggeng field_coverage_alerts`: alert managers of outlets not visited within their cycle.

Once by default (for cron, daily is enough); ``--every N`` repeats every N seconds;
``--enqueue`` hands the run to the background worker instead.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jinggeng.field.services.reports import coverage_alert_send


class Command(BaseCommand):
    help = "Alert each area's managers of the outlets not visited within their cycle (once per area and day)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="repeat every N seconds")
        parser.add_argument("--enqueue", action="store_true", help="enqueue as a background task")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from jinggeng.field.tasks_reports import coverage_alerts

            result = coverage_alerts.enqueue()
            self.stdout.write(f"enqueued {result.id}")
            return
        while True:
            self.stdout.write(f"notifications={coverage_alert_send()}")
            if options["every"] <= 0:
                return
            time.sleep(options["every"])
