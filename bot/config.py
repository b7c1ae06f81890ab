"""Typed settings for Concierge, loaded from ``config.yaml`` plus environment overrides.

The hotel edits YAML, not Python; every value is validated at start-up so that a typo is reported with
the offending key and file instead of surfacing as a confusing error in the middle of a guest's chat.
"""

from __future__ import annotations

import os
import re
from ipaddress import ip_network
from collections.abc import Callable, Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from babel.numbers import list_currencies
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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

    zh: str = Field(min_length=1, description="Simplified Chinese; zh-Hant guests get it converted to Traditional")
    en: str = Field(min_length=1, description="English")


class HotelSettings(_Model):
    """Who the hotel is and its day: names, zone and check-in/out times that answers and campaigns use."""

    names: Bilingual = Field(description="the hotel's name, as guests and staff see it")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone of the hotel: dates guests mention, SLA clocks, campaign and nightly times",
    )
    currency: str = Field(
        default="CNY",
        description="ISO 4217 code of the room rates; guests see amounts in it as their locale writes them (¥1,376, CNY 1,376)",
    )
    check_in_time: time = Field(
        default=time(14, 0), description="check-in time, hotel time; the cancellation deadline counts from it"
    )
    check_out_time: time = Field(
        default=time(12, 0), description="check-out time, hotel time; the post-stay message counts from it"
    )
    address: Bilingual = Field(description="the hotel's address, used in campaign messages")
    phone: str = Field(default="", description="the hotel's phone number (informational)")
    numeric_dates: Literal["month_first", "day_first"] = Field(
        default="month_first",
        description="how guests here write 3/4: month first (China, US: 4 March) or day first (UK, Europe: 3 April)",
    )

    @field_validator("check_in_time", "check_out_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time:
        return parse_hhmm(value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in list_currencies():
            raise ValueError(f"unknown currency {value!r} (an ISO 4217 code such as CNY, HKD, USD)")
        return code

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
    """One room type guests can book; mirrored into the store's ``roomtype`` table at start-up."""

    code: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,31}$", description="stable identifier stored on bookings (lower case, digits, _)"
    )
    names: Bilingual = Field(description="the room type's name in answers and confirmations")
    synonyms: list[str] = Field(
        default_factory=list, description="words guests use for this room type, recognised by the NLP layer"
    )
    capacity: int = Field(ge=1, le=20, description="guests per room; a booking for more needs more rooms")
    rate: int = Field(ge=0, description="nightly rate in the hotel's currency")
    inventory: int = Field(ge=0, description="rooms of this type that can be sold per night")


class TicketCategorySettings(_Model):
    """Who takes one kind of request, how urgent it is, and its SLA."""

    department: str = Field(description="the department (a key of `departments`) that takes these tickets")
    priority: Priority = Field(default="normal", description="the ticket's priority")
    respond_minutes: int = Field(gt=0, description="SLA: minutes until a first response by staff is due")
    resolve_minutes: int = Field(gt=0, description="SLA: minutes until the ticket must be resolved")


class CancellationPolicy(_Model):
    """What a guest who cancels pays; quoted when they book and when they cancel."""

    free_until_hours_before_check_in: int = Field(
        default=24, ge=0,
        description="free cancellation until this many hours before check-in day at check_in_time (hotel time)",
    )
    penalty_nights: int = Field(default=1, ge=0, description="nights charged for a later cancellation")


class BookingSettings(_Model):
    require_phone: bool = Field(
        default=False,
        description="ask the booker's phone number (after the name) before quoting; kept on the booking and "
        "accepted as proof when the booking is attached from another account",
    )


class QuietHours(_Model):
    """The guest's night: campaign messages are not sent between start and end (in the guest's time)."""

    start: time = Field(default=time(22, 0), description="quiet hours begin (24-hour HH:MM)")
    end: time = Field(default=time(8, 0), description="quiet hours end (24-hour HH:MM)")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any) -> time:
        return parse_hhmm(value)


