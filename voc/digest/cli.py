"""`voc digest send --to EMAIL [--week 2026-W48]`: send the weekly digest now, to try it out."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _send(args: argparse.Namespace) -> int:
    from voc.db import get_engine, migrate
    from voc.digest.compose import Undeliverable
    from voc.digest.content import parse_week
    from voc.digest.tasks import send_digest_now
    from voc.email.transport import SendFailed, SmtpConfigError

    week = parse_week(args.week) if args.week else None  # a wrong week is told before anything is read
    migrate()
    try:
        digest = send_digest_now(get_engine(), args.to, week)
    except (SmtpConfigError, Undeliverable) as exc:
        print(f"voc: error: {exc}", file=sys.stderr)
        return 2
    except SendFailed as exc:
        print(f"voc: error: the digest was not sent: {exc}", file=sys.stderr)
        return 1
    what = "no responses" if digest.empty else f"{digest.responses:,} responses"
    print(f"sent the weekly digest of {digest.week.title} ({what}) to {args.to.strip()}")
    return 0


def add_digest_commands(commands: Any) -> None:
    """Add `voc digest send` to the `voc` command's subparsers."""
    digest = commands.add_parser("digest", help="the weekly digest e-mail")
    actions = digest.add_subparsers(dest="digest_command", required=True)
    send = actions.add_parser("send", help="send the weekly digest now (to try it; the planned one still goes out)")
    send.add_argument("--to", required=True, metavar="EMAIL", help="the address to send it to")
    send.add_argument("--week", help="the ISO week it covers, such as 2026-W48 (default: last week)")
    send.set_defaults(func=_send)
