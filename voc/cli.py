"""The `voc` command.

Expected failures (bad arguments, bad settings, a database that cannot be reached, a refused change) print
one line to stderr and exit non-zero, without a traceback. No secret (VOC_SECRET_KEY, VOC_METRICS_TOKEN,
the passwords in VOC_DATABASE_URL and VOC_SMTP_URL, API keys, webhook secrets) is printed or logged: every
log line passes through RedactSecrets, and error lines name a database URL without its password."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn
from urllib.parse import quote, unquote, urlsplit

from voc import __version__
from voc.config import get_settings

log = logging.getLogger("voc.cli")
# An API key (voc_<prefix>_<secret>) or a webhook signing secret, wherever it turns up in a log line.
_KEY_PATTERN = re.compile(r"\b(voc_[0-9a-f]{12}_)[A-Za-z0-9_-]{20,}|\b(whsec_)[A-Za-z0-9+/=]{16,}")
_SECRET_SETTINGS = ("VOC_SECRET_KEY", "VOC_METRICS_TOKEN")
_URL_SETTINGS = ("VOC_DATABASE_URL", "VOC_SMTP_URL")


def configured_secrets(environ: dict[str, str] | None = None) -> set[str]:
    """The secrets in the environment's settings, as typed and as they may appear percent-decoded."""
    environ = os.environ if environ is None else environ
    found = {environ.get(name, "") for name in _SECRET_SETTINGS}
    for name in _URL_SETTINGS:
        try:
            password = urlsplit(environ.get(name, "")).password
        except ValueError:  # not a URL: say nothing of it at all
            password = None
            found.add(environ.get(name, ""))
        if password:
            found |= {password, unquote(password), quote(unquote(password), safe="")}
    return {secret for secret in found if len(secret) >= 4}


class Redactor:
    """Replaces every configured secret, API key and webhook secret in a text with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return _KEY_PATTERN.sub(lambda m: (m.group(1) or m.group(2)) + "***", text)


class RedactSecrets(logging.Filter):
    """A logging filter (on every handler voc and uvicorn log through) that takes secrets out of records."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self.redact = Redactor(configured_secrets())

    def _arg(self, value: Any) -> Any:
        if value is None or isinstance(value, int | float):
            return value
        text = str(value)
        clean = self.redact(text)
        return value if clean == text else clean

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: self._arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with secrets filtered out of every line it writes."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": RedactSecrets}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    return config


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from voc.db import dispose_engines, migrate

    settings = get_settings()
    if args.workers < 1:
        return _fail("--workers must be at least 1", 2)
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        return _fail("--workers needs PostgreSQL (VOC_DATABASE_URL=postgresql+psycopg://...): SQLite is one "
                     "writer inside one process, so run one voc serve on it", 2)
    migrate()  # once, here, before any process serves
    factory = serving_app_without_worker if args.no_worker else serving_app
    # One process: the app is built here, so a failure to build it is told like any other. Several: uvicorn
    # starts each process afresh (spawn) and builds the app in it from an import string; each process runs
    # its own job worker unless --no-worker (workers claim jobs with SKIP LOCKED, so any number may run).
    options: dict[str, Any] = {
        "host": args.host or settings.host, "port": args.port or settings.port,
        "log_level": settings.log_level.lower(), "log_config": uvicorn_log_config(),
        # The client address (for rate limits) comes from X-Forwarded-For only when the peer is a trusted
        # proxy: uvicorn trusts FORWARDED_ALLOW_IPS (default 127.0.0.1,::1: a proxy on the same host).
        "proxy_headers": True,
        # httptools' C parser, named rather than left to "auto", which falls back to h11 (pure Python, a quarter
        # of the event loop's time per answer) without a word when httptools is missing.
        "http": "httptools"}
    if args.workers == 1:
        uvicorn.run(factory(), **options)
        return 0
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    dispose_engines()  # the serving processes have pools of their own; this one only watches them
    config = uvicorn.Config(f"voc.cli:{factory.__name__}", factory=True, workers=args.workers, **options)
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        return _fail("a serving process could not start (its error is logged above); all were stopped")
    return 0


def serving_app() -> Any:
    """The app `voc serve` runs in each of its processes, with an in-process job worker."""
    from voc.app import create_app

    configure_logging()  # a process started by `voc serve --workers N` has not run main()
    return create_app(run_worker=True, serving=True)


