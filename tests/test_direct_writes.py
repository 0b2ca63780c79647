"""expusher.server.DirectWrites.send_all: one prepared frame to many sockets at once.

The sockets are real (socket pairs); Twisted's TCP transport and autobahn's protocol are
stood in for by the attributes DirectWrites reads, so that each socket's state can be set
exactly: open and idle, with frames queued, closed, reset by its peer, full.
"""

import collections
import socket
import struct

import pytest
from autobahn.websocket.protocol import PreparedMessage

from expusher.server import DirectWrites

OPEN, CLOSED = 3, 4  # autobahn's STATE_OPEN and STATE_CLOSED


class Reactor:
    """Twisted registers a transport for writing while it has a queue (and while it closes)."""

    def __init__(self) -> None:
        self._writers: dict = {}


class Transport:
    """What DirectWrites reads of Twisted's tcp.Server, around a real socket."""

    def __init__(self, sock: socket.socket, reactor: Reactor) -> None:
        self.reactor = reactor
        self.socket = sock
        self._tempDataLen = 0
        self.offset = 0
        self.dataBuffer = b""
        self.connected = True
        self.disconnecting = False
        self._writeDisconnected = False
        self.written: list[bytes] = []  # what went to Twisted's queue

    def write(self, data: bytes) -> None:
        self.written.append(data)


class Protocol:
    """What DirectWrites reads of autobahn's WebSocket protocol."""

    STATE_OPEN = OPEN

    def __init__(self, sock: socket.socket, reactor: Reactor) -> None:
        self.state = OPEN
        self.send_queue: collections.deque = collections.deque()
        self.transport = Transport(sock, reactor)
        self.queued: list[bytes] = []  # what went through autobahn's sendData

    def sendData(self, data: bytes) -> None:  # noqa: N802 (autobahn's name)
        self.queued.append(data)


REACTOR = Reactor()


@pytest.fixture
def sockets():
    """Socket pairs: (the server's end, non-blocking, and the client's end)."""
    made = []
    REACTOR._writers.clear()

    def make():
        server_end, client_end = socket.socketpair()
        server_end.setblocking(False)
        made.extend((server_end, client_end))
        return server_end, client_end

    yield make
    for sock in made:
        sock.close()


def prepared(text: str = '{"event":"tick"}'):
    DirectWrites.prepared_message = PreparedMessage
    return DirectWrites.prepare(text)


def received(client_end: socket.socket) -> bytes:
    client_end.settimeout(1)
    return client_end.recv(65536)


def writer(sockets) -> tuple[DirectWrites, Protocol, socket.socket]:
    server_end, client_end = sockets()
    protocol = Protocol(server_end, REACTOR)
    return DirectWrites(protocol), protocol, client_end


def queue(transport: Transport, data: bytes) -> None:
    """Leave data in the transport's queue, as Twisted does when a socket takes no more."""
    transport.dataBuffer = data
    REACTOR._writers[transport] = transport.socket.fileno()


def test_every_idle_socket_gets_the_same_framed_bytes(sockets):
    frame = prepared()
    writers = [writer(sockets) for _ in range(3)]
    assert DirectWrites.send_all(frame, [w for w, _, _ in writers]) == 0
    for _, protocol, client_end in writers:
        assert received(client_end) == frame.payloadHybi == b"\x81\x10" + b'{"event":"tick"}'
        assert protocol.transport.written == protocol.queued == []


def test_a_socket_reset_by_its_peer_does_not_stop_the_others(sockets):
    frame = prepared()
    first, broken, last = (writer(sockets) for _ in range(3))
    # The peer is gone: the server's send on that socket raises (EPIPE).
    broken[2].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    broken[2].close()

    assert DirectWrites.send_all(frame, [first[0], broken[0], last[0]]) == 0
    assert received(first[2]) == received(last[2]) == frame.payloadHybi
    # Twisted's write queues it, and its next attempt reports the error and closes.
    assert broken[1].transport.written == [frame.payloadHybi]


def test_a_full_socket_has_the_rest_of_its_frame_queued(sockets):
    frame = prepared("x" * 60_000)
    full, protocol, client_end = writer(sockets)
    protocol.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    after = writer(sockets)
    try:
        while True:  # fill the socket until it takes no more
            protocol.transport.socket.send(b"\0" * 4096)
    except BlockingIOError:
        pass

    DirectWrites.send_all(frame, [full, after[0]])
    [rest] = protocol.transport.written
    assert 0 < len(rest) and frame.payloadHybi.endswith(rest)  # none of it lost
    got = b""
    while len(got) < len(frame.payloadHybi):
        got += received(after[2])
    assert got == frame.payloadHybi


def test_a_socket_with_frames_waiting_gets_this_one_behind_them(sockets):
    frame = prepared()
    behind, protocol, client_end = writer(sockets)
    queue(protocol.transport, b"an earlier frame, not sent yet")
    idle = writer(sockets)

    DirectWrites.send_all(frame, [behind, idle[0]])
    assert protocol.queued == [frame.payloadHybi]  # through autobahn, in order
    client_end.setblocking(False)
    with pytest.raises(BlockingIOError):
        client_end.recv(100)  # nothing jumped the queue
    assert received(idle[2]) == frame.payloadHybi


def test_a_socket_sending_a_chopped_frame_gets_this_one_behind_it(sockets):
    frame = prepared()
    behind, protocol, _ = writer(sockets)
    protocol.send_queue.append(("a chopped frame", None))
    DirectWrites.send_all(frame, [behind])
    assert protocol.queued == [frame.payloadHybi]


def test_a_closed_or_closing_socket(sockets):
    frame = prepared()
    closed, closed_protocol, _ = writer(sockets)
    closed_protocol.state = CLOSED
    closing, closing_protocol, _ = writer(sockets)
    closing_protocol.transport.disconnecting = True
    REACTOR._writers[closing_protocol.transport] = 0  # loseConnection registers it

    assert DirectWrites.send_all(frame, [closed, closing]) == 0
    assert closed_protocol.queued == closed_protocol.transport.written == []  # nothing
    # Twisted's write takes it while the transport still flushes, and drops it once closed.
    assert closing_protocol.transport.written == [frame.payloadHybi]


def test_a_failure_for_one_socket_is_counted_and_the_others_still_get_it(sockets):
    frame = prepared()
    failing, protocol, _ = writer(sockets)
    queue(protocol.transport, b"waiting")

    def broken(data):
        raise RuntimeError("a protocol in a state it should not be in")

    protocol.sendData = broken
    idle = writer(sockets)
    assert DirectWrites.send_all(frame, [failing, idle[0]]) == 1
    assert received(idle[2]) == frame.payloadHybi