class TelegramSettings(_Model):
    """The Telegram channel: off without a token; long polling unless a webhook URL is set."""

    token: str = Field(default="", description="the bot's token from @BotFather; empty turns Telegram off")
    api_base_url: str = Field(
        default=DEFAULT_TELEGRAM_BASE,
        description="Bot API base URL (a self-hosted Bot API server works too, with or without /bot)",
    )
    staff_chat_id: int | None = Field(
        default=None,
        description="the staff group's chat id (a negative number); without it staff alerts wait as held",
    )
    department_chats: dict[str, int] = Field(  # department -> its own staff chat
        default_factory=dict, description="department code → its own staff chat id, overriding staff_chat_id"
    )
    webhook_url: str = Field(
        default="", description="public HTTPS URL that reaches /telegram/webhook here; empty = long polling"
    )
    webhook_secret: str = Field(
        default="", description="secret Telegram sends with each webhook request; empty = random per start"
    )
    rate_limit_per_second: float = Field(
        default=25, gt=0, le=30, description="messages per second to Telegram overall (Telegram allows about 30)"
    )
    rate_limit_per_chat_seconds: float = Field(
        default=1.0, ge=0, description="seconds between two messages to one private chat (groups: 3 s)"
    )
    poll_timeout: int = Field(default=30, ge=0, le=60, description="long-polling timeout of getUpdates, seconds")
    # Requests to the Bot API in flight at once. httpx scans its whole pool for every request it places,
    # so hundreds of open connections cost more CPU than they save; 30/s at Telegram's ~100 ms needs ~3.
    max_concurrent_sends: int = Field(
        default=16, ge=1, le=256, description="Bot API requests in flight at once"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    def __repr__(self) -> str:  # never leak the token into logs or tracebacks
        return f"TelegramSettings(enabled={self.enabled}, api_base_url={self.api_base_url!r})"

    __str__ = __repr__


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _each(value: Any, valid: Callable[[str], bool], what: str) -> Any:
    """A list as YAML or the environment (comma-separated) gives it, every entry checked."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        for entry in value:
            if not valid(str(entry)):
                raise ValueError(f"{entry!r} is not {what}")
    return value


def _is_network(entry: str) -> bool:
    try:
        ip_network(entry, strict=False)
    except ValueError:
        return False
    return True
class _ChannelSettings(_Model):
    """What every webhook channel shares: pacing toward the platform's API."""

    rate_limit_per_second: float = Field(
        default=20, gt=0, le=1000, description="messages per second to the platform overall"
    )
    rate_limit_per_chat_seconds: float = Field(
        default=0.5, ge=0, description="seconds between two messages to one guest"
    )

    def __repr__(self) -> str:  # never leak a secret into logs or tracebacks
        enabled, base = getattr(self, "enabled", False), getattr(self, "api_base_url", "")
        return f"{type(self).__name__}(enabled={enabled}, api_base_url={base!r})"

    __str__ = __repr__


class WeChatSettings(_ChannelSettings):
    """A WeChat Official Account (服务号): off unless token, app id and app secret are set."""

    token: str = Field(default="", description="the Token entered under 基本配置 → 服务器配置 (signs every callback)")
    app_id: str = Field(default="", description="AppID of the official account")
    app_secret: str = Field(default="", description="AppSecret of the official account (fetches the access token)")
    aes_key: str = Field(
        default="", description="EncodingAESKey (43 characters); set = safe mode (安全模式), callbacks encrypted"
    )
    api_base_url: str = Field(default="https://api.weixin.qq.com", description="WeChat API base URL")
    campaign_template_id: str = Field(
        default="", description="template message id for campaigns outside the 48-hour window; empty = such rows are held"
    )
    reply_template_id: str = Field(
        default="", description="template message id for staff replies outside the 48-hour window; empty = held"
    )
    template_field: str = Field(default="content", description="the template's data key that carries the text")

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.app_id and self.app_secret)