def serving_app_without_worker() -> Any:
    """The app `voc serve --no-worker` runs in each of its processes."""
    from voc.app import create_app

    configure_logging()
    return create_app(run_worker=False, serving=True)


def _worker(args: argparse.Namespace) -> int:
    import signal

    from voc.db import get_engine
    from voc.jobs.worker import Worker

    with get_engine().connect():  # an unreachable database is told at once, not retried in a loop
        pass
    if args.metrics_port:
        from voc.web.ops import serve_worker_metrics

        serve_worker_metrics(get_engine(), args.metrics_host, args.metrics_port)
    worker = Worker()
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    try:
        worker.run_forever()
    except KeyboardInterrupt:
        worker.stop()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from voc.db import migrate

    migrate()
    print("database is at the latest schema")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from voc.db import migrate
    from voc.demo.loader import database_is_empty, load_demo

    migrate()
    if args.if_empty and not database_is_empty():
        print("database already holds data; demo not loaded")
        return 0
    summary = load_demo(seed=args.seed, contacts=args.contacts, responses=args.responses)
    print(summary)
    _demo_sign_in()
    return 0


def _demo_sign_in() -> None:
    """A dashboard admin for the demo, with a random password printed once (never a fixed one)."""
    import secrets

    from voc.auth.users import create_user
    from voc.db import session_scope

    email, password = "demo@voc.local", secrets.token_urlsafe(12)
    with session_scope() as session:
        create_user(session, email, "admin", password)
    settings = get_settings()
    print(f"\nDashboard: {settings.base_url}/login  e-mail {email}  password {password}")
    print("(shown once; make another user with: .venv/bin/voc create-user --email you@example.com --role admin)\n")


def _analyze(args: argparse.Namespace) -> int:
    from voc.sentiment.cli import run_analyze

    return run_analyze(sys.stdin, sys.stdout, sys.stderr)


def _reanalyze(args: argparse.Namespace) -> int:
    from voc.db import get_engine, migrate
    from voc.sentiment.analyser import ANALYSER_VERSION
    from voc.sentiment.tasks import reanalyse

    migrate()
    count = reanalyse(get_engine(), everything=args.all)
    print(f"re-analysed {count} responses with {ANALYSER_VERSION}")
    return 0


def _rebuild_rollups(_args: argparse.Namespace) -> int:
    from voc.analytics.rollups import rebuild_rollups
    from voc.db import migrate, session_scope

    migrate()
    with session_scope() as session:
        cells = rebuild_rollups(session)
    print(f"rebuilt the rollups: {cells} day x survey x touchpoint cells")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    import getpass
    import secrets

    from voc import audit
    from voc.auth.users import create_user, normalise_email
    from voc.db import migrate, session_scope

    normalise_email(args.email)  # a typo is told before the password is asked for
    migrate()
    password, generated = args.password, False
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password (10+ characters): ")
    if not password:
        password, generated = secrets.token_urlsafe(12), True
    with session_scope() as session:
        user = create_user(session, args.email, args.role, password)
        audit.record(session, audit.CLI, "user.created", "user", user.id or 0, after=audit.user_state(user))
        print(f"user {user.email} ({user.role}) created")
    if generated:
        print("Generated password (shown once):")
        print(password)
    return 0


def _create_api_key(args: argparse.Namespace) -> int:
    from voc import audit
    from voc.auth.service import create_api_key
    from voc.db import migrate, session_scope

    migrate()
    with session_scope() as session:
        key, plaintext = create_api_key(session, args.name, args.scopes)
        audit.record(session, audit.CLI, "api_key.created", "api_key", key.id or 0, after=audit.api_key_state(key))
        print(f"API key {key.name!r} (id {key.id}) with scopes {', '.join(key.scopes)}.")
        print("Store it now: it is shown only once.")
    print(plaintext)
    return 0


def _change_user(args: argparse.Namespace) -> int:
    from voc import audit
    from voc.auth import users
    from voc.db import migrate, session_scope

    migrate()
    with session_scope() as session:
        user = users.find_user(session, args.email)
        before = audit.user_state(user)
        if args.command == "delete-user":
            users.delete_user(session, user)
            audit.record(session, audit.CLI, "user.deleted", "user", before["id"], before=before)
            print(f"user {user.email} deleted")
        else:
            users.set_disabled(session, user, args.command == "disable-user")
            action = "user.disabled" if user.disabled_at else "user.enabled"
            audit.record(session, audit.CLI, action, "user", before["id"], before=before,
                         after=audit.user_state(user))
            print(f"user {user.email} {'disabled: signed out everywhere' if user.disabled_at else 'enabled'}")
    return 0


