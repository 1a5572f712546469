"""``echoel backup`` and ``echoel restore`` (registered on the main parser by app.cli)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from app.core.settings import get_settings
from app.ops.dbdump import BackupError


def cmd_backup(args: argparse.Namespace) -> None:
    from app.ops.backup import backup_root, create_backup, prune

    settings = get_settings()
    root = Path(args.dest) if args.dest else backup_root(settings)
    try:
        folder = asyncio.run(create_backup(settings, root))
    except BackupError as exc:
        raise SystemExit(f"echoel backup: {exc}") from None
    print(f"backup written: {folder}")
    if args.keep:
        for old in prune(root, args.keep):
            print(f"removed old backup: {old}")


def cmd_restore(args: argparse.Namespace) -> None:
    from app.ops.backup import restore_backup, verify_backup

    folder = Path(args.folder)
    try:
        if args.verify_only:
            manifest = verify_backup(folder)
            print(f"backup verified: {len(manifest['objects'])} objects, tables {manifest['row_counts']}")
            return
        report = asyncio.run(restore_backup(get_settings(), folder, force=args.force))
    except BackupError as exc:
        raise SystemExit(f"echoel restore: {exc}") from None
    print("restored: " + json.dumps(report, sort_keys=True))


def add_ops_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backup = sub.add_parser("backup", help="dump the database and mirror the object store, with sha256 manifests")
    backup.add_argument("--dest", help="folder holding backups (default: ECHOEL_BACKUP_DIR or var/backups)")
    backup.add_argument("--keep", type=int, default=0, help="afterwards keep only the newest N backups")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help="restore a backup onto a fresh database and object store")
    restore.add_argument("folder", help="a backup folder (echoel-<time>)")
    restore.add_argument("--force", action="store_true", help="restore even if the database already has tables")
    restore.add_argument("--verify-only", action="store_true", help="only check the files against SHA256SUMS")
    restore.set_defaults(func=cmd_restore)
