"""A real SMTP server (aiosmtpd) on 127.0.0.1 for mail tests: plain, offering
STARTTLS, or TLS from the first byte, with a self-signed certificate; it
records what arrived, how, and as whom, and can refuse recipients."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Arrived:
    message: EmailMessage
    recipients: list[str]  # the envelope's, which is where mail really goes
    over_tls: bool
    login: tuple[str, str] | None  # user name and password the client logged in with


@dataclass
class Inbox:
    """The aiosmtpd handler. ``refuse_after_s`` delays each refusal, so a
    test can tell that the client measured the exchange."""

    refuse_recipients: bool = False
    refuse_after_s: float = 0.0
    arrived: list[Arrived] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refuse_recipients:
            await asyncio.sleep(self.refuse_after_s)
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data
        self.arrived.append(Arrived(
            message=parsed, recipients=list(envelope.rcpt_tos),
            # The transport, not session.ssl: aiosmtpd sets the latter only after STARTTLS.
            over_tls=server.transport.get_extra_info("ssl_object") is not None,
            login=(login.login.decode(), login.password.decode())
            if isinstance(login, LoginPassword) else None,
        ))
        return "250 OK"


def accept_any_login(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    # Kept as the session's auth_data, which handle_DATA records.
    return AuthResult(success=True, auth_data=auth_data)


def free_port() -> int:
    # aiosmtpd's controller checks its port by connecting to it, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_server(inbox: Inbox, **options: Any) -> Iterator[int]:
    """Serve ``inbox`` on a free loopback port; ``options`` go to aiosmtpd
    (``tls_context`` offers STARTTLS, ``ssl_context`` is TLS from the start)."""
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    path: Path  # PEM certificate, also the CA file a client trusts
    server_context: ssl.SSLContext


def self_signed(directory: Path) -> Certificate:
    """A certificate for 127.0.0.1, signed by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "porthook test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return Certificate(path=cert_path, server_context=context)
