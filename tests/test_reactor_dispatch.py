"""expusher.server.read_without_log_context: Twisted's asyncio reactor calls a socket's
doRead and doWrite without Twisted's log context, and otherwise behaves as before."""

import asyncio
import socket
import tempfile

import pytest
from twisted.internet.asyncioreactor import AsyncioSelectorReactor
from twisted.python import failure

from expusher import server


class Selectable:
    """A minimal Twisted reader and writer around one end of a socket pair."""

    def __init__(self, sock) -> None:
        self.sock = sock
        self.read: list[bytes] = []
        self.writes = 0
        self.lost: list[failure.Failure] = []
        self.fail = False
        self.prefix_asked = 0

    def fileno(self) -> int:
        return self.sock.fileno()

    def logPrefix(self) -> str:  # noqa: N802 (Twisted's names)
        self.prefix_asked += 1  # only callWithLogger asks, around every call
        return "selectable"

    def doRead(self):  # noqa: N802
        if self.fail:
            raise RuntimeError("broken reader")
        self.read.append(self.sock.recv(100))

    def doWrite(self):  # noqa: N802
        self.writes += 1

    def connectionLost(self, reason) -> None:  # noqa: N802
        self.lost.append(reason)


@pytest.fixture
def reactor(monkeypatch):
    monkeypatch.setattr(AsyncioSelectorReactor, "addReader", AsyncioSelectorReactor.addReader)
    monkeypatch.setattr(AsyncioSelectorReactor, "addWriter", AsyncioSelectorReactor.addWriter)
    server.read_without_log_context()
    loop = asyncio.new_event_loop()
    reactor = AsyncioSelectorReactor(loop)
    yield reactor
    loop.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    yield a, b
    a.close()
    b.close()


def spin(reactor) -> None:
    loop = reactor._asyncioEventloop
    loop.run_until_complete(asyncio.sleep(0.05))


def test_readers_and_writers_are_called_without_the_log_context(reactor, pair):
    ours, theirs = pair
    selectable = Selectable(ours)
    reactor.addReader(selectable)
    reactor.addWriter(selectable)
    theirs.send(b"hello")
    spin(reactor)
    assert selectable.read == [b"hello"]
    assert selectable.writes >= 1
    assert selectable.prefix_asked == 0
    assert selectable in reactor.getReaders() and selectable in reactor.getWriters()

    reactor.addReader(selectable)  # added twice: still registered once, as in Twisted
    reactor.removeReader(selectable)
    reactor.removeWriter(selectable)
    assert selectable not in reactor.getReaders() + reactor.getWriters()


def test_a_reader_that_raises_is_logged_and_disconnected(reactor, pair, caplog):
    ours, theirs = pair
    selectable = Selectable(ours)
    selectable.fail = True
    reactor.addReader(selectable)
    theirs.send(b"x")
    spin(reactor)
    assert len(selectable.lost) == 1
    assert selectable.lost[0].check(RuntimeError)
    assert selectable not in reactor.getReaders()


def test_a_regular_file_is_polled_as_twisted_polls_it(reactor):
    with tempfile.TemporaryFile() as f:
        selectable = Selectable(f)
        reactor.addReader(selectable)  # epoll refuses regular files (EPERM)
        assert reactor._continuousPolling.isReading(selectable)
        reactor.removeReader(selectable)
        assert not reactor._continuousPolling.isReading(selectable)
