"""One webhook POST: signed as Pusher signs them, to a target it is safe to call.

The body is `{"time_ms": ..., "events": [...]}` with `Content-Type: application/json`
(exactly: the npm library's validator refuses anything else), `X-Pusher-Key` (the app
key) and `X-Pusher-Signature` (hex HMAC-SHA256 of the raw body with the app secret).

A tenant chooses the URL, so the service must not become its way into our own network:
the host is resolved here, and unless EXPUSHER_WEBHOOK_ALLOW_PRIVATE is on (or DEBUG is,
for loopback only) every address must be a public one; the connection then goes to the
address checked (the Host header and TLS name stay the URL's), so a second resolution
cannot point it elsewhere. Redirects are not followed and at most READ_LIMIT bytes of the
answer are read.
"""

import asyncio
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

from realtime.pusher.signatures import webhook_signature

READ_LIMIT = 1024  # bytes of an answer read, at most
USER_AGENT = "ExPusher-Webhooks/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """The URL may not be called (a scheme other than http(s), or a private address)."""


@dataclass(frozen=True)
class Outcome:
    url: str
    status: int | None  # None: no HTTP answer
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def body_of(events: list[dict]) -> bytes:
    payload = {"time_ms": int(time.time() * 1000), "events": events}
    return json.dumps(payload, separators=(",", ":")).encode()


def headers_for(app_key: str, secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Pusher-Key": app_key,
        "X-Pusher-Signature": webhook_signature(secret, body),
        "User-Agent": USER_AGENT,
    }


def address_allowed(address: Address) -> bool:
    if settings.EXPUSHER_WEBHOOK_ALLOW_PRIVATE:
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if settings.DEBUG and address.is_loopback:
        return True
    # is_global is False for loopback, private, link-local (cloud metadata at
    # 169.254.169.254), shared, reserved and unspecified ranges.
    return address.is_global and not address.is_multicast


async def resolve_target(url: str) -> tuple[str, Address]:
    """(host, the address to connect to) for a URL it is safe to POST to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the URL must be http(s) with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as e:
        raise TargetRefused(f"cannot resolve {parts.hostname}: {e}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    refused = [str(a) for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise TargetRefused(
            f"{parts.hostname} resolves to a private or reserved address ({', '.join(refused)})"
        )
    return parts.hostname, addresses[0]


def pinned_url(url: str, address: Address) -> str:
    """The URL with its host replaced by the checked address."""
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


async def post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict) -> Outcome:
    """POST once; the answer's status, or why there is none."""
    timeout = settings.EXPUSHER_WEBHOOK_TIMEOUT_SECONDS
    try:
        host, address = await resolve_target(url)
        request = client.build_request(
            "POST",
            pinned_url(url, address),
            content=body,
            headers={**headers, "Host": urlsplit(url).netloc.rpartition("@")[2]},
            extensions={"sni_hostname": host},
        )
        async with asyncio.timeout(timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                await _read_at_most(response, READ_LIMIT)
            finally:
                await response.aclose()
    except TargetRefused as e:
        return Outcome(url, None, f"refused: {e}")
    except TimeoutError:
        return Outcome(url, None, f"no answer within {timeout:g} s")
    except httpx.HTTPError as e:
        return Outcome(url, None, f"{type(e).__name__}: {e}"[:200])
    error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return Outcome(url, response.status_code, error)


async def _read_at_most(response: httpx.Response, limit: int) -> None:
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= limit:
            break


def new_client() -> httpx.AsyncClient:
    # trust_env off: no proxy from the environment between the check and the target.
    return httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        timeout=settings.EXPUSHER_WEBHOOK_TIMEOUT_SECONDS,
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )
