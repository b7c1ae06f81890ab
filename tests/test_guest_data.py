"""Guest data: PMS import with a report of rejected rows, export of everything we hold, and erasure that
removes personal data from every table while the statistics stay."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from sqlmodel import select

from bot.app import Concierge
from bot.cli import main
from crm.guests import find_identity
from crm.models import Guest, InboxUpdate, Message, Outbox, Ticket

CSV = """name,phone,email,birthday,language,stays
张伟,+86 139 0000 1111,zhang@example.com,1988-05-17,zh-Hans,3
Alice Smith,+44 7700 900123,alice@example.com,1990-12-01,en,1
No Contact,,,,en,1
Bad Date,+86 138 0000 2222,,17/05/1988,zh-Hans,1
"""


async def test_import_export_and_erase(web_bot: Concierge, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCIERGE_DATA_DIR", str(web_bot.settings.data_dir))
    if web_bot.settings.database.url:
        monkeypatch.setenv("CONCIERGE_DATABASE_URL", web_bot.settings.database.url)
    source = tmp_path / "pms.csv"
    source.write_text(CSV, encoding="utf-8")
    assert await _run_cli("guests", "import", str(source)) == 0
    report = capsys.readouterr().out
    assert "3 created" in report and "1 rejected" in report and "line 5: birthday" in report
    assert "138 0000 2222" not in report  # rejected rows are reported without their phone numbers

    async with aiohttp.ClientSession() as client:  # a guest who chatted, complained and told us a preference
        url = f"http://127.0.0.1:{web_bot.port}/api/chat"
        for text in ("房间 1207，枕头太高了，能换个低的吗", "隔壁太吵了一晚没睡，太失望了，我的电话 13912345678"):
            async with client.post(url, json={"session": "erase-me", "text": text}) as response:
                assert response.status == 200
    async with web_bot.db.read() as session:
        identity = await find_identity(session, "web", "erase-me")
        assert identity is not None
        guest_id = identity.guest_id

    assert await _run_cli("guests", "export", str(guest_id)) == 0
    exported = json.loads(capsys.readouterr().out)
    assert any("枕头太高" in m["text"] for m in exported["messages"])
    assert exported["preferences"] and exported["tickets"]

    assert await _run_cli("guests", "erase", str(guest_id), "--yes") == 0
    async with web_bot.db.read() as session:
        guest = await session.get(Guest, guest_id)
        messages = (await session.execute(select(Message.text).where(Message.guest_id == guest_id))).scalars().all()
        tickets = (await session.execute(select(Ticket).where(Ticket.guest_id == guest_id))).scalars().all()
        staff_rows = (await session.execute(select(Outbox.text).where(Outbox.channel == "staff"))).scalars().all()
        payloads = (await session.execute(select(InboxUpdate.payload))).scalars().all()
        identity_left = await find_identity(session, "web", "erase-me")
    assert guest is not None and guest.name == "" and guest.phone is None and not guest.marketing_consent
    assert messages and all("枕头" not in text and "13912345678" not in text for text in messages)
    assert len(tickets) == 2 and all("吵" not in t.summary for t in tickets)  # statistics stay, words go
    assert staff_rows and all("吵" not in text for text in staff_rows)
    assert all("erase-me" not in json.dumps(payload, ensure_ascii=False) for payload in payloads)
    assert identity_left is None


async def _run_cli(*args: str) -> int:
    """The real command line, in a thread: it runs its own event loop."""
    return await asyncio.to_thread(main, list(args))
