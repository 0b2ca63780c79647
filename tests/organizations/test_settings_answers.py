"""organizations.settings_answers: worked out once, forgotten when a setting changes."""

from django.conf import settings
from django.test import override_settings

from organizations.settings_answers import settings_answer

calls = []


@settings_answer
def _limit() -> int:
    calls.append(1)
    return settings.EXPUSHER_MAX_PAYLOAD_BYTES


@settings_answer(maxsize=2)
def _doubled(value: int) -> int:
    calls.append(value)
    return value * settings.EXPUSHER_MAX_PAYLOAD_BYTES


def test_an_answer_is_worked_out_once_until_a_setting_changes():
    calls.clear()
    first = _limit()
    assert _limit() == first and len(calls) == 1
    with override_settings(EXPUSHER_MAX_PAYLOAD_BYTES=first + 1):
        assert _limit() == first + 1
    assert _limit() == first
    assert len(calls) == 3


def test_a_bounded_answer_keeps_at_most_maxsize_arguments():
    calls.clear()
    for value in (1, 2, 3, 1):  # 1 was pushed out by 3
        _doubled(value)
    assert calls == [1, 2, 3, 1]
    with override_settings(EXPUSHER_MAX_PAYLOAD_BYTES=7):
        assert _doubled(3) == 21
