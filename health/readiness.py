"""/readyz: is every part kvmweb needs up, and was every process seen within its interval?

Each check answers (ok, detail). Processes are seen through their heartbeats in Redis
(kvmweb.heartbeat): a key lives KVMWEB_HEALTH_TTL seconds and is rewritten every
KVMWEB_HEALTH_BEAT seconds, so a dead worker pool, beat or watcher fails its check within the
TTL (6 s by default), and passes again at its first beat after it returns.
"""

import redis
from django.conf import settings
from django.db import connection

from kvmweb import heartbeat, redisconn

TIMEOUT = 2  # seconds for each network check: /readyz must answer while Redis is down


def _redis(url):
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, connection.vendor


def check_redis():
    redisconn.connect(socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT).ping()
    return True, "ping answered (channel layer, heartbeats)"


def check_broker():
    from kvmweb.celery import app

    url = app.conf.broker_url or settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        _redis(url).ping()
    else:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT)
    return True, "connected"


def queues():
    """The queues that must each have a worker: operations, and its .background queue."""
    from kvmweb.celery import app, background_queue

    return {"workers": app.conf.task_default_queue, "background_workers": background_queue()}


def check_workers(queue, beats):
    names = sorted(b["id"] for b in beats if queue in b.get("queues", "").split(","))
    if not names:
        return False, f"no worker of queue {queue} seen in the last {settings.KVMWEB_HEALTH_TTL} s"
    return True, f"{len(names)} on queue {queue}: " + ", ".join(names)


def check_beat(beats):
    if not beats:
        return False, f"beat not seen in the last {settings.KVMWEB_HEALTH_TTL} s"
    return True, ", ".join(sorted(b["id"] for b in beats))


def check_watcher(beats):
    """At least one watcher; and when watchers split hosts into groups, every group."""
    if not beats:
        return False, f"no watcher seen in the last {settings.KVMWEB_HEALTH_TTL} s"
    groups = max(int(b.get("groups") or 1) for b in beats)
    seen = {int(b.get("group") or 0) for b in beats if int(b.get("groups") or 1) == groups}
    missing = sorted(set(range(groups)) - seen)
    if missing:
        return False, f"watcher groups {missing} of {groups} not seen"
    return True, ", ".join(sorted(b["id"] for b in beats))


def _run(check, *args):
    try:
        ok, detail = check(*args)
    except Exception as exc:  # noqa: BLE001 - any failure is a failed check, said as such
        return {"ok": False, "detail": f"{type(exc).__name__}: {exc}"}
    return {"ok": ok, "detail": detail}


def readiness():
    """{"ready": bool, "checks": {name: {"ok": bool, "detail": str}}}"""
    checks = {"database": _run(check_database), "redis": _run(check_redis),
              "broker": _run(check_broker)}
    try:
        conn = _redis(settings.REDIS_URL)
        beats = {role: heartbeat.alive(role, conn) for role in ("worker", "beat", "watcher")}
    except redis.RedisError as exc:
        failed = {"ok": False, "detail": f"heartbeats unreadable: {exc}"}
        for name in (*queues(), "beat", "watcher"):
            checks[name] = failed
    else:
        for name, queue in queues().items():
            checks[name] = _run(check_workers, queue, beats["worker"])
        checks["beat"] = _run(check_beat, beats["beat"])
        checks["watcher"] = _run(check_watcher, beats["watcher"])
    return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}
