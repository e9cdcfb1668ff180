"""The `voc` command."""

from __future__ import annotations

import argparse
import logging
import sys

from voc.config import get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from voc.app import create_app
    from voc.db import migrate

    settings = get_settings()
    migrate()
    app = create_app(run_worker=not args.no_worker, serving=True)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port,
                log_level=settings.log_level.lower(), proxy_headers=True)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import signal

    from voc.jobs.worker import Worker

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

    from voc.auth.users import create_user
    from voc.db import migrate, session_scope
    from voc.errors import VocError

    migrate()
    password, generated = args.password, False
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password (10+ characters): ")
    if not password:
        password, generated = secrets.token_urlsafe(12), True
    try:
        with session_scope() as session:
            user = create_user(session, args.email, args.role, password)
            print(f"user {user.email} ({user.role}) created")
    except VocError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if generated:
        print("Generated password (shown once):")
        print(password)
    return 0


def _create_api_key(args: argparse.Namespace) -> int:
    from voc.auth.service import create_api_key
    from voc.db import migrate, session_scope
    from voc.errors import VocError

    migrate()
    try:
        with session_scope() as session:
            key, plaintext = create_api_key(session, args.name, args.scopes)
            print(f"API key {key.name!r} (id {key.id}) with scopes {', '.join(key.scopes)}.")
            print("Store it now: it is shown only once.")
    except VocError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(plaintext)
    return 0


def _create_site(args: argparse.Namespace) -> int:
    from voc.db import migrate, session_scope
    from voc.embed.schemas import SiteCreate
    from voc.embed.sites import create_site
    from voc.errors import VocError

    migrate()
    try:
        with session_scope() as session:
            site, secret = create_site(session, SiteCreate(key=args.key, name=args.name, allowed_origins=args.origin))
            print(f"site {site.key!r} may embed surveys on {', '.join(site.allowed_origins)}.")
            print("Its identity-verification secret (for your backend's HMAC) is shown only once:")
    except (VocError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    print(secret)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voc", description="voc: the voice of your customers, at every touchpoint")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the web app and API (with a worker unless --no-worker)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-worker", action="store_true", help="run no job worker in this process")
    serve.set_defaults(func=_serve)

    commands.add_parser("worker", help="run a job worker").set_defaults(func=_worker)
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

    user = commands.add_parser("create-user", help="make a dashboard user")
    user.add_argument("--email", required=True)
    user.add_argument("--role", required=True, choices=["admin", "analyst", "viewer"])
    user.add_argument("--password", help="asked for when omitted on a terminal; generated otherwise")
    user.set_defaults(func=_create_user)

    key = commands.add_parser("create-api-key", help="make an API key (printed once, on the last line)")
    key.add_argument("--name", required=True)
    key.add_argument("--scopes", nargs="+", required=True)
    key.set_defaults(func=_create_api_key)

    site = commands.add_parser("create-site", help="add a site for the embed widget (its secret printed once, last)")
    site.add_argument("--key", required=True)
    site.add_argument("--name", required=True)
    site.add_argument("--origin", action="append", required=True, help="an allowed origin; repeat for more")
    site.set_defaults(func=_create_site)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=get_settings().log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request URL at INFO; a CRM's URL may carry a token in its query string.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
