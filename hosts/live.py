"""Live state of the hosts the watcher holds: netlink changes, per-second rates, fresh leases.

For every host whose libvirt event connection is up, the watcher keeps:
- a netlink stream (kvmweb.virt.netlink): each batch updates HostInterface rows, and what
  changed is pushed to ``host.<pk>`` and announced to other apps (hosts.signals) at once;
- a poller thread that, only while a browser follows the host (hosts.followers), reads all
  interface counters once a second in one round trip and pushes one ``host.rates`` message
  (rates.<pk>), and re-reads the leases of the host's active networks every
  KVMWEB_LEASE_REFRESH seconds.
Nothing here runs in a request; everything here is about one host at a time, so a slow host
delays only itself.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, transaction

from kvmweb import events
from kvmweb.virt import inventory, netlink
from kvmweb.virt.errors import VirtError

from . import followers, rates, services, signals
from .models import Host

log = logging.getLogger(__name__)
RESTART_SECONDS = 3


def store_batch(host_pk, batch):
    """Apply one netlink batch to the read model and push what changed."""
    close_old_connections()
    host = Host.objects.filter(pk=host_pk).first()
    if host is None:
        return
    changed, removed = [], []
    if "interfaces" in batch:
        changed, removed = services.store_interfaces(host, batch["interfaces"])
    addresses_changed = "neighbours" in batch and store_neighbours(host, batch["neighbours"])
    if changed or removed:
        log.info("host %s: netlink %s", host, "; ".join(batch.get("events") or []))
        events.host_interfaces(host.pk, batch["t"], batch.get("events") or [], changed, removed)
    elif addresses_changed:
        events.host_inventory(host)  # pages showing guest addresses re-render them
    if changed or removed or addresses_changed:
        signals.announce(host.pk, "netlink")


# Extension point like operations.SYNC_EXTENSIONS: the vms app stores guest addresses seen in
# the host's neighbour table (func(host, rows) -> True when something changed).
NEIGHBOUR_HANDLERS = []


def store_neighbours(host, rows):
    changed = False
    for handler in NEIGHBOUR_HANDLERS:
        changed = handler(host, rows) or changed
    return changed


# Extension point: the vms app looks for the new address of a NIC that moved (its guest agent,
# unicast ARP on its new segment) every SEARCH_SECONDS (func(host, target, libvirt connection
# or None) -> True when something was found).
ADDRESS_SEARCHES = []
SEARCH_SECONDS = 3.0


def search_addresses(host, target, conn):
    close_old_connections()
    found = False
    for handler in ADDRESS_SEARCHES:
        found = handler(host, target, conn) or found
    if found:
        events.host_inventory(host)
        signals.announce(host.pk, "addresses")
    return found


def refresh_leases(host, conn):
    """Re-read the leases of the host's active networks; store and push only when they changed."""
    from networks.models import Lease, Network

    read = inventory.active_network_leases(conn)
    close_old_connections()
    changed = False
    with transaction.atomic():
        for net in Network.objects.filter(host=host, name__in=list(read)):
            fresh = {(x["mac"], x["ip"], x["expiry"]) for x in read[net.name] if x["ip"]}
            stored = {(x.mac, x.ip, int(x.expiry.timestamp()) if x.expiry else None)
                      for x in net.leases.all()}
            if fresh != stored:
                Lease.replace_for(net, read[net.name])
                changed = True
    if changed:
        events.host_inventory(host)
        signals.announce(host.pk, "leases")
    return changed


