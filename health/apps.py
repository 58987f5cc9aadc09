from ipaddress import ip_network

from django.apps import AppConfig
from django.core import checks


class HealthConfig(AppConfig):
    """/healthz, /readyz and /metrics. The top floor: it reads other apps' models (operations,
    hosts, consoles) to count them, and nothing imports it."""

    name = "health"

    def ready(self):
        checks.register(check_metrics_allow)


def check_metrics_allow(app_configs=None, **kwargs):
    """A mistyped KVMWEB_METRICS_ALLOW entry would silently allow nothing: say so at start."""
    from django.conf import settings

    errors = []
    for cidr in settings.KVMWEB_METRICS_ALLOW:
        try:
            ip_network(cidr, strict=False)
        except ValueError:
            errors.append(checks.Error(
                f"KVMWEB_METRICS_ALLOW: {cidr!r} is not an address or network (e.g. "
                "10.0.0.0/8, ::1/128)", id="health.E001"))
    return errors
