"""The `voc` command as an operator meets it when things go wrong: expected failures (a database that cannot
be reached, bad settings, bad arguments, a refused change) are one line on stderr and a non-zero exit, never
a traceback; and no secret (VOC_SECRET_KEY, VOC_METRICS_TOKEN, the passwords in VOC_DATABASE_URL and
VOC_SMTP_URL, API keys) appears in anything the CLI or the server prints, failures included."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlmodel import Session

from voc.auth.models import Role
from voc.auth.service import SCOPES
from voc.cli import Redactor, configured_secrets

SECRET_KEY = "CANARY-secret-key-0123456789abcdef-0123456789"  # noqa: S105 - canaries: they must never show
DB_PASSWORD = "CANARY-db-pass-4711"  # noqa: S105
SMTP_PASSWORD = "CANARY-smtp-pass-0815"  # noqa: S105
METRICS_TOKEN = "CANARY-metrics-token-42"  # noqa: S105
CANARIES = (SECRET_KEY, DB_PASSWORD, SMTP_PASSWORD, METRICS_TOKEN, "CANARY")
UNREACHABLE_DB = f"postgresql+psycopg://voc:{DB_PASSWORD}@127.0.0.1:1/voc"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOC_")}
    env.update({"VOC_SECRET_KEY": SECRET_KEY, "VOC_METRICS_TOKEN": METRICS_TOKEN, "VOC_LOG_LEVEL": "DEBUG",
                "VOC_SMTP_URL": f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{_free_port()}"})
    env.update({f"VOC_{name.upper()}": value for name, value in settings.items()})
    return env


def voc(*args: str, timeout: float = 60, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voc.cli", *args], env=_env(**settings), capture_output=True,
                          text=True, timeout=timeout)


def assert_one_line_failure(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Non-zero exit, one line on stderr (containing `expected`), no traceback, no secret anywhere."""
    printed = result.stdout + result.stderr
    assert result.returncode not in (0, None), printed
    assert "Traceback" not in printed, printed
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    for canary in CANARIES:
        assert canary not in printed, (canary, printed)
    return lines[0]


# --- expected failures --------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["migrate"], ["worker"], ["serve", "--no-worker"], ["demo", "--if-empty"],
                                     ["create-user", "--email", "a@example.com", "--role", "admin"],
                                     ["create-api-key", "--name", "x", "--scopes", "admin"]])
def test_an_unreachable_database_is_one_line_without_its_password(command):
    if command[0] == "serve":
        command = [*command, "--port", str(_free_port())]
    line = assert_one_line_failure(voc(*command, timeout=90, database_url=UNREACHABLE_DB),
                                   "postgresql+psycopg://voc:***@127.0.0.1:1/voc", "Connection refused")
    assert line.startswith("voc: error: the database at")


def test_a_database_that_refuses_names_it_without_the_password(database_url, tmp_path):
    """SQLite: a file in a folder that does not exist; PostgreSQL: the test server, with a password, asked for
    a database that does not exist."""
    if database_url.startswith("sqlite"):
        url, reason = f"sqlite:///{tmp_path}/no/such/folder/voc.db", "unable to open database file"
    else:
        url = make_url(database_url).set(password=DB_PASSWORD, database="voc_no_such_database")
        url, reason = url.render_as_string(hide_password=False), "does not exist"
    assert_one_line_failure(voc("migrate", database_url=url), reason)


@pytest.mark.postgres
def test_a_migration_behind_a_held_lock_gives_up_in_one_line_and_runs_once_it_is_free(postgres_url):
    """Every voc connection to PostgreSQL waits at most VOC_DB_LOCK_TIMEOUT_SECONDS for a lock, migrations too:
    a schema change behind a long transaction (a report left open in psql) stops with one line saying so,
    instead of waiting as long as that transaction, with every query queued behind it; run again, it goes on."""
    import psycopg
    from alembic import command
    from alembic.script import ScriptDirectory

    from voc.db import alembic_config

    command.downgrade(alembic_config(postgres_url), "0019")  # 0020 drops indexes of answer and response
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("SELECT count(*) FROM answer")  # the open transaction's lock on the table
        started = time.monotonic()
        result = voc("migrate", database_url=postgres_url, db_lock_timeout_seconds="0.3")
        waited = time.monotonic() - started
        holder.rollback()
    line = assert_one_line_failure(result, "is busy", "VOC_DB_LOCK_TIMEOUT_SECONDS", "try again")
    assert line.startswith("voc: error: the database at")
    assert waited < 30  # a process start and 0.3 s, not the holder's whole transaction
    assert voc("migrate", database_url=postgres_url).returncode == 0
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        head = ScriptDirectory.from_config(alembic_config(postgres_url)).get_current_head()
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == head


