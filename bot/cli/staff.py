"""``concierge staff …``: create the first accounts before anyone can log in to the dashboard.

The password is asked for twice at a prompt (never echoed, never an argument: arguments end up in shell
history and ``ps``), or read from standard input with ``--password-stdin`` for provisioning scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from bot.cli.common import open_store, settings_of
from crm.staff import ROLES, StaffError
from handlers.i18n import LOCALES


def add_staff_commands(subparsers: Any) -> None:
    staff = subparsers.add_parser("staff", help="dashboard and Telegram staff accounts")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)

    add = staff_sub.add_parser("add", help="create a staff account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--department", default=None, help="a department code from config.yaml (agents see its tickets)")
    add.add_argument("--telegram-id", type=int, default=None, help="Telegram user id, to act from the staff chat")
    add.add_argument("--language", choices=LOCALES, default=None,
                     help="language of the member's Telegram cards and answers (default: the hotel's)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_add)

    staff_sub.add_parser("list", help="list staff accounts").set_defaults(func=_list)

    password = staff_sub.add_parser("password", help="set a new password (signs the user out everywhere)")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(func=_password)


class NoTerminal(Exception):
    """No terminal to prompt on (a script, a pipe, a container without -t): the password must come from
    standard input, explicitly."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():  # getpass would fall back to reading stdin and die with EOFError on nothing
        raise NoTerminal
    try:
        first = getpass.getpass("Password: ")
        repeated = getpass.getpass("Repeat password: ")
    except EOFError:
        raise NoTerminal from None
    if repeated != first:
        raise StaffError("the passwords do not match")
    return first


def _run(args: argparse.Namespace, work: Any) -> int:
    settings = settings_of(args)

    async def go() -> None:
        async with open_store(settings) as database:
            async with database.write() as session:
                await work(session, settings)

    try:
        asyncio.run(go())
    except StaffError as exc:
        print(f"concierge: {exc}", file=sys.stderr)
        return 1
    return 0


def _run_with_password(args: argparse.Namespace, work: Any) -> int:
    """Ask for the password before touching the store; ``work`` finds it in ``args.password``."""
    try:
        args.password = _read_password(args.password_stdin)
    except NoTerminal:
        print("concierge: no terminal to ask for the password; pipe it in with --password-stdin, e.g.\n"
              f"  printf '%s\\n' \"$PASSWORD\" | concierge staff {args.staff_command} {args.name} ... --password-stdin",
              file=sys.stderr)
        return 2
    except StaffError as exc:
        print(f"concierge: {exc}", file=sys.stderr)
        return 1
    return _run(args, work)


def _add(args: argparse.Namespace) -> int:
    from crm.staff import add_staff

    async def work(session: Any, settings: Any) -> None:
        if args.department and args.department not in settings.departments:
            raise StaffError(f"unknown department {args.department!r} (one of {', '.join(settings.departments)})")
        user = await add_staff(session, args.name, args.role, args.password, department=args.department,
                               telegram_user_id=args.telegram_id, language=args.language, actor="cli")
        details = ", ".join(filter(None, (user.role, user.department, user.language)))
        print(f"added {user.name} ({details})")

    return _run_with_password(args, work)


def _list(args: argparse.Namespace) -> int:
    from crm.staff import list_staff

    async def work(session: Any, _settings: Any) -> None:
        for user in await list_staff(session):
            state = "" if user.active else " (inactive)"
            telegram = " telegram" if user.telegram_user_id else ""
            print(f"{user.name}\t{user.role}\t{user.department or '-'}\t{user.language or '-'}{telegram}{state}")

    return _run(args, work)


def _password(args: argparse.Namespace) -> int:
    from crm.staff import find_by_name, set_password

    async def work(session: Any, _settings: Any) -> None:
        user = await find_by_name(session, args.name)
        if user is None:
            raise StaffError(f"no staff member called {args.name!r}")
        await set_password(session, user, args.password, actor="cli")
        print(f"password of {user.name} changed")

    return _run_with_password(args, work)
