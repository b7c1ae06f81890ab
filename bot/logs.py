"""Logging set-up: secrets and guests' phone numbers never reach a log line."""

from __future__ import annotations

import json
import logging
import re

# ASCII classes: a Chinese character or "²" right before the number is a word character to Unicode \w,
# which hid "电话13912345678" and "²13912345678" from the mask.
_PHONE = re.compile(r"(?<![\w/])(\+?\d[\d\s-]{6,}\d)(?![\w/])", re.ASCII)
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def mask(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _BOT_TOKEN.sub("<token>", text)
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub(lambda m: m.group(1)[:3] + "****" if len(re.sub(r"\D", "", m.group(1))) >= 7 else m.group(1), text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_text is None and record.exc_info[1] is not None:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers; the redaction filter has already run."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: int | str = logging.INFO, secrets: tuple[str, ...] = (), *, json_lines: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram.ext", "aiohttp.access", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