class WhatsAppSettings(_ChannelSettings):
    """WhatsApp Cloud API: off unless token, phone number id, app secret and verify token are set."""

    token: str = Field(
        default="", description="a permanent (system user) access token with whatsapp_business_messaging"
    )
    phone_number_id: str = Field(default="", description="the business phone number's id (not the number itself)")
    app_secret: str = Field(default="", description="the Meta app's secret: signs every webhook (X-Hub-Signature-256)")
    verify_token: str = Field(
        default="", description="any string; entered in the webhook settings, echoed at verification"
    )
    api_base_url: str = Field(default="https://graph.facebook.com/v21.0", description="Graph API base URL with version")
    campaign_template: str = Field(
        default="", description="approved template (one body parameter) for campaigns outside the 24-hour window; "
        "empty = such rows are held"
    )
    reply_template: str = Field(
        default="", description="approved template (one body parameter) for staff replies outside the 24-hour "
        "window; empty = held for staff"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.phone_number_id and self.app_secret and self.verify_token)


class LineSettings(_ChannelSettings):
    """LINE Messaging API: off unless the channel secret and a channel access token are set."""

    channel_secret: str = Field(default="", description="Basic settings → Channel secret (signs every webhook)")
    channel_access_token: str = Field(default="", description="Messaging API → Channel access token (long-lived)")
    api_base_url: str = Field(default="https://api.line.me", description="LINE API base URL")
    reply_token_seconds: float = Field(
        default=50, gt=0, le=600, description="a reply token older than this is not tried; the message is pushed"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.channel_secret and self.channel_access_token)


class HttpSettings(_Model):
    """Where the one HTTP server listens: web chat, /healthz, /metrics, /staff and the Telegram webhook."""

    host: str = Field(default="127.0.0.1", description="address to listen on (0.0.0.0 in a container)")
    port: int = Field(default=8080, ge=0, le=65535, description="port to listen on (0 = any free port)")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto "
        "headers are believed; empty = the peer address is the client and those headers are ignored",
    )

    embed_origins: list[str] = Field(
        default_factory=list,
        description="origins (scheme://host[:port]) whose pages may embed the web chat — the widget snippet or an "
        "iframe of the page (its Content-Security-Policy frame-ancestors); empty = no site may embed it",
    )
    metrics_token: str = Field(
        default="", repr=False,
        description="bearer token /metrics asks for (Authorization: Bearer …); env CONCIERGE_METRICS_TOKEN. Empty "
        "and no metrics_listen: /metrics answers only clients on this machine (loopback)",
    )
    metrics_listen: str = Field(
        default="",
        description="host:port of a separate listener serving only /metrics (e.g. 10.0.0.5:9100 on the monitoring "
        "network); when set, the main server does not serve /metrics at all",
    )

    @field_validator("embed_origins", mode="before")
    @classmethod
    def _origin_list(cls, value: Any) -> Any:
        example = "an origin like https://www.example-hotel.com"
        return _each(value, lambda entry: bool(_ORIGIN.fullmatch(entry)), example)

    @field_validator("metrics_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if value and (not host or not port.isascii() or not port.isdigit() or not 0 <= int(port) < 65536):
            raise ValueError(f"{value!r} is not host:port")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        return _each(value, _is_network, "an IP address or network")


class LimitsSettings(_Model):
    """What one client may cost the hotel: staff logins, new web chat sessions, staff alerts per chat."""

    login_verifications: int = Field(
        default=1, ge=1, le=64,
        description="staff password checks (argon2, ~0.2 s of CPU each) running at once, in worker threads",
    )
    login_waiting: int = Field(
        default=16, ge=0, le=10_000,
        description="staff logins that may wait for a password check; more get 429 with Retry-After",
    )
    login_free_failures_per_name: int = Field(
        default=5, ge=1, description="wrong passwords for one staff name before each further try must wait"
    )
    login_free_failures_per_address: int = Field(
        default=20, ge=1, description="failed logins from one client address before each further try must wait"
    )
    login_max_delay_seconds: int = Field(
        default=60, ge=1, le=3600,
        description="longest wait between tries after repeated failures (doubling from 1 s): slowed, never locked out",
    )
    web_sessions_per_minute: int = Field(
        default=30, ge=0,
        description="new web chat sessions one client address may start per minute (0 = no limit); "
        "a trusted proxy's own requests are not limited",
    )
    web_messages_per_second: float = Field(
        default=10.0, ge=0,
        description="web chat messages one client address may send per second, after a burst of "
        "web_message_burst (0 = no limit); faster ones wait their turn, and are refused (429) only when that "
        "wait would pass 10 s. A trusted proxy's own requests are not limited",
    )
    web_message_burst: int = Field(
        default=100, ge=1, description="web chat messages one client address may send at once before the pace applies"
    )
    sessions_per_socket: int = Field(
        default=8, ge=1, le=1000, description="web chat sessions one WebSocket may subscribe to"
    )
    staff_alerts_per_window: int = Field(
        default=10, ge=1,
        description="ticket alerts and escalations posted to one staff chat per digest window; the rest are "
        "folded into one digest at the window's end (every ticket stays on the dashboard)",
    )
    staff_digest_minutes: int = Field(default=5, ge=1, le=120, description="length of a staff digest window, minutes")


class DatabaseSettings(_Model):
    """The store. SQLite in the data dir by default; PostgreSQL for several processes."""

    url: str = Field(
        default="",
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://user:pass@host/db; "
        "empty = SQLite file concierge.db in the data dir",
    )


class RetentionSettings(_Model):
    """How long conversation text is kept before the nightly purge deletes it (0 = keep forever)."""

    messages_days: int = Field(
        default=365, ge=0, description="days conversation lines and processed inbox updates are kept (0 = forever)"
    )


class LoggingSettings(_Model):
    """What the process writes to standard error."""

    format: Literal["text", "json"] = Field(
        default="text", description="text for people, json for one JSON object per line"
    )
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="log level (concierge run --verbose means DEBUG)"
    )


