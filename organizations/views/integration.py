"""What an application's pages tell a customer: where this server answers, the
application's credentials, and copy-paste snippets for each client and server library.

The snippets are plain-text templates under templates/organizations/snippets/, rendered
here once with the real values; the page prints each one (escaped) in its own
<pre><code id="snippet-NAME"> block, and tests run the same text.
"""

from __future__ import annotations

from django.template.loader import render_to_string

from organizations.site import public_endpoint

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


def integration_context(request, organization, application, app_secret: str | None = None) -> dict:
    """Template context of an application page: credentials, endpoint and rendered snippets.

    `app_secret` is given only on the pages that create the application or rotate its
    secret (the one time it is shown); elsewhere the snippets carry SECRET_PLACEHOLDER.
    Every URL is where the reader reached this page (organizations.site).
    """
    endpoint = public_endpoint(request)
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
