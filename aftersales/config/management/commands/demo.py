"""`aftersales demo`: migrate, seed an empty database, then serve the site and run the job worker, printing the
address and logins; Ctrl+C or SIGTERM stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from aftersales.organisation.demo import DEMO_USERS
from aftersales.organisation.models import Store


class Command(BaseCommand):
    help = "Prepare the embedded database with demo data, serve the site and run the job worker (Ctrl+C stops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--no-serve", action="store_true", help="prepare only: start no server and no worker")

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
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "aftersales.config.settings"),
        }
        web = [
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
        worker = [sys.executable, "-m", "aftersales", "worker"]
        code = supervise({"web server": web, "job worker": worker}, env=env, out=self.stdout)
        if code:
            raise SystemExit(code)


# How each child is asked to stop: gunicorn stops gracefully on SIGTERM, Huey's consumer on SIGINT.
STOP_SIGNALS = {"web server": signal.SIGTERM, "job worker": signal.SIGINT}
STOP_TIMEOUT_SECONDS = 10


def supervise(commands: dict[str, list[str]], *, env: dict[str, str], out: Any) -> int:
    """Start every command, print their ids, and wait.  Ctrl+C, SIGTERM or any child ending stops them all
    together (politely, then SIGKILL after STOP_TIMEOUT_SECONDS).  Returns 0, or the exit code of a
    child that ended by itself."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    children: dict[str, subprocess.Popen] = {}
    failed = 0
    try:
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter and arguments
            out.write(f"Started the {name} (pid {children[name].pid}).")
        out.flush()
        while not stop.is_set():
            ended = [name for name, child in children.items() if child.poll() is not None]
            if ended:
                failed = next((children[name].returncode for name in ended if children[name].returncode), 0) or 1
                out.write(f"The {', '.join(ended)} stopped by itself; stopping the rest.")
                break
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_all(children, out)
        signal.signal(signal.SIGTERM, previous)
    return failed


def _stop_all(children: dict[str, subprocess.Popen], out: Any) -> None:
    for name, child in children.items():
        if child.poll() is None:
            child.send_signal(STOP_SIGNALS.get(name, signal.SIGTERM))
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    for child in children.values():
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        except KeyboardInterrupt:  # a second Ctrl+C: no more waiting
            child.kill()
            child.wait()
    out.write("Stopped " + " and ".join(f"the {name}" for name in children) + "." if children else "Stopped.")
    out.flush()
