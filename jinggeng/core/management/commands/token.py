"""`jinggeng token create|list|revoke`: personal API tokens of a user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jinggeng.core.errors import DomainError
from jinggeng.core.models import ApiToken
from jinggeng.core.tokens import token_create, token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke a user's API tokens. The token is printed once, at creation."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", default="cli")
        listing = sub.add_parser("list", help="list a user's tokens (never the secret)")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by id")
        revoke.add_argument("username")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        try:
            if options["action"] == "create":
                token, raw = token_create(actor=user, user=user, name=options["name"])
                self.stdout.write(f"token {token.pk} for {user.username} ({token.name}):\n{raw}")
                self.stdout.write("Store it now: it is not shown again. Use it as `Authorization: Bearer <token>`.")
            elif options["action"] == "list":
                for t in ApiToken.objects.filter(user=user).order_by("pk"):
                    state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
                    used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
                    self.stdout.write(
                        f"{t.pk}\t{t.name}\t{t.prefix}…\tcreated {t.created_at:%Y-%m-%d}\tlast used {used}\t{state}"
                    )
            else:
                token = token_revoke(actor=user, token_id=options["token_id"], user=user)
                self.stdout.write(f"revoked token {token.pk} ({token.name})")
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
