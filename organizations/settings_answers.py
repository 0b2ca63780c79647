"""Answers worked out from settings alone: once, and forgotten when a setting changes.

Paths that run for every request (the trigger APIs, the token digest) ask the same
settings-derived questions again and again; Django's settings change only under tests
(override_settings), which send `setting_changed`. One receiver forgets every answer.
"""

import functools
from collections.abc import Callable

from django.core.signals import setting_changed
from django.dispatch import receiver

_answers: list = []  # every cached function made here


def settings_answer(function: Callable | None = None, *, maxsize: int | None = None):
    """functools.cache (functools.lru_cache with `maxsize`, for arguments a client
    chooses) for a function of the settings, cleared on every `setting_changed`."""

    def cached(function: Callable):
        answer = functools.lru_cache(maxsize=maxsize)(function)
        _answers.append(answer)
        return answer

    return cached if function is None else cached(function)


@receiver(setting_changed)
def _forget_settings_answers(**kwargs) -> None:
    for answer in _answers:
        answer.cache_clear()
