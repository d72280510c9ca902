"""`aftersales demo`: migrate, seed an empty database, then serve the site, printing the address and logins."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from aftersales.organisation.demo import DEMO_USERS
from aftersales.organisation.models import Store


class Command(BaseCommand):
    help = "Prepare the embedded database with demo data and serve the site (Ctrl+C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--no-serve", action="store_true", help="prepare only, do not start the server")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        if not Store.objects.exists():
            self.stdout.write("Empty database: installing demo data …")
            call_command("seed", stdout=self.stdout, stderr=self.stderr)
        address = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\naftersales is at {address}"))
        self.stdout.write(f"Data folder: {settings.DATA_DIR}")
        self.stdout.write(f"Demo logins (password for all: {settings.DEMO_PASSWORD}):")
        for username, role, display in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {role:<14} {display}")
        if options["no_serve"]:
            return
        self.stdout.flush()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "aftersales.config.wsgi:application",
            "--bind",
            f"{options['host']}:{options['port']}",
            "--workers",
            str(options["workers"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
        ]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "aftersales.config.settings"),
        }
        try:
            subprocess.run(command, env=env, check=False)  # noqa: S603 - our own interpreter and arguments
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
