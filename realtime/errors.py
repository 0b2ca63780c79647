"""Errors reported to realtime clients, as a numbered catalogue.

Close codes follow Pusher's ranges so stock clients behave well:
4000-4099 terminal (do not reconnect unchanged), 4100-4199 back off, 4200-4299 reconnect
now. Codes 4300-4399 are error *replies*: the socket stays open and the failed push gets
`{"status": "error", "response": {"reason": ..., "code": ...}}`.

The phoenix client reconnects after any close that is not 1000, so terminal codes only
stop Pusher clients; a phoenix client refused at connect gets HTTP 403 on the upgrade.
"""

from typing import ClassVar


class ProtocolError(Exception):
    code: ClassVar[int] = 4300
    reason: ClassVar[str] = "protocol error"

    def __init__(self, detail: str | None = None):
        super().__init__(detail or self.reason)
        self.detail = detail or self.reason

    def as_response(self) -> dict:
        return {"reason": self.reason, "code": self.code, "detail": self.detail}


# Connection refusals and closes.
class ApplicationNotFound(ProtocolError):
    code, reason = 4001, "application does not exist"


class ApplicationDisabled(ProtocolError):
    code, reason = 4003, "application disabled"


class OverQuota(ProtocolError):
    code, reason = 4004, "application is over its connection quota"


class Unauthorized(ProtocolError):
    code, reason = 4009, "unauthorized"


class TokenExpired(Unauthorized):
    reason = "token expired"


class TokenRevoked(Unauthorized):
    reason = "token revoked"


class OriginNotAllowed(Unauthorized):
    reason = "origin not allowed"


class InvalidVersion(ProtocolError):
    code, reason = 4006, "invalid version string format"


class UnsupportedVersion(ProtocolError):
    code, reason = 4007, "unsupported protocol version"


class NoVersion(ProtocolError):
    code, reason = 4008, "no protocol version supplied"


class Unavailable(ProtocolError):
    # An infrastructure fault (Redis down): clients should back off and retry, never give up.
    code, reason = 4100, "service unavailable, retry later"


class OverCapacity(Unavailable):
    # This process holds or is admitting as many connections as it can serve
    # (realtime.capacity): the client backs off and retries, maybe on another process.
    reason = "server at capacity, retry later"


class SlowReader(ProtocolError):
    # Closed by the server (expusher.server.cut_slow_readers): too many frames unsent.
    code, reason = 4101, "slow reader"


class TooManyFrames(ProtocolError):
    # Past the per-connection budget of inbound frames (of any kind): back off, reconnect.
    code, reason = 4102, "too many frames"


class ServerRestarting(ProtocolError):
    code, reason = 4200, "server restarting, reconnect"


class PongTimeout(ProtocolError):
    # Pusher: the client did not answer a pusher:ping in time; it reconnects at once.
    code, reason = 4201, "pong reply not received"


# Error replies: the socket stays open.
class MalformedFrame(ProtocolError):
    code, reason = 4300, "malformed frame"


class RateLimited(ProtocolError):
    code, reason = 4301, "rate limited"


class PayloadTooLarge(ProtocolError):
    code, reason = 4302, "payload too large"


class TopicNotAllowed(ProtocolError):
    code, reason = 4303, "unauthorized"


class InvalidTopic(ProtocolError):
    code, reason = 4304, "invalid topic"


class NotJoined(ProtocolError):
    # Phoenix's own words for a push to a topic the socket has not joined.
    code, reason = 4305, "unmatched topic"


class TooManyTopics(ProtocolError):
    code, reason = 4306, "too many channels joined"


class InvalidEvent(ProtocolError):
    code, reason = 4307, "invalid event"


class PublishingDisabled(ProtocolError):
    code, reason = 4308, "client publishing disabled"


class PresenceFull(ProtocolError):
    code, reason = 4309, "presence member limit reached"


class UnknownEvent(ProtocolError):
    code, reason = 4310, "unknown event"


# WebSocket-level close for a message over the size limit (RFC 6455 "message too big").
MESSAGE_TOO_BIG = 1009
