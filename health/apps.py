from django.apps import AppConfig


class HealthConfig(AppConfig):
    """/healthz, /readyz and /metrics. The top floor: it reads other apps' models (operations,
    hosts, consoles) to count them, and nothing imports it."""

    name = "health"
