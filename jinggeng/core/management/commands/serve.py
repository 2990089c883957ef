"""`jinggeng serve`: the production-style web server (gunicorn), or Django's dev server."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Jinggeng over HTTP (gunicorn); --dev uses Django's auto-reloading server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
        parser.add_argument("--dev", action="store_true", help="Django's development server")

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        self.stdout.write(f"Jinggeng on http://{bind}/  (API docs: http://{bind}/api/v1/docs)")
        if options["dev"]:
            call_command("runserver", bind)
            return
        if not settings.DEBUG and settings.STORAGES["staticfiles"]["BACKEND"].startswith("whitenoise"):
            call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            "gunicorn",
            "config.wsgi:application",
            "--config",
            "python:config.gunicorn",
            "--bind",
            bind,
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            "--timeout",
            "120",
        ]
        os.execvp(sys.executable, [sys.executable, "-m", *argv])  # noqa: S606
