"""The `jinggeng` command line: `jinggeng <command> [options]`.

Every Django management command works (`jinggeng migrate`, `jinggeng check --deploy`, …);
these names are the ones Jinggeng adds or renames:

  serve        run the web server (gunicorn; --dev for Django's auto-reloading server)
  demo         build the demo company (--scale small|medium|large)
  createadmin  create an administrator with an employee profile
  token        create / list / revoke a user's API tokens
  import       import accounts, contacts, products, employees, leads, opportunities, orders
               or payments from .xlsx / .csv (the list: jinggeng import --help)
  export       export them (scoped to a user) to .xlsx / .csv
  worker       run the background task worker
  divisions    load or refresh China's administrative divisions (GB/T 2260)
  pipeline_alerts  reminders, large-deal and stale-deal alerts (--every N to repeat)
  orders_overdue_alerts  overdue receivables alerts (--every N to repeat)
  manage       any other Django management command
"""

from __future__ import annotations

import os
import sys

ALIASES = {"import": "import_data", "export": "export_data", "manage": None}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return
    name = args[0]
    if name == "manage":
        args = args[1:]
    elif name in ALIASES:
        args = [ALIASES[name] or name, *args[1:]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["jinggeng", *args])


if __name__ == "__main__":
    main()
