from django.urls import path

from consoles.consumers import SerialConsumer, VNCConsumer

from .consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/console/<int:pk>/serial/", SerialConsumer.as_asgi()),
    path("ws/console/<int:pk>/vnc/", VNCConsumer.as_asgi()),
]
