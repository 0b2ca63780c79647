"""Where this server answers, as every page, snippet and e-mail tells it.

One source of truth: the request when there is one (the scheme and host the reader's
browser used, checked against ALLOWED_HOSTS; behind a proxy, X-Forwarded-Proto gives the
scheme), SITE_URL otherwise (management commands, mail sent outside a request).
scripts/serve sets SITE_URL from PORT when neither the environment nor .env sets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def public_base_url(request: HttpRequest | None = None) -> str:
    """scheme://host[:port] without a trailing slash."""
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    return settings.SITE_URL.rstrip("/")


@dataclass(frozen=True)
class PublicEndpoint:
    """Where customers' browsers and servers reach this server (HTTP API and WebSockets)."""

    scheme: str  # "http" or "https"
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def netloc(self) -> str:
        """host, or host:port when the port is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.netloc}"


def public_endpoint(request: HttpRequest | None = None) -> PublicEndpoint:
    """public_base_url taken apart into what the Pusher libraries ask for."""
    site = urlsplit(public_base_url(request))
    scheme = "https" if site.scheme == "https" else "http"
    port = site.port or (443 if scheme == "https" else 80)
    return PublicEndpoint(scheme=scheme, host=site.hostname or "127.0.0.1", port=port)
