"""The watcher: keeps a libvirt event connection to every usable host, marks hosts offline
within seconds when they stop answering, and turns host events into syncs and pushed updates.

One process of it watches one group of hosts (``pk % groups == group``); ``manage.py watcher``
runs one such process per group under a small supervisor (hosts.watchgroups), so a crash in
libvirt or glib (a segfault after a paused libvirtd resumed was seen) takes down only its group,
for the second it takes to restart. Several watchers can run: each host is claimed by one
process with a Redis key that expires unless renewed, so a dead watcher's hosts are taken over
by the others (at once when the supervisor saw its child die: it releases the child's claims).

Detection is deadline-based and independent of everything else here: a thread per host probes
libvirtd every second (kvmweb.virt.watch) and one monitor thread marks a host offline as soon
as it has been silent for KVMWEB_OFFLINE_AFTER seconds, whatever the main loop, the database or
libvirt's own keepalive are doing; it marks it online again at its first answer.
"""

import logging
import os
import queue
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from kvmweb import heartbeat, redisconn
from kvmweb.virt.errors import VirtError
from kvmweb.virt.watch import HostWatch

from . import reread, services, tasks
from .live import LiveHosts
from .models import Host

log = logging.getLogger(__name__)
CLAIM_SECONDS = 15
DOMAIN_EVENTS = ("domain", "device-added", "device-removed", "device-removal-failed",
                 "metadata", "tunable")
NETWORK_EVENTS = ("network", "network-metadata")
LIFECYCLE_EVENTS = ("domain", "network")  # a state change: also sync (leases, firewall, ...)


# While a host is down, a new connection attempt starts every RETRY_SECONDS even if earlier ones
# still hang (a paused libvirtd, dropped SYNs: each attempt can wait up to its timeout), at most
# RETRY_PARALLEL at once: the first one that gets through brings the host back within seconds.
# After DOWN_LONG seconds down, one attempt at a time, SLOW_RETRY_SECONDS apart.
RETRY_SECONDS = 1.0
RETRY_PARALLEL = 4  # attempts 1 s apart: an SSH SYN goes out about every second
DOWN_LONG = 120
SLOW_RETRY_SECONDS = 5.0


PROBE_SECONDS = 1.0  # how often each held host is asked a trivial question (kvmweb.virt.watch)


def claim_key(pk):
    return f"kvmweb:watch:host{pk}"


def release_claims(client, owner):
    """Delete every host claim held by ``owner`` (a watcher id); returns the host pks."""
    released = []
    for key in client.scan_iter(match=claim_key("*"), count=500):
        if client.get(key) == owner.encode():
            client.delete(key)
            released.append(int(key.decode().rsplit("host", 1)[1]))
    return released


class Monitor(threading.Thread):
    """Keeps each held host's status true to what this process sees, at a deadline:
    - connected, but silent for ``deadline`` seconds (no probe answer, no event; twice that
      while a read is in flight on the connection): offline;
    - connected and answering: online (also after a health check that hung through a pause
      wrote "offline" late);
    - no connection for ``deadline`` + CONNECT_GRACE seconds (attempts failing or hanging on a
      paused libvirtd): offline, even if a sync or health check wrote "online" meanwhile
      (today's cause of a paused host shown online for 43.7 s: the watcher had no connection,
      only a connect attempt hanging for its 30 s timeout, and nothing else to go by).
    It reads only timestamps the probe threads and the main loop stamp, and writes the status
    itself (one query a tick), so neither a busy main loop, nor a slow database write for
    another host, nor libvirt's keepalive timing delays it by more than a tick and a write.
    Only online/offline are corrected; other statuses (host key changed, error) stay."""

    TICK = 0.25
    CONNECT_GRACE = 3.0  # a normal connect takes a second or two (more on a slow libvirtd)

    def __init__(self, watcher, deadline):
        super().__init__(name="deadline-monitor", daemon=True)
        self.watcher = watcher
        self.deadline = deadline
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(self.TICK):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the database may come back; keep checking
                log.exception("deadline monitor")
            finally:
                close_old_connections()

    def verdicts(self, now):
        """host pk -> (status, reason) this process can vouch for."""
        watches = dict(self.watcher.watches)
        found = {}
        for pk, watch in watches.items():
            silent, calling = watch.silent_for()
            # A read in flight may just be slow: twice the deadline (libvirt's keepalive ends
            # it sooner when the host really stopped answering).
            limit = self.deadline * (2 if calling else 1)
            found[pk] = ((Host.Status.OFFLINE, f"stopped answering: no reply for {silent:.0f} s")
                         if silent >= limit else (Host.Status.ONLINE, ""))
        for pk, since in dict(self.watcher.unconnected).items():
            down = now - since
            if pk not in watches and down >= self.deadline + self.CONNECT_GRACE:
                why = self.watcher.last_error.get(pk) or "connecting"
                found[pk] = (Host.Status.OFFLINE, f"no connection for {down:.0f} s: {why}")
        return found

    def check(self):
        verdicts = self.verdicts(time.monotonic())
        if not verdicts:
            return
        for host in Host.objects.filter(pk__in=list(verdicts),
                                        status__in=[Host.Status.ONLINE, Host.Status.OFFLINE]):
            status, reason = verdicts[host.pk]
            if host.status != status:
                log.info("host %s: %s (%s)", host, status, reason or "answers")
                services.set_status(host, status, reason)


