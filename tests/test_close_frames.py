"""expusher.server.close_instead_of_dropping: how a socket is closed (the close codes
themselves are covered end to end by tests/e2e)."""


def test_sockets_send_their_close_frame_and_wait_5_s_for_the_clients(monkeypatch):
    """expusher.server.close_instead_of_dropping: failByDrop off, and the close handshake
    waits CLOSE_WAIT_SECONDS (autobahn's 1 s aborted a busy client before it read the code);
    every socket reads both from its factory."""
    from daphne import server as daphne_server

    from expusher import server

    monkeypatch.setattr(daphne_server, "WebSocketFactory", daphne_server.WebSocketFactory)
    server.close_instead_of_dropping()
    factory = daphne_server.WebSocketFactory(None)
    assert factory.failByDrop is False
    assert factory.closeHandshakeTimeout == server.CLOSE_WAIT_SECONDS == 5
