"""Live interface state of one host (used by the watcher): a netlink listener running on the host
through mitogen streams batches back over the SSH connection; counters are read on request.

The host side is kvmweb.virt.netlink_remote. Batches are handed to ``on_batch`` on this class's
own thread; when the stream dies (no batch or heartbeat for STALE_SECONDS, or the SSH
connection is lost) ``on_lost`` is called once and the caller decides when to start again.
"""

import logging
import threading

import mitogen.core

from . import hostnet as hostnet_remote
from . import netlink_remote, remote
from .errors import VirtError

log = logging.getLogger(__name__)
STALE_SECONDS = 3 * netlink_remote.HEARTBEAT_SECONDS


class NetlinkStream:
    def __init__(self, key, target, on_batch, on_lost, debounce=0.02):
        self.key = key
        self.target = target
        self.on_batch = on_batch
        self.on_lost = on_lost
        self.debounce = debounce
        self._receiver = None
        self._token = None
        self._stopping = threading.Event()
        self._thread = None

    def start(self):
        """Start listening on the host (raises VirtError when it cannot be reached)."""
        self._receiver, self._token = remote.open_stream(
            self.target, netlink_remote.start_listener, debounce=self.debounce)
        self._thread = threading.Thread(target=self._run, name=f"netlink-{self.key}", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self._token is not None:
            remote.call_later(self.target, netlink_remote.stop_listener, self._token)
        if self._receiver is not None:
            self._receiver.close()

    @property
    def alive(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        reason = "stopped"
        try:
            while not self._stopping.is_set():
                try:
                    msg = self._receiver.get(timeout=STALE_SECONDS)
                except mitogen.core.TimeoutError:
                    reason = f"no netlink batch or heartbeat for {STALE_SECONDS:.0f} s"
                    remote.forget(self.target)
                    break
                except mitogen.core.ChannelError as exc:
                    reason = f"the SSH connection was lost: {exc}"
                    break
                batch = msg.unpickle()
                if isinstance(batch, dict) and not batch.get("heartbeat"):
                    try:
                        self.on_batch(self.key, batch)
                    except Exception:  # noqa: BLE001 - one bad batch must not end the stream
                        log.exception("host %s: storing a netlink batch failed", self.key)
        finally:
            if not self._stopping.is_set():
                self.on_lost(self.key, reason)


def read_counters(target):
    """{"t": epoch, "counters": {ifname: [rx_bytes, tx_bytes]}} in one round trip."""
    return remote.run(target, netlink_remote.read_counters)


def read_ip_forwarding(target):
    """Whether the host forwards IPv4 (net.ipv4.ip_forward), in one round trip."""
    return remote.run(target, hostnet_remote.ip_forwarding)


def read_neighbours(target):
    """The host's neighbour table (kvmweb.virt.netlink_remote.neighbours), in one round trip."""
    return remote.run(target, netlink_remote.neighbours)


def find_by_mac(target, dev, mac, subnets):
    """Ask, on the host's ``dev``, which address of ``subnets`` the guest with ``mac`` answers
    for (unicast ARP to that MAC: netlink_remote.find_by_mac). Arguments are checked here and
    again on the host; ValueError says what is wrong."""
    import ipaddress
    import re

    mac = (mac or "").lower()
    if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", dev or ""):
        raise ValueError(f"{dev!r} is not an interface name")
    if not re.fullmatch(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", mac):
        raise ValueError(f"{mac!r} is not a MAC address")
    nets = [str(ipaddress.IPv4Network(s, strict=False)) for s in subnets]
    return remote.run(target, netlink_remote.find_by_mac, dev, mac, nets)
