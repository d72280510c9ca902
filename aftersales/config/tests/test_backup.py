"""`aftersales backup` / `aftersales restore`: a seeded database round-trips exactly (row count and checksum per
table), with its uploads and keys; a wrong or missing passphrase, a changed byte, a cut file, a database in use and a
backup of the other engine are refused without touching anything.  Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from aftersales.config.backup import (
    MAGIC,
    PASSPHRASE_ENV,
    BackupError,
    DecryptingReader,
    EncryptingWriter,
    database_fingerprint,
    database_in_use,
    restore,
)
from aftersales.config.testing import make_cast, make_customer
from aftersales.customers.models import Customer
from aftersales.organisation.models import Store

# pg_dump/psql work in sessions of their own: they must see committed rows, hence transaction=True.
restores = pytest.mark.django_db(transaction=True)

PASSPHRASE = "correct horse battery staple 马"
KEY_ENV = ("SECRET_KEY", "AFTERSALES_FIELD_KEYS", "AFTERSALES_HASH_KEY")


@pytest.fixture
def place(settings, tmp_path, monkeypatch):  # noqa: ANN001, ANN201 - pytest fixtures
    """A data folder and uploads folder of the test's own, the passphrase set, keys taken from files (not env)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR.mkdir()
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    for name in KEY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    return tmp_path


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def wipe() -> None:
    call_command("flush", interactive=False, verbosity=0)


def small_database() -> None:
    cast = make_cast()
    make_customer(cast.store_a, by=cast.alice, name="李四")


def chunks(path: Path) -> list[tuple[int, int]]:
    """(offset, length) of each encrypted chunk of a backup file."""
    data = path.read_bytes()
    offset = data.index(b"\n", len(MAGIC)) + 1
    spans = []
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        spans.append((offset, 4 + size))
        offset += 4 + size
    return spans


def rewrite(src: Path, dst: Path, edit: Callable[[dict[str, bytes]], None]) -> None:
    """Decrypt a backup, let `edit` change its members, encrypt it again with the right passphrase."""
    members: dict[str, bytes] = {}
    with open(src, "rb") as handle:
        reader = DecryptingReader(handle, PASSPHRASE)
        with tarfile.open(fileobj=io.BufferedReader(reader), mode="r|") as tar:
            for member in tar:
                if member.isfile():
                    members[member.name] = tar.extractfile(member).read()
    edit(members)
    with open(dst, "wb") as out:
        writer = EncryptingWriter(out, PASSPHRASE)
        with tarfile.open(fileobj=writer, mode="w|") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        writer.finish()


@restores
def test_a_seeded_database_round_trips_with_its_uploads_and_keys(place):  # noqa: ANN001
    run(
        "seed",
        "--stores",
        "1",
        "--customers",
        "20",
        "--months",
        "2",
        "--seed",
        "1",
        "--today",
        "2026-06-30",
        "--no-progress",
    )
    photo = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk, incompressible
    (settings.MEDIA_ROOT / "photos").mkdir(parents=True)
    (settings.MEDIA_ROOT / "photos" / "车损.jpg").write_bytes(photo)
    before = database_fingerprint()
    assert before["customers_customer"][0] == 20
    assert before["django_migrations"][0] > 0
    assert before["service_repairorder"][0] > 0
    phone = Customer.objects.order_by("id").first().phone
    file = place / "nightly.asb"

    out = run("backup", str(file))

    assert "Backup written" in out and "tables" in out
    raw = file.read_bytes()
    assert raw.startswith(MAGIC)
    assert b"django_migrations" not in raw and settings.SEARCH_HASH_KEY.encode() not in raw  # encrypted
    assert not (place / "nightly.asb.partial").exists()

    wipe()
    (settings.MEDIA_ROOT / "photos" / "车损.jpg").unlink()
    assert database_in_use() == []
    assert database_fingerprint() != before

    out = run("restore", str(file))

    assert database_fingerprint() == before
    assert "every checksum equal" in out
    assert (settings.MEDIA_ROOT / "photos" / "车损.jpg").read_bytes() == photo
    assert Customer.objects.order_by("id").first().phone == phone  # decrypts with the same keys
    data = Path(settings.DATA_DIR)
    assert (data / "field_key").read_text().strip() == settings.FIELD_ENCRYPTION_KEYS[0]
    assert (data / "hash_key").read_text().strip() == settings.SEARCH_HASH_KEY
    assert (data / "secret_key").read_text().strip() == settings.SECRET_KEY
    assert oct((data / "hash_key").stat().st_mode & 0o777) == "0o600"


@restores  # the fingerprint reads PostgreSQL through a session of its own: it sees committed rows only
def test_the_fingerprint_sees_one_changed_value_in_its_table_only(place):  # noqa: ANN001
    small_database()
    before = database_fingerprint()
    Store.objects.filter(code="SH01").update(phone="021-00000001")
    after = database_fingerprint()
    changed = {table for table in before if before[table] != after[table]}
    assert changed == {Store._meta.db_table}
    assert after[Store._meta.db_table][0] == before[Store._meta.db_table][0]


