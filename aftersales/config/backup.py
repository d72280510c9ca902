"""`aftersales backup` / `aftersales restore`: one encrypted file holding the database, the uploads and the keys.

The archive is a small plain header (magic, format, scrypt parameters, salt, a key check) followed by the payload
encrypted with AES-256-GCM in 1 MiB chunks.  Chunk i uses nonce = i (the key is unique per file: a fresh salt) and the
header, i and a last-chunk flag as associated data, so a wrong passphrase, a changed byte, chunks swapped, dropped or
cut off at the end all fail to decrypt.  The payload is a tar stream: manifest.json, the database snapshot, media/…
(MEDIA_ROOT) and keys.json (SECRET_KEY, the field encryption keys, the search-hash key).

Restore decrypts and unpacks everything into a temporary folder first: only a file that authenticated completely
touches the database.  The manifest carries a row count and a sha256 per table (`database_fingerprint`), computed
on the snapshot itself and again on the restored database; a difference fails loudly.

The checksums are raw SQL over every table actually present (not the ORM's models): the restored database has the
backup's schema, which may be older than the code until `aftersales migrate` runs.  SQLite renders each value with
quote() and PostgreSQL each row as its record text (UTC, ISO dates), so a value reads the same before and after
within one engine (a backup restores only into the engine it came from).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.conf import settings
from django.db import connection

PASSPHRASE_ENV = "AFTERSALES_BACKUP_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
MAGIC = b"AFTERSALES-BACKUP\n"
FORMAT = 1
CHUNK = 1024 * 1024
TAG = 16
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_CHECK_NONCE = b"\xff" * 12  # never a chunk's nonce (chunk counters stay far below 2**96 - 1)
_CHECK_AAD = b"aftersales backup key check"

Fingerprint = dict[str, tuple[int, str]]
Say = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


class MissingPassphrase(BackupError):
    pass


def passphrase_from_env() -> str:
    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value:
        raise MissingPassphrase(
            f"{PASSPHRASE_ENV} is not set: put the backup passphrase in this environment variable "
            "(e.g. read from a file only root can read). Nothing was written."
        )
    return value


# --- encryption -----------------------------------------------------------------------------------------------


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if last else 0)


class EncryptingWriter(io.RawIOBase):
    """A write-only stream: collects 1 MiB, encrypts it as one chunk ([length][ciphertext+tag]), writes it on."""

    def __init__(self, out: IO[bytes], passphrase: str, say: Say = lambda _m: None) -> None:
        self._say = say
        salt = os.urandom(16)
        self._key = AESGCM(_derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P))
        fields = {"format": FORMAT, "kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": salt.hex()}
        fields["cipher"] = "AES-256-GCM"
        fields["chunk"] = CHUNK
        fields["check"] = self._key.encrypt(_CHECK_NONCE, b"", _CHECK_AAD).hex()
        self._header = MAGIC + json.dumps(fields, sort_keys=True).encode() + b"\n"
        self._out = out
        self._out.write(self._header)
        self._buffer = bytearray()
        self._index = 0
        self.bytes_written = len(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk must carry the flag
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, *, last: bool) -> None:
        sealed = self._key.encrypt(self._index.to_bytes(12, "big"), plain, _aad(self._header, self._index, last))
        self._out.write(struct.pack(">I", len(sealed)) + sealed)
        self.bytes_written += 4 + len(sealed)
        self._index += 1
        if self._index % 64 == 0:  # progress every 64 MiB
            self._say(f"  {self.bytes_written:,} bytes written …")

    def finish(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()


def _read_header(src: IO[bytes], passphrase: str) -> tuple[bytes, AESGCM]:
    magic = src.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("This is not an aftersales backup file (its first bytes are wrong).")
    line = src.readline(4096)
    try:
        fields = json.loads(line)
        salt = bytes.fromhex(fields["salt"])
        check = bytes.fromhex(fields["check"])
        n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError("The backup file's header is damaged.") from exc
    if fields.get("format") != FORMAT:
        raise BackupError(f"Backup format {fields.get('format')} is not supported by this version (it reads {FORMAT}).")
    if not (2**10 <= n <= 2**22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise BackupError("The backup file's header is damaged (key derivation parameters out of range).")
    key = AESGCM(_derive(passphrase, salt, n, r, p))
    try:
        key.decrypt(_CHECK_NONCE, check, _CHECK_AAD)
    except InvalidTag:
        raise BackupError(
            f"Wrong passphrase for this backup (or its header was altered). Check {PASSPHRASE_ENV}. "
            "Nothing was restored."
        ) from None
    return magic + line, key


class DecryptingReader(io.RawIOBase):
    """The payload back, chunk by chunk; any chunk that fails to authenticate raises BackupError."""

    def __init__(self, src: IO[bytes], passphrase: str) -> None:
        self._src = src
        self._header, self._key = _read_header(src, passphrase)
        self._index = 0
        self._plain = b""
        self._done = False
        self._next_len = self._read_len()

    def readable(self) -> bool:
        return True

    def _read_len(self) -> int | None:
        raw = self._src.read(4)
        if not raw:
            return None
        if len(raw) < 4:
            raise BackupError("The backup file is damaged or was altered (it ends in the middle of a chunk).")
        (size,) = struct.unpack(">I", raw)
        if size < TAG or size > CHUNK + TAG:
            raise BackupError("The backup file is damaged or was altered (a chunk has an impossible size).")
        return size

    def _next_chunk(self) -> None:
        if self._next_len is None:
            raise BackupError("The backup file is damaged or was cut short (its last part is missing).")
        sealed = self._src.read(self._next_len)
        if len(sealed) != self._next_len:
            raise BackupError("The backup file is damaged or was cut short.")
        self._next_len = self._read_len()
        last = self._next_len is None  # the last chunk is the one the file ends with; its flag must agree
        try:
            self._plain = self._key.decrypt(
                self._index.to_bytes(12, "big"), sealed, _aad(self._header, self._index, last)
            )
        except InvalidTag:
            raise BackupError(
                f"The backup file is damaged or was altered (part {self._index + 1} fails its check). "
                "Nothing was restored."
            ) from None
        self._index += 1
        self._done = last

    def readinto(self, buffer: Any) -> int:
        while not self._plain:
            if self._done:
                return 0
            self._next_chunk()
        size = min(len(buffer), len(self._plain))
        buffer[:size] = self._plain[:size]
        self._plain = self._plain[size:]
        return size

    def drain(self) -> None:
        """Read to the end, so a change after the last tar member is also caught."""
        while not self._done:
            self._next_chunk()
        self._plain = b""


# --- checksums ------------------------------------------------------------------------------------------------


def _q(name: str) -> str:
    """An SQL identifier, double-quoted (the same in SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(cursor: Any) -> list[tuple[str, list[str]]]:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    tables = []
    for (name,) in cursor.fetchall():
        cursor.execute(f"PRAGMA table_info({_q(name)})")
        info = cursor.fetchall()  # cid, name, type, notnull, default, pk
        columns = [row[1] for row in info]
        pk = [row[1] for row in sorted((row for row in info if row[5]), key=lambda row: row[5])]
        tables.append((name, pk or columns))
    return tables


def _sqlite_fingerprint(cursor: Any) -> Fingerprint:
    result: Fingerprint = {}
    for name, order in _sqlite_tables(cursor):
        cursor.execute(f"PRAGMA table_info({_q(name)})")
        columns = [row[1] for row in cursor.fetchall()]
        row_text = " || ',' || ".join(f"quote({_q(column)})" for column in columns)
        order_by = ", ".join(_q(column) for column in order)
        # Names from the database's own catalogue, quoted: no outside input reaches this SQL.
        cursor.execute(f"SELECT {row_text} FROM {_q(name)} ORDER BY {order_by}")  # noqa: S608
        result[name] = _digest(cursor)
    return result


def _digest(cursor: Any) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    while rows := cursor.fetchmany(2000):
        for (text,) in rows:
            encoded = text.encode("utf-8")
            digest.update(struct.pack(">Q", len(encoded)) + encoded)  # length-prefixed: rows cannot run together
            count += 1
    return count, digest.hexdigest()


def _postgres_fingerprint(conn: Any) -> Fingerprint:
    """On a psycopg connection of its own (a server-side cursor streams large tables)."""
    result: Fingerprint = {}
    with conn.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute("SET DateStyle = 'ISO, YMD'")
        cursor.execute("SET IntervalStyle = 'iso_8601'")
        cursor.execute("SET extra_float_digits = 1")
        cursor.execute(
            "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY c.relname"
        )
        tables = cursor.fetchall()
        for oid, name in tables:
            cursor.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary ORDER BY a.attnum",
                [oid],
            )
            pk = [row[0] for row in cursor.fetchall()]
            quoted = _q(name)
            order_by = ", ".join(_q(column) for column in pk) if pk else "t::text"
            with conn.cursor(name=f"fingerprint_{oid}") as rows:
                rows.itersize = 2000
                rows.execute(f"SELECT t::text FROM {quoted} AS t ORDER BY {order_by}")  # noqa: S608 - catalogue names
                result[name] = _digest(rows)
    return result


