from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from api.cors import cors_allow_trigger

        check_request_enabled.connect(cors_allow_trigger, dispatch_uid="expusher-cors")
