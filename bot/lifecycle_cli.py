"""The lifecycle commands in one import for bot/cli.py: campaigns, guests, and the campaign bench."""

from __future__ import annotations

from bot.bench_campaign import add_bench_campaign
from bot.campaigns_cli import add_campaign_commands
from bot.guests_cli import add_guest_commands

__all__ = ["add_bench_campaign", "add_campaign_commands", "add_guest_commands"]
