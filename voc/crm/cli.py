"""`voc crm …`: set up a CRM for voc's write-back (today: HubSpot's contact properties)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - the name of a variable, not a token


def _setup_hubspot(args: argparse.Namespace) -> int:
    from voc.crm.hubspot_setup import SetupError, setup_properties

    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"error: give the private app's access token with --token or {TOKEN_ENV}", file=sys.stderr)
        return 2
    try:
        report = setup_properties(token, base_url=args.base_url, id_property=args.id_property)
    except SetupError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    for name in report.created:
        print(f"created  {name}")
    for name in report.existed:
        print(f"exists   {name}")
    for difference in report.mismatched:
        print(f"differs  {difference}")
    print(report.summary())
    return 0


def add_crm_commands(commands: Any) -> None:
    """Add `voc crm setup hubspot` to the `voc` command's subparsers."""
    from voc.crm.hubspot import API_URL, SCOPES

    crm = commands.add_parser("crm", help="set up a CRM for voc's write-back")
    actions = crm.add_subparsers(dest="crm_command", required=True)
    setup = actions.add_parser("setup", help="create what voc writes to in the CRM")
    crms = setup.add_subparsers(dest="crm", required=True)
    hubspot = crms.add_parser("hubspot", help="create voc's contact property group and properties (idempotent)",
                              description=f"Needs a private app token with the scopes {', '.join(SCOPES)}.")
    hubspot.add_argument("--token", help=f"the private app's access token (or set {TOKEN_ENV})")
    hubspot.add_argument("--base-url", default=API_URL, help=f"HubSpot's API (default {API_URL})")
    hubspot.add_argument("--id-property", help="a custom unique property the endpoint finds contacts by; "
                                               "created when missing (not needed for the record id or email)")
    hubspot.set_defaults(func=_setup_hubspot)
