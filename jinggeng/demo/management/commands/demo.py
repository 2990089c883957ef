"""`jinggeng demo --scale small|medium|large`: build the demo company 精耕食品有限公司."""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from jinggeng.core.errors import DomainError
from jinggeng.demo.builder import DEMO_PASSWORD, PARTS, SCALES, demo_build, demo_exists
from jinggeng.demo.field import field_exists
from jinggeng.demo.progress import RichReporter
from jinggeng.demo.sales import sales_exists


class Command(BaseCommand):
    help = (
        "Build the demo company for trying Jinggeng out: org tree, employees, catalog, accounts, and its "
        "sales (leads, opportunities, activities, price lists, contracts, orders, payments, receivables). "
        "--only accounts builds the company without sales; --only sales (or --only field) adds the sales "
        "(or the field execution: routes, visits, stock counts, reports, audits) to a company built earlier "
        "without rebuilding the accounts (e.g. `jinggeng demo --scale large --only sales`)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--if-empty", action="store_true", help="do nothing when any account exists")
        parser.add_argument("--password", default=DEMO_PASSWORD, help="password of every demo user")
        parser.add_argument(
            "--only",
            choices=PARTS,
            default="",
            help="accounts: the company without its sales; sales / field: add the sales or the field data to an "
            "existing demo company (same --scale and --seed as it was built with)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=cast(IO[str], self.stdout), highlight=False, soft_wrap=True)
        if not console.is_terminal:
            console.width = 160
        only = options["only"]
        if options["if_empty"] and only == "sales" and sales_exists():
            console.print(_("数据库中已有销售数据，跳过演示数据。"))
            return
        if options["if_empty"] and only == "field" and field_exists():
            console.print(_("数据库中已有拜访数据，跳过演示数据。"))
            return
        if options["if_empty"] and only not in ("sales", "field") and demo_exists():
            console.print(_("数据库中已有客户数据，跳过演示数据。"))
            return
        try:
            result = demo_build(
                scale=options["scale"],
                seed=options["seed"],
                password=options["password"],
                reporter=RichReporter(console),
                only=only,
            )
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        counts = ", ".join(f"{k} {v:,}" for k, v in result.counts.items())
        console.print(
            _("演示公司已建成（规模 %(scale)s，种子 %(seed)s，用时 %(seconds).1f 秒）：")
            % {"scale": result.scale, "seed": result.seed, "seconds": result.seconds}
        )
        console.print(counts)
        if not result.users:
            return
        table = Table(title=_("演示用户"))
        for header in (_("用户名"), _("姓名"), _("角色"), _("组织"), _("密码")):
            table.add_column(header)
        for user in result.users:
            table.add_row(user.username, user.name, user.role, user.unit, options["password"])
        console.print(table)
