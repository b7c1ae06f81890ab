"""Bad input gets an answer, never a traceback: what broke the pipeline in the fuzz run of issue 14, each
sent through the web API as a guest would, with the log watched for errors."""

from __future__ import annotations

import json
import logging

import aiohttp
import pytest
from sqlmodel import select

from bot.app import Concierge
from bot.logs import mask
from crm.models import Message, Ticket

APOLOGY = "系统刚才出了点问题"


async def _post(app: Concierge, body: str) -> dict:
    async with aiohttp.ClientSession() as client:
        async with client.post(f"http://127.0.0.1:{app.port}/api/chat", data=body,
                               headers={"Content-Type": "application/json"}) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("button", [
    "chg:pick:²", "cxl:pick:٣", "fu:²:yes", "survey:csat:²:1", "survey:nps:1:³", "book:guests:²",
    "chg:pick:" + "9" * 55, "fu:" + "9" * 30 + ":yes",
])
async def test_button_values_are_parsed_strictly(
        web_bot: Concierge, caplog: pytest.LogCaptureFixture, button: str) -> None:
    caplog.set_level(logging.ERROR)
    await _post(web_bot, json.dumps({"session": "odd-buttons", "text": "我想订房"}))
    answer = await _post(web_bot, json.dumps({"session": "odd-buttons", "button": button}))
    assert answer["replies"] and APOLOGY not in answer["replies"][0]["text"]
    assert _errors(caplog) == []


async def test_a_lone_surrogate_still_reaches_staff(web_bot: Concierge, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    # json.dumps writes the lone surrogate as the escape "\udfff", which is valid JSON
    answer = await _post(web_bot, json.dumps({"session": "surrogate", "text": "1203房间的空调坏了\udfff一直滴水"}))
    assert APOLOGY not in answer["replies"][0]["text"]
    assert _errors(caplog) == []
    async with web_bot.db.read() as session:
        lines = (await session.execute(select(Message.text).where(Message.direction == "in"))).scalars().all()
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert lines == ["1203房间的空调坏了\ufffd一直滴水"]  # the guest's words, with what cannot be stored marked
    assert ticket.room_number == "1203"


def test_phone_numbers_after_odd_digits_are_masked() -> None:
    assert "13912345678" not in mask("电话²13912345678")
    assert "13912345678" not in mask("call ³13912345678 please")
    assert "13912345678" not in mask("我的电话13912345678号码")  # a Chinese character is a word character too
    assert "1208" in mask("room²1208")
