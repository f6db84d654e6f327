"""A real SMTP server for tests: aiosmtpd on a free local port, keeping every message it accepts.

    with running_smtp_server() as server:
        settings = Settings(..., **server.settings())
        ...
        server.messages[0]["Subject"]

`refuse_first` makes it answer DATA with `refusal` (a 451: try again later) that many times before it accepts,
so a test can watch the sender retry. With `tls` (a certificate and key file) it offers STARTTLS and requires it,
or with `implicit_tls` speaks TLS from the first byte; with `login` it asks for that user and password.
With `hold_at` (n >= 1) it holds its answer to the n-th DATA (the message fully received) until `release` is set,
setting `holding` meanwhile, so a test can kill the sender mid-send; the held message is kept already, as a real
server that has the whole message would deliver it. tests/notify/conftest.py wraps it as the `smtp_server` fixture.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpServer:
    host: str = "127.0.0.1"
    port: int = 0
    refuse_first: int = 0
    refusal: str = "451 4.3.0 Try again later"
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refused: int = 0
    unknown_recipients: set[str] = field(default_factory=set)  # answered "550 no such user"
    hold_at: int = 0
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    data_commands: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.unknown_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        with self._lock:
            self.data_commands += 1
            if self.data_commands == self.hold_at:
                # Kept before the answer: a sender killed now leaves a message the server has (aiosmtpd drops a
                # handler whose client is gone, so keeping it after the wait would lose it).
                self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                self.holding.set()
                held = len(self.messages)
            else:
                held = 0
        if held:
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return f"250 2.0.0 Ok: queued as {held}"
        with self._lock:
            if self.refused < self.refuse_first:
                self.refused += 1
                return self.refusal
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            return f"250 2.0.0 Ok: queued as {len(self.messages)}"

    def settings(self) -> dict[str, object]:
        """The VOXPOP_SMTP_* settings that point voxpop at this server (plain SMTP on localhost)."""
        return {"smtp_host": self.host, "smtp_port": self.port, "smtp_security": "none"}


def _checker(login: tuple[str, str]):
    def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode()) if isinstance(auth_data, LoginPassword) else None
        return AuthResult(success=given == login, handled=False)  # not handled: aiosmtpd answers 535 itself
    return check


@contextmanager
def running_smtp_server(*, refuse_first: int = 0, refusal: str = "451 4.3.0 Try again later",
                        tls: tuple[str, str] | None = None, implicit_tls: bool = False,
                        login: tuple[str, str] | None = None, hold_at: int = 0) -> Iterator[SmtpServer]:
    """Run a real SMTP server until the block ends."""
    server = SmtpServer(port=free_port(), refuse_first=refuse_first, refusal=refusal, hold_at=hold_at)
    options: dict[str, object] = {}
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        options |= {"ssl_context": context} if implicit_tls else {"tls_context": context, "require_starttls": True}
    if login:
        # PLAIN only: after a refused PLAIN, smtplib tries LOGIN, which aiosmtpd answers differently than it expects.
        options |= {"authenticator": _checker(login), "auth_require_tls": bool(tls) and not implicit_tls, "auth_exclude_mechanism": ["LOGIN"]}
    controller = Controller(server, hostname=server.host, port=server.port, **options)
    controller.start()
    try:
        yield server
    finally:
        server.release.set()  # a held answer must not keep the server from stopping
        controller.stop()
