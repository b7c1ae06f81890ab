"""The guest's side of the lifecycle campaigns: the post-stay survey, the pre-arrival answer, and consent.

Survey: CSAT 1–5 → NPS 0–10 → an optional comment. Every answer is stored; a low CSAT (≤ 2) or a
detractor NPS (≤ 6) opens one recovery ticket for the duty manager and the guest is told someone will be
in touch. Buttons carry only ids (``survey:csat:<id>:<n>``, well under Telegram's 64 bytes) and are
checked against the guest who presses them: a forged or stale value gets the polite fallback.

Consent: "/stop", "/unsubscribe", or the bare words 退订 / unsubscribe / stop opt out at once (queued
marketing messages are cancelled too); "/subscribe" opts in. Both are recorded with time and source.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, update
from sqlmodel import select

from crm.models import AuditLog, Booking, Outbox, StayPreparation, Survey, Ticket
from crm.outbox import enqueue
from crm.tickets import TicketSpec, add_event, open_ticket
from handlers import info
from handlers.context import Turn
from handlers.flow import clear_flow, set_flow
from handlers.staff import alert_staff
from handlers.types import Button, parse_number

SURVEY_PREFIX = "survey:"
PREARRIVAL_PREFIX = "prearrival:"
COMMENT_FLOW = "survey_comment"
LOW_CSAT = 2  # 1–2 of 5: dissatisfied
DETRACTOR = 6  # 0–6 of 10: NPS detractor
HIGH_CSAT, PROMOTER = 4, 9
MAX_COMMENT = 2000
OPT_OUT_WORDS = frozenset({"退订", "退訂", "取消订阅", "取消訂閱", "td", "unsubscribe", "stop"})
MARKETING_PREFIXES = ("birthday:", "holiday:", "reengage:")
_PUNCT = re.compile(r"[\s。．.!！?？~～,，/]+")


def _ints(value: str, prefix: str, count: int) -> list[int] | None:
    numbers = [parse_number(part) for part in value.removeprefix(prefix).split(":")]
    if len(numbers) != count or None in numbers:
        return None
    return [number for number in numbers if number is not None]


async def _own_survey(turn: Turn, survey_id: int) -> Survey | None:
    survey = await turn.session.get(Survey, survey_id)
    return survey if survey is not None and survey.guest_id == turn.guest.id else None


def _recovery_marker(survey_id: int) -> str:
    return f"[survey {survey_id}] "


async def _recovery_ticket(turn: Turn, survey: Survey) -> Ticket | None:
    result = await turn.session.execute(
        select(Ticket).where(Ticket.guest_id == turn.guest.id, Ticket.summary.startswith(_recovery_marker(survey.id or 0)))  # type: ignore[attr-defined]
    )
    return result.scalars().first()


async def _open_recovery(turn: Turn, survey: Survey) -> Ticket:
    """One recovery ticket per survey, for the duty manager (the complaint route), staff alerted."""
    existing = await _recovery_ticket(turn, survey)
    if existing is not None:
        return existing
    rule = turn.hotel.ticket_categories.get("complaint") or turn.hotel.ticket_categories["other"]
    scores = turn.catalog.text(turn.staff_locale, "survey.staff", csat=survey.csat or "—", nps=survey.nps if survey.nps is not None else "—")
    ticket = await open_ticket(turn.session, TicketSpec(
        guest_id=turn.guest.id or 0, category="complaint", department=rule.department, priority="high",
        channel=turn.inbound.channel, summary=_recovery_marker(survey.id or 0) + scores,
        respond_minutes=rule.respond_minutes, resolve_minutes=rule.resolve_minutes, room_number=turn.guest.room_number,
    ), now=turn.now)
    turn.ticket_id = ticket.id
    await alert_staff(turn, ticket, scores)
    await add_event(turn.session, ticket, "escalated", note="post-stay survey: low score", now=turn.now)
    return ticket


async def survey_button(turn: Turn) -> None:
    value = turn.inbound.button or ""
    for step, count in (("csat", 2), ("nps", 2), ("skip", 1)):
        numbers = _ints(value, f"{SURVEY_PREFIX}{step}:", count) if value.startswith(f"{SURVEY_PREFIX}{step}:") else None
        if numbers is None:
            continue
        survey = await _own_survey(turn, numbers[0])
        if survey is None:
            break
        if step == "csat":
            await _csat(turn, survey, numbers[1])
        elif step == "nps":
            await _nps(turn, survey, numbers[1])
        else:
            clear_flow(turn)
            turn.say("survey.thanks.done")
        return
    info.fallback(turn)


async def _csat(turn: Turn, survey: Survey, score: int) -> None:
    if not 1 <= score <= 5:
        info.fallback(turn)
        return
    if survey.csat is not None:
        turn.say("survey.already")
        return
    survey.csat = score
    if score <= LOW_CSAT:
        await _open_recovery(turn, survey)
    buttons = [Button(turn.t("survey.nps.button", n=n), f"{SURVEY_PREFIX}nps:{survey.id}:{n}") for n in range(11)]
    turn.say("survey.nps.ask", buttons=buttons)


async def _nps(turn: Turn, survey: Survey, score: int) -> None:
    if not 0 <= score <= 10 or survey.csat is None:
        info.fallback(turn)
        return
    if survey.nps is not None:
        turn.say("survey.already")
        return
    survey.nps = score
    ticket = await _recovery_ticket(turn, survey)
    if ticket is None and score <= DETRACTOR:
        ticket = await _open_recovery(turn, survey)
    if ticket is not None:
        turn.ticket_id = ticket.id
        turn.say("survey.thanks.low", ticket=ticket.id)
    elif survey.csat >= HIGH_CSAT and score >= PROMOTER:
        turn.say("survey.thanks.high")
    else:
        turn.say("survey.thanks.done")
    set_flow(turn, COMMENT_FLOW, "comment", {"survey": survey.id, "ticket": ticket.id if ticket else None})
    turn.say("survey.comment.ask", buttons=[Button(turn.t("survey.skip"), f"{SURVEY_PREFIX}skip:{survey.id}")])


async def comment_flow(turn: Turn) -> bool:
    """The optional comment after the NPS question; an opt-out word is not a comment."""
    if is_opt_out(turn.inbound.text):
        clear_flow(turn)
        return False
    survey_id = turn.state.slots.get("survey")
    survey = await _own_survey(turn, int(survey_id)) if isinstance(survey_id, int) else None
    clear_flow(turn)
    if survey is None:
        return False
    survey.comment = turn.inbound.text.strip()[:MAX_COMMENT]
    ticket = await _recovery_ticket(turn, survey)
    if ticket is not None:
        ticket_id = ticket.id
        turn.ticket_id = ticket_id
        await add_event(turn.session, ticket, "comment", actor="guest", note=survey.comment, now=turn.now)
        await enqueue(turn.session, Outbox(
            channel="staff", kind="staff", ticket_id=ticket_id,
            text=turn.catalog.text(turn.staff_locale, "survey.staff_comment", ticket=ticket_id, comment=survey.comment[:1500]),
        ))
    turn.say("survey.thanks.comment")
    return True


async def prearrival_button(turn: Turn) -> None:
    """Yes: housekeeping is asked to prepare the remembered preferences; no: noted. Either way, stored."""
    value = turn.inbound.button or ""
    answer = value.removeprefix(PREARRIVAL_PREFIX).split(":", 1)[0]
    numbers = _ints(value, f"{PREARRIVAL_PREFIX}{answer}:", 1)
    prep = await turn.session.get(StayPreparation, numbers[0]) if numbers and answer in ("yes", "no") else None
    if prep is None or prep.guest_id != turn.guest.id:
        info.fallback(turn)
        return
    if prep.answer is not None:
        turn.say("prearrival.already")
        return
    prep.answer, prep.answered_at = answer, turn.now
    if answer == "no":
        turn.say("prearrival.no.ack")
        return
    separator = ", " if turn.locale == "en" else "、"
    wanted = separator.join(turn.t(f"campaign.pref.{p['key']}.{p['value']}") for p in prep.preferences)
    turn.say("prearrival.yes.ack", preferences=wanted)
    booking = await turn.session.get(Booking, prep.booking_id)
    staff = turn.staff_locale
    staff_wanted = "、".join(turn.catalog.text(staff, f"campaign.pref.{p['key']}.{p['value']}") for p in prep.preferences)
    await enqueue(turn.session, Outbox(channel="staff", kind="staff", text=turn.catalog.text(
        staff, "prearrival.staff",
        reference=booking.reference if booking else "—",
        date=booking.check_in.isoformat() if booking else "—",
        guest=turn.guest.name or turn.catalog.text(staff, "staff.unknown_guest"),
        preferences=staff_wanted,
    )))


def is_opt_out(text: str) -> bool:
    return _PUNCT.sub("", text.strip().lower()) in OPT_OUT_WORDS


def _audit(turn: Turn, action: str) -> None:
    turn.session.add(AuditLog(
        actor=f"guest:{turn.guest.id}", action=action, target=f"guest:{turn.guest.id}",
        detail=f"{turn.inbound.channel}:{turn.inbound.command or 'text'}", created_at=turn.now,
    ))


async def opt_out(turn: Turn) -> None:
    """Withdraw marketing consent at once, and cancel marketing messages already queued for this guest."""
    guest = turn.guest
    await turn.session.execute(
        update(Outbox)
        .where(
            Outbox.guest_id == guest.id, Outbox.kind == "campaign", Outbox.status == "pending",  # type: ignore[arg-type]
            or_(*(Outbox.dedupe_key.startswith(prefix) for prefix in MARKETING_PREFIXES)),  # type: ignore[union-attr]
        )
        .values(status="cancelled", last_error="guest opted out")
    )
    if not guest.marketing_consent:
        turn.say("consent.already_stopped")
        return
    guest.marketing_consent = False
    guest.consent_at, guest.consent_source = turn.now, f"{turn.inbound.channel}:opt-out"
    _audit(turn, "consent.withdrawn")
    turn.say("consent.stopped")


async def opt_in(turn: Turn) -> None:
    guest = turn.guest
    guest.marketing_consent = True
    guest.consent_at, guest.consent_source = turn.now, f"{turn.inbound.channel}:/subscribe"
    _audit(turn, "consent.given")
    campaigns = getattr(turn.hotel, "campaigns", None)
    turn.say("consent.started", cap=getattr(campaigns, "weekly_marketing_cap", 2))


async def opt_out_text(turn: Turn) -> bool:
    """For route_text: the bare opt-out words, without a slash."""
    if not is_opt_out(turn.inbound.text):
        return False
    await opt_out(turn)
    return True
