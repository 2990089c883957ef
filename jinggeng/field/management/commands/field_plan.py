"""`jinggeng field_plan`: plan a day's visits from the routes (七定) and carry missed ones over.

Plans today by default (run it early every morning from cron); ``--day YYYY-MM-DD`` plans
another day, ``--rep USERNAME`` (repeatable) only some reps, ``--every N`` repeats every N seconds
(planning the current day each time, so a long-running process needs no cron), ``--enqueue``
hands the run to the background worker. Idempotent: a second run creates nothing more.
Each run also forgets device request keys older than ``FIELD_REQUEST_KEEP_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jinggeng.field.services.idempotency import requests_prune
from jinggeng.field.services.routes import plan_day_default, visits_plan_day


class Command(BaseCommand):
    help = "Create the planned visits of a day from the routes; mark and carry over missed visits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", default="", help="the day to plan, YYYY-MM-DD (default: today)")
        parser.add_argument("--rep", action="append", default=[], help="plan only this rep (username); repeatable")
        parser.add_argument("--every", type=int, default=0, help="repeat every N seconds (plans the current day)")
        parser.add_argument("--enqueue", action="store_true", help="enqueue as a background task")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["day"]) if options["day"] else plan_day_default()
        except ValueError:
            raise CommandError(f"--day must be a date as YYYY-MM-DD, not {options['day']!r}") from None
        reps = None
        if options["rep"]:
            users = list(get_user_model().objects.filter(username__in=options["rep"]))
            unknown = sorted(set(options["rep"]) - {u.username for u in users})
            if unknown:
                raise CommandError(f"unknown users: {', '.join(unknown)}")
            reps = users
        if options["enqueue"]:
            if reps is not None:
                raise CommandError("--enqueue plans every rep; leave out --rep")
            from jinggeng.field.tasks import field_plan_day

            result = field_plan_day.enqueue(day.isoformat())
            self.stdout.write(f"enqueued {result.id}")
            return
        while True:
            plan = visits_plan_day(day=day, reps=reps)
            pruned = requests_prune() if reps is None else 0
            self.stdout.write(
                f"day={plan.day} created={plan.created} missed={plan.missed} carried={plan.carried} "
                f"pruned_request_keys={pruned}"
            )
            if options["every"] <= 0:
                return
            time.sleep(options["every"])
            if not options["day"]:
                day = plan_day_default()
