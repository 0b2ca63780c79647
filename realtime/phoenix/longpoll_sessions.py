"""Long-poll sessions: a PhoenixHandler whose frames wait in a buffer for the next poll.

A session lives in the process (event loop) that created it, its owner, in a plain dict,
and is named by a signed token (django.core.signing) that carries its random id, the
owner's hub address, its application's key and its serializer version. Another process
that gets a request for it reaches it through the hub (realtime.phoenix.longpoll_remote);
the owner serves such requests here (`_serve_request`). It ends when
its PhoenixHandler closes it, when nobody polls for 1.5 x EXPUSHER_LONGPOLL_WINDOW_MS,
or when more than MAX_BUFFERED_FRAMES frames wait unread; ending stops the PhoenixHandler
(it leaves its topics, so presence leaves are announced) and forgets the id, so later
polls get 410 and the phoenix client reconnects and rejoins.

The session outlives the requests that drive it, so its work runs in tasks with a fresh
context (`_detached`): a task started straight from a view inherits the request's asgiref
executor, and the session's background work (the revocation watchdog, for one) would
later call sync_to_async into the thread of a request that has finished.
"""

import asyncio
import contextvars
import logging
import secrets
import weakref
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

from realtime.hub import get_hub
from realtime.identity import Identity
from realtime.phoenix.handler import PhoenixHandler
from realtime.phoenix.protocol import Serializer

logger = logging.getLogger(__name__)

TOKEN_SALT = "expusher.realtime.longpoll"
# A poller that falls this far behind is not coming back soon enough: phoenix's server
# has no bound at all; we would rather drop the session than the process's memory.
MAX_BUFFERED_FRAMES = 1000
IDLE_WINDOWS = 1.5  # lib/phoenix/transports/long_poll_server.ex
# Hub message types between a process that got a request and the session's owner.
REQUEST = "longpoll.request"
REPLY = "longpoll.reply"

_sessions: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = (
    weakref.WeakKeyDictionary()
)
_background: set[asyncio.Task] = set()


def local_sessions() -> "dict[str, LongPollSession]":
    """The sessions of the running event loop (one loop per server process)."""
    loop = asyncio.get_running_loop()
    sessions = _sessions.get(loop)
    if sessions is None:
        sessions = _sessions[loop] = {}
    return sessions


def _detached(coro) -> asyncio.Task:
    """Run `coro` in a task of its own, outside the current request's context."""
    task = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


def window_seconds() -> float:
    return settings.EXPUSHER_LONGPOLL_WINDOW_MS / 1000


@dataclass(frozen=True)
class SessionAddress:
    """What a session token says (it is signed, so all of it is the server's word)."""

    id: str
    owner: str  # the owner's hub channel
    app_key: str
    vsn: str

    def token(self) -> str:
        return signing.dumps(
            {"id": self.id, "owner": self.owner, "app": self.app_key, "vsn": self.vsn},
            salt=TOKEN_SALT,
        )

    @classmethod
    def of_token(cls, token: str) -> "SessionAddress | None":
        try:
            fields = signing.loads(token, salt=TOKEN_SALT)
        except signing.BadSignature:
            return None
        if not isinstance(fields, dict):
            return None
        values = [fields.get(name) for name in ("id", "owner", "app", "vsn")]
        if not all(isinstance(value, str) for value in values):
            return None
        return cls(*values)


