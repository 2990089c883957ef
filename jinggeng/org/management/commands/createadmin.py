"""`jinggeng createadmin`: create an administrator (superuser with an employee profile)."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jinggeng.core.errors import DomainError
from jinggeng.org.services import employee_create_administrator

PASSWORD_ENV = "JINGGENG_ADMIN_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a superuser with an employee profile of role administrator in the root org unit "
        f"(a root unit 总部 / HQ is created when there is none). The password comes from "
        f"--password, ${PASSWORD_ENV} or a prompt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", default=None, help=f"or set ${PASSWORD_ENV}")
        parser.add_argument("--name", default="管理员", help="the employee's display name")
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"] or os.environ.get(PASSWORD_ENV) or self._prompt()
        try:
            employee = employee_create_administrator(
                username=options["username"].strip(),
                password=password,
                name=options["name"].strip() or "管理员",
                email=options["email"].strip(),
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"administrator {employee.user.get_username()} created "
                f"(employee {employee.code} in {employee.org_unit.code})"
            )
        )

    def _prompt(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError(f"no password: pass --password or set ${PASSWORD_ENV}")
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password (again): ")
        if not first or first != second:
            raise CommandError("the passwords are empty or do not match")
        return first
