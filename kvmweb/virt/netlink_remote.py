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


# NUD states worth believing (linux/neighbour.h), by the name ``ip neigh`` shows.
_NUD_OK = {0x02: "reachable", 0x04: "stale", 0x08: "delay", 0x10: "probe", 0x40: "noarp",
           0x80: "permanent"}
USER_HZ = 100  # NDA_CACHEINFO counts clock ticks (USER_HZ), as `ip -s neigh` divides by


def neighbours(ipr=None):
    """The host's neighbour table (``ip -s -j neigh``) as [{mac, ip, dev, family, state,
    confirmed_ago}], good entries only. ``confirmed_ago``: seconds since the host last had
    proof that the neighbour answers at that address (ndm_confirmed), relative so that the
    host's clock does not matter."""
    from pyroute2 import IPRoute

    own = ipr is None
    ipr = ipr or IPRoute()
    try:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        rows = []
        for entry in ipr.get_neighbours():
            mac = entry.get_attr("NDA_LLADDR")
            ip = entry.get_attr("NDA_DST")
            state = next((name for bit, name in _NUD_OK.items() if entry["state"] & bit), None)
            if not mac or not ip or state is None or ip.startswith("fe80:"):
                continue
            cache = entry.get_attr("NDA_CACHEINFO") or {}
            confirmed = cache.get("ndm_confirmed")
            rows.append({"mac": mac.lower(), "ip": ip, "dev": names.get(entry["ifindex"], ""),
                         "family": "ipv6" if entry["family"] == 10 else "ipv4", "state": state,
                         "confirmed_ago": None if confirmed is None else confirmed / USER_HZ})
        return rows
    finally:
        if own:
            ipr.close()


ARP_SEARCH_MAX = 1024  # addresses asked per search: a /22 at most


def find_by_mac(dev, mac, subnets, wait=0.5):
    """Which IPv4 addresses of ``subnets`` the neighbour with ``mac`` answers on ``dev``.

    An ARP request for every address of the subnets, sent as unicast to ``mac`` (so only that
    guest receives them, nothing is broadcast on the LAN) from the host's own address in that
    subnet; the guest answers only for its own address. Then the kernel is asked to resolve
    each found address itself (one UDP datagram to the discard port), so the host's neighbour
    table holds a confirmed entry as well. Returns rows like :func:`neighbours` (state
    "reachable", confirmed just now). Runs as root on the host; every argument is checked."""
    import ipaddress
    import re
    import socket
    import struct

    if not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", dev or ""):
        raise ValueError(f"bad interface name {dev!r}")
    if not re.fullmatch(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}", mac or ""):
        raise ValueError(f"bad MAC address {mac!r}")
    wait = max(0.1, min(float(wait), 2.0))
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        links = ipr.link_lookup(ifname=dev)
        if not links:
            return []
        link = ipr.get_links(links[0])[0]
        own_mac = link.get_attr("IFLA_ADDRESS")
        own = [(a.get_attr("IFA_ADDRESS"), a["prefixlen"])
               for a in ipr.get_addr(index=links[0], family=socket.AF_INET)]
    asks = []  # (sender ip, target ip)
    for subnet in subnets:
        net = ipaddress.IPv4Network(subnet, strict=False)
        sender = next((ip for ip, plen in own if ipaddress.IPv4Address(ip) in net), None)
        if sender is None:
            continue  # the host has no address there: it cannot ask (and could not be answered)
        asks += [(sender, str(ip)) for ip in net.hosts() if str(ip) != sender]
    asks = asks[:ARP_SEARCH_MAX]
    if not asks or not own_mac:
        return []
    their, mine = bytes.fromhex(mac.replace(":", "")), bytes.fromhex(own_mac.replace(":", ""))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    found = []
    try:
        sock.bind((dev, 0x0806))
        for sender, target in asks:
            arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mine,
                              socket.inet_aton(sender), b"\0" * 6, socket.inet_aton(target))
            sock.send(their + mine + b"\x08\x06" + arp)
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([sock], [], [], left)[0]:
                break
            frame = sock.recv(128)
            if len(frame) < 42 or frame[12:14] != b"\x08\x06":
                continue
            op, sha, spa = struct.unpack("!H6s4s", frame[20:32])
            ip = socket.inet_ntoa(spa)
            if op == 2 and sha == their and ip not in found:
                found.append(ip)
    finally:
        sock.close()
    for ip in found:
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.sendto(b"", (ip, 9))
        except OSError:
            pass
        finally:
            udp.close()
    return [{"mac": mac, "ip": ip, "dev": dev, "family": "ipv4", "state": "reachable",
             "confirmed_ago": 0.0} for ip in found]


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
