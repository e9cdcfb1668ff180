"""Backup and restore: an online SQLite backup taken while answers are being stored is complete and
checked; a restore puts it in place and voc serves from it; bad files and running servers are refused."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from voc.backup import BackupError, backup_sqlite, check_integrity, postgres_commands, restore_sqlite
from voc.config import get_settings
from voc.db import make_engine, session_scope
from voc.surveys import responses
from voc.surveys.models import Response

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _answers(engine, count: int, prefix: str) -> list[str]:
    with session_scope(engine) as session:
        if not session.scalar(select(func.count()).select_from(Response)) and prefix == "a":
            f.touchpoint(session)
            f.survey(session, recontact_days=0)
    with session_scope(engine) as session:
        return [f.token_of(f.event(session, event_id=f"{prefix}{n}", contact=f"{prefix}{n}").invitation.url)
                for n in range(count)]


def _count(url: str) -> int:
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return connection.execute("SELECT count(*) FROM response").fetchone()[0]
    finally:
        connection.close()


@SQLITE
def test_a_backup_taken_while_answers_arrive_is_complete_and_checked(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    before, during = _answers(engine, 200, "a"), _answers(engine, 200, "b")
    for token in before:
        with session_scope(engine) as session:
            responses.store_response(session, token, [("nps", 9)])
    stop = threading.Event()

    def keep_answering() -> None:
        for token in during:
            if stop.is_set():
                return
            with session_scope(engine) as session:
                responses.store_response(session, token, [("nps", 5)])

    writer = threading.Thread(target=keep_answering)
    writer.start()
    steps = []
    try:
        report = backup_sqlite(database_url, tmp_path / "backup.db", pages=4, pause=0.001,
                               progress=lambda done, total: steps.append(done))
    finally:
        stop.set()
        writer.join()
    assert len(steps) > 3  # it went in small steps, giving way in between
    check_integrity(report.path)
    copied = _count(f"sqlite:///{report.path}")
    assert 200 <= copied <= 400  # everything answered before it started, and a consistent state after
    assert not list(tmp_path.glob(".backup.db.*"))  # no partial file left behind


@SQLITE
def test_a_restored_backup_is_served(engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    [token] = _answers(engine, 1, "a")
    with session_scope(engine) as session:
        responses.store_response(session, token, [("nps", 10)])
    backup = backup_sqlite(database_url, tmp_path / "backup.db").path
    fresh = tmp_path / "restored.db"
    restore_sqlite(backup, f"sqlite:///{fresh}")
    restored = make_engine(f"sqlite:///{fresh}")
    try:
        from fastapi.testclient import TestClient

        from voc.app import create_app

        with TestClient(create_app(engine=restored)) as client:
            assert client.get("/readyz").json() == {"status": "ready"}
        with Session(restored) as session:
            assert session.scalar(select(Response.nps)) == 10
    finally:
        restored.dispose()


@SQLITE
def test_restore_refuses_what_is_not_a_voc_database_and_a_database_in_use(engine, database_url, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="not a readable voc database"):
        restore_sqlite(junk, database_url)
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(BackupError):
        restore_sqlite(empty, database_url)
    backup = backup_sqlite(database_url, tmp_path / "backup.db").path
    with engine.connect() as connection:  # a server's connection, its committed writes still in the WAL
        connection.exec_driver_sql("CREATE TABLE in_use (x int)")
        connection.exec_driver_sql("INSERT INTO in_use VALUES (1)")
        connection.commit()
        with pytest.raises(BackupError, match="stop voc serve"):
            restore_sqlite(backup, database_url)


def test_postgresql_backups_use_its_own_tools():
    dump, restore = postgres_commands("postgresql+psycopg://voc:secret@db.example:5433/voc", "voc.dump")
    assert dump == "pg_dump --format=custom --no-owner --host=db.example --port=5433 --username=voc --dbname=voc " \
                   "--file=voc.dump"
    assert restore.startswith("pg_restore --clean --if-exists") and "secret" not in dump + restore


@SQLITE
def test_voc_backup_and_restore_on_the_command_line(engine, database_url, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "VOC_DATABASE_URL": database_url}
    made = subprocess.run([sys.executable, "-m", "voc.cli", "backup", str(tmp_path / "b.db")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0 and "integrity checked" in made.stdout, made.stderr
    engine.dispose()  # voc is stopped for a restore
    elsewhere = {**env, "VOC_DATABASE_URL": f"sqlite:///{tmp_path / 'restored.db'}"}
    put = subprocess.run([sys.executable, "-m", "voc.cli", "restore", str(tmp_path / "b.db")], env=elsewhere,
                         capture_output=True, text=True, timeout=60)
    assert put.returncode == 0 and "restored" in put.stdout, put.stderr
    junk = subprocess.run([sys.executable, "-m", "voc.cli", "restore", str(tmp_path / "nothing.db")],
                          env=elsewhere, capture_output=True, text=True, timeout=60)
    assert junk.returncode != 0 and junk.stderr.count("\n") == 1 and "Traceback" not in junk.stderr
