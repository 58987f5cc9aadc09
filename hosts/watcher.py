"""The watcher: keeps a libvirt event connection to every usable host, marks hosts offline
within seconds when keepalives stop, and turns host events into syncs and pushed updates.

Several watchers can run: each host is claimed by one of them with a Redis key that expires
unless renewed, so a dead watcher's hosts are taken over by the others.
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

from kvmweb import redisconn
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


class Watcher:
    def __init__(self, tick=0.5):
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.tick = tick
        self.redis = redisconn.connect()
        self.events = queue.Queue()
        self.watches = {}  # host pk -> HostWatch
        self.pending = set()  # host pks being connected
        self.retry_at = {}  # host pk -> monotonic time of next connect attempt
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="connect")
        # Re-reads after events and the periodic network reads: apart from connects, so a slow
        # host's reads never delay connecting to the others (one periodic read per host at once).
        self.reader = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reread")
        self.live = LiveHosts(self.pool)  # netlink, rates and leases of the held hosts
        self.lock = threading.Lock()
        self.stopping = False
        self.polling = set()  # host pks whose network definitions are being read
        self.next_poll = {}  # host pk -> monotonic time of its next network definition read

    def claim(self, pk):
        key = f"kvmweb:watch:host{pk}"
        if self.redis.set(key, self.id, nx=True, ex=CLAIM_SECONDS):
            return True
        if self.redis.get(key) == self.id.encode():
            self.redis.expire(key, CLAIM_SECONDS)
            return True
        return False

    def release(self, pk):
        key = f"kvmweb:watch:host{pk}"
        if self.redis.get(key) == self.id.encode():
            self.redis.delete(key)

    def run_once(self):
        close_old_connections()
        hosts = {h.pk: h for h in Host.connectable()}
        # Stop watching hosts that were removed, re-pinned or handed to another watcher.
        for pk in list(self.watches):
            host = hosts.get(pk)
            if host is None or self.watches[pk].target != host.target() or not self.claim(pk):
                self.forget(pk)
        now = time.monotonic()
        for pk, host in hosts.items():
            if pk in self.watches or pk in self.pending or self.retry_at.get(pk, 0) > now:
                continue
            if not self.claim(pk):
                continue
            self.pending.add(pk)
            self.pool.submit(self.connect, host)
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
            if watch.conn is not None:
                reread.poll_networks(host, watch.conn)
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
            if kind in NETWORK_EVENTS:
                reread.reread_network(host, watch.conn, name, how)
            else:
                reread.reread_domain(host, watch.conn, name, how)
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
                                         settings.KVMWEB_KEEPALIVE_COUNT))
            watch.start()
        except VirtError as exc:
            self.events.put((host.pk, "failed", "", str(exc), exc))
        else:
            self.events.put((host.pk, "connected", "", "", watch))
        finally:
            close_old_connections()

    def on_event(self, pk, kind, name, detail):
        self.events.put((pk, kind, name, detail, None))

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
                self.pending.discard(pk)
                self.watches[pk] = extra
                self.live.start(host, lambda watch=extra: watch.conn)
                self.retry_at.pop(pk, None)
                if host.status != Host.Status.ONLINE:
                    services.set_status(host, Host.Status.ONLINE)
                synced.add(pk)
            elif kind == "failed":
                self.pending.discard(pk)
                self.retry_at[pk] = time.monotonic() + 5
                error = extra
                status = (Host.Status.HOST_KEY_CHANGED if error.code == VirtError.HOST_KEY_CHANGED
                          else Host.Status.OFFLINE if error.retryable else Host.Status.ERROR)
                if host.status != status or host.status_reason != detail:
                    services.set_status(host, status, detail)
            elif kind == "lost":
                self.forget(pk)
                self.retry_at[pk] = time.monotonic() + 2
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
        log.info("watcher %s started", self.id)
        try:
            while not self.stopping:
                started = time.monotonic()
                try:
                    self.run_once()
                except Exception:  # noqa: BLE001 - keep watching the other hosts
                    log.exception("watcher loop failed")
                time.sleep(max(0.1, self.tick - (time.monotonic() - started)))
        finally:
            for pk in list(self.watches):
                self.forget(pk)
                self.release(pk)
