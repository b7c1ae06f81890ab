"""Who the client is behind a proxy: forwarded headers count only from a configured trusted proxy."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.client_address import client_address, is_secure
from bot.config import ConfigError, load_settings
from tests.conftest import CONFIG


def _request(peer: str, **headers: str) -> web.Request:
    request = make_mocked_request("GET", "/", headers=headers)
    return request.clone(remote=peer)


def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    request = _request("203.0.113.9", **{"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"})
    assert client_address(request, []) == "203.0.113.9"
    assert client_address(request, ["127.0.0.1"]) == "203.0.113.9"
    assert not is_secure(request, ["127.0.0.1"])


def test_a_trusted_proxy_names_the_client_and_the_scheme() -> None:
    request = _request("127.0.0.1", **{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"})
    assert client_address(request, ["127.0.0.0/8"]) == "198.51.100.7"
    assert is_secure(request, ["127.0.0.0/8"])


def test_a_spoofed_left_hop_does_not_win_over_the_proxys_own_view() -> None:
    # the client sent "X-Forwarded-For: 6.6.6.6"; the proxy appended the address it saw
    request = _request("10.0.0.2", **{"X-Forwarded-For": "6.6.6.6, 198.51.100.7"})
    assert client_address(request, ["10.0.0.0/24"]) == "198.51.100.7"


def test_garbage_in_the_header_falls_back_to_what_can_be_vouched_for() -> None:
    request = _request("10.0.0.2", **{"X-Forwarded-For": "not-an-ip"})
    assert client_address(request, ["10.0.0.0/24"]) == "10.0.0.2"


def test_trusted_proxies_from_the_environment_and_a_bad_entry_named(tmp_path) -> None:
    settings = load_settings(CONFIG, env={"CONCIERGE_DATA_DIR": str(tmp_path),
                                          "CONCIERGE_HTTP_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert settings.http.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    with pytest.raises(ConfigError, match=r"http\.trusted_proxies: .*'nginx' is not an IP"):
        load_settings(CONFIG, env={"CONCIERGE_DATA_DIR": str(tmp_path), "CONCIERGE_HTTP_TRUSTED_PROXIES": "nginx"})
