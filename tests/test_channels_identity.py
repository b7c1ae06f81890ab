"""One guest, many channels: a LINE identity joins the profile behind an existing booking (reference plus
the booker's surname), the dashboard shows the conversation's channel, and a staff reply from the
dashboard goes back through LINE."""

from __future__ import annotations

from datetime import date

import aiohttp
from sqlmodel import select

from bot.app import Concierge
from bot.bench.fake_line import FakeLine
from crm.models import Booking, ChannelIdentity, Guest, Message, Ticket
from nlp import Analyzer
from tests import staff_helpers
from tests.channel_helpers import settle_channel
from tests.conftest import SettingsFactory


async def test_a_line_identity_joins_the_bookers_profile_and_staff_answer_on_line(
    make_settings: SettingsFactory, analyzer: Analyzer, client: aiohttp.ClientSession
) -> None:
    line = FakeLine()
    await line.start()
    app = Concierge(make_settings(**line.env()), analyzer=analyzer)
    await app.start()
    try:
        await staff_helpers.add_team(app)
        async with app.db.write() as session:  # a guest we know from the web chat, with a booking
            known = Guest(name="Zhang Wei", surname="Zhang", language="zh-Hans")
            session.add(known)
            await session.flush()
            session.add(ChannelIdentity(channel="web", external_id="web-zhang", chat_id="web-zhang", guest_id=known.id))
            session.add(
                Booking(
                    reference="CTRP2345",
                    guest_id=known.id,
                    room_type="twin",
                    check_in=date(2026, 12, 1),
                    check_out=date(2026, 12, 3),
                    guests=2,
                    nightly_rate=628,
                    total_price=1256,
                    surname="Zhang",
                    source="ota",
                )
            )
            known_id = known.id
        user = "U4af4980629000000000000000000join"

        async def say(text: str) -> str:
            before = len(line.to(user))
            assert await line.deliver(client, app.port, line.text(user, text)) == 200
            await line.wait_for(lambda: len(line.to(user)) > before)
            await settle_channel(app, "line")
            return "\n".join(message.text for message in line.to(user)[before:])

        assert "CTRP2345" in await say("我在携程订的，预订号 CTRP2345")
        assert "已将预订关联" in await say("Zhang")
        async with app.db.read() as session:
            identity = (
                (await session.execute(select(ChannelIdentity).where(ChannelIdentity.channel == "line")))
                .scalars()
                .one()
            )
            lines = (await session.execute(select(Message.guest_id).where(Message.channel == "line"))).scalars().all()
        assert identity.guest_id == known_id and set(lines) == {known_id}  # the conversation moved with it

        assert "#1" in await say("转人工")
        async with app.db.read() as session:
            ticket = (await session.execute(select(Ticket))).scalars().one()
        assert (ticket.guest_id, ticket.channel) == (known_id, "line")

        async with staff_helpers.client() as staff:
            await staff_helpers.login(staff, app, staff_helpers.MANAGER)
            async with staff.get(staff_helpers.base(app) + f"/staff/tickets/{ticket.id}") as response:
                assert "line" in await response.text()  # the ticket page names the guest's channel
            await staff_helpers.reply_on_ticket(staff, app, ticket.id, "您好张先生，我是前台小李")
        await line.wait_for(lambda: any("前台小李" in message.text for message in line.to(user)))
        await settle_channel(app, "line")
        assert sum("前台小李" in message.text for message in line.to(user)) == 1
    finally:
        await app.stop()
        await line.stop()