@pytest.mark.parametrize(("settings", "expected"), [
    ({"env": "production", "secret_key": "CANARY-short"}, "VOC_SECRET_KEY must be set to a random value"),
    ({"port": "CANARY-port"}, "invalid settings: VOC_PORT: Input should be a valid integer"),
    ({"env": "staging"}, "VOC_ENV: Input should be"),
    ({"htmx_source": "jsdelivr"}, "VOC_HTMX_SOURCE"),
    ({"database_url": f"nonsense://voc:{DB_PASSWORD}@db/voc"}, "VOC_DATABASE_URL is not a database URL"),
    ({"database_url": "CANARY-not-a-url"}, "VOC_DATABASE_URL is not a database URL"),
])
def test_bad_settings_are_one_line_naming_the_setting_not_its_value(settings, expected, tmp_path):
    for command in (["migrate"], ["serve", "--port", str(_free_port())], ["worker"]):
        assert_one_line_failure(voc(*command, **{"database_url": f"sqlite:///{tmp_path}/voc.db", **settings}),
                                expected)


@pytest.mark.parametrize(("command", "expected"), [
    (["create-user", "--email", "a@example.com", "--role", "boss"], "invalid choice: 'boss'"),
    (["create-user", "--role", "admin"], "the following arguments are required: --email"),
    (["create-api-key", "--name", "x", "--scopes", "everything"], "invalid choice: 'everything'"),
    (["serve", "--port", "eighty"], "invalid int value"),
    (["no-such-command"], "invalid choice"),
])
def test_bad_arguments_are_one_line(command, expected):
    line = assert_one_line_failure(voc(*command), expected)
    assert line.endswith("--help)") and voc(*command).returncode == 2


def test_a_refused_change_is_one_line(tmp_path):
    db = f"sqlite:///{tmp_path}/voc.db"
    assert_one_line_failure(voc("create-user", "--email", '"><script>alert(1)</script>@x.test', "--role", "viewer",
                                "--password", "long enough pass", database_url=db), "not an e-mail address")
    assert_one_line_failure(voc("disable-user", "--email", "nobody@example.com", database_url=db),
                            "no user nobody@example.com")
    made = voc("create-user", "--email", "ops@example.com", "--role", "admin", "--password", "long enough pass",
               database_url=db)
    assert made.returncode == 0, made.stderr
    assert_one_line_failure(voc("delete-user", "--email", "ops@example.com", database_url=db), "last enabled admin")


