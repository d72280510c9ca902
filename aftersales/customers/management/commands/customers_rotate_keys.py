"""`aftersales customers_rotate_keys`: re-encrypt personal fields under the newest key, recompute hashes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.customers.services import customers_rotate_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every phone, ID number and address with the first key of AFTERSALES_FIELD_KEYS and "
        "recompute the search hashes with AFTERSALES_HASH_KEY. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = customers_rotate_keys()
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {done} customers under the newest key."))
