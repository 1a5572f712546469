"""Outgoing email behind one Protocol: SMTP, or .eml files under var_dir/mail (embedded default).

Sending is blocking I/O (smtplib, file writes), so both backends run in a worker thread. Mail is
sent from jobs, after the transaction that caused it committed, never inside a request.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import anyio

from app.core.settings import Settings


class Mailer(Protocol):
    async def send(self, to: str, subject: str, text: str, *, message_id: str | None = None) -> None: ...


def build_message(sender: str, to: str, subject: str, text: str, message_id: str | None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False)
    # A stable Message-ID (from the caller's own id) lets a retried job's duplicate be recognised.
    msg["Message-ID"] = message_id or make_msgid(domain="echoel.local")
    msg.set_content(text)
    return msg


class FileMailer:
    """Writes each message as ``<var_dir>/mail/<id>.eml``; nothing leaves the machine."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder, self.sender = folder, sender

    async def send(self, to: str, subject: str, text: str, *, message_id: str | None = None) -> None:
        msg = build_message(self.sender, to, subject, text, message_id)
        name = (message_id or uuid.uuid4().hex).strip("<>").replace("/", "_").replace("@", "_at_")

        def write() -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.tmp"
            tmp.write_bytes(bytes(msg))
            # Rename: readers never see half a message, and a retry overwrites the same file.
            tmp.replace(self.folder / f"{name}.eml")

        await anyio.to_thread.run_sync(write)


class SmtpMailer:
    """Sends through an SMTP server (STARTTLS and login when configured)."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    async def send(self, to: str, subject: str, text: str, *, message_id: str | None = None) -> None:
        msg = build_message(self.s.mail_from, to, subject, text, message_id)

        def deliver() -> None:
            with smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=30) as smtp:
                if self.s.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.s.smtp_username:
                    smtp.login(self.s.smtp_username, self.s.smtp_password)
                smtp.send_message(msg)

        await anyio.to_thread.run_sync(deliver)


def make_mailer(settings: Settings) -> Mailer:
    if settings.mail_backend == "smtp":
        return SmtpMailer(settings)
    return FileMailer(settings.var_path / "mail", settings.mail_from)
