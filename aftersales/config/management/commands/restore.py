"""`aftersales restore FILE`: put a backup of `aftersales backup` back (database, uploads, key files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.config.backup import BackupError, MissingPassphrase, passphrase_from_env, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `aftersales backup` into this installation's database, uploads folder and data "
        "folder. The passphrase comes from AFTERSALES_BACKUP_PASSPHRASE. Refuses a database in use unless --force. "
        "Stop the web server and the worker first. See docs/backup.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the backup file")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database that already holds users, stores or customers (and differing key files)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = passphrase_from_env()
        except MissingPassphrase as exc:
            raise CommandError(str(exc).replace("written", "restored"), returncode=2) from exc
        try:
            restore(Path(options["file"]), passphrase=passphrase, force=options["force"], say=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
