from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"

    def ready(self) -> None:
        from realtime import notifications
        from realtime.stats import listener

        # Statistics count in every process, from its first notice on.
        notifications.listen(listener.hear)
