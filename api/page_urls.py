"""Routes for pages served outside /api/: the chat demo and the browser client."""

from django.urls import path

from api.views import demo

urlpatterns = [
    path("demo/", demo.chat, name="demo-chat"),
    path("js/pusher.js", demo.pusher_js, name="pusher-js"),
]
