"""``echoel collab``: join a session from a terminal and send or receive one file (aiortc)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

from app.collab import peer, transfer


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("collab", help="join a collaboration session and send or receive a file (WebRTC)")
    p.add_argument("--url", default=os.environ.get("ECHOEL_URL", "http://localhost:8000"), help="the Echoel site")
    p.add_argument("--email", required=True)
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--session", required=True, help="session id")
    p.add_argument("--relay-only", action="store_true", help="use only TURN relays (hides your address)")
    action = p.add_subparsers(dest="action", required=True)
    send = action.add_parser("send", help="send FILE to the first peer met")
    send.add_argument("file", type=Path)
    recv = action.add_parser("receive", help="receive one file into DIR")
    recv.add_argument("dir", type=Path)
    p.set_defaults(func=run)


async def session(args: argparse.Namespace, password: str) -> str:
    auth = await peer.login(args.url, args.email, password)
    servers = await peer.ice_servers(auth, args.session)
    signaling = await peer.Signaling.connect(auth, args.session)
    try:
        async with peer.linked(signaling, servers, relay_only=args.relay_only) as link:
            if args.action == "send":
                digest = await transfer.send_file(link.pc, args.file)
                return f"sent {args.file.name} sha256={digest} via {peer.route(link.pc)}"
            channel, inbox = await link.files.get()
            path = await transfer.receive_file(channel, inbox, args.dir)
            return f"received {path} (sha256 verified) via {peer.route(link.pc)}"
    finally:
        await signaling.close()


def run(args: argparse.Namespace) -> None:
    if args.action == "send" and not args.file.is_file():
        raise SystemExit(f"no such file: {args.file}")
    if args.action == "receive":
        args.dir.mkdir(parents=True, exist_ok=True)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    print(asyncio.run(session(args, password)), flush=True)
