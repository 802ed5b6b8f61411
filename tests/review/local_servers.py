"""Servers the review tests start on 127.0.0.1: a tiny SMTP server with STARTTLS and AUTH PLAIN, and an
HTTP server recording JSON POSTs. Nothing leaves the machine.

The SMTP server speaks just enough RFC 5321 for smtplib: EHLO/HELO, STARTTLS (with the committed
test-only certificate in data/, valid 2020–2120 for 127.0.0.1 and localhost), AUTH PLAIN, MAIL, RCPT,
DATA, RSET, NOOP, QUIT. Received messages are parsed into `email.message.Message` objects.
"""

from __future__ import annotations

import base64
import email
import json
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
CERT = DATA / "smtp-test.pem"
KEY = DATA / "smtp-test.key"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: Message
    tls: bool
    user: str | None


@dataclass
class SmtpState:
    messages: list[Received] = field(default_factory=list)
    require_tls: bool = True
    user: str = "audit"
    password: str = "s3cret-pw"
    logins: list[str] = field(default_factory=list)


class _Handler(socketserver.StreamRequestHandler):
    server: _SmtpServer

    def setup(self) -> None:
        super().setup()
        self.tls = False
        self.user: str | None = None

    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def _readline(self) -> str | None:
        raw = self.rfile.readline(65536)
        return None if not raw else raw.decode("utf-8", "replace").rstrip("\r\n")

    def handle(self) -> None:
        st = self.server.state
        self._send("220 localhost test ESMTP")
        sender, rcpts = "", []
        while True:
            line = self._readline()
            if line is None:
                return
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb):].strip()
            if verb in ("EHLO", "HELO"):
                caps = ["250-localhost"]
                if not self.tls:
                    caps.append("250-STARTTLS")
                if self.tls or not st.require_tls:
                    caps.append("250-AUTH PLAIN")
                caps.append("250 8BITMIME")
                for c in caps:
                    self._send(c)
            elif verb == "STARTTLS":
                self._send("220 ready for TLS")
                ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ctx.load_cert_chain(CERT, KEY)
                conn = ctx.wrap_socket(self.connection, server_side=True)
                self.connection = conn
                self.rfile = conn.makefile("rb")
                self.wfile = conn.makefile("wb")
                self.tls = True
            elif verb == "AUTH":
                mech, _, data = arg.partition(" ")
                if mech.upper() != "PLAIN" or (st.require_tls and not self.tls):
                    self._send("504 unsupported")
                    continue
                if not data:
                    self._send("334 ")
                    data = self._readline() or ""
                parts = base64.b64decode(data).split(b"\0")
                user, pw = parts[1].decode(), parts[2].decode()
                if (user, pw) == (st.user, st.password):
                    self.user = user
                    st.logins.append(user)
                    self._send("235 ok")
                else:
                    self._send("535 bad credentials")
            elif verb == "MAIL":
                if st.require_tls and not self.tls:
                    self._send("530 must issue STARTTLS first")
                    continue
                sender, rcpts = arg.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                self._send("250 ok")
            elif verb == "RCPT":
                rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                self._send("250 ok")
            elif verb == "DATA":
                self._send("354 go ahead")
                body = []
                while True:
                    data_line = self.rfile.readline()
                    if not data_line or data_line in (b".\r\n", b".\n"):
                        break
                    if data_line.startswith(b".."):
                        data_line = data_line[1:]
                    body.append(data_line)
                msg = email.message_from_bytes(b"".join(body))
                st.messages.append(Received(sender, list(rcpts), msg, self.tls, self.user))
                self._send("250 queued")
            elif verb == "RSET":
                sender, rcpts = "", []
                self._send("250 ok")
            elif verb == "NOOP":
                self._send("250 ok")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:
                self._send("502 not implemented")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: SmtpState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class SmtpServer:
    """Start with `with SmtpServer() as smtp:`; `smtp.port`, `smtp.state.messages`."""

    def __init__(self, require_tls: bool = True) -> None:
        self.state = SmtpState(require_tls=require_tls)
        self._server = _SmtpServer(self.state)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    body: Any


class HttpServer:
    """Records JSON POSTs; answers `status` (default 200). `with HttpServer() as h: h.url, h.posts`."""

    def __init__(self, status: int = 200) -> None:
        self.posts: list[Posted] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n) or b"null")
                outer.posts.append(Posted(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
