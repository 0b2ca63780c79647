"""Which webhook targets may be called: public addresses only unless told otherwise."""

import ipaddress

import httpx
import pytest

from realtime.pusher import webhook_delivery
from realtime.pusher.webhook_delivery import TargetRefused, address_allowed, resolve_target

REFUSED = [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.9",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space
    "0.0.0.0",
    "::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "fe80::1",
    "::ffff:127.0.0.1",
    "224.0.0.1",
]


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize("address", REFUSED)
def test_private_and_reserved_addresses_are_refused(production, address):
    assert not address_allowed(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_allowed(production, address):
    assert address_allowed(ipaddress.ip_address(address))


def test_debug_allows_loopback_only(settings):
    settings.DEBUG, settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = True, False
    assert address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert address_allowed(ipaddress.ip_address("::1"))
    assert not address_allowed(ipaddress.ip_address("10.0.0.1"))
    assert not address_allowed(ipaddress.ip_address("169.254.169.254"))


def test_the_setting_allows_every_address(settings):
    settings.DEBUG, settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = False, True
    assert address_allowed(ipaddress.ip_address("10.0.0.1"))


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9/hooks", "http://127.0.0.1/x", "https://[::1]/", "ftp://example.com/"],
)
async def test_a_refused_target_is_never_connected_to(production, url):
    with pytest.raises(TargetRefused):
        await resolve_target(url)
    async with webhook_delivery.new_client() as client:
        outcome = await webhook_delivery.post(client, url, b"{}", {})
    assert outcome.status is None and outcome.error.startswith("refused")


def test_the_connection_goes_to_the_checked_address_with_the_urls_host_and_tls_name():
    address = ipaddress.ip_address("93.184.215.14")
    assert (
        webhook_delivery.pinned_url("https://hooks.example.com:8443/a?b=1", address)
        == "https://93.184.215.14:8443/a?b=1"
    )
    v6 = ipaddress.ip_address("2606:2800::1")
    assert webhook_delivery.pinned_url("http://h.example/", v6) == "http://[2606:2800::1]/"


async def test_the_answer_is_read_no_further_than_the_limit(settings):
    settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE = True
    served = []

    def endless(request):  # the customer's server: outside our control
        async def body():
            for _ in range(10_000):
                served.append(1)
                yield b"x" * 1024

        return httpx.Response(200, content=body())

    async with httpx.AsyncClient(transport=httpx.MockTransport(endless)) as client:
        outcome = await webhook_delivery.post(client, "http://127.0.0.1/h", b"{}", {})
    assert outcome.ok and len(served) < 10
