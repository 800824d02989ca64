"""E-mail over STARTTLS to a real SMTP server on 127.0.0.1 with a certificate no CA signed: the
TLS context apprise would build per connection is made once per verification setting
(notifications/smtp_pool.py), and sharing it never lets a verifying channel skip the check."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications import smtp_pool
from notifications.notifier import AppriseNotifier
from tests.endpoints import SmtpServer


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 that no CA signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer()
    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        tls_context=self_signed(tmp_path),
        require_starttls=True,
    )
    controller.start()
    yield server
    controller.stop()


def url(server: SmtpServer, to: str, *, verify: bool) -> str:
    return (
        f"mailto://127.0.0.1:{server.port}?to={to}&from=rehab@ngo.example&mode=starttls"
        f"&verify={'yes' if verify else 'no'}"
    )


def test_a_verifying_channel_refuses_an_unsigned_certificate_even_after_one_that_does_not(
    tls_server: SmtpServer,
) -> None:
    notifier = AppriseNotifier(throttle=0)
    with notifier.batch():
        trusting = notifier.send([url(tls_server, "a@x.example", verify=False)], "one", "text")
        checking = notifier.send([url(tls_server, "b@x.example", verify=True)], "two", "text")
        again = notifier.send([url(tls_server, "c@x.example", verify=False)], "three", "text")
    assert trusting.delivered and again.delivered
    assert not checking.delivered, "the shared unverified context never serves a verifying one"
    assert [m.subject for m in tls_server.received] == ["one", "three"]
    shared = smtp_pool._contexts  # what the stand-in made
    assert shared[True].verify_mode == ssl.CERT_REQUIRED and shared[True].check_hostname
    assert shared[False].verify_mode == ssl.CERT_NONE


def test_connections_share_one_context_per_setting_instead_of_loading_the_cas_each_time(
    tls_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []
    real = ssl.create_default_context

    def counting(*args: object, **kwargs: object) -> ssl.SSLContext:
        made.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]  # passed through as given

    monkeypatch.setattr(ssl, "create_default_context", counting)
    monkeypatch.setattr(smtp_pool, "_contexts", {})
    notifier = AppriseNotifier(throttle=0)
    for n in range(4):  # no batch: each message opens (and closes) its own connection
        sent = notifier.send([url(tls_server, f"{n}@x.example", verify=False)], str(n), "text")
        assert sent.delivered
    assert len(tls_server.received) == 4
    assert len(made) == 1, "one context made for four connections"