def _create_site(args: argparse.Namespace) -> int:
    from voc import audit
    from voc.db import migrate, session_scope
    from voc.embed.schemas import SiteCreate
    from voc.embed.sites import create_site, site_public

    migrate()
    with session_scope() as session:
        site, secret = create_site(session, SiteCreate(key=args.key, name=args.name, allowed_origins=args.origin))
        audit.record(session, audit.CLI, "site.created", "site", site.key, after=site_public(site))
        print(f"site {site.key!r} may embed surveys on {', '.join(site.allowed_origins)}.")
        print("Its identity-verification secret (for your backend's HMAC) is shown only once:")
    print(secret)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse that tells a wrong argument in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from voc.auth.models import Role
    from voc.auth.service import SCOPES

    parser = _Parser(prog="voc", description="voc: the voice of your customers, at every touchpoint")
    parser.add_argument("--version", action="version", version=f"voc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the web app and API (with a worker unless --no-worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true", help="run no job worker in the serving processes")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="serve from N processes sharing the port (PostgreSQL only); each runs its own job "
                            "worker unless --no-worker")
    serve.set_defaults(func=_serve)

    worker = commands.add_parser("worker", help="run a job worker")
    worker.add_argument("--metrics-port", type=int, help="serve this worker's /metrics on this port (Prometheus)")
    worker.add_argument("--metrics-host", default="127.0.0.1", help="the address for --metrics-port")
    worker.set_defaults(func=_worker)
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(func=_migrate)

    demo = commands.add_parser("demo", help="load demo data")
    demo.add_argument("--if-empty", action="store_true", help="only when the database holds no survey yet")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--contacts", type=int, default=2000)
    demo.add_argument("--responses", type=int, default=5000)
    demo.set_defaults(func=_demo)

    commands.add_parser("analyze", help='read JSON lines {"id","text"} on stdin, write analyses').set_defaults(
        func=_analyze)

    again = commands.add_parser("reanalyze", help="re-read responses analysed by an older analyser version")
    again.add_argument("--all", action="store_true", help="every response, whatever its analyser version")
    again.set_defaults(func=_reanalyze)

    rebuild = commands.add_parser("rebuild-rollups",
                                  help="recompute the dashboard's rollups from invitations and responses")
    rebuild.set_defaults(func=_rebuild_rollups)

    roles = [role.value for role in Role]
    user = commands.add_parser("create-user", help="make a dashboard user")
    user.add_argument("--email", required=True, help="the user's e-mail address (they sign in with it)")
    user.add_argument("--role", required=True, choices=roles,
                      help=f"one of {', '.join(roles)}: viewers read, analysts also work follow-ups and edit "
                           "surveys, admins also manage keys, webhooks and users")
    user.add_argument("--password", help="asked for when omitted on a terminal; generated otherwise")
    user.set_defaults(func=_create_user)

    for name, what in (("disable-user", "disable a dashboard user: signed out at once, cannot sign in"),
                       ("enable-user", "let a disabled dashboard user sign in again"),
                       ("delete-user", "delete a dashboard user (their follow-ups become unassigned)")):
        change = commands.add_parser(name, help=what)
        change.add_argument("--email", required=True)
        change.set_defaults(func=_change_user)

    key = commands.add_parser("create-api-key", help="make an API key (printed once, on the last line)")
    key.add_argument("--name", required=True)
    key.add_argument("--scopes", nargs="+", required=True, choices=SCOPES, metavar="SCOPE",
                     help=f"one or more of {', '.join(SCOPES)} (admin holds every scope)")
    key.set_defaults(func=_create_api_key)

    site = commands.add_parser("create-site", help="add a site for the embed widget (its secret printed once, last)")
    site.add_argument("--key", required=True)
    site.add_argument("--name", required=True)
    site.add_argument("--origin", action="append", required=True, help="an allowed origin; repeat for more")
    site.set_defaults(func=_create_site)

    backup = commands.add_parser("backup", help="copy the database to FILE while voc runs (SQLite); "
                                                "on PostgreSQL, print the pg_dump command")
    backup.add_argument("file")
    backup.set_defaults(func=_backup)
    restore = commands.add_parser("restore", help="put a backup FILE in place of the database (SQLite; stop "
                                                  "voc serve and workers first); on PostgreSQL, print the command")
    restore.add_argument("file")
    restore.set_defaults(func=_restore)

    from voc.crm.cli import add_crm_commands
    from voc.digest.cli import add_digest_commands

    add_crm_commands(commands)
    add_digest_commands(commands)
    return parser


