"""Typed settings for Concierge, loaded from ``config.yaml`` plus environment overrides.

The hotel edits YAML, not Python; every value is validated at start-up so that a typo is reported with
the offending key and file instead of surfacing as a confusing error in the middle of a guest's chat.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from scheduler.config import CampaignSettings, parse_hhmm

DEFAULT_CONFIG = Path("config.yaml")
DEFAULT_TELEGRAM_BASE = "https://api.telegram.org/bot"
Locale = Literal["zh-Hans", "zh-Hant", "en"]
Priority = Literal["low", "normal", "high", "urgent"]


class ConfigError(Exception):
    """A configuration problem a hotel operator can fix: the message names the key and the file."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Model):
    """A text the hotel writes once in Chinese and once in English (Traditional is converted from zh)."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class HotelSettings(_Model):
    names: Bilingual
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    check_in_time: time = time(14, 0)
    check_out_time: time = time(12, 0)
    address: Bilingual
    phone: str = ""

    @field_validator("check_in_time", "check_out_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time:
        return parse_hhmm(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RoomTypeSettings(_Model):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    names: Bilingual
    synonyms: list[str] = Field(default_factory=list)
    capacity: int = Field(ge=1, le=20)
    rate: int = Field(ge=0, description="nightly rate in the hotel's currency")
    inventory: int = Field(ge=0)


class TicketCategorySettings(_Model):
    department: str
    priority: Priority = "normal"
    respond_minutes: int = Field(gt=0)
    resolve_minutes: int = Field(gt=0)


class CancellationPolicy(_Model):
    free_until_hours_before_check_in: int = Field(default=24, ge=0)
    penalty_nights: int = Field(default=1, ge=0)


class QuietHours(_Model):
    start: time = time(22, 0)
    end: time = time(8, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time:
        return parse_hhmm(value)


class TelegramSettings(_Model):
    token: str = ""
    api_base_url: str = DEFAULT_TELEGRAM_BASE
    staff_chat_id: int | None = None
    department_chats: dict[str, int] = Field(default_factory=dict)  # department -> its own staff chat
    webhook_url: str = ""
    webhook_secret: str = ""
    rate_limit_per_second: float = Field(default=25, gt=0, le=30)
    rate_limit_per_chat_seconds: float = Field(default=1.0, ge=0)
    poll_timeout: int = Field(default=30, ge=0, le=60)
    # Requests to the Bot API in flight at once. httpx scans its whole pool for every request it places,
    # so hundreds of open connections cost more CPU than they save; 30/s at Telegram's ~100 ms needs ~3.
    max_concurrent_sends: int = Field(default=16, ge=1, le=256)

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def __repr__(self) -> str:  # never leak the token into logs or tracebacks
        return f"TelegramSettings(enabled={self.enabled}, api_base_url={self.api_base_url!r})"

    __str__ = __repr__


class HttpSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class DatabaseSettings(_Model):
    url: str = ""


class RetentionSettings(_Model):
    """How long conversation text is kept before the nightly purge deletes it (0 = keep forever)."""

    messages_days: int = Field(default=365, ge=0)


class LoggingSettings(_Model):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(_Model):
    hotel: HotelSettings
    languages: list[Locale] = Field(default_factory=lambda: ["zh-Hans", "zh-Hant", "en"])
    default_language: Locale = "zh-Hans"
    room_types: list[RoomTypeSettings] = Field(min_length=1)
    faq: dict[str, Bilingual] = Field(default_factory=dict)
    departments: dict[str, Bilingual] = Field(min_length=1)
    ticket_categories: dict[str, TicketCategorySettings] = Field(min_length=1)
    cancellation_policy: CancellationPolicy = CancellationPolicy()
    quiet_hours: QuietHours = QuietHours()
    telegram: TelegramSettings = TelegramSettings()
    campaigns: CampaignSettings = CampaignSettings()  # scheduler/config.py
    http: HttpSettings = HttpSettings()
    database: DatabaseSettings = DatabaseSettings()
    retention: RetentionSettings = RetentionSettings()
    logging: LoggingSettings = LoggingSettings()
    data_dir: Path = Path("data")
    source: Path = Field(default=DEFAULT_CONFIG, exclude=True)

    @model_validator(mode="after")
    def _cross_references(self) -> Settings:
        codes = [room.code for room in self.room_types]
        if len(set(codes)) != len(codes):
            raise ValueError(f"room_types: duplicate code in {codes}")
        for name, category in self.ticket_categories.items():
            if category.department not in self.departments:
                raise ValueError(
                    f"ticket_categories.{name}.department: {category.department!r} is not one of departments "
                    f"({', '.join(self.departments)})"
                )
        return self

    def room_type(self, code: str) -> RoomTypeSettings | None:
        return next((room for room in self.room_types if room.code == code), None)

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL: the configured one, or a SQLite file in the data dir."""
        return self.database.url or f"sqlite+aiosqlite:///{(self.data_dir / 'concierge.db').resolve()}"


# Environment variable -> dotted key in the settings tree.
ENV_OVERRIDES: dict[str, str] = {
    "TELEGRAM_BOT_TOKEN": "telegram.token",
    "TELEGRAM_API_BASE_URL": "telegram.api_base_url",
    "CONCIERGE_TELEGRAM_STAFF_CHAT_ID": "telegram.staff_chat_id",
    "CONCIERGE_TELEGRAM_WEBHOOK_URL": "telegram.webhook_url",
    "CONCIERGE_TELEGRAM_WEBHOOK_SECRET": "telegram.webhook_secret",
    "CONCIERGE_DATABASE_URL": "database.url",
    "CONCIERGE_DATA_DIR": "data_dir",
    "CONCIERGE_HTTP_HOST": "http.host",
    "CONCIERGE_HTTP_PORT": "http.port",
    "CONCIERGE_LOG_FORMAT": "logging.format",
}


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = tree
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[leaf] = value


def _describe(error: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error.get("loc", ())) or "(top level)"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return f"{key}: {message}"


def config_path(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(path or env.get("CONCIERGE_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read, override from the environment, and validate; raise ConfigError naming key and file."""
    env = os.environ if env is None else env
    source = config_path(path, env)
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{source}: configuration file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read configuration file: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{source}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: (top level): expected a mapping of keys, got {type(raw).__name__}")
    for variable, dotted in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value is not None and value != "":
            _set_dotted(raw, dotted, value)
    data_dir = raw.get("data_dir", "data")
    if isinstance(data_dir, str) and "CONCIERGE_DATA_DIR" not in env and not Path(data_dir).is_absolute():
        raw["data_dir"] = str((source.parent / data_dir))  # relative to the file, not to the cwd
    raw["source"] = source
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None
