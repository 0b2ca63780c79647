"""The pieces expusher.lean_sockets puts in daphne and autobahn (their effect on memory is
measured by bench/memory.py; every e2e test runs through them)."""

import asyncio

from expusher.lean_sockets import Inbox, SendQueue


async def test_the_inbox_hands_items_over_in_order_and_wakes_a_waiting_reader():
    inbox = Inbox()
    inbox.put_nowait({"n": 1})
    inbox.put_nowait({"n": 2})
    assert [await inbox.get(), await inbox.get()] == [{"n": 1}, {"n": 2}]

    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait({"n": 3})
    assert await asyncio.wait_for(reader, 1) == {"n": 3}


async def test_an_item_put_while_the_reader_is_cancelled_waits_for_the_next_get():
    inbox = Inbox()
    reader = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("connect")
    reader.cancel()  # cancelled before it could take the item
    await asyncio.gather(reader, return_exceptions=True)
    assert await asyncio.wait_for(inbox.get(), 1) == "connect"


def test_the_send_queue_is_first_in_first_out_as_autobahn_uses_it():
    queue = SendQueue()
    assert len(queue) == 0
    queue.append((b"a", True))
    queue.append((b"b", False))
    assert len(queue) == 2
    assert queue.popleft() == (b"a", True)
    assert queue.popleft() == (b"b", False)
    assert not queue
