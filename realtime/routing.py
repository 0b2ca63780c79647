"""WebSocket routes."""

from channels.routing import URLRouter
from django.urls import path

from realtime.phoenix.consumers import PhoenixSocketConsumer

websocket_urlpatterns = [
    path("socket/websocket", PhoenixSocketConsumer.as_asgi()),
]

websocket_application = URLRouter(websocket_urlpatterns)
