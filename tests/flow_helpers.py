"""A guest talking to the bot through the web API, for scripted conversation tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.app import Concierge


@dataclass
class WebGuest:
    app: Concierge
    client: aiohttp.ClientSession
    session: str
    lang: str = "zh-CN"
    last: list[dict[str, Any]] = field(default_factory=list)

    async def _post(self, body: dict[str, Any]) -> str:
        url = f"http://127.0.0.1:{self.app.port}/api/chat"
        async with self.client.post(url, json={"session": self.session, "lang": self.lang, **body}) as response:
            assert response.status == 200, await response.text()
            self.last = (await response.json())["replies"]
        return self.text

    async def say(self, text: str) -> str:
        return await self._post({"text": text})

    async def press(self, value: str) -> str:
        assert value in self.buttons, f"{value!r} not offered; buttons: {self.buttons}"
        return await self._post({"button": value})

    async def press_anyway(self, value: str) -> str:
        """Press a button that is not on the last message (an old or forged one)."""
        return await self._post({"button": value})

    @property
    def text(self) -> str:
        return "\n".join(reply["text"] for reply in self.last)

    @property
    def buttons(self) -> list[str]:
        return [button["value"] for reply in self.last for button in reply["buttons"]]
