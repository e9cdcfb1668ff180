"""Backups: an online SQLite backup that gives way to writers, and a restore that checks what it restores.

SQLite: the backup API copies the live database a few pages at a time, sleeping between steps, so the
answers being stored meanwhile keep most of their rate (a step holds a read lock, never the write lock;
pages written during the copy are copied again). PostgreSQL: voc prints the pg_dump / pg_restore
commands to run, since the database's own tools do it better than voc could."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from voc.errors import VocError

PAGES_PER_STEP = 256  # 1 MB of 4 KB pages: a few milliseconds per step
PAUSE_SECONDS = 0.01  # between steps: writers (and the CPU) get most of the time


class BackupError(VocError):
    code = "backup_failed"


@dataclass
class BackupReport:
    path: Path
    pages: int
    seconds: float


def sqlite_path(database_url: str) -> Path:
    """The file of an SQLite URL (BackupError for any other database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("not an SQLite database file")
    return Path(url.database)


def backup_sqlite(database_url: str, target: str | os.PathLike, *, pages: int = PAGES_PER_STEP,
                  pause: float = PAUSE_SECONDS, progress: Callable[[int, int], None] | None = None) -> BackupReport:
    """Copy the live database to `target` step by step; the copy is written beside it and renamed into
    place only once complete and checked, so a failed backup never leaves a half file under that name."""
    source_path, target = sqlite_path(database_url), Path(target)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}")
    if target.resolve() == source_path.resolve():
        raise BackupError("the backup cannot replace the database itself")
    started = time.monotonic()
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent or ".")
    os.close(handle)
    copied = 0
    try:
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
        destination = sqlite3.connect(partial)
        try:
            def step(status: int, remaining: int, total: int) -> None:
                nonlocal copied
                copied = total
                if progress:
                    progress(total - remaining, total)
                if remaining:
                    time.sleep(pause)  # (sqlite3's own `sleep` only applies after a busy step)

            source.backup(destination, pages=pages, progress=step)
            destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            destination.close()
            source.close()
        check_integrity(partial)
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return BackupReport(target, copied, time.monotonic() - started)


def check_integrity(path: str | os.PathLike) -> None:
    """PRAGMA integrity_check, and voc's schema present (BackupError otherwise)."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable voc database ({exc})") from exc
    if result != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {result}")
    if version is None:
        raise BackupError(f"{path} has no voc schema version")


def restore_sqlite(source: str | os.PathLike, database_url: str) -> Path:
    """Put a checked backup in place of the database (voc serve and workers must be stopped: restoring
    under a running server would pull the file from under its connections). The replaced database is
    kept beside it as <name>.before-restore."""
    check_integrity(source)
    target = sqlite_path(database_url)
    wal = Path(f"{target}-wal")
    if wal.exists() and wal.stat().st_size:  # a running server's, or changes a crash left unapplied
        raise BackupError(f"{wal} holds changes not yet in the database: stop voc serve and every voc worker "
                          "(after a crash, run `voc migrate` once so SQLite folds them in), then restore")
    if target.exists():
        shutil.copy2(target, f"{target}.before-restore")
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restoring", dir=target.parent or ".")
    os.close(handle)
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return target


def postgres_commands(database_url: str, file: str) -> tuple[str, str]:
    """The pg_dump and pg_restore commands for this database (password left to PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url)
    parts = []
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    where = " ".join([*parts, f"--dbname={url.database}"])
    return (f"pg_dump --format=custom --no-owner {where} --file={file}",
            f"pg_restore --clean --if-exists --no-owner {where} {file}")
