"""Property-based tests over the web API and the whole pipeline: no input yields a 5xx, a traceback, an
empty answer to a real message, or a conversation stuck in a flow.

A 200 is not enough: the pipeline turns a crash into a polite "system error" (and `Analyzer.analyze` turns
one into a valid "other"), which these properties would accept while the guest's message never reached
staff. So each test also fails on any error or traceback logged while it ran.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Concierge
from nlp import Analyzer
from tests.conftest import SettingsFactory, running


def _assert_nothing_failed(caplog: pytest.LogCaptureFixture) -> None:
    caught = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not caught, caught[:3]


# What breaks int(), str.isdigit()-guarded parsing and storage: superscripts and other non-ASCII digits,
# overlong numbers, lone surrogates (valid in JSON's \uD800, not storable as UTF-8).
ODD_DIGITS = st.one_of(
    st.sampled_from(["²", "³", "¹", "٣", "０", "9" * 55, "-1", "", "1" * 19]),
    st.text(alphabet="0123456789²³¹٣０", min_size=1, max_size=25),
)
BUTTON_VALUES = st.one_of(
    st.text(max_size=80),
    st.builds("".join, st.tuples(
        st.sampled_from(["chg:pick:", "cxl:pick:", "fu:", "survey:csat:", "survey:nps:", "book:guests:", "prep:"]),
        ODD_DIGITS, st.sampled_from(["", ":yes", ":no", ":1", ":²"]))),
)
# what the API accepts as a button (at most 64 bytes, like Telegram's callback data); longer is a 400
SENDABLE_BUTTONS = BUTTON_VALUES.filter(lambda value: len(value.encode("utf-8", "surrogatepass")) <= 64)
SURROGATES = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
                     min_size=1, max_size=5)


GUEST_TEXT = st.one_of(
    st.text(max_size=300),
    st.builds(lambda a, b, c: a + b + c, st.text(max_size=20), SURROGATES, st.text(max_size=20)),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=60),
    st.sampled_from([
        "<script>alert(1)</script>", "'; DROP TABLE message; --", "\x00", "🛎️🛎️", "/start", "/language xx",
        "确认", "算了", "1208", "I want to book", "我想订房", "取消预订", "转人工", "a" * 5000,
        "\ud800", "房间\udfff空调坏了", "电话²13912345678", "²", "入住 ² 晚",
    ]),
)
BODIES = st.one_of(
    st.fixed_dictionaries({"session": st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True), "text": GUEST_TEXT}),
    st.fixed_dictionaries({"session": st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
                           "button": BUTTON_VALUES}),
    st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers())), max_size=4),
    st.lists(st.integers(), max_size=3),
    st.text(max_size=50),
)


@pytest.fixture
async def web_bot(make_settings: SettingsFactory, analyzer: Analyzer) -> AsyncIterator[Concierge]:
    """Hundreds of generated sessions from one loopback address: the per-address limits on new sessions and
    on messages (tests/test_abuse_guest.py) are not what these properties are about."""
    settings = make_settings(CONCIERGE_LIMITS_WEB_SESSIONS_PER_MINUTE="0", CONCIERGE_LIMITS_WEB_MESSAGES_PER_SECOND="0")
    async with running(settings, analyzer) as app:
        yield app


def test_web_api_never_fails_on_any_body(web_bot: Concierge, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    loop = asyncio.get_event_loop()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=BODIES)
    def check(body: object) -> None:
        async def post() -> tuple[int, dict]:
            async with aiohttp.ClientSession() as client:
                async with client.post(f"http://127.0.0.1:{web_bot.port}/api/chat", data=json.dumps(body),
                                       headers={"Content-Type": "application/json"}) as response:
                    return response.status, await response.json()

        status, answer = loop.run_until_complete(post())
        assert status in (200, 400), (status, answer)
        if status == 200:
            assert isinstance(answer["replies"], list)
            for reply in answer["replies"]:
                assert reply["text"] and "Traceback" not in reply["text"]

    check()
    _assert_nothing_failed(caplog)


STEPS = st.lists(
    st.one_of(
        GUEST_TEXT.map(lambda text: {"text": text}),
        st.sampled_from(["book:start", "book:room:king", "book:guests:2", "book:confirm", "chg:confirm", "cxl:confirm",
                         "flow:abort", "faq:wifi", "fu:1:yes", "lang:en", "chg:pick:999", "book:guests:-1",
                         "chg:pick:²", "fu:²:yes", "survey:csat:²:1", "book:guests:²", "chg:pick:" + "9" * 55]).map(
            lambda value: {"button": value}),
        SENDABLE_BUTTONS.map(lambda value: {"button": value}),
        st.sampled_from(["我想订12月24号的大床房两晚", "I'd like to book a suite", "取消预订", "改一下预订", "请送毛巾",
                         "我在携程订的，预订号 ABCD2345"]).map(lambda text: {"text": text}),
    ),
    max_size=6,
)


def test_no_sequence_leaves_a_conversation_stuck_in_a_flow(
        web_bot: Concierge, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    loop = asyncio.get_event_loop()
    counter = iter(range(10**6))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(steps=STEPS)
    def check(steps: list[dict[str, str]]) -> None:
        session = f"prop{next(counter)}"

        async def run() -> None:
            from sqlmodel import select

            from crm.guests import find_identity
            from crm.models import ConversationState

            async with aiohttp.ClientSession() as client:
                url = f"http://127.0.0.1:{web_bot.port}/api/chat"
                for step in [*steps, {"text": "算了"}]:
                    async with client.post(url, json={"session": session, **step}) as response:
                        assert response.status == 200
            async with web_bot.db.read() as db_session:
                identity = await find_identity(db_session, "web", session)
                if identity is None:
                    return
                state = (await db_session.execute(
                    select(ConversationState).where(ConversationState.guest_id == identity.guest_id))).scalar_one()
                assert state.flow is None, (steps, state.flow, state.step)

        loop.run_until_complete(run())

    check()
    _assert_nothing_failed(caplog)