def test_version_and_help_list_the_scopes_and_roles():
    version = voc("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith("voc ")
    key_help = voc("create-api-key", "--help").stdout
    assert all(scope in key_help for scope in SCOPES)
    user_help = voc("create-user", "--help").stdout
    assert all(role.value in user_help for role in Role)
    assert "disable-user" in voc("--help").stdout and "delete-user" in voc("--help").stdout


# --- users from the CLI -------------------------------------------------------------------------------

def test_users_are_disabled_enabled_and_deleted_from_the_cli(database_url, engine):
    from voc.auth.models import User
    from voc.cli import main

    assert main(["create-user", "--email", "Ops@Example.com", "--role", "admin", "--password", "long enough pass"]) == 0
    assert main(["create-user", "--email", "ana@example.com", "--role", "analyst", "--password", "long enough 2"]) == 0
    assert main(["disable-user", "--email", "ANA@example.com"]) == 0
    with Session(engine) as session:
        ana = session.scalar(select(User).where(User.email == "ana@example.com"))
        assert ana.disabled_at is not None and ana.session_epoch == 1
    assert main(["enable-user", "--email", "ana@example.com"]) == 0
    assert main(["delete-user", "--email", "ana@example.com"]) == 0
    assert main(["delete-user", "--email", "ops@example.com"]) == 2  # the last admin stays
    with Session(engine) as session:
        assert [u.email for u in session.scalars(select(User))] == ["ops@example.com"]


# --- the server through failures, with canary secrets --------------------------------------------------

def _wait_for(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "voc serve did not come up"
        time.sleep(0.1)


def test_the_server_prints_no_secret_through_failures(database_url, engine, tmp_path):
    from voc.jobs.models import Job

    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":  # the test server trusts local connections: the password is
        url = url.set(password=DB_PASSWORD)      # not needed, but it is in the URL the server is given
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"database_url": url.render_as_string(hide_password=False), "base_url": base,
                "job_poll_seconds": "0.1", "smtp_timeout_seconds": "2"}
    made = voc("create-api-key", "--name", "canary", "--scopes", "admin", **settings)
    assert made.returncode == 0, made.stderr
    api_key = made.stdout.strip().splitlines()[-1]
    assert not any(canary in made.stdout + made.stderr for canary in CANARIES)

    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "voc.cli", "serve", "--port", str(port)],
                                  env=_env(**settings), stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(base, server)
        api = {"Authorization": f"Bearer {api_key}"}
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
        assert httpx.get(f"{base}/api/v1/surveys", headers={"Authorization": f"Bearer {api_key}x"}).status_code == 401
        assert httpx.post(f"{base}/api/v1/touchpoints", headers=api, json={
            "key": "order_delivered", "name": "Order delivered", "stage": "delivery"}).status_code == 201
        survey = httpx.post(f"{base}/api/v1/surveys", headers=api, json={
            "key": "post_delivery", "title": "How did we do?", "status": "active",
            "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend us?", "required": True}],
            "triggers": [{"touchpoint": "order_delivered", "channel": "email"}]})
        assert survey.status_code == 201, survey.text
        event = httpx.post(f"{base}/api/v1/events", headers=api, json={
            "event_id": "e-1", "touchpoint": "order_delivered",
            "contact": {"external_id": "crm-1", "email": "ada@example.com"}})
        assert event.json()["outcome"] == "invited", event.text
        # The worker tries to e-mail the invitation through an SMTP server that is not there, and fails.
        deadline = time.monotonic() + 60
        while True:
            with Session(engine) as session:
                job = session.scalar(select(Job).where(Job.kind == "email.invitation", Job.last_error.is_not(None)))
            if job is not None:
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert SMTP_PASSWORD not in job.last_error and "127.0.0.1" in job.last_error
    finally:
        server.terminate()
        server.wait(timeout=20)
    printed = log.read_text()
    assert "GET /metrics" in printed and "email.invitation" in printed  # the log did record the failures
    secret_part = api_key.split("_", 2)[2]
    for canary in (*CANARIES, api_key, secret_part):
        assert canary not in printed, canary


def test_the_redactor_takes_out_configured_secrets_and_keys():
    env = {"VOC_SECRET_KEY": SECRET_KEY, "VOC_DATABASE_URL": "postgresql://u:p%40ss-CANARY@db/x",
           "VOC_SMTP_URL": f"smtp://m:{SMTP_PASSWORD}@mail:587"}
    redact = Redactor(configured_secrets(env))
    text = (f"{SECRET_KEY} p@ss-CANARY p%40ss-CANARY {SMTP_PASSWORD} "
            "voc_0123456789ab_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG whsec_c2VjcmV0c2VjcmV0c2VjcmV0")
    assert redact(text) == "*** *** *** *** voc_0123456789ab_*** whsec_***"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=60)


def test_uvicorn_log_lines_lose_their_secrets():
    result = _python("import logging.config, os, voc.cli as cli\n"
                     "logging.config.dictConfig(cli.uvicorn_log_config())\n"
                     "logging.getLogger('uvicorn.error').error('key %s, smtp %s', os.environ['VOC_SECRET_KEY'],\n"
                     "                                         os.environ['VOC_SMTP_URL'])\n")
    assert result.returncode == 0, result.stderr
    assert "key ***, smtp smtp://mailer:***@127.0.0.1:" in result.stderr
    assert not any(canary in result.stderr for canary in CANARIES)


def test_a_bug_gets_a_traceback_without_the_secrets_in_it():
    result = _python("import os, sys, voc.cli as cli\n"
                     "def broken(args):\n"
                     "    raise RuntimeError('cannot use ' + os.environ['VOC_SECRET_KEY'])\n"
                     "cli._migrate = broken\n"
                     "sys.exit(cli.main(['migrate']))\n")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: cannot use ***" in result.stderr
    assert "failed unexpectedly (a bug: please report it)" in result.stderr
    assert not any(canary in result.stdout + result.stderr for canary in CANARIES)
