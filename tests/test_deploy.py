"""The deployment files say what docs/DEPLOY.md says they do.

Docker's engine is not available where the suite runs, so nothing here builds or starts a container: the
Dockerfile, compose.yaml, the systemd unit and the nginx example are read as text and checked for the
properties a deployment relies on (slim base, unprivileged user, packages only from pip and Debian's
apt, the health check, the two Concierge processes on one PostgreSQL URL, stops by the default SIGTERM, which
tests/test_shutdown.py shows to be orderly).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    return [(item.split(None, 1)[0].upper(), item.split(None, 1)[1] if " " in item else "") for item in logical]


def _commands(run: str) -> list[list[str]]:
    """A RUN's shell commands (split on && ; |), each as words, environment assignments dropped."""
    commands = []
    for part in re.split(r"&&|\|\||;|\|", run):
        words = shlex.split(part)
        while words and (re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]) or words[0] in ("env", "set")):
            words = words[1:]
        if words:
            commands.append(words)
    return commands


ALLOWED_PROGRAMS = {"apt-get", "pip", "rm", "mkdir", "chown", "useradd"}


def dockerfile_problems(text: str) -> list[str]:
    """Why a Dockerfile breaks our rules (empty when it keeps them)."""
    instructions = dockerfile_instructions(text)
    problems: list[str] = []
    froms = [args for name, args in instructions if name == "FROM"]
    if len(froms) != 1 or not re.fullmatch(r"python:3\.11-slim(-[a-z]+)?", froms[0].split()[0]):
        problems.append(f"base image must be python:3.11-slim, got {froms}")
    users = [args.split(":")[0] for name, args in instructions if name == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append(f"the image must end as a non-root USER, got {users or 'none'}")
    for name, args in instructions:
        if name == "ADD":
            problems.append(f"ADD fetches or unpacks; use COPY: ADD {args}")
        if name != "RUN":
            continue
        for words in _commands(args):
            program = words[0]
            if program not in ALLOWED_PROGRAMS:
                problems.append(f"RUN uses {program!r}: packages come only from pip and apt-get ({' '.join(words)})")
            elif program == "pip":
                extra = [w for w in words if w.startswith(("--index-url", "--extra-index-url", "-i", "--find-links", "-f"))
                         or "://" in w or w.startswith("git+")]
                if extra:
                    problems.append(f"pip installs from somewhere other than PyPI: {' '.join(words)}")
            elif program == "apt-get" and len(words) > 1 and words[1] not in ("update", "install"):
                problems.append(f"apt-get {words[1]}: only update and install from the distribution")
    if "sources.list" in text or "add-apt-repository" in text or "apt-key" in text:
        problems.append("Debian packages must come from the distribution's own repositories")
    return problems


def _instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions((ROOT / "Dockerfile").read_text(encoding="utf-8"))


def _env(instructions: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, args in instructions:
        if name == "ENV":
            for word in shlex.split(args):
                key, _, value = word.partition("=")
                values[key] = value
    return values


def test_dockerfile_keeps_the_rules() -> None:
    assert dockerfile_problems((ROOT / "Dockerfile").read_text(encoding="utf-8")) == []


def test_dockerfile_runs_concierge_with_data_volume_and_health_check() -> None:
    instructions = _instructions()
    by_name: dict[str, list[str]] = {}
    for name, args in instructions:
        by_name.setdefault(name, []).append(args)
    env = _env(instructions)
    assert by_name["CMD"] == ['["concierge", "run"]']
    assert env["CONCIERGE_HTTP_HOST"] == "0.0.0.0"
    assert env["CONCIERGE_DATA_DIR"] in " ".join(by_name["VOLUME"])  # the data dir is the volume
    assert "/healthz" in by_name["HEALTHCHECK"][0]
    assert by_name.get("STOPSIGNAL", ["SIGTERM"]) == ["SIGTERM"]  # what tests/test_shutdown.py stops in order
    assert any(re.search(r"\bpip install\b", args) for args in by_name["RUN"])
    assert f"config.yaml {env['CONCIERGE_CONFIG']}" in by_name["COPY"]  # the demo hotel, where the image looks


@pytest.mark.parametrize(("broken", "complaint"), [
    ("FROM python:3.11\nUSER app\n", "base image"),
    ("FROM python:3.11-slim\nRUN pip install .\n", "non-root USER"),
    ("FROM python:3.11-slim\nUSER root\n", "non-root USER"),
    ("FROM python:3.11-slim\nRUN curl -fsSL https://example.com/x.sh | sh\nUSER app\n", "'curl'"),
    ("FROM python:3.11-slim\nRUN pip install --extra-index-url https://x.example/simple concierge\nUSER app\n",
     "other than PyPI"),
    ("FROM python:3.11-slim\nRUN echo 'deb http://x.example/ stable main' > /etc/apt/sources.list.d/x.list\nUSER app\n",
     "from the distribution"),
    ("FROM python:3.11-slim\nADD https://example.com/app.tar.gz /app\nUSER app\n", "ADD"),
])
def test_dockerfile_checks_can_fail(broken: str, complaint: str) -> None:
    assert any(complaint in problem for problem in dockerfile_problems(broken)), dockerfile_problems(broken)


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def test_compose_has_postgres_a_primary_and_a_worker() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "concierge", "worker"}
    assert str(services["postgres"]["image"]).startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    assert _command(services["concierge"]) == ["concierge", "run"]
    assert _command(services["worker"]) == ["concierge", "run", "--worker"]
    for name in ("concierge", "worker"):
        service = services[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert any(str(volume).endswith(":/data") for volume in service["volumes"])
        assert all(str(port).startswith("127.0.0.1:") for port in service["ports"])  # only the proxy reaches them


def test_compose_processes_share_one_postgresql_url() -> None:
    services = _compose()["services"]
    urls = {name: services[name]["environment"]["CONCIERGE_DATABASE_URL"] for name in ("concierge", "worker")}
    assert urls["concierge"] == urls["worker"]
    assert urls["concierge"].startswith("postgresql+asyncpg://concierge:")
    assert urls["concierge"].endswith("@postgres:5432/concierge")
    postgres = services["postgres"]["environment"]
    assert postgres["POSTGRES_USER"] == "concierge" and postgres["POSTGRES_DB"] == "concierge"
    assert "${POSTGRES_PASSWORD" in urls["concierge"] and "${POSTGRES_PASSWORD" in postgres["POSTGRES_PASSWORD"]
    for name in ("concierge", "worker"):  # a webhook needs one secret for every process behind it
        environment = services[name]["environment"]
        assert environment["CONCIERGE_HTTP_HOST"] == "0.0.0.0"
        assert "CONCIERGE_TELEGRAM_WEBHOOK_SECRET" in environment


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "data", ".env"} <= ignored
    assert not {"README.md", "config.yaml", "pyproject.toml", "bot", "crm", "nlp", "handlers", "scheduler"} & ignored


def _unit(path: Path) -> dict[str, list[str]]:
    """``Key`` → every value it is given (systemd keys repeat, so configparser does not fit)."""
    values: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_systemd_unit_runs_concierge_unprivileged_and_stops_it_cleanly() -> None:
    unit = _unit(ROOT / "deploy" / "concierge.service")
    assert unit["ExecStart"] == ["/opt/concierge/bin/concierge run"]
    assert unit["User"][0] not in ("root", "0")
    assert unit.get("KillSignal", ["SIGTERM"]) == ["SIGTERM"]  # what tests/test_shutdown.py stops in order
    assert unit["RestartPreventExitStatus"] == ["2"]  # a configuration mistake: restarting would not fix it
    assert "CONCIERGE_DATA_DIR=/var/lib/concierge" in unit["Environment"]
    assert unit["StateDirectory"] == ["concierge"]


def test_the_nginx_example_upgrades_the_socket_and_fences_off_staff_and_metrics() -> None:
    deploy = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    found = re.search(r"```nginx\n(.*?)```", deploy, re.DOTALL)
    assert found is not None
    nginx = found.group(1)
    chat = (ROOT / "bot" / "channels" / "web" / "chat.py").read_text(encoding="utf-8")
    assert 'add_get("/ws", chat_socket)' in chat  # the socket's path, as the example assumes
    socket = re.search(r"location = /ws \{(.*?)\}", nginx, re.DOTALL)
    assert socket is not None and "Upgrade    $http_upgrade" in socket.group(1)
    assert "X-Forwarded-Proto $scheme" in nginx
    staff = re.search(r"location \^~ /staff \{(.*?)\}", nginx, re.DOTALL)
    assert staff is not None and "deny  all;" in staff.group(1)
    assert re.search(r"location = /metrics \{\s*deny all;\s*\}", nginx)
