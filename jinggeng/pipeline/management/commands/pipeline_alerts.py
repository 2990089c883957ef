"""`jinggeng pipeline_alerts`: run the reminder, large-deal and stale-deal checks.

Once by default (for cron); ``--every 60`` repeats every 60 seconds; ``--enqueue`` hands the
run to the background worker instead.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jinggeng.pipeline.services import pipeline_alerts_run


class Command(BaseCommand):
    help = "Send due activity reminders, large-deal and stale-deal alerts (each once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="repeat every N seconds")
        parser.add_argument("--enqueue", action="store_true", help="enqueue as a background task")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from jinggeng.pipeline.tasks import pipeline_alerts

            result = pipeline_alerts.enqueue()
            self.stdout.write(f"enqueued {result.id}")
            return
        while True:
            counts = pipeline_alerts_run()
            self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            if options["every"] <= 0:
                return
            time.sleep(options["every"])