class Watcher:
    def __init__(self, tick=0.5, group=0, groups=1):
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.tick = tick
        self.group, self.groups = group, groups
        self.redis = redisconn.connect()
        self.events = queue.Queue()
        self.watches = {}  # host pk -> HostWatch
        self.pending = {}  # host pk -> connection attempts in flight
        self.retry_at = {}  # host pk -> monotonic time of next connect attempt
        self.down_since = {}  # host pk -> monotonic time it was last lost or failed first
        self.unconnected = {}  # host pk (claimed, no connection) -> since when (monotonic)
        self.last_error = {}  # host pk -> why its last connection attempt failed
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="connect")
        # Re-reads after events and the periodic network reads: apart from connects, so a slow
        # host's reads never delay connecting to the others (one periodic read per host at once).
        self.reader = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reread")
        self.live = LiveHosts(self.pool)  # netlink, rates and leases of the held hosts
        self.lock = threading.Lock()
        self.stopping = False
        self.polling = set()  # host pks whose network definitions are being read
        self.next_poll = {}  # host pk -> monotonic time of its next network definition read
        self.monitor = Monitor(self, settings.KVMWEB_OFFLINE_AFTER)

    def claim(self, pk):
        key = claim_key(pk)
        if self.redis.set(key, self.id, nx=True, ex=CLAIM_SECONDS):
            return True
        if self.redis.get(key) == self.id.encode():
            self.redis.expire(key, CLAIM_SECONDS)
            return True
        return False

    def release(self, pk):
        key = claim_key(pk)
        if self.redis.get(key) == self.id.encode():
            self.redis.delete(key)

    def run_once(self):
        close_old_connections()
        hosts = {h.pk: h for h in Host.connectable() if h.pk % self.groups == self.group}
        # Stop watching hosts that were removed, re-pinned or handed to another watcher.
        for pk in list(self.watches):
            host = hosts.get(pk)
            if host is None or self.watches[pk].target != host.target() or not self.claim(pk):
                self.forget(pk)
        now = time.monotonic()
        for pk in list(self.unconnected):
            if pk not in hosts:
                self.unconnected.pop(pk, None)
        for pk, host in hosts.items():
            if pk in self.watches:
                continue
            if not self.claim(pk):  # (also renews the claim while attempts hang)
                self.unconnected.pop(pk, None)
                continue
            self.unconnected.setdefault(pk, now)
            # Long down: one attempt at a time (an attempt on a paused libvirtd leaves an ssh
            # process waiting for its greeting until the host resumes).
            long_down = now - self.down_since.get(pk, now) > DOWN_LONG
            if self.retry_at.get(pk, 0) > now \
                    or self.pending.get(pk, 0) >= (1 if long_down else RETRY_PARALLEL):
                continue
            self.pending[pk] = self.pending.get(pk, 0) + 1
            self.retry_at[pk] = now + (SLOW_RETRY_SECONDS if long_down else RETRY_SECONDS)
            # Its own thread: an attempt that hangs on a dead host holds no pool slot.
            threading.Thread(target=self.connect, args=(host,), name=f"connect-{pk}",
                             daemon=True).start()
        self.drain()
        self.live.tick({pk: hosts[pk] for pk in self.watches if pk in hosts})
        self.poll_networks(hosts, now)

    def poll_networks(self, hosts, now):
        """Every KVMWEB_DRIFT_POLL seconds, read the held hosts' network definitions (libvirt
        sends no event for ``virsh net-update``); one read in flight per host."""
        for pk, watch in list(self.watches.items()):
            if pk not in hosts or pk in self.polling or self.next_poll.get(pk, 0) > now:
                continue
            self.next_poll[pk] = now + settings.KVMWEB_DRIFT_POLL
            self.polling.add(pk)
            self.reader.submit(self._poll, hosts[pk], watch)

    def _poll(self, host, watch):
        try:
            with watch.busy() as conn:
                if conn is not None:
                    reread.poll_networks(host, conn)
        except VirtError as exc:
            log.info("host %s: network read failed: %s", host, exc)
        except Exception:  # noqa: BLE001 - keep polling; the DB or host may come back
            log.exception("host %s: network read", host)
        finally:
            self.polling.discard(host.pk)

    def reread(self, host, kind, name, detail):
        """On a pool thread: re-read the one object an event is about."""
        watch = self.watches.get(host.pk)
        if watch is None or watch.conn is None or not name:
            return
        how = f"watcher: {kind} event" + (f" ({detail})" if detail else "") + f" for {name}"
        try:
            with watch.busy() as conn:
                if conn is None:
                    log.info("host %s: %s not re-read (the connection is busy or gone)", host, name)
                elif kind in NETWORK_EVENTS:
                    reread.reread_network(host, conn, name, how)
                else:
                    reread.reread_domain(host, conn, name, how)
        except VirtError as exc:
            log.info("host %s: re-reading %s failed: %s", host, name, exc)
        except Exception:  # noqa: BLE001 - the next event or sync reads it again
            log.exception("host %s: re-reading %s", host, name)

    def connect(self, host):
        """On a pool thread: open the event connection; a dead host never blocks the others."""
        try:
            services.configure_virt()
            watch = HostWatch(host.pk, host.target(), self.on_event,
                              keepalive=(settings.KVMWEB_KEEPALIVE_INTERVAL,
                                         settings.KVMWEB_KEEPALIVE_COUNT),
                              probe_interval=PROBE_SECONDS)
            watch.start()
        except VirtError as exc:
            self.events.put((host.pk, "failed", "", str(exc), exc))
        else:
            self.events.put((host.pk, "connected", "", "", watch))
        finally:
            close_old_connections()

    def on_event(self, pk, kind, name, detail, watch=None):
        self.events.put((pk, kind, name, detail, watch))

    def forget(self, pk):
        watch = self.watches.pop(pk, None)
        self.next_poll.pop(pk, None)
        self.live.stop(pk)
        if watch is not None:
            watch.stop()

    def drain(self):
        synced = set()
        while True:
            try:
                pk, kind, name, detail, extra = self.events.get_nowait()
            except queue.Empty:
                break
            host = Host.objects.filter(pk=pk).first()
            if host is None:
                continue
            if kind == "connected":
                self.pending[pk] = self.pending.get(pk, 1) - 1
                if pk in self.watches:  # another attempt got there first
                    extra.stop()
                    continue
                self.watches[pk] = extra
                log.info("host %s: connected", host)
                self.live.start(host, extra.busy)
                self.retry_at.pop(pk, None)
                self.down_since.pop(pk, None)
                self.unconnected.pop(pk, None)
                self.last_error.pop(pk, None)
                if host.status != Host.Status.ONLINE:
                    services.set_status(host, Host.Status.ONLINE)
                synced.add(pk)
            elif kind == "failed":
                self.pending[pk] = self.pending.get(pk, 1) - 1
                self.down_since.setdefault(pk, time.monotonic())
                self.last_error[pk] = detail
                log.info("host %s: connection attempt failed: %s", host, detail)
                if pk in self.watches or self.pending[pk] > 0:
                    continue  # another attempt is connected, or may still get through
                error = extra
                status = (Host.Status.HOST_KEY_CHANGED if error.code == VirtError.HOST_KEY_CHANGED
                          else Host.Status.OFFLINE if error.retryable else Host.Status.ERROR)
                if host.status != status or host.status_reason != detail:
                    services.set_status(host, status, detail)
            elif kind == "lost":
                if self.watches.get(pk) is not extra:
                    continue  # about a connection already replaced
                self.forget(pk)
                self.down_since.setdefault(pk, time.monotonic())
                # Without a connection since the host last answered on the lost one.
                self.unconnected[pk] = min(extra.answered, time.monotonic())
                self.last_error[pk] = f"lost connection: {detail}"
                self.retry_at[pk] = time.monotonic()  # try again at once: it may be a blip
                services.set_status(host, Host.Status.OFFLINE, f"lost connection: {detail}")
            else:
                log.info("host %s: %s %s %s", host, kind, name, detail)
                if kind in DOMAIN_EVENTS or kind in NETWORK_EVENTS:
                    self.reader.submit(self.reread, host, kind, name, detail)
                if kind not in DOMAIN_EVENTS and kind not in NETWORK_EVENTS \
                        or kind in LIFECYCLE_EVENTS:
                    synced.add(pk)
        for pk in synced:
            tasks.request_background_sync(pk)

    def run(self):
        log.info("watcher %s started (group %d of %d)", self.id, self.group, self.groups)
        self.monitor.start()
        try:
            while not self.stopping:
                started = time.monotonic()
                try:
                    self.run_once()
                    heartbeat.watcher_beat(self)  # /readyz and /metrics (kvmweb.heartbeat)
                except Exception:  # noqa: BLE001 - keep watching the other hosts
                    log.exception("watcher loop failed")
                time.sleep(max(0.1, self.tick - (time.monotonic() - started)))
        finally:
            self.monitor.stopping.set()
            for pk in list(self.watches):
                self.forget(pk)
                self.release(pk)
