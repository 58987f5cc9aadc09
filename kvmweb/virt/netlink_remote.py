"""Functions that run ON a host (shipped there by mitogen): stream netlink changes, read counters.

Like kvmweb.virt.hostnet they must stay importable and exchange plain data only. The listener
runs on a thread of the host-side mitogen context, so the context's main thread stays free for
the once-a-second counter reads (mitogen runs the calls of one context one after another).
"""

import itertools
import select
import threading
import time

# rtnetlink multicast groups: links, IPv4 and IPv6 addresses, neighbours.
RTMGRP_LINK = 0x1
RTMGRP_NEIGH = 0x4
RTMGRP_IPV4_IFADDR = 0x10
RTMGRP_IPV6_IFADDR = 0x100
HEARTBEAT_SECONDS = 5.0

_listeners = {}
_tokens = itertools.count(1)
_lock = threading.Lock()


def start_listener(sender, debounce=0.02):
    """Start a thread that sends ``{"t", "events", "interfaces", "neighbours"}`` through the
    mitogen ``sender`` once at start and again within ``debounce`` seconds of every netlink
    change (a burst of messages becomes one batch), plus ``{"t", "heartbeat": True}`` every few
    seconds so the other side notices a dead stream. Returns a token for ``stop_listener``."""
    stop = threading.Event()
    thread = threading.Thread(target=_listen, args=(sender, stop, debounce),
                              name="kvmweb-netlink", daemon=True)
    with _lock:
        token = next(_tokens)
        _listeners[token] = stop
    thread.start()
    return token


def stop_listener(token):
    with _lock:
        stop = _listeners.pop(token, None)
    if stop is not None:
        stop.set()
    return stop is not None


# rtnetlink message types (linux/rtnetlink.h) -> what the summary line says.
_TYPES = {16: "newlink", 17: "dellink", 20: "newaddr", 21: "deladdr", 28: "newneigh", 29: "delneigh"}


def _read_events(sock):
    """Drain the event socket: [(kind, ifindex)] of every message waiting. Parsed by hand (the
    headers only): pyroute2's own receive path buffers messages in user space, so select() on
    its socket can sleep while a change waits (seen as a stalled stream after ~30 changes)."""
    import errno
    import socket
    import struct

    found = []
    while True:
        try:
            data = sock.recv(1 << 16, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return found
        except OSError as exc:
            if exc.errno == errno.ENOBUFS:  # the kernel dropped events: a snapshot covers them
                found.append(("overflow", 0))
                continue
            raise
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from("=IH", data, offset)
            if length < 16:
                break
            if kind in _TYPES and offset + 24 <= len(data):
                # ifinfomsg, ifaddrmsg and ndmsg all keep the interface index at byte 4.
                found.append((_TYPES[kind], struct.unpack_from("=i", data, offset + 20)[0]))
            offset += (length + 3) & ~3


def _summaries(events, interfaces):
    """"newlink vnet0 down", "deladdr on vnet0"…: what changed, named by the snapshot taken after."""
    by_index = {i["index"]: i for i in interfaces}
    lines = []
    for kind, index in events:
        iface = by_index.get(index)
        name = iface["name"] if iface else f"#{index}"
        if kind in ("newlink", "dellink"):
            state = iface["state"] if iface and kind == "newlink" else ""
            line = f"{kind} {name} {state}".strip()
        elif kind in ("newaddr", "deladdr"):
            line = f"{kind} on {name}"
        else:
            continue  # neighbour churn is read in the batch, not listed
        if line not in lines:
            lines.append(line)
    return lines


def _listen(sender, stop, debounce):
    import socket

    from pyroute2 import IPRoute

    from kvmweb.virt.hostnet import list_interfaces

    groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((0, groups))
        with IPRoute() as reader:
            sender.send(_batch(reader, list_interfaces, [("listening", 0)]))
            last_sent = time.monotonic()
            while not stop.is_set():
                if not select.select([sock], [], [], 1.0)[0]:
                    if time.monotonic() - last_sent > HEARTBEAT_SECONDS:
                        sender.send({"t": time.time(), "heartbeat": True})
                        last_sent = time.monotonic()
                    continue
                events = _read_events(sock)
                deadline = time.monotonic() + debounce
                while True:  # a burst of messages becomes one batch
                    left = deadline - time.monotonic()
                    if left <= 0 or not select.select([sock], [], [], left)[0]:
                        break
                    events.extend(_read_events(sock))
                neigh_only = all(kind in ("newneigh", "delneigh") for kind, _ in events)
                sender.send(_batch(reader, list_interfaces, events, neigh_only))
                last_sent = time.monotonic()
    finally:
        sock.close()


def _batch(reader, list_interfaces, events, neigh_only=False):
    batch = {"t": time.time(), "neighbours": neighbours(reader)}
    if neigh_only:
        batch["events"] = []
    else:
        batch["interfaces"] = list_interfaces()
        batch["events"] = ["listening"] if events == [("listening", 0)] else \
            _summaries(events, batch["interfaces"])
    return batch


# NUD states worth believing: reachable, stale, delay, probe, permanent, noarp.
_NUD_OK = 0x02 | 0x04 | 0x08 | 0x10 | 0x80 | 0x40


def neighbours(ipr=None):
    """The host's neighbour table (``ip -j neigh``) as [{mac, ip, dev, family}], good entries only."""
    from pyroute2 import IPRoute

    own = ipr is None
    ipr = ipr or IPRoute()
    try:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        rows = []
        for entry in ipr.get_neighbours():
            mac = entry.get_attr("NDA_LLADDR")
            ip = entry.get_attr("NDA_DST")
            if not mac or not ip or not entry["state"] & _NUD_OK or ip.startswith("fe80:"):
                continue
            rows.append({"mac": mac.lower(), "ip": ip, "dev": names.get(entry["ifindex"], ""),
                         "family": "ipv6" if entry["family"] == 10 else "ipv4"})
        return rows
    finally:
        if own:
            ipr.close()


def read_counters():
    """Byte counters of every interface in one netlink dump: {"t": epoch, "counters":
    {ifname: [rx_bytes, tx_bytes]}}."""
    from pyroute2 import IPRoute

    counters = {}
    with IPRoute() as ipr:
        for link in ipr.get_links():
            stats = link.get_attr("IFLA_STATS64") or link.get_attr("IFLA_STATS")
            if stats:
                counters[link.get_attr("IFLA_IFNAME")] = [stats["rx_bytes"], stats["tx_bytes"]]
    return {"t": time.time(), "counters": counters}