class LongPollSession:
    """One long-poll client: its PhoenixHandler, the frames it has not fetched yet, and
    at most one waiting poll."""

    def __init__(self, identity: Identity, serializer: Serializer):
        self.id = secrets.token_urlsafe(18)
        self.token = ""  # once started: it names the owner's hub address
        self.app = identity.app
        self.phoenix = PhoenixHandler(identity, serializer, self._write, self._close)
        self.phoenix.connection.transport = "longpoll"
        self.buffer: deque[str] = deque()  # encoded text frames, oldest first
        self.ended = False
        self.binary_dropped = 0
        self._waiter: asyncio.Future | None = None
        self._idle: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        """Count the connection against the application's quota, then open the session.

        Raises the ProtocolError of a refusal (OverQuota, Unavailable), as admit() does.
        """
        await asyncio.shield(_detached(self._start()))

    @property
    def vsn(self) -> str:
        return self.phoenix.serializer.vsn

    async def _start(self) -> None:
        hub = get_hub()
        address = SessionAddress(self.id, await hub.address(), self.app.app_key, self.vsn)
        self.token = address.token()
        hub.on(REQUEST, _serve_request)
        await self.phoenix.admit()
        try:
            await self.phoenix.start()
        except BaseException:
            await self.phoenix.stop()  # gives the quota slot back
            raise
        local_sessions()[self.id] = self
        self._arm()

    async def poll(self, window: float) -> list[str] | None:
        """The buffered frames, waiting up to `window` seconds for the first one.

        Returns [] when nothing came (or a newer poll took over), None once the session
        has ended and nothing is left to fetch.
        """
        if not self.buffer and not self.ended:
            if self._waiter is not None and not self._waiter.done():
                # Only one poll waits; the older one answers "nothing" at once.
                self._waiter.set_result(False)
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            self._disarm()  # a waiting poll keeps the session alive
            try:
                await asyncio.wait([waiter], timeout=window)
            finally:
                if self._waiter is waiter:
                    self._waiter = None
                    self._arm()
            if waiter.done() and waiter.result() is False:
                return []
        else:
            self._arm()
        frames = list(self.buffer)
        self.buffer.clear()
        if not frames and self.ended:
            return None
        return frames

    async def receive(self, frames: list[str | bytes]) -> bool:
        """Client frames (one POST), handled in order even if the request goes away.

        True: the session had them (a remote session says False when it cannot be reached).
        """
        await asyncio.shield(_detached(self._receive(frames)))
        return True

    async def _receive(self, frames: list[str | bytes]) -> None:
        for frame in frames:
            if self.ended:
                return
            await self.phoenix.receive(frame)

    async def end(self, why: str) -> None:
        if self._finish(why):
            await asyncio.shield(_detached(self.phoenix.stop()))

    # The PhoenixHandler's transport callables.

    async def _write(self, frame: str | bytes) -> None:
        if self.ended:
            return
        if isinstance(frame, bytes):
            # A binary broadcast: phoenix's LongPoll client JSON-decodes every message.
            if not self.binary_dropped:
                logger.info(
                    "long-poll session of app %s: binary broadcasts are not sent over long-poll",
                    self.app.app_key,
                )
            self.binary_dropped += 1
            return
        if len(self.buffer) >= MAX_BUFFERED_FRAMES:
            logger.warning(
                "long-poll session of app %s has %d unread frames; stopping it",
                self.app.app_key,
                len(self.buffer),
            )
            self.buffer.clear()  # lost with the session; the client rejoins after a 410
            self._end_soon("buffer overflow")
            return
        self.buffer.append(frame)
        self._wake()

    async def _close(self, code: int) -> None:
        await self.end(f"closed with code {code}")

    # Helpers.

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(True)

    def _arm(self) -> None:
        self._disarm()
        if not self.ended:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(
                IDLE_WINDOWS * window_seconds(), self._expire, context=contextvars.Context()
            )

    def _disarm(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _expire(self) -> None:
        self._idle = None
        if self._waiter is None:
            self._end_soon("not polled for 1.5 windows")

    def _end_soon(self, why: str) -> None:
        # Called from timers and from inside hub deliveries: stop in a task of its own.
        if self._finish(why):
            _detached(self.phoenix.stop())

    def _finish(self, why: str) -> bool:
        """Forget the session and wake its poll; False if it had already ended."""
        if self.ended:
            return False
        self.ended = True
        self._disarm()
        local_sessions().pop(self.id, None)
        self._wake()
        logger.info("long-poll session of app %s ended: %s", self.app.app_key, why)
        return True


# The owner's side of requests from other processes (realtime.phoenix.longpoll_remote).


async def _serve_request(message: dict) -> None:
    # Called in the hub's receive loop: the work, waiting polls included, goes in a task.
    _detached(_answer_request(message))


async def _answer_request(message: dict) -> None:
    """Accept at once (the asker's proof that this owner lives), then answer with the
    poll's frames or the push's outcome; a session that is not here is None at once."""
    hub = get_hub()
    reply_to, ref = message["reply_to"], message["ref"]
    session = local_sessions().get(message["session"])
    result: list[str] | bool | None = None
    try:
        if session is not None:
            await hub.send_to(reply_to, {"type": REPLY, "ref": ref, "stage": "accepted"})
            if message["op"] == "poll":
                result = await session.poll(window_seconds())
            else:
                result = await session.receive(message["frames"])
        await hub.send_to(reply_to, {"type": REPLY, "ref": ref, "stage": "done", "result": result})
    except Exception:
        # The asker's wait is bounded: it answers 410 and its client reconnects.
        logger.warning("long-poll: could not answer a request from %s", reply_to, exc_info=True)
