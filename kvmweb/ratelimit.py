"""Rate limits on requests that cause work on a host (sync, firewall read), per user and
object, counted in Redis (shared by every web process). Administrators are not limited."""

import time

from django.conf import settings

from . import redisconn
from .access import Refused

# action -> (requests allowed, per seconds)
LIMITS = {"sync": (2, 60), "firewall": (2, 60)}


class RateLimited(Refused):
    """429 on the API (see kvmweb.access.api_exception_handler), a message on pages."""

    status_code = 429


def _redis():
    return redisconn.connect()


def hit(user, action, obj_pk):
    """Count one request; Refused (RateLimited) when over the limit. Nothing is enqueued then."""
    allowed, period = getattr(settings, "KVMWEB_RATE_LIMITS", {}).get(action) or LIMITS[action]
    window = int(time.time()) // period
    key = f"{settings.KVMWEB_RATELIMIT_PREFIX}:{action}:{user.pk}:{obj_pk}:{window}"
    client = _redis()
    count = client.incr(key)
    if count == 1:
        client.expire(key, period + 1)
    if count > allowed:
        wait = period - int(time.time()) % period
        raise RateLimited(f"{action}: at most {allowed} per {period} s for you on this object; "
                          f"try again in {wait} s")
