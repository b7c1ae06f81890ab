"""Configuration: the demo file validates; mistakes exit with code 2 naming the key and the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config import ConfigError, load_settings
from tests.conftest import CONFIG


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "hotel.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_demo_hotel_loads() -> None:
    settings = load_settings(CONFIG, env={})
    assert settings.hotel.timezone == "Asia/Shanghai"
    assert [room.code for room in settings.room_types] == ["king", "twin", "suite", "family"]
    assert settings.hotel.check_in_time.strftime("%H:%M") == "14:00"
    assert settings.hotel.check_out_time.strftime("%H:%M") == "12:00"
    twin = settings.room_type("twin")
    assert twin is not None and "标间" in twin.synonyms and "双床房" in twin.synonyms
    for topic in ("breakfast", "wifi", "parking", "gym", "pool", "pets", "address", "airport_transfer", "check_in_out"):
        assert topic in settings.faq
    assert settings.ticket_categories["complaint"].priority == "high"


def test_environment_overrides_every_address_and_secret(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081",
        "CONCIERGE_TELEGRAM_STAFF_CHAT_ID": "-1001",
        "CONCIERGE_DATABASE_URL": "postgresql+asyncpg://u@h/db",
        "CONCIERGE_DATA_DIR": str(tmp_path),
        "CONCIERGE_HTTP_HOST": "0.0.0.0",
        "CONCIERGE_HTTP_PORT": "9999",
    }
    settings = load_settings(CONFIG, env=env)
    assert settings.telegram.token == "123:abc" and settings.telegram.enabled
    assert settings.telegram.api_base_url == "http://127.0.0.1:8081"
    assert settings.telegram.staff_chat_id == -1001
    assert settings.database_url == "postgresql+asyncpg://u@h/db"
    assert settings.data_dir == tmp_path
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 9999)
    assert "123:abc" not in repr(settings.telegram)


def test_concierge_config_variable_chooses_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["hotel"]["names"].update(en="Other Hotel"))
    assert load_settings(env={"CONCIERGE_CONFIG": str(path)}).hotel.names.en == "Other Hotel"


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda d: d["hotel"].update(timezone="Mars/Olympus"), "hotel.timezone"),
        (lambda d: d["hotel"].update(check_in_time="25:00"), "hotel.check_in_time"),
        (lambda d: d["room_types"][1].update(rate="cheap"), "room_types.1.rate"),
        (lambda d: d["ticket_categories"]["housekeeping"].update(department="spa"), "ticket_categories.housekeeping.department"),
        (lambda d: d["http"].update(port=70000), "http.port"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d["faq"].update(breakfst=d["faq"].pop("breakfast")), "faq.breakfst: unknown FAQ topic 'breakfst' — did you mean 'breakfast'?"),
        (lambda d: d["ticket_categories"].update(housekeping=d["ticket_categories"].pop("housekeeping")), "ticket_categories.housekeping: unknown ticket category"),
        (lambda d: d["ticket_categories"].pop("other"), "ticket_categories.other: missing"),
        (lambda d: d.update(languages=["en"]), "default_language: 'zh-Hans' is not one of languages"),
        (lambda d: d["hotel"].update(currency="RMB"), "hotel.currency"),
    ],
)
def test_invalid_value_names_key_and_file(tmp_path: Path, mutate: object, key: str) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    assert key in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize("command", [["config", "check"], ["run"], ["chat"]])
def test_cli_exits_2_with_key_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    path = _write(tmp_path, lambda d: d["room_types"][0].update(capacity=0))
    assert main(["--config", str(path), *command]) == 2  # before anything is started
    err = capsys.readouterr().err
    assert "room_types.0.capacity" in err and str(path) in err and "Traceback" not in err


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("hotel: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken, env={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_installed_console_script_reports_config_error(tmp_path: Path) -> None:
    """End to end, as an operator runs it: the ``concierge`` program the package installs (the rest of the
    suite calls ``bot.cli.main`` in-process) refuses to start the service on a bad config, exit code 2."""
    program = shutil.which("concierge", path=str(Path(sys.executable).parent)) or shutil.which("concierge")
    assert program, "the concierge console script is not installed (pip install -e .)"
    path = _write(tmp_path, lambda d: d["hotel"].update(timezone="Nowhere/Land"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("CONCIERGE_")}
    done = subprocess.run([program, "--config", str(path), "run"], capture_output=True, text=True, timeout=60, env=env,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert "hotel.timezone" in done.stderr and str(path) in done.stderr and "Traceback" not in done.stderr


def test_config_check_refuses_a_mistyped_faq_topic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`config check` used to pass `breakfst`, and guests then saw the label `faq_topic.breakfst` in the menu."""
    path = _write(tmp_path, lambda d: d["faq"].update(breakfst=d["faq"].pop("breakfast")))
    assert main(["--config", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "faq.breakfst" in err and "'breakfast'" in err and "Traceback" not in err
