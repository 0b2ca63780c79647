"""WebSocket routes."""

from channels.routing import URLRouter
from django.urls import path

from realtime.phoenix.consumers import PhoenixSocketConsumer
from realtime.pusher.consumers import PusherSocketConsumer

websocket_urlpatterns = [
    path("socket/websocket", PhoenixSocketConsumer.as_asgi()),
    path("app/<str:app_key>", PusherSocketConsumer.as_asgi()),
]

websocket_application = URLRouter(websocket_urlpatterns)
