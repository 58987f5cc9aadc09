"""Per-host locks in Redis, held as short leases that the running task keeps alive.

One naming scheme for every app: ``kvmweb:lock:host<pk>:<name>``. A change to one object locks
the object (``network:default``, ``domain:<uuid>``); a change that touches the host's network
plumbing (libvirt networks, VM NICs, host interfaces and bridges) also takes the host's
``plumbing`` lock, so those run one at a time per host whichever app started them.

A lease lasts a few seconds (``KVMWEB_LOCK_LEASE``) and is renewed by a keep-alive thread of
the process holding it. A killed worker renews nothing, so its locks free within seconds and
the reaper (operations.reaper) can hand its operation to another worker.
"""

import logging
import threading
import uuid

import redis
from django.conf import settings

from kvmweb import redisconn

log = logging.getLogger(__name__)
PLUMBING = "plumbing"
_client = None


def client():
    global _client
    if _client is None:
        _client = redisconn.connect(socket_timeout=5, socket_connect_timeout=5)
    return _client


def lock_key(host_pk, name):
    return f"kvmweb:lock:host{host_pk}:{name}"


class Leases:
    """A set of per-host locks taken all at once (in sorted order, so two sets never deadlock)
    and released together."""

    def __init__(self, host_pk, names, owner=None, lease=None):
        self.lease = lease or settings.KVMWEB_LOCK_LEASE
        self.names = sorted(set(names))
        self.token = f"{owner}:{uuid.uuid4().hex}" if owner else None
        # thread_local=False: the keep-alive thread renews what the task thread acquired.
        self.locks = [client().lock(lock_key(host_pk, n), timeout=self.lease, thread_local=False)
                      for n in self.names]

    def acquire(self, wait=0):
        """Take every lock, or none. ``wait``: seconds to wait for each (0: do not wait)."""
        taken = []
        for lock in self.locks:
            ok = (lock.acquire(blocking=True, blocking_timeout=wait, token=self.token) if wait
                  else lock.acquire(blocking=False, token=self.token))
            if not ok:
                for held in taken:
                    _release(held)
                return False
            taken.append(lock)
        return True

    def renew(self):
        """Push every lease's expiry out again. A lease that vanished (Redis restarted without
        its data) is taken back with the same token when nobody else took it meanwhile.
        Returns the names that could not be kept."""
        lost = []
        for name, lock in zip(self.names, self.locks):
            try:
                lock.reacquire()
            except redis.exceptions.LockNotOwnedError:
                if not lock.acquire(blocking=False, token=lock.local.token):
                    lost.append(name)
        return lost

    def release(self):
        for lock in self.locks:
            _release(lock)

    def keep_alive(self, beat=None, interval=None):
        """Start a thread that renews the leases (and calls ``beat()``) every interval until
        the returned handle's ``stop()``."""
        return KeepAlive(self, beat, interval or settings.KVMWEB_HEARTBEAT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def held_by(host_pk, names, owner):
    """True when any of these locks is held under ``owner`` (a Leases owner) right now."""
    values = client().mget([lock_key(host_pk, n) for n in names])
    prefix = f"{owner}:".encode()
    return any(v is not None and v.startswith(prefix) for v in values)


def _release(lock):
    try:
        lock.release()
    except (redis.exceptions.LockError, redis.exceptions.ConnectionError):
        pass  # expired, or Redis is gone: either way nobody holds it for us any more


class KeepAlive(threading.Thread):
    """Renews leases and runs a heartbeat callback while the task thread works."""

    def __init__(self, leases, beat, interval):
        super().__init__(name="kvmweb-keepalive", daemon=True)
        self.leases, self.beat, self.interval = leases, beat, interval
        self._stop_event = threading.Event()
        self.lost = []
        self.start()

    def run(self):
        while not self._stop_event.wait(self.interval):
            try:
                self.lost = self.leases.renew()
                if self.lost:
                    log.warning("lost the lease on %s", ", ".join(self.lost))
            except redis.exceptions.RedisError as exc:
                log.warning("could not renew leases (Redis: %s); retrying", exc)
            if self.beat is not None:
                try:
                    self.beat()
                except Exception:  # noqa: BLE001 - a missed beat must not end the thread
                    log.exception("heartbeat failed")

    def stop(self):
        self._stop_event.set()
        self.join(5)


class held:
    """``with held(host_pk, ["inventory"], wait=600):`` hold leases (kept alive) for a block.

    Raises TimeoutError when the locks could not be taken within ``wait`` seconds."""

    def __init__(self, host_pk, names, wait=0):
        self.leases, self.wait = Leases(host_pk, names), wait

    def __enter__(self):
        if not self.leases.acquire(wait=self.wait):
            raise TimeoutError(f"{', '.join(self.leases.names)} is busy")
        self.keeper = self.leases.keep_alive()
        return self.leases

    def __exit__(self, *exc):
        self.keeper.stop()
        self.leases.release()
