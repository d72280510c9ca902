"""`aftersales backup FILE`: the database, the uploads and the keys in one file encrypted with a passphrase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aftersales.config.backup import BackupError, MissingPassphrase, backup, passphrase_from_env


class Command(BaseCommand):
    help = (
        "Write an encrypted backup (database snapshot, uploads, key material) to FILE. "
        "The passphrase comes from AFTERSALES_BACKUP_PASSPHRASE. See docs/backup.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="where to write the backup (replaced only once complete)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = passphrase_from_env()
        except MissingPassphrase as exc:
            raise CommandError(str(exc), returncode=2) from exc
        target = Path(options["file"])
        if target.is_dir():
            raise CommandError(
                f"{target} is a folder: give a file name, e.g. {target / 'aftersales.backup'}", returncode=2
            )
        try:
            backup(target, passphrase=passphrase, say=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