def _backup(args: argparse.Namespace) -> int:
    from voc.backup import backup_sqlite, postgres_commands

    url = get_settings().database_url
    if not url.startswith("sqlite"):
        print(postgres_commands(url, args.file)[0])
        return 0
    report = backup_sqlite(url, args.file)
    print(f"backed up {report.pages} pages to {report.path} in {report.seconds:.1f} s (integrity checked)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from voc.backup import postgres_commands, restore_sqlite

    url = get_settings().database_url
    if not url.startswith("sqlite"):
        print(postgres_commands(url, args.file)[1])
        return 0
    target = restore_sqlite(args.file, url)
    print(f"restored {args.file} to {target} (the database it replaced is {target}.before-restore)")
    return 0


def _fail(message: str, status: int = 1) -> int:
    """Tell an expected failure in one line on stderr (secrets taken out); returns the exit status."""
    line = " ".join(message.split())
    print(f"voc: error: {Redactor(configured_secrets())(line)}", file=sys.stderr)
    return status


def _validation_problem(exc: Any) -> str:
    """A pydantic ValidationError in one line, naming the fields (VOC_ variables for the settings) but never
    their values."""
    settings = exc.title == "Settings"
    problems = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        where = (f"VOC_{str(loc[0]).upper()}" if settings else ".".join(map(str, loc))) if loc else ""
        problems.append((f"{where}: " if where else "") + str(error.get("msg", "not valid")).removeprefix(
            "Value error, "))
    return ("invalid settings: " if settings else "") + "; ".join(problems)


def _database_problem(exc: Exception) -> str:
    """A database failure in one line: which database (without its password) and the driver's reason."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    raw = os.environ.get("VOC_DATABASE_URL", "")
    try:
        where = make_url(get_settings().database_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL: name the setting, not its value
        where = "VOC_DATABASE_URL"
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if raw:
            reason = reason.replace(raw, "VOC_DATABASE_URL")
        return f"VOC_DATABASE_URL is not a database URL voc can use ({reason})"
    from voc.db import is_busy

    if is_busy(exc):
        return (f"the database at {where} is busy: a lock stayed held past VOC_DB_LOCK_TIMEOUT_SECONDS "
                f"({get_settings().db_lock_timeout_seconds:g} s) by another transaction; try again")
    cause = getattr(exc, "orig", None) or exc
    reason = next((line.strip() for line in str(cause).splitlines() if line.strip()), type(cause).__name__)
    return f"the database at {where} cannot be used: {reason}"


def explain_failure(exc: BaseException) -> tuple[str, int] | None:
    """The one-line message and exit status of an expected failure (2: the input was refused, 1: the settings
    or the database are at fault), or None for a bug (which gets a traceback)."""
    from alembic.util.exc import CommandError
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from voc.errors import VocError

    if isinstance(exc, ValidationError):
        return _validation_problem(exc), 1 if exc.title == "Settings" else 2
    if isinstance(exc, VocError):
        return exc.message, 2
    if isinstance(exc, DBAPIError | ArgumentError | NoSuchModuleError):
        return _database_problem(exc), 1
    if isinstance(exc, CommandError):
        return f"the database schema cannot be upgraded: {exc}", 1
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else ""), 1
    return None


def configure_logging(level: str | None = None) -> None:
    """Log lines with a time and the logger's name, every handler filtered through RedactSecrets."""
    level = (level or get_settings().log_level).upper()
    logging.basicConfig(level=level if level in logging.getLevelNamesMapping() else "INFO",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request URL at INFO; a CRM's URL may carry a token in its query string.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        level = get_settings().log_level.upper()
    except Exception as exc:  # noqa: BLE001 - bad settings are told in one line
        return _fail(*(explain_failure(exc) or (f"invalid settings: {type(exc).__name__}", 1)))
    configure_logging(level)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        failure = explain_failure(exc)
        if failure is None:
            log.exception("voc %s failed unexpectedly (a bug: please report it)", args.command)
            return 1
        return _fail(*failure)


if __name__ == "__main__":
    sys.exit(main())
