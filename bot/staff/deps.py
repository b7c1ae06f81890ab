"""What the dashboard needs from the running service, handed over as one small object.

Staff code never names the app class: the app factory builds a ``StaffDeps`` and mounts the dashboard
with it, so the dashboard can be read (and tested) knowing only these five things.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.config import Settings
from bot.delivery import Deliverer
from crm.db import Database
from handlers.i18n import Catalog
from nlp import Analyzer


@dataclass(frozen=True)
class StaffDeps:
    settings: Settings
    db: Database
    catalog: Catalog
    deliverer: Deliverer  # woken after an action queues a message
    analyzer: Analyzer  # its tokenizer feeds the conversation search index


DEPS_KEY = web.AppKey("staff_deps", StaffDeps)


def deps_of(request: web.Request) -> StaffDeps:
    return request.app[DEPS_KEY]
