"""The application page's getting-started guide: per stack, the code for the Pusher
client and for the Phoenix client, with the application's key and this server's address
filled in.

Each snippet is a plain-text template under templates/organizations/getting_started/,
rendered with the context of organizations.views.integration.integration_context (the
page's own), so the guide needs nothing from the view: the page includes
_getting_started.html, whose tag renders the snippets. Secrets never appear: the Pusher
app secret is read from PUSHER_APP_SECRET (or shows the page's placeholder), the secret
token from EXPUSHER_TOKEN.
"""

from dataclasses import dataclass

from django import template
from django.template.loader import render_to_string

register = template.Library()


@dataclass(frozen=True)
class Part:
    id: str  # snippet-gs-<id> on the page; templates/organizations/getting_started/<id>.txt
    title: str
    text: str


# stack id, stack name, then per client: (client id, client name, [(part id, title)]).
GUIDE = (
    (
        "html",
        "Plain HTML page",
        (
            ("pusher", [("html_pusher_page", "The page"), ("html_pusher_send", "Send an event")]),
            (
                "phoenix",
                [("html_phoenix_page", "The page"), ("html_phoenix_send", "Send an event")],
            ),
        ),
    ),
    (
        "rails",
        "Rails",
        (
            ("pusher", [("rails_pusher_server", "Server"), ("rails_pusher_view", "View")]),
            ("phoenix", [("rails_phoenix_server", "Server"), ("rails_phoenix_view", "View")]),
        ),
    ),
    (
        "django",
        "Django",
        (
            ("pusher", [("django_pusher_server", "Views"), ("django_pusher_template", "Template")]),
            (
                "phoenix",
                [("django_phoenix_server", "Views"), ("django_phoenix_template", "Template")],
            ),
        ),
    ),
    (
        "laravel",
        "Laravel",
        (
            (
                "pusher",
                [
                    ("laravel_pusher_env", ".env"),
                    ("laravel_pusher_server", "Route"),
                    ("laravel_pusher_view", "Laravel Echo"),
                ],
            ),
            ("phoenix", [("laravel_phoenix_server", "Server"), ("laravel_phoenix_view", "View")]),
        ),
    ),
    (
        "node",
        "Node",
        (
            ("pusher", [("node_pusher_server", "Server"), ("node_pusher_browser", "Browser")]),
            ("phoenix", [("node_phoenix_server", "Server"), ("node_phoenix_browser", "Browser")]),
        ),
    ),
)

CLIENTS = {
    "pusher": "Pusher client (pusher-js)",
    "phoenix": "Phoenix client (ExPusher's /js/pusher.js or npm phoenix)",
}


@register.simple_tag(takes_context=True)
def getting_started_guide(context) -> list[dict]:
    """[{id, name, clients: [{id, name, parts: [Part]}]}] for the page's application."""
    values = context.flatten()
    return [
        {
            "id": stack_id,
            "name": stack_name,
            "clients": [
                {
                    "id": client,
                    "name": CLIENTS[client],
                    "parts": [Part(part, title, _render(part, values)) for part, title in parts],
                }
                for client, parts in clients
            ],
        }
        for stack_id, stack_name, clients in GUIDE
    ]


def _render(part: str, values: dict) -> str:
    return render_to_string(f"organizations/getting_started/{part}.txt", values).strip("\n")
