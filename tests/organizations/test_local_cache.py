"""organizations.local_cache.LocalMemo: answers remembered for a second, fetched anew in
the background near the end of that second, never served past it."""

import asyncio
import threading

import pytest

from organizations import local_cache
from organizations.local_cache import LocalMemo

# The worker thread's database_sync_to_async closes stale connections around each load.
pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """What the memo stands in front of: counts its loads, each in a worker thread."""

    def __init__(self) -> None:
        self.value = "first"
        self.loads = 0
        self.fail = False
        self.threads: set[int] = set()

    def load(self) -> str:
        self.loads += 1
        self.threads.add(threading.get_ident())
        if self.fail:
            raise RuntimeError("the database is away")
        return self.value


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(local_cache, "_now", clock)
    return clock


@pytest.fixture
async def warm(clock) -> tuple[LocalMemo, Source]:
    """A one-second memo that has just loaded "first" for key "k"."""
    memo, source = LocalMemo(lambda: 1.0), Source()
    assert await memo.through("k", source.load) == "first"
    return memo, source


async def settle() -> None:
    """Let a background refresh, and its worker thread, finish."""
    for _ in range(100):
        if not local_cache._refreshes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a background refresh did not finish")


async def test_a_warm_call_loads_nothing_until_the_last_quarter(warm, clock):
    memo, source = warm
    assert source.threads and threading.get_ident() not in source.threads
    clock.now += 0.74
    source.value = "second"
    assert await memo.through("k", source.load) == "first"
    await settle()
    assert source.loads == 1


async def test_a_call_in_the_last_quarter_is_answered_at_once_and_fetches_anew(warm, clock):
    memo, source = warm
    clock.now += 0.8
    source.value = "second"
    assert await memo.through("k", source.load) == "first"  # nobody waits
    assert await memo.through("k", source.load) == "first"  # one refresh at a time
    await settle()
    assert source.loads == 2
    clock.now += 0.9  # past the first answer's second, within the second one's
    assert await memo.through("k", source.load) == "second"
    assert source.loads == 2


async def test_no_answer_is_served_past_its_second(warm, clock):
    memo, source = warm
    clock.now += 1.0
    source.value = "second"
    assert await memo.through("k", source.load) == "second"  # loaded while the call waits


async def test_an_answer_forgotten_during_its_refresh_is_not_brought_back(warm, clock):
    memo, source = warm
    clock.now += 0.8
    await memo.through("k", source.load)  # starts the refresh
    memo.forget("k")  # a change in this process, while the refresh reads the old value
    await settle()
    assert memo.get("k") is local_cache._MISS


async def test_a_refresh_that_fails_leaves_the_answer_to_run_out(warm, clock):
    memo, source = warm
    clock.now += 0.8
    source.fail = True
    assert await memo.through("k", source.load) == "first"
    await settle()
    assert await memo.through("k", source.load) == "first"  # still within its second
    clock.now += 0.2
    with pytest.raises(RuntimeError):
        await memo.through("k", source.load)


async def test_a_refreshed_answer_not_to_be_remembered_is_dropped(warm, clock):
    memo, source = warm
    clock.now += 0.8
    source.value = None  # say, a token that no longer matches
    await memo.through("k", source.load, remember=lambda value: value is not None)
    await settle()
    assert memo.get("k") is local_cache._MISS
