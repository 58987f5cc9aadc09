"""Heartbeats: every long-running kvmweb process (Celery worker, beat, watcher, web) says in
Redis that it is alive, and carries its own metrics along.

Each process writes one Redis hash ``kvmweb:hb:<role>:<id>`` every ``KVMWEB_HEALTH_BEAT``
seconds with a TTL of ``KVMWEB_HEALTH_TTL`` seconds: when the process dies (or its loop hangs)
the key expires, /readyz turns 503 and the process's series leave /metrics. Redis, not a
multiprocess registry on disk, because kvmweb's processes run on several machines and Redis is
the one thing they all share; /metrics (any web process) merges the hashes it finds.

The beat comes from where the work happens, so a process that lives but does not work stops
beating: a worker's consumer timer (not a beat task: a dead worker pool shows even while beat
lives), beat's own scheduler tick, the watcher's main loop.
"""

import json
import logging
import os
import socket
import threading
import time
from collections import Counter

import redis
from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)
PREFIX = "kvmweb:hb:"
INDEX_TTL = 86400  # a role's index outlives its last process by a day, then goes too
_client = None
_lock = threading.Lock()


def _settings():
    from django.conf import settings

    return settings.KVMWEB_HEALTH_BEAT, settings.KVMWEB_HEALTH_TTL


def client():
    """One Redis client per process, with short timeouts: a dead Redis must not hang a loop."""
    global _client
    if _client is None:
        from . import redisconn

        _client = redisconn.connect(socket_timeout=2, socket_connect_timeout=2)
    return _client


def ident():
    return f"{socket.gethostname()}:{os.getpid()}"


def publish(role, name, fields=None, metrics=None):
    """Say that ``role`` process ``name`` is alive (and its metrics), for KVMWEB_HEALTH_TTL s.
    Never raises: a heartbeat that cannot be written is a missing heartbeat."""
    _, ttl = _settings()
    mapping = {"role": role, "id": name, "seen": time.time(), **(fields or {}),
               "metrics": json.dumps(metrics or {})}
    key = f"{PREFIX}{role}:{name}"
    try:
        pipe = client().pipeline()
        pipe.hset(key, mapping={k: str(v) for k, v in mapping.items()})
        pipe.expire(key, ttl)
        # The role's index: readers look at these keys instead of scanning all of Redis.
        pipe.sadd(_index(role), key)
        pipe.expire(_index(role), INDEX_TTL)
        pipe.execute()
    except redis.RedisError as exc:
        log.warning("heartbeat %s not written: %s", key, exc)


def _index(role):
    return f"{PREFIX}{role}"


def forget(role, name):
    key = f"{PREFIX}{role}:{name}"
    try:
        client().pipeline().delete(key).srem(_index(role), key).execute()
    except redis.RedisError:
        pass


def alive(role, conn=None):
    """The heartbeats of ``role`` processes seen within their TTL: a list of dicts (``metrics``
    decoded). Raises redis.RedisError when Redis does not answer."""
    conn = conn or client()
    keys = sorted(conn.smembers(_index(role)))
    if not keys:
        return []
    pipe = conn.pipeline()
    for key in keys:
        pipe.hgetall(key)
    out, gone = [], []
    for key, raw in zip(keys, pipe.execute()):
        if not raw:
            gone.append(key)  # expired: its process stopped beating
            continue
        beat = {k.decode(): v.decode() for k, v in raw.items()}
        beat["metrics"] = json.loads(beat.get("metrics") or "{}")
        out.append(beat)
    if gone:
        conn.srem(_index(role), *gone)
    return out


# -- Celery workers ----------------------------------------------------------------------------

_tasks = Counter()  # (task name, state) -> count, in this worker process


def count_task(name, state):
    with _lock:
        _tasks[(name, state)] += 1


def worker_metrics():
    with _lock:
        return {"tasks": [[name, state, n] for (name, state), n in sorted(_tasks.items())]}


def install_worker_heartbeat(app):
    """A consumer bootstep: beats from the worker's own timer once the consumer consumes."""
    from celery import bootsteps
    from celery.signals import task_postrun

    class WorkerHeartbeat(bootsteps.StartStopStep):
        requires = {"celery.worker.consumer.tasks:Tasks"}

        def __init__(self, parent, **kwargs):
            super().__init__(parent, **kwargs)
            self.tref = None

        def start(self, c):
            self.name = c.hostname
            self.queues = ",".join(sorted(q.name for q in c.task_consumer.queues))
            self.beat()
            interval, _ = _settings()
            self.tref = c.timer.call_repeatedly(interval, self.beat, priority=10)

        def beat(self):
            publish("worker", self.name, {"queues": self.queues}, worker_metrics())

        def stop(self, c):
            if self.tref is not None:
                self.tref.cancel()
                self.tref = None
                forget("worker", self.name)

        shutdown = stop

    app.steps["consumer"].add(WorkerHeartbeat)

    @task_postrun.connect(weak=False)
    def _counted(sender=None, state=None, **kw):
        count_task(getattr(sender, "name", "?"), state or "?")


class HeartbeatScheduler(PersistentScheduler):
    """Beat's scheduler (CELERY_BEAT_SCHEDULER): beats on every tick, and ticks at least once
    per heartbeat."""

    def tick(self, *args, **kwargs):
        interval, _ = _settings()
        publish("beat", ident())
        return min(super().tick(*args, **kwargs), interval)


# -- the watcher -------------------------------------------------------------------------------

_last_watcher_beat = {}


def watcher_beat(watcher):
    """Called from the watcher's main loop each turn (at most one write per heartbeat)."""
    interval, _ = _settings()
    now = time.monotonic()
    if now - _last_watcher_beat.get(watcher.id, 0) < interval / 2:
        return
    _last_watcher_beat[watcher.id] = now
    live = getattr(watcher, "live", None)
    streams = getattr(live, "streams", {}) or {}
    publish("watcher", watcher.id,
            {"group": getattr(watcher, "group", 0), "groups": getattr(watcher, "groups", 1)},
            {"hosts_connected": len(watcher.watches),
             "netlink_streams": sum(1 for s in list(streams.values()) if s is not None)})


# -- web processes (websocket clients) ----------------------------------------------------------

_websockets = Counter()
_web_thread = None


def websocket(kind, delta):
    """A websocket of ``kind`` opened (+1) or closed (-1) in this web process."""
    global _web_thread
    with _lock:
        _websockets[kind] += delta
        if _web_thread is None:
            _web_thread = threading.Thread(target=_web_beats, name="heartbeat", daemon=True)
            _web_thread.start()


def _web_beats():
    name = ident()
    while True:
        with _lock:
            metrics = {"websockets": dict(_websockets)}
        publish("web", name, metrics=metrics)
        time.sleep(_settings()[0])
