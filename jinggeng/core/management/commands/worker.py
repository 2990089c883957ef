"""`jinggeng worker`: run the background task worker (database backend)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background task worker; --background starts it detached (logs in var/worker.log)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--background", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["background"]:
            log = Path(settings.DATA_DIR) / "worker.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "jinggeng", "worker"], stdout=out, stderr=out, start_new_session=True
                )
            (Path(settings.DATA_DIR) / "worker.pid").write_text(f"{proc.pid}\n")
            self.stdout.write(f"worker started (pid {proc.pid}), log: {log}; `make stop` stops it")
            return
        call_command("db_worker")
