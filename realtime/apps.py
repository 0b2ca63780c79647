from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        from organizations.live import connection_counter_register
        from realtime import notifications
        from realtime.console import forward
        from realtime.stats import listener

        # Statistics count in every process, from its first notice on.
        notifications.listen(listener.hear)
        connection_counter_register(_connection_counts)
        forward.install()


def _connection_counts(application_ids: list[int]) -> dict[int, int]:
    """Open connections of each application, from the presence store (every process's
    share with REDIS_URL). Called from a sync view: the store lives on the event loop."""
    from asgiref.sync import async_to_sync

    from realtime.presence import get_presence

    async def count() -> dict[int, int]:
        store = get_presence()
        return {i: (await store.connection_counts(i))[0] for i in application_ids}

    return async_to_sync(count)()
