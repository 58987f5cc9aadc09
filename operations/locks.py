"""Per-object locks in Redis: changes to one object on one host run one at a time."""

import redis
from django.conf import settings

_client = None


def client():
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def object_lock(host_pk, name, timeout=3600):
    return client().lock(f"kvmweb:lock:host{host_pk}:{name}", timeout=timeout)