@restores
def test_a_database_in_use_is_refused_without_force(place):  # noqa: ANN001
    small_database()
    file = place / "b.asb"
    run("backup", str(file))
    Customer.objects.all().delete()
    changed = database_fingerprint()

    with pytest.raises(CommandError, match="not empty"):
        run("restore", str(file))
    assert database_fingerprint() == changed

    run("restore", "--force", str(file))
    assert Customer.objects.filter(name="李四").count() == 1


@restores
def test_a_wrong_passphrase_is_refused_and_nothing_restored(place, monkeypatch):  # noqa: ANN001
    small_database()
    file = place / "b.asb"
    run("backup", str(file))
    Customer.objects.all().delete()
    changed = database_fingerprint()
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")

    with pytest.raises(CommandError, match="Wrong passphrase"):
        run("restore", "--force", str(file))
    assert database_fingerprint() == changed
    assert not (Path(settings.DATA_DIR) / "hash_key").exists()


def test_a_missing_passphrase_exits_2_and_writes_nothing(place, monkeypatch):  # noqa: ANN001
    monkeypatch.delenv(PASSPHRASE_ENV)
    file = place / "b.asb"
    for command in ("backup", "restore"):
        with pytest.raises(CommandError, match=PASSPHRASE_ENV) as caught:
            run(command, str(file))
        assert caught.value.returncode == 2
    assert not file.exists()


def test_the_console_command_exits_2_without_a_passphrase(tmp_path):  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if k != PASSPHRASE_ENV}
    env.update(DJANGO_SETTINGS_MODULE="aftersales.config.test_settings", AFTERSALES_DATA_DIR=str(tmp_path))
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "aftersales", "backup", "--skip-checks", str(tmp_path / "b.asb")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert PASSPHRASE_ENV in done.stderr
    assert not (tmp_path / "b.asb").exists() and not (tmp_path / "b.asb.partial").exists()


@restores
def test_a_changed_byte_or_a_cut_file_is_refused_and_nothing_restored(place):  # noqa: ANN001
    small_database()
    (settings.MEDIA_ROOT).mkdir()
    (settings.MEDIA_ROOT / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    file = place / "b.asb"
    run("backup", str(file))
    Customer.objects.all().delete()
    (settings.MEDIA_ROOT / "big.bin").unlink()
    changed = database_fingerprint()
    spans = chunks(file)
    assert len(spans) >= 3
    good = file.read_bytes()

    flipped = bytearray(good)
    flipped[spans[-1][0] + 10] ^= 0x01  # in the last chunk: the earlier ones decrypt fine
    tampered = place / "tampered.asb"
    tampered.write_bytes(bytes(flipped))
    cut = place / "cut.asb"
    cut.write_bytes(good[: spans[-1][0]])  # whole chunks, the last one missing
    appended = place / "appended.asb"
    appended.write_bytes(good + good[spans[1][0] : spans[1][0] + spans[1][1]])
    swapped = place / "swapped.asb"
    first, second = spans[0], spans[1]
    swapped.write_bytes(
        good[: first[0]]
        + good[second[0] : second[0] + second[1]]
        + good[first[0] : first[0] + first[1]]
        + good[second[0] + second[1] :]
    )

    for bad in (tampered, cut, appended, swapped):
        with pytest.raises(CommandError, match="damaged|altered|cut short"):
            run("restore", "--force", str(bad))
        assert database_fingerprint() == changed, bad.name
        assert not (settings.MEDIA_ROOT / "big.bin").exists()
    run("restore", "--force", str(file))  # the untouched file still restores
    assert Customer.objects.filter(name="李四").count() == 1
    assert (settings.MEDIA_ROOT / "big.bin").stat().st_size == 2 * 1024 * 1024


@restores
def test_a_backup_of_the_other_engine_is_refused(place):  # noqa: ANN001
    small_database()
    file = place / "b.asb"
    run("backup", str(file))
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"

    def other_vendor(members: dict[str, bytes]) -> None:
        members["manifest.json"] = members["manifest.json"].replace(
            f'"vendor": "{connection.vendor}"'.encode(), f'"vendor": "{other}"'.encode()
        )

    rewrite(file, place / "other.asb", other_vendor)
    Customer.objects.all().delete()
    changed = database_fingerprint()
    with pytest.raises(CommandError, match=f"holds a {other} database"):
        run("restore", "--force", str(place / "other.asb"))
    assert database_fingerprint() == changed


@restores
def test_a_restore_that_does_not_match_the_manifest_fails_loudly(place):  # noqa: ANN001
    small_database()
    file = place / "b.asb"
    run("backup", str(file))
    table = Customer._meta.db_table

    def wrong_checksum(members: dict[str, bytes]) -> None:
        import json

        manifest = json.loads(members["manifest.json"])
        manifest["tables"][table]["sha256"] = "0" * 64
        members["manifest.json"] = json.dumps(manifest).encode()

    rewrite(file, place / "lying.asb", wrong_checksum)
    with pytest.raises(BackupError, match=table):
        restore(place / "lying.asb", passphrase=PASSPHRASE, force=True)
