"""Binary payloads of serializer 2.0.0: kind 0 pushes in, kind 2 broadcasts out."""

import pytest

from realtime.errors import MalformedFrame
from realtime.phoenix.protocol import V1Serializer, V2Serializer

pytestmark = pytest.mark.django_db(transaction=True)


def binary_push(join_ref: str, ref: str, topic: str, event: str, data: bytes) -> bytes:
    fields = [f.encode() for f in (join_ref, ref, topic, event)]
    return bytes([0, *map(len, fields)]) + b"".join(fields) + data


def test_a_binary_push_decodes_to_a_message_with_bytes():
    message = V2Serializer.decode(binary_push("1", "2", "room:1", "blob", b"\x00\xff"))
    assert (message.join_ref, message.ref, message.topic, message.event) == (
        "1",
        "2",
        "room:1",
        "blob",
    )
    assert message.payload == b"\x00\xff"


@pytest.mark.parametrize(
    "frame", [b"\x00\x01", bytes([0, 9, 0, 0, 0]) + b"ab", bytes([0, 1, 0, 0, 0]) + b"\xff"]
)
def test_broken_binary_pushes_are_malformed(frame):
    with pytest.raises(MalformedFrame):
        V2Serializer.decode(frame)


def test_broadcast_frames_follow_the_phoenix_layout():
    frame = V2Serializer.broadcast_frame("room:1", "blob", b"\x01\x02")
    assert frame == bytes([2, 6, 4]) + b"room:1blob\x01\x02"
    assert V1Serializer.broadcast_frame("room:1", "blob", b"\x01") is None


async def test_a_binary_push_reaches_v2_sockets_as_a_binary_broadcast(
    layer, connect, alice_app, jwt_for
):
    _, _, a = await connect(alice_app.app_key, jwt_for())
    _, _, b = await connect(alice_app.app_key, jwt_for())
    _, _, old = await connect(alice_app.app_key, jwt_for(), vsn="1.0.0")
    await a.join("room:1")
    await b.join("room:1")
    await old.ws.send_to(text_data='{"topic":"room:1","event":"phx_join","payload":{},"ref":"1"}')
    await old.ws.receive_from()
    await a.ws.send_to(bytes_data=binary_push("1", "7", "room:1", "blob", b"\x00\x01\xff"))
    broadcast = bytes([2, 6, 4]) + b"room:1blob\x00\x01\xff"
    to_sender = [await a.ws.receive_from() for _ in range(2)]  # the reply and the broadcast
    assert broadcast in to_sender
    assert '["1","7","room:1","phx_reply",{"status":"ok","response":{}}]' in to_sender
    assert await b.ws.receive_from() == broadcast
    assert await old.ws.receive_nothing(timeout=0.3)


async def test_binary_payloads_obey_claims_and_limits(connect, alice_app, jwt_for):
    _, _, a = await connect(alice_app.app_key, jwt_for(publish=["room:1"]))
    await a.join("room:1")
    await a.join("room:2")
    await a.ws.send_to(bytes_data=binary_push("2", "8", "room:2", "blob", b"x"))
    assert (await a.reply("8"))["response"]["reason"] == "unauthorized"
    await a.ws.send_to(bytes_data=binary_push("1", "9", "room:1", "blob", b"x" * 10241))
    assert (await a.reply("9"))["response"]["reason"] == "payload too large"
    await a.ws.send_to(bytes_data=binary_push("1", "10", "room:1", "phx_join", b"x"))
    assert (await a.reply("10"))["response"]["reason"] == "malformed frame"
