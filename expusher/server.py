"""Run daphne with ExPusher's limits: `python -m expusher.server [daphne options]`.

daphne's own default accepts WebSocket messages of up to 1 MiB; our documented limit is
EXPUSHER_MAX_MESSAGE_BYTES (64 KiB), so the server refuses bigger ones itself, closing
with 1009, before a byte of them reaches Python code. Every way of starting the service
(scripts/serve, the Procfile, the tests) goes through here so the limits are the same.
"""

import os
import sys


def daphne_arguments(argv: list[str]) -> list[str]:
    from django.conf import settings

    limit = str(settings.EXPUSHER_MAX_MESSAGE_BYTES)
    return [
        "--websocket-max-message-size",
        limit,
        "--websocket-max-frame-size",
        limit,
        *argv,
        "expusher.asgi:application",
    ]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expusher.settings")
    from daphne.cli import CommandLineInterface

    CommandLineInterface().run(daphne_arguments(sys.argv[1:]))


if __name__ == "__main__":
    main()
