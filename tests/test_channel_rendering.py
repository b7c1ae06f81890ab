"""One Reply, three renderings: what each platform can show (its published limits) decides the form."""

from __future__ import annotations

from bot.channels.line.channel import render as line_render
from bot.channels.webhook import numbered, split_text
from bot.channels.wechat.channel import CAPABILITIES as WECHAT
from bot.channels.whatsapp.channel import render as whatsapp_render


def _buttons(count: int, label: str = "A rather long choice label") -> list[dict[str, str]]:
    return [{"label": f"{label} {n}", "value": f"pick:{n}"} for n in range(1, count + 1)]


def test_whatsapp_reply_buttons_a_list_or_numbered_lines() -> None:
    [buttons] = whatsapp_render("Pick one", _buttons(3), "Choose")
    action = buttons["interactive"]["action"]
    assert buttons["interactive"]["type"] == "button" and len(action["buttons"]) == 3
    assert all(len(b["reply"]["title"]) <= 20 for b in action["buttons"])
    assert [b["reply"]["id"] for b in action["buttons"]] == ["pick:1", "pick:2", "pick:3"]
    [listed] = whatsapp_render("Pick one", _buttons(10), "Choose")
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert listed["interactive"]["type"] == "list" and len(rows) == 10 and all(len(r["title"]) <= 24 for r in rows)
    [plain] = whatsapp_render("Pick one", _buttons(11), "Choose")
    assert plain["type"] == "text" and "11. A rather long choice label 11" in plain["text"]["body"]


def test_whatsapp_long_text_is_split_and_the_buttons_ride_on_the_last_piece() -> None:
    messages = whatsapp_render("x" * 5000, _buttons(2), "Choose")
    assert [m["type"] for m in messages][-1] == "interactive"
    assert all(len(m["text"]["body"]) <= 4096 for m in messages if m["type"] == "text")
    assert len(messages[-1]["interactive"]["body"]["text"]) <= 1024


def test_line_quick_replies_and_split() -> None:
    messages = line_render("行\n" * 6000, _buttons(4))
    assert len(messages) == 3 and all(len(m["text"]) <= 5000 for m in messages)
    items = messages[-1]["quickReply"]["items"]
    assert [i["action"]["data"] for i in items] == ["pick:1", "pick:2", "pick:3", "pick:4"]
    assert all(i["action"]["type"] == "postback" and len(i["action"]["label"]) <= 20 for i in items)
    assert "quickReply" not in messages[0]
    [many] = line_render("Pick", _buttons(14))
    assert "quickReply" not in many and "14. " in many["text"]


def test_wechat_numbered_lines_within_its_limit() -> None:
    text = numbered("请选择房型", _buttons(3, "大床房"))
    assert text.endswith("1. 大床房 1\n2. 大床房 2\n3. 大床房 3")
    pieces = split_text("很长的回答。\n" * 400, WECHAT.max_text)
    assert len(pieces) > 1 and all(len(piece.encode()) <= 2048 for piece in pieces)