class HandoffSettings(_Model):
    """Who holds a conversation: once staff answer a guest the bot only relays, until staff resolve the
    ticket, hand it back, or fall silent for this long."""

    release_after_minutes: int = Field(
        default=30, ge=1, le=24 * 60,
        description="minutes without a word from staff after which the bot takes the conversation back (telling the guest)",
    )


class Settings(_Model):
    """The whole configuration file: the hotel, its rooms, answers, departments and the service's knobs."""

    hotel: HotelSettings = Field(description="the hotel itself")
    languages: list[Locale] = Field(
        default_factory=lambda: ["zh-Hans", "zh-Hant", "en"],
        description="languages the bot answers in; a guest in another is answered in default_language",
    )
    default_language: Locale = Field(
        default="zh-Hans", description="language for new guests without a hint, and for staff alerts"
    )
    room_types: list[RoomTypeSettings] = Field(min_length=1, description="the room types guests can book")
    faq: dict[str, Bilingual] = Field(
        default_factory=dict,
        description="topic → answer; topics are the ones the NLP layer recognises (breakfast, wifi, parking…)",
    )
    departments: dict[str, Bilingual] = Field(min_length=1, description="department code → its name")
    ticket_categories: dict[str, TicketCategorySettings] = Field(
        min_length=1, description="ticket category → who takes it, its priority and SLA"
    )
    cancellation_policy: CancellationPolicy = Field(default=CancellationPolicy(), description="cancellation terms")
    booking: BookingSettings = Field(default=BookingSettings(), description="what the bot asks when taking a booking")
    quiet_hours: QuietHours = Field(default=QuietHours(), description="no campaign messages at night")
    handoff: HandoffSettings = Field(default=HandoffSettings(), description="conversations held by staff")
    telegram: TelegramSettings = Field(default=TelegramSettings(), description="the Telegram channel")
    wechat: WeChatSettings = Field(default=WeChatSettings(), description="the WeChat Official Account channel")
    whatsapp: WhatsAppSettings = Field(default=WhatsAppSettings(), description="the WhatsApp Cloud API channel")
    line: LineSettings = Field(default=LineSettings(), description="the LINE Messaging API channel")
    campaigns: CampaignSettings = Field(  # scheduler/config.py
        default=CampaignSettings(), description="lifecycle campaigns and the scheduler (scheduler/config.py)"
    )
    http: HttpSettings = Field(default=HttpSettings(), description="the HTTP server")
    limits: LimitsSettings = Field(default=LimitsSettings(), description="per-client limits and staff alert storms")
    database: DatabaseSettings = Field(default=DatabaseSettings(), description="the store")
    retention: RetentionSettings = Field(default=RetentionSettings(), description="how long chat text is kept")
    logging: LoggingSettings = Field(default=LoggingSettings(), description="log format and level")
    data_dir: Path = Field(
        default=Path("data"),
        description="SQLite database, backups, NLP cache and the hotel's own lexicons; relative to the config file",
    )
    source: Path = Field(default=DEFAULT_CONFIG, exclude=True)

    @model_validator(mode="after")
    def _cross_references(self) -> Settings:
        from bot.config_references import reference_problems  # loads the catalogs: only once the shapes are right

        codes = [room.code for room in self.room_types]
        problems = [f"room_types: duplicate code in {codes}"] if len(set(codes)) != len(codes) else []
        problems += reference_problems(
            faq=self.faq,
            ticket_categories={name: rule.department for name, rule in self.ticket_categories.items()},
            departments=list(self.departments),
            languages=self.languages,
            default_language=self.default_language,
        )
        if problems:
            raise ValueError("; ".join(problems))
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
    "CONCIERGE_WECHAT_TOKEN": "wechat.token",
    "CONCIERGE_WECHAT_APP_ID": "wechat.app_id",
    "CONCIERGE_WECHAT_APP_SECRET": "wechat.app_secret",
    "CONCIERGE_WECHAT_AES_KEY": "wechat.aes_key",
    "CONCIERGE_WECHAT_API_BASE_URL": "wechat.api_base_url",
    "CONCIERGE_WHATSAPP_TOKEN": "whatsapp.token",
    "CONCIERGE_WHATSAPP_PHONE_NUMBER_ID": "whatsapp.phone_number_id",
    "CONCIERGE_WHATSAPP_APP_SECRET": "whatsapp.app_secret",
    "CONCIERGE_WHATSAPP_VERIFY_TOKEN": "whatsapp.verify_token",
    "CONCIERGE_WHATSAPP_API_BASE_URL": "whatsapp.api_base_url",
    "CONCIERGE_LINE_CHANNEL_SECRET": "line.channel_secret",
    "CONCIERGE_LINE_CHANNEL_ACCESS_TOKEN": "line.channel_access_token",
    "CONCIERGE_LINE_API_BASE_URL": "line.api_base_url",
    "CONCIERGE_DATABASE_URL": "database.url",
    "CONCIERGE_DATA_DIR": "data_dir",
    "CONCIERGE_HTTP_HOST": "http.host",
    "CONCIERGE_HTTP_PORT": "http.port",
    "CONCIERGE_HTTP_TRUSTED_PROXIES": "http.trusted_proxies",
    "CONCIERGE_HTTP_EMBED_ORIGINS": "http.embed_origins",
    "CONCIERGE_METRICS_TOKEN": "http.metrics_token",
    "CONCIERGE_METRICS_LISTEN": "http.metrics_listen",
    "CONCIERGE_LIMITS_WEB_SESSIONS_PER_MINUTE": "limits.web_sessions_per_minute",
    "CONCIERGE_LIMITS_WEB_MESSAGES_PER_SECOND": "limits.web_messages_per_second",
    "CONCIERGE_LIMITS_WEB_MESSAGE_BURST": "limits.web_message_burst",
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
    key = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return f"{key}: {message}" if key else message  # cross-reference problems name their own keys


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