class Poller(threading.Thread):
    """Once a second, for one host: rates while ``rates.<pk>`` is followed; leases every few
    seconds while ``host.<pk>`` or ``rates.<pk>`` is followed. Idle (one Redis read a second)
    when nobody looks."""

    def __init__(self, host, libvirt_conn):
        super().__init__(name=f"live-{host.pk}", daemon=True)
        self.host = host
        self.target = host.target()
        # ``with libvirt_conn(wait=seconds) as conn``: the watcher's event connection (None when
        # gone or busy that long), held alone while in use (kvmweb.virt.watch.HostWatch.busy)
        self.libvirt_conn = libvirt_conn
        self.stopping = threading.Event()

    def stop(self):
        self.stopping.set()

    def run(self):
        previous, next_leases, next_search = None, 0.0, 0.0
        rates_group = events.group_name("rates", self.host.pk)
        host_group = events.group_name("host", self.host.pk)
        tick = time.monotonic()
        while not self.stopping.wait(max(0.0, tick - time.monotonic())):
            tick += 1.0
            if tick < time.monotonic():  # fell behind (a slow host): do not burst to catch up
                tick = time.monotonic() + 1.0
            try:
                sampled = followers.followed(rates_group)
                previous = self.sample(previous) if sampled else None
                if time.monotonic() >= next_leases and (sampled or followers.followed(host_group)):
                    next_leases = time.monotonic() + settings.KVMWEB_LEASE_REFRESH
                    with self.libvirt_conn(wait=1.0) as conn:
                        if conn is not None:
                            refresh_leases(self.host, conn)
                if time.monotonic() >= next_search:  # cheap (one query) unless a NIC moved
                    next_search = time.monotonic() + SEARCH_SECONDS
                    with self.libvirt_conn(wait=1.0) as conn:
                        search_addresses(self.host, self.target, conn)
            except VirtError as exc:
                log.info("host %s: live read failed: %s", self.host, exc)
                previous = None
            except Exception:  # noqa: BLE001 - keep polling; Redis or the DB may come back
                log.exception("host %s: live poller", self.host)
                previous = None
        close_old_connections()

    def sample(self, previous):
        current = netlink.read_counters(self.target)
        if previous is not None:
            values = rates.compute(previous, current)
            rates.record(self.host.pk, current["t"], values)
            events.host_rates(self.host.pk, current["t"], values)
        return current


class LiveHosts:
    """The live parts of every host the watcher holds (see the module docstring)."""

    def __init__(self, pool):
        self.pool = pool  # the watcher's connect pool: opening a stream may take a second
        self.lock = threading.Lock()
        self.streams = {}  # pk -> NetlinkStream (or None while it is being opened)
        self.retry_at = {}
        self.pollers = {}

    def start(self, host, libvirt_conn):
        with self.lock:
            if host.pk not in self.pollers:
                poller = Poller(host, libvirt_conn)
                self.pollers[host.pk] = poller
                poller.start()
        self._open_stream(host)

    def _open_stream(self, host):
        with self.lock:
            if host.pk in self.streams:
                return
            self.streams[host.pk] = None
        self.pool.submit(self._connect, host)

    def _connect(self, host):
        stream = netlink.NetlinkStream(host.pk, host.target(), store_batch, self._lost)
        try:
            services.configure_virt()
            stream.start()
        except VirtError as exc:
            log.warning("host %s: no netlink stream: %s", host, exc)
            self._lost(host.pk, str(exc))
            return
        with self.lock:
            if host.pk in self.streams:
                self.streams[host.pk] = stream
                return
        stream.stop()  # the host was forgotten meanwhile

    def _lost(self, pk, reason):
        with self.lock:
            self.streams.pop(pk, None)
            if pk in self.pollers:
                self.retry_at[pk] = time.monotonic() + RESTART_SECONDS
        log.info("host %s: netlink stream ended: %s", pk, reason)

    def tick(self, hosts):
        """Reopen streams that ended while their host is still held (``hosts``: pk -> Host)."""
        now = time.monotonic()
        with self.lock:
            due = [pk for pk, when in self.retry_at.items()
                   if when <= now and pk in hosts and pk in self.pollers]
            for pk in due:
                self.retry_at.pop(pk, None)
        for pk in due:
            self._open_stream(hosts[pk])

    def stop(self, pk):
        with self.lock:
            stream = self.streams.pop(pk, None)
            poller = self.pollers.pop(pk, None)
            self.retry_at.pop(pk, None)
        if stream is not None:
            stream.stop()
        if poller is not None:
            poller.stop()