def _postgres_connect() -> Any:
    """A new psycopg connection to the default database, outside Django's transaction handling."""
    return connection.get_new_connection(connection.get_connection_params())


def database_fingerprint() -> Fingerprint:
    """{table: (rows, sha256)} for every table of the default database, django_migrations included."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            return _sqlite_fingerprint(cursor)
    if connection.vendor == "postgresql":
        conn = _postgres_connect()
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                return _postgres_fingerprint(conn)
        finally:
            conn.close()
    raise BackupError(f"Backups support SQLite and PostgreSQL, not {connection.vendor}.")


# --- the pieces of a backup -----------------------------------------------------------------------------------


def _migration_state(fingerprint_source: Callable[[str], list[tuple[str, str]]]) -> dict[str, list[str]]:
    state: dict[str, list[str]] = {}
    for app, name in fingerprint_source("SELECT app, name FROM django_migrations ORDER BY app, name"):
        state.setdefault(app, []).append(name)
    return state


def _pg_env_and_args() -> tuple[dict[str, str], list[str]]:
    """pg_dump/pg_restore/psql connection arguments from DATABASES['default']; the password through PGPASSWORD."""
    db = connection.settings_dict
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    sslmode = (db.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    return env, args


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools (apt-get install postgresql-client)."
        )
    return path


def _run(argv: list[str], env: dict[str, str], **kwargs: Any) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, **kwargs)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _snapshot_sqlite(target: Path) -> tuple[Fingerprint, dict[str, list[str]]]:
    """The online backup API: one step under a read lock, so the copy is consistent while the site writes."""
    connection.ensure_connection()
    dst = sqlite3.connect(target)
    try:
        connection.connection.backup(dst)
        cursor = dst.cursor()
        fingerprint = _sqlite_fingerprint(cursor)
        migrations = (
            _migration_state(lambda sql: cursor.execute(sql).fetchall()) if "django_migrations" in fingerprint else {}
        )
    finally:
        dst.close()
    return fingerprint, migrations


def _snapshot_postgres(target: Path) -> tuple[Fingerprint, dict[str, list[str]]]:
    """pg_dump of an exported snapshot; the checksums are computed in that very snapshot, so they describe the dump."""
    env, args = _pg_env_and_args()
    conn = _postgres_connect()
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            snapshot_id = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
            _run(
                [
                    _tool("pg_dump"),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot_id}",
                    "--file",
                    str(target),
                    *args,
                ],
                env,
            )
            fingerprint = _postgres_fingerprint(conn)
            migrations: dict[str, list[str]] = {}
            if "django_migrations" in fingerprint:
                migrations = _migration_state(lambda sql: conn.execute(sql).fetchall())
    finally:
        conn.close()
    return fingerprint, migrations


# Where each secret lives: (settings name, environment variable, file in the data folder).
KEYS = (
    ("SECRET_KEY", "SECRET_KEY", "secret_key"),
    ("FIELD_ENCRYPTION_KEYS", "AFTERSALES_FIELD_KEYS", "field_key"),
    ("SEARCH_HASH_KEY", "AFTERSALES_HASH_KEY", "hash_key"),
)


def _key_value(setting: str) -> str:
    value = getattr(settings, setting)
    return ",".join(value) if isinstance(value, list | tuple) else str(value)


def _app_version() -> str:
    try:
        return metadata.version("aftersales")
    except metadata.PackageNotFoundError:
        return "unknown"


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _media_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                yield path


def backup(path: Path, *, passphrase: str, say: Say = lambda _m: None) -> dict[str, Any]:
    """Write the encrypted backup to `path` (via path.partial, renamed when complete); return the manifest."""
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="aftersales-backup-") as tmp:
        snapshot = Path(tmp) / ("database.sqlite3" if vendor == "sqlite" else "database.pgdump")
        say(f"Snapshot of the {vendor} database …")
        fingerprint, migrations = (_snapshot_sqlite if vendor == "sqlite" else _snapshot_postgres)(snapshot)
        rows = sum(count for count, _ in fingerprint.values())
        say(f"  {len(fingerprint)} tables, {rows} rows checksummed, snapshot {snapshot.stat().st_size:,} bytes")
        media_root = Path(settings.MEDIA_ROOT)
        media = list(_media_files(media_root))
        manifest = {
            "format": FORMAT,
            "app_version": _app_version(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": {"vendor": vendor, "file": snapshot.name},
            "migrations": migrations,
            "tables": {name: {"rows": count, "sha256": digest} for name, (count, digest) in fingerprint.items()},
            "media_files": len(media),
            "keys": [setting for setting, _env, _file in KEYS],
        }
        keys = {setting: _key_value(setting) for setting, _env, _file in KEYS}
        try:
            with open(partial, "wb") as out:
                os.chmod(partial, 0o600)
                writer = EncryptingWriter(out, passphrase, say)
                with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
                    _add_bytes(tar, "keys.json", json.dumps(keys, sort_keys=True).encode())
                    tar.add(snapshot, arcname=f"database/{snapshot.name}")
                    say(f"  database snapshot added ({snapshot.stat().st_size:,} bytes)")
                    for file in media:
                        tar.add(file, arcname="media/" + file.relative_to(media_root).as_posix())
                    say(f"  {len(media)} uploaded files added from {media_root}")
                writer.finish()
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    say(f"Backup written to {path}: {path.stat().st_size:,} bytes.")
    return manifest


# --- restore --------------------------------------------------------------------------------------------------

# Someone has used a database once it has a user, a dealer group, a store or a customer: migrations create none of
# these (they seed content types, permissions and a few reference rows only).
USE_TABLES = ("auth_user", "organisation_dealergroup", "organisation_store", "customers_customer")


def database_in_use() -> list[str]:
    """The tables of USE_TABLES that hold rows (an unmigrated database holds none)."""
    existing = set(connection.introspection.table_names())
    used = []
    with connection.cursor() as cursor:
        for table in USE_TABLES:
            if table in existing:
                cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608 - constants
                if cursor.fetchone():
                    used.append(table)
    return used


def _unpack(path: Path, passphrase: str, into: Path, say: Say) -> dict[str, Any]:
    with open(path, "rb") as src:
        reader = DecryptingReader(src, passphrase)
        say("Passphrase accepted; decrypting and checking every part …")
        try:
            with tarfile.open(fileobj=io.BufferedReader(reader, CHUNK), mode="r|") as tar:
                for member in tar:
                    tar.extract(member, into, filter="data")
        except tarfile.TarError as exc:
            raise BackupError(f"The backup's contents are damaged ({exc}). Nothing was restored.") from exc
        reader.drain()
    try:
        manifest = json.loads((into / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError("The backup has no readable manifest. Nothing was restored.") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Backup format {manifest.get('format')} is not supported. Nothing was restored.")
    return manifest


def _expected(manifest: dict[str, Any]) -> Fingerprint:
    return {name: (entry["rows"], entry["sha256"]) for name, entry in manifest["tables"].items()}


def _compare(expected: Fingerprint, actual: Fingerprint) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        if table not in actual:
            problems.append(f"{table}: missing after restore")
        elif table not in expected:
            problems.append(f"{table}: not in the backup")
        elif expected[table] != actual[table]:
            problems.append(f"{table}: {actual[table][0]} rows (backup {expected[table][0]}), checksum differs")
    return problems


def _restore_sqlite(snapshot: Path, expected: Fingerprint, say: Say) -> None:
    src = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    try:
        problems = _compare(expected, _sqlite_fingerprint(src.cursor()))
        if problems:  # checked before the live database is touched
            raise BackupError("The snapshot in the backup does not match its manifest: " + "; ".join(problems[:10]))
        connection.ensure_connection()
        src.backup(connection.connection)
    finally:
        src.close()
    say("  database copied in with SQLite's backup API")


def _restore_postgres(dump: Path, say: Say) -> None:
    """Every table of the current schema dropped and the dump loaded in ONE transaction (psql --single-transaction):
    a failure leaves the database as it was."""
    env, args = _pg_env_and_args()
    connection.close()  # no session of ours may hold a lock the DROPs wait for
    conn = _postgres_connect()
    try:
        tables = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname = current_schema() "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('e', 'a', 'i')) "
            "ORDER BY c.relkind DESC, c.relname"
        ).fetchall()
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
    finally:
        conn.close()
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as prelude:
        prelude.write("SET client_min_messages = warning;\n")
        for name, kind in tables:
            quoted = _q(schema) + "." + _q(name)
            # CASCADE also removes foreign keys into the table, its own sequences and views built on it.
            prelude.write(f"DROP {_DROP_KIND[kind]} IF EXISTS {quoted} CASCADE;\n")
    try:
        restore = subprocess.Popen(  # noqa: S603
            [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(dump)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        psql = subprocess.run(  # noqa: S603
            [
                _tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                "--file",
                prelude.name,
                "--file=-",
                *args,
            ],
            env=env,
            stdin=restore.stdout,
            capture_output=True,
            text=True,
            check=False,
        )
        assert restore.stdout is not None and restore.stderr is not None
        restore.stdout.close()
        restore_err = restore.stderr.read().decode(errors="replace")
        if restore.wait() != 0:
            raise BackupError(f"pg_restore failed (exit {restore.returncode}): {restore_err.strip()[-2000:]}")
        if psql.returncode != 0:
            raise BackupError(
                f"Loading the dump failed; the database was left as it was: {psql.stderr.strip()[-2000:]}"
            )
    finally:
        os.unlink(prelude.name)
    say(f"  dropped {len(tables)} tables/sequences/views and loaded the dump in one transaction")


_DROP_KIND = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}


def _restore_keys(saved: dict[str, str], data_dir: Path, *, replace: bool, say: Say) -> list[str]:
    """Key files written back into the data folder; for keys the target takes from its environment, a 0600 file
    with the lines to set.  A differing key file is replaced only when `replace` (empty target or --force), and the
    old one is kept beside it.  Returns what was done, one line each."""
    done: list[str] = []
    to_set: list[str] = []
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for setting, env_name, file_name in KEYS:
        value = saved.get(setting)
        if value is None:
            continue
        from_env = bool(os.environ.get(env_name) or os.environ.get(f"{env_name}_FILE"))
        needs_env = setting == "FIELD_ENCRYPTION_KEYS" and "," in value  # the file holds one key, a list needs env
        if from_env or needs_env:
            if not from_env or _key_value(setting) != value:
                to_set.append(f"{env_name}={value}")
                done.append(
                    f"{setting}: set {env_name} as in restored-keys.env (the target takes it from the environment)"
                )
            else:
                done.append(f"{setting}: the environment already holds the backup's key")
            continue
        target = data_dir / file_name
        current = target.read_text(encoding="utf-8").strip() if target.exists() else None
        if current == value:
            done.append(f"{setting}: {target} already holds the backup's key")
            continue
        if current is not None and not replace:
            done.append(f"{setting}: {target} differs from the backup's key and was kept (use --force to replace)")
            continue
        if current is not None:
            shutil.copy2(target, target.with_name(f"{file_name}.before-restore-{stamp}"))
        target.write_text(value + "\n", encoding="utf-8")
        target.chmod(0o600)
        done.append(
            f"{setting}: written to {target}" + (" (the old key kept beside it)" if current is not None else "")
        )
    if to_set:
        env_file = data_dir / "restored-keys.env"
        env_file.write_text("".join(line + "\n" for line in to_set), encoding="utf-8")
        env_file.chmod(0o600)
        done.append(f"The values to set are in {env_file} (readable by this user only); delete it once they are set.")
    for line in done:
        say("  " + line)
    return done


def _restore_media(source: Path, media_root: Path, say: Say) -> int:
    count = 0
    if source.is_dir():
        for file in _media_files(source):
            target = media_root / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
            count += 1
    say(f"  {count} uploaded files copied into {media_root}")
    return count


def _migration_notes() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unknown = sorted(set(executor.loader.applied_migrations) - set(executor.loader.disk_migrations))
    notes = []
    if unknown:
        notes.append(
            f"The backup comes from a newer version ({len(unknown)} migrations this code does not know, e.g. "
            f"{unknown[0][0]}.{unknown[0][1]}): install that version or newer before starting the site."
        )
    if plan:
        notes.append(f"This version is newer than the backup: run `aftersales migrate` ({len(plan)} migrations).")
    return notes


def restore(path: Path, *, passphrase: str, force: bool = False, say: Say = lambda _m: None) -> dict[str, Any]:
    """Restore the backup at `path` into the default database, MEDIA_ROOT and the data folder's key files."""
    vendor = connection.vendor
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file.")
    used = database_in_use()
    if used and not force:
        raise BackupError(
            f"The database is not empty ({', '.join(used)} hold rows): restoring would replace it. "
            "Use --force to replace it. Nothing was restored."
        )
    with tempfile.TemporaryDirectory(prefix="aftersales-restore-") as tmp:
        into = Path(tmp)
        manifest = _unpack(path, passphrase, into, say)
        source_vendor = manifest["database"]["vendor"]
        if source_vendor != vendor:
            raise BackupError(
                f"This backup holds a {source_vendor} database and this installation uses {vendor}: a backup "
                f"restores only into the same kind of database. Nothing was restored."
            )
        snapshot = into / "database" / manifest["database"]["file"]
        if not snapshot.is_file():
            raise BackupError("The backup holds no database snapshot. Nothing was restored.")
        expected = _expected(manifest)
        say(f"Restoring the {vendor} database of {manifest['created_at']} (version {manifest['app_version']}) …")
        if vendor == "sqlite":
            _restore_sqlite(snapshot, expected, say)
        else:
            _restore_postgres(snapshot, say)
        problems = _compare(expected, database_fingerprint())
        if problems:
            raise BackupError(
                "The restored database differs from the backup: "
                + "; ".join(problems[:10])
                + (f" and {len(problems) - 10} more" if len(problems) > 10 else "")
            )
        rows = sum(count for count, _ in expected.values())
        say(f"  checked: {len(expected)} tables, {rows} rows, every checksum equal")
        _restore_media(into / "media", Path(settings.MEDIA_ROOT), say)
        saved = json.loads((into / "keys.json").read_text(encoding="utf-8"))
        _restore_keys(saved, Path(settings.DATA_DIR), replace=force or not used, say=say)
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()  # ids may differ from what this process cached
    for note in _migration_notes():
        say(note)
    say("Restore complete. Restart the web server and the worker so they read the restored keys.")
    return manifest
