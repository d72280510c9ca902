"""`aftersales customers_rotate_keys`: re-encrypt personal fields under the newest key, recompute hashes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from aftersales.customers.services import customers_rotate_keys, encrypted_columns_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every phone, ID number and address with the first key of AFTERSALES_FIELD_KEYS and "
        "recompute the search hashes with AFTERSALES_HASH_KEY, then re-encrypt every other encrypted column "
        "(outbox addresses, replies, pick-up addresses, endpoint secrets). Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        done = customers_rotate_keys()
        others = encrypted_columns_rotate()
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted {done} customers and {others} other rows under the newest key.")
        )
