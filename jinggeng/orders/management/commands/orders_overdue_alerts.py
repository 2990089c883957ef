"""`jinggeng orders_overdue_alerts`: notify overdue receivables (once per order and bucket).

Once by default (for cron, daily is enough); ``--every N`` repeats every N seconds;
``--enqueue`` hands the run to the background worker instead.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jinggeng.orders.services import receivables_alert_overdue


class Command(BaseCommand):
    help = "Notify the owners and managers of overdue receivables (each order and ageing bucket once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=int, default=0, help="repeat every N seconds")
        parser.add_argument("--enqueue", action="store_true", help="enqueue as a background task")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from jinggeng.orders.tasks import overdue_receivable_alerts

            result = overdue_receivable_alerts.enqueue()
            self.stdout.write(f"enqueued {result.id}")
            return
        while True:
            self.stdout.write(f"notifications={receivables_alert_overdue()}")
            if options["every"] <= 0:
                return
            time.sleep(options["every"])
