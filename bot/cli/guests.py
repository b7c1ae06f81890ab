"""``concierge guests import FILE.csv | export ID | erase ID``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli.common import open_store, settings_of
from crm import guest_data
from crm.types import utcnow


def add_guest_commands(subparsers: Any) -> None:
    guests = subparsers.add_parser("guests", help="guest data: PMS import, export, erasure")
    sub = guests.add_subparsers(dest="guests_command", required=True)
    imp = sub.add_parser("import", help="import a PMS export (CSV: name, phone, email, birthday, language, stays)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=_import)
    exp = sub.add_parser("export", help="everything we hold about one guest, as JSON")
    exp.add_argument("id", type=int)
    exp.set_defaults(func=_export)
    erase = sub.add_parser("erase", help="remove a guest's personal data, keep anonymous statistics")
    erase.add_argument("id", type=int)
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(func=_erase)


def _import(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"concierge: {args.file}: no such file", file=sys.stderr)
        return 1

    def progress(done: int) -> None:
        print(f"\rimported {done} rows…", end="", file=sys.stderr, flush=True)

    async def go() -> guest_data.ImportReport:
        async with open_store(settings_of(args)) as db:
            return await guest_data.import_guests(db, args.file, now=utcnow(), progress=progress)

    try:
        report = asyncio.run(go())
    except ValueError as exc:
        print(f"\nconcierge: {exc}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    print(f"{report.created} created, {report.updated} updated, {len(report.rejected)} rejected")
    for line, reason in report.rejected[:200]:
        print(f"  line {line}: {reason}")
    if len(report.rejected) > 200:
        print(f"  … and {len(report.rejected) - 200} more")
    return 0


def _export(args: argparse.Namespace) -> int:
    async def go() -> dict[str, Any] | None:
        async with open_store(settings_of(args)) as db, db.read() as session:
            return await guest_data.export_guest(session, args.id)

    data = asyncio.run(go())
    if data is None:
        print(f"concierge: no guest {args.id}", file=sys.stderr)
        return 1
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return 0


def _erase(args: argparse.Namespace) -> int:
    if not args.yes and sys.stdin.isatty():
        if input(f"Erase the personal data of guest {args.id}? This cannot be undone. [y/N] ").strip().lower() != "y":
            return 1

    async def go() -> bool:
        async with open_store(settings_of(args)) as db, db.write() as session:
            return await guest_data.erase_guest(session, args.id, actor="cli", now=utcnow())

    if not asyncio.run(go()):
        print(f"concierge: no guest {args.id}", file=sys.stderr)
        return 1
    print(f"guest {args.id}: personal data erased; anonymous statistics kept")
    return 0
