"""`aftersales purge --dry-run [--group CODE] [--json]`: make a dry run of the retention purge (as the weekly job
does) and print its counts; `aftersales purge --carry-out RUN --by USERNAME`: carry out a dry run, as that person
(who must hold manage_retention in every store of the group).  docs/data-retention.md."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.organisation.models import DealerGroup
from aftersales.privacy import retention
from aftersales.privacy.models import RetentionRun


class Command(BaseCommand):
    help = "Retention purge: make a dry run (--dry-run) or carry one out (--carry-out RUN --by USERNAME)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Make a dry run and print what it lists.")
        parser.add_argument("--group", help="The dealer group's code (default: every group).")
        parser.add_argument("--carry-out", type=int, metavar="RUN", help="The id of the dry run to carry out.")
        parser.add_argument("--by", metavar="USERNAME", help="Who carries it out (needed with --carry-out).")
        parser.add_argument("--json", action="store_true", help="Print the reports as JSON (counts and ids).")

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["dry_run"]) == bool(options["carry_out"]):
            raise CommandError("Give either --dry-run or --carry-out RUN.")
        groups = DealerGroup.objects.filter(stores__isnull=False).distinct().order_by("code")
        if options["group"]:
            groups = groups.filter(code=options["group"])
            if not groups.exists():
                raise CommandError(f"No dealer group with the code {options['group']!r}.")
        runs: list[RetentionRun] = []
        if options["dry_run"]:
            runs = [retention.retention_dry_run(group=group, by=None) for group in groups]
        else:
            user = get_user_model().objects.filter(username=options["by"] or "").first()
            dry = RetentionRun.objects.filter(pk=options["carry_out"], dry_run=True).select_related("group").first()
            if user is None or dry is None:
                raise CommandError("--carry-out needs the id of a dry run and --by an existing username.")
            try:
                runs = [retention.retention_purge(group=dry.group, by=user, dry_run=dry)]
            except (PermissionDenied, ValidationError) as error:
                raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps({run.group.code: run.report for run in runs}, ensure_ascii=False))
            return
        for run in runs:
            kind = "dry run" if run.dry_run else "purge"
            counts = ", ".join(f"{key} {entry['count']}" for key, entry in run.report.items())
            self.stdout.write(f"{run.group.code} {kind} #{run.pk} as of {run.as_of:%Y-%m-%d %H:%M}: {counts}")
