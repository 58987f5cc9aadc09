"""The one way kvmweb's own code opens Redis (claims, locks, rate limits, topology, tickets…):
REDIS_URL, or the master Redis Sentinel names when REDIS_SENTINELS is set (README "Scaling
out"). Celery and channels-redis get the same choice from settings.py."""

import threading
from urllib.parse import unquote, urlparse

import redis
from django.conf import settings
from redis.sentinel import Sentinel

_sentinel = None
_lock = threading.Lock()


def _url_parts():
    """db and password from REDIS_URL: with Sentinel its host and port are not used."""
    url = urlparse(settings.REDIS_URL)
    db = int((url.path or "/0").lstrip("/") or 0)
    return db, unquote(url.password) if url.password else None


def _sentinel_manager():
    global _sentinel
    with _lock:
        if _sentinel is None:
            _sentinel = Sentinel(settings.REDIS_SENTINELS, socket_timeout=5,
                                 socket_connect_timeout=5)
        return _sentinel


def connect(**kwargs):
    """A redis.Redis on the master: kwargs as for redis.Redis (socket_timeout, …). Through
    Sentinel, a failover is followed on the next command after the old master stops
    answering (redis-py asks the sentinels again)."""
    if not settings.REDIS_SENTINELS:
        return redis.Redis.from_url(settings.REDIS_URL, **kwargs)
    db, password = _url_parts()
    return _sentinel_manager().master_for(settings.REDIS_SENTINEL_MASTER, db=db,
                                          password=password, **kwargs)
