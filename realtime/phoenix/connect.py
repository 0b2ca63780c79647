"""The Phoenix connect parameters, read the same way by the WebSocket and long-poll
transports: `vsn` picks the serializer, the JWT is `jwt`, `guardian_token`, or the
transport's own carrier of phoenix's authToken."""

from collections.abc import Callable, Mapping

from realtime import errors
from realtime.identity import Identity, aidentify
from realtime.phoenix.protocol import Serializer, serializer_for


async def aidentify_connection(
    params: Mapping[str, str],
    origin: str | None,
    transport_token: Callable[[], str | None] = lambda: None,
) -> tuple[Identity, Serializer]:
    """Read the connect parameters as every transport does; return identity and serializer.

    `vsn` picks the serializer; the JWT is `jwt`, its alias `guardian_token`, or else the
    transport's own carrier of phoenix's authToken (a subprotocol, a header), asked last.
    """
    serializer = serializer_for(params.get("vsn"))
    if serializer is None:
        raise errors.UnsupportedVersion(f"vsn {params.get('vsn')!r}")
    jwt = params.get("jwt") or params.get("guardian_token") or transport_token()
    identity = await aidentify(params.get("app_key"), jwt, origin, params.get("unique_identifier"))
    return identity, serializer
