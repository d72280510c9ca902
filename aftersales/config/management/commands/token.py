"""`aftersales token USERNAME`: issue an API token; the token is printed once, last on its line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.organisation.services import api_token_issue


class Command(BaseCommand):
    help = "Issue an API bearer token for a user. Only a digest is stored: copy the token now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for (e.g. review-site importer)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            token, _record = api_token_issue(username=options["username"], name=options["name"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"API token for {options['username']}: {token}")
