"""The client address every limit keys on: the peer, or the address a trusted proxy names."""

from __future__ import annotations

import pytest

from signaling.client_address import parse_networks, resolve_client
from signaling.config import ConfigError, load_config
from tests.portal.conftest import Server, make_clinic

PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, 2001:db8::/32")


@pytest.mark.parametrize("peer, hops, expected", [
    ("198.51.100.7", ["203.0.113.1"], "198.51.100.7"),              # not a proxy: its headers are its own words
    ("127.0.0.1", ["203.0.113.1"], "203.0.113.1"),                  # one trusted proxy
    ("127.0.0.1", ["203.0.113.1", "10.1.2.3"], "203.0.113.1"),      # a chain of trusted proxies
    ("127.0.0.1", ["203.0.113.66", "198.51.100.7"], "198.51.100.7"),  # a client that forged the first entry
    ("127.0.0.1", ["203.0.113.1:4711"], "203.0.113.1"),             # Forwarded may carry a port
    ("127.0.0.1", ["[2001:db8:cafe::17]:4711"], "2001:db8:cafe::17"),
    ("127.0.0.1", ["unknown"], "127.0.0.1"),                        # no address: the proxy is the client
    ("127.0.0.1", [], "127.0.0.1"),
])
def test_the_first_address_that_is_not_a_trusted_proxy_is_the_client(peer, hops, expected):
    assert resolve_client(peer, hops, PROXIES) == expected


def test_a_bad_trusted_proxies_entry_is_a_clear_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="trusted_proxies: 'ten.0.0.0/8' is not an IP address"):
        load_config(None, {"data_dir": tmp_path, "trusted_proxies": "127.0.0.1, ten.0.0.0/8"})


async def _sends_from(server: Server, forwarded: list[dict[str, str]]) -> list[int]:
    """One browser asks for codes to one number with each set of headers; the statuses."""
    b = await server.browser()
    await b.get("/portal/")
    return [(await b.post("/portal/otp", {"mobile": "9876543210"}, headers=h))[0].status for h in forwarded]


async def test_forwarded_headers_from_an_untrusted_peer_do_not_escape_the_limits(aiohttp_server, aiohttp_client,
                                                                                   tmp_path):
    make_clinic(tmp_path)
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True).start()
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(1, 5)]
    assert await _sends_from(server, spoofed) == [200, 200, 200, 429], "three per number and address"


async def test_a_trusted_proxy_names_the_client_in_either_header(aiohttp_server, aiohttp_client, tmp_path):
    make_clinic(tmp_path)
    server = await Server(aiohttp_server, aiohttp_client, tmp_path, dev=True, trusted_proxies="127.0.0.0/8").start()
    same = {"X-Forwarded-For": "203.0.113.1"}
    assert await _sends_from(server, [same, same, same, same]) == [200, 200, 200, 429]
    other = [{"Forwarded": 'for="198.51.100.2:5000";proto=https'}]
    assert await _sends_from(server, other) == [200], "another client behind the same proxy has its own budget"
