"""The SMTP transport: reading VOC_SMTP_URL, TLS (STARTTLS and implicit) against aiosmtpd with a
certificate made for the test, no fallback to plain text, and no password in any message."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.email.conftest import SMTP_PASSWORD, SMTP_USER, MailHandler, _authenticate, free_port
from voc.email import transport
from voc.email.transport import SendFailed, SmtpConfigError, SmtpTarget, parse_smtp_url, send_message


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.com", SmtpTarget("mail.example.com", 25, "plain")),
    ("smtp://u%40x:p%3Aw@mail.example.com:2525", SmtpTarget("mail.example.com", 2525, "plain", "u@x", "p:w")),
    ("smtp://u:p@mail.example.com?starttls=1", SmtpTarget("mail.example.com", 587, "starttls", "u", "p")),
    ("smtp://mail.example.com:25?starttls=true", SmtpTarget("mail.example.com", 25, "starttls")),
    ("smtps://u:p@mail.example.com", SmtpTarget("mail.example.com", 465, "ssl", "u", "p")),
])
def test_smtp_urls(url, expected):
    assert parse_smtp_url(url) == expected


def test_the_password_is_in_no_repr_nor_error():
    target = parse_smtp_url(f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@mail.example.com")
    assert SMTP_PASSWORD not in repr(target) and SMTP_PASSWORD not in target.describe()
    for bad in (f"http://u:{SMTP_PASSWORD}@mail.example.com", f"smtp://u:{SMTP_PASSWORD}@host:notaport"):
        with pytest.raises(SmtpConfigError) as caught:
            parse_smtp_url(bad)
        assert SMTP_PASSWORD not in str(caught.value)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def trust(certificate, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """voc trusts the test certificate (and checks it as it would any other); returns the server's context."""
    cert_file, key_file = certificate
    monkeypatch.setattr(transport, "tls_context", lambda: ssl.create_default_context(cafile=str(cert_file)))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    return server


def _message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = "Hi", "voc@example.com", "ada@example.com"
    message.set_content("hello")
    return message


def _serve(**kwargs) -> tuple[Controller, MailHandler]:  # noqa: ANN003
    handler = MailHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=_authenticate, **kwargs)
    controller.start()
    return controller, handler


def test_starttls_upgrades_before_logging_in(trust):
    controller, handler = _serve(tls_context=trust, require_starttls=True)  # auth only over TLS
    try:
        url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{controller.port}?starttls=1"
        send_message(parse_smtp_url(url), _message(), "ada@example.com", 5)
    finally:
        controller.stop()
    [received] = handler.received
    assert received.authenticated and received.recipients == ["ada@example.com"]


def test_implicit_tls(trust):
    controller, handler = _serve(ssl_context=trust, server_hostname="127.0.0.1",
                                  auth_require_tls=False)  # aiosmtpd does not see that the socket is TLS
    try:
        url = f"smtps://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{controller.port}"
        send_message(parse_smtp_url(url), _message(), "ada@example.com", 5)
    finally:
        controller.stop()
    assert len(handler.received) == 1 and handler.received[0].authenticated


def test_no_fallback_to_plain_text_when_starttls_is_missing_or_untrusted(certificate):
    controller, handler = _serve(auth_require_tls=False)  # offers no STARTTLS at all
    try:
        url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{controller.port}?starttls=1"
        with pytest.raises(SendFailed) as caught:
            send_message(parse_smtp_url(url), _message(), "ada@example.com", 5)
    finally:
        controller.stop()
    assert not caught.value.permanent and handler.received == []
    assert SMTP_PASSWORD not in str(caught.value)


def test_an_untrusted_certificate_is_refused(certificate):
    cert_file, key_file = certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    controller, handler = _serve(tls_context=server, require_starttls=True)
    try:
        url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{controller.port}?starttls=1"
        with pytest.raises(SendFailed) as caught:  # voc's default trust store does not know this certificate
            send_message(parse_smtp_url(url), _message(), "ada@example.com", 5)
    finally:
        controller.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and handler.received == []
