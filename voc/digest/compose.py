"""The digest as an e-mail: a plain-text part and a table-based HTML part with inline styles (what mail
clients read), both rendered from the same Digest; the HTML is autoescaped."""

from __future__ import annotations

import hashlib
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from voc.config import get_settings
from voc.db import utcnow
from voc.digest.content import Digest
from voc.surveys.metrics import SMALL_SAMPLE
from voc.templates import html_environment, text_environment


class Undeliverable(ValueError):
    """The address cannot be written into a message."""


def digest_subject(digest: Digest) -> str:
    return f"Weekly digest: {digest.week.title}"


def compose_digest(digest: Digest, email: str) -> EmailMessage:
    """The multipart/alternative message of `digest` for `email`."""
    settings = get_settings()
    context = {"d": digest, "subject": digest_subject(digest), "small_sample": SMALL_SAMPLE}
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    message["Subject"] = context["subject"]
    message["From"] = settings.email_from
    try:
        message["To"] = Address(addr_spec=email)
    except (ValueError, IndexError) as exc:
        raise Undeliverable(f"{email!r} cannot be used as an e-mail address") from exc
    message["Date"] = format_datetime(utcnow())
    # The same for every attempt at one user's digest of one week, so a copy sent twice can be recognised.
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or "voc.localhost"
    digest_id = hashlib.sha256(f"digest:{digest.week.key}:{email.lower()}".encode()).hexdigest()[:24]
    message["Message-ID"] = f"<voc.digest.{digest.week.key}.{digest_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to this
    message.set_content(text_environment.get_template("email/digest.txt").render(context), cte="quoted-printable")
    message.add_alternative(html_environment.get_template("email/digest.html").render(context), subtype="html",
                            cte="quoted-printable")
    return message
