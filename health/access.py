"""Who may read /readyz and /metrics: a monitoring system, not a user.

/healthz says only "ok" (anyone, no login: a process supervisor or load balancer asks it).
/readyz names which internal part is down and why, and /metrics counts hosts, operations and
sessions, so both are for monitoring only: a request with ``Authorization: Bearer
<KVMWEB_METRICS_TOKEN>``, or one made directly from an address in KVMWEB_METRICS_ALLOW (default
loopback: a Prometheus or probe on the same machine). A request that came through a proxy
(X-Forwarded-For, X-Real-IP or Forwarded) is never trusted by address: behind nginx on the same
machine every request arrives from loopback. No user, not even staff, gets in by session.
"""

import hmac
from ipaddress import ip_address, ip_network

from django.conf import settings

from kvmweb.access import MONITORING, PUBLIC

PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")

PERMISSIONS = {
    "health:healthz": PUBLIC,
    "health:readyz": MONITORING,
    "health:metrics": MONITORING,
}


def token_matches(request):
    token = settings.KVMWEB_METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not token or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer "):].strip().encode(), token.encode())


def address_allowed(request):
    if any(request.META.get(h) for h in PROXY_HEADERS):
        return False
    try:
        address = ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for cidr in settings.KVMWEB_METRICS_ALLOW:
        try:
            if address in ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue  # a bad entry allows nothing (the system check health.E001 says so)
    return False


def may_monitor(request):
    return token_matches(request) or address_allowed(request)
