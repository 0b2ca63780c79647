"""What an application's pages tell a customer: where this server answers, the
application's credentials, and copy-paste snippets for each client and server library.

The snippets are plain-text templates under templates/organizations/snippets/, rendered
here once with the real values; the page prints each one (escaped) in its own
<pre><code id="snippet-NAME"> block, and tests run the same text.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string

# Stands in for the app secret on every page but the one shown at creation.
SECRET_PLACEHOLDER = "YOUR_APP_SECRET"

# pusher-js 8 refuses to start without a `cluster`; with wsHost set it never uses it.
PUSHER_CLUSTER = "mt1"

# Snippet name -> templates/organizations/snippets/<name>.txt
SNIPPETS = (
    "pusher_js",
    "echo",
    "laravel_env",
    "python",
    "node",
    "php",
    "ruby",
    "phoenix_jwt",
    "phoenix_trigger",
    "phoenix_browser",
)


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


def public_endpoint() -> PublicEndpoint:
    """The one place that decides the host, port and TLS the dashboard tells customers.

    It reads SITE_URL, the public base URL the operator sets (README: "Configuration"),
    because behind a load balancer the request's own host and scheme can be internal ones.
    """
    site = urlsplit(settings.SITE_URL)
    scheme = "https" if site.scheme == "https" else "http"
    port = site.port or (443 if scheme == "https" else 80)
    return PublicEndpoint(scheme=scheme, host=site.hostname or "127.0.0.1", port=port)


def integration_context(organization, application, app_secret: str | None = None) -> dict:
    """Template context of an application page: credentials, endpoint and rendered snippets.

    `app_secret` is given only on the page that creates the application (the one time it is
    shown); elsewhere the snippets that need it carry SECRET_PLACEHOLDER.
    """
    endpoint = public_endpoint()
    values = {
        "organization": organization,
        "application": application,
        "app_secret": app_secret,
        "endpoint": endpoint,
        "secret": app_secret or SECRET_PLACEHOLDER,
        "secret_placeholder": SECRET_PLACEHOLDER,
        "cluster": PUSHER_CLUSTER,
        # Kept for the Phoenix snippets and older includes.
        "site_url": endpoint.url,
        "host": endpoint.host,
        "netloc": endpoint.netloc,
        "port": endpoint.port,
        "ssl": endpoint.tls,
    }
    values["snippets"] = {name: snippet(name, values) for name in SNIPPETS}
    return values


def snippet(name: str, values: dict) -> str:
    """One snippet as plain text (its template turns autoescaping off; the page escapes)."""
    return render_to_string(f"organizations/snippets/{name}.txt", values).strip("\n")
