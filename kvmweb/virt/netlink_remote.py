"""Functions that run ON a host (shipped there by mitogen): stream netlink changes, read counters.

Like kvmweb.virt.hostnet they must stay importable and exchange plain data only. The listener
runs on a thread of the host-side mitogen context, so the context's main thread stays free for
the once-a-second counter reads (mitogen runs the calls of one context one after another).
"""

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
        token = len(_listeners) + 1
        _listeners[token] = stop
    thread.start()
    return token


def stop_listener(token):
    with _lock:
        stop = _listeners.pop(token, None)
    if stop is not None:
        stop.set()
    return stop is not None


def _summary(msg):
    """One line per netlink message, for the watcher's log and the pushed event."""
    event = msg["event"]
    if event in ("RTM_NEWLINK", "RTM_DELLINK"):
        state = (msg.get_attr("IFLA_OPERSTATE") or "").lower()
        return f"{event[4:].lower()} {msg.get_attr('IFLA_IFNAME')} {state}".strip()
    if event in ("RTM_NEWADDR", "RTM_DELADDR"):
        return f"{event[4:].lower()} {msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}"
    return None  # neighbour churn is read in the batch, not listed


def _listen(sender, stop, debounce):
    from pyroute2 import IPRoute

    from kvmweb.virt.hostnet import list_interfaces

    groups = RTMGRP_LINK | RTMGRP_NEIGH | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
    with IPRoute() as events, IPRoute() as reader:
        events.bind(groups=groups)
        sender.send(_batch(reader, list_interfaces, ["listening"]))
        last_sent = time.monotonic()
        while not stop.is_set():
            ready, _, _ = select.select([events], [], [], 1.0)
            if not ready:
                if time.monotonic() - last_sent > HEARTBEAT_SECONDS:
                    sender.send({"t": time.time(), "heartbeat": True})
                    last_sent = time.monotonic()
                continue
            messages = list(events.get())
            deadline = time.monotonic() + debounce
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([events], [], [], left)[0]:
                    break
                messages.extend(events.get())
            lines = [line for line in map(_summary, messages) if line]
            neigh_only = not lines
            sender.send(_batch(reader, list_interfaces, lines, neigh_only))
            last_sent = time.monotonic()


def _batch(reader, list_interfaces, lines, neigh_only=False):
    batch = {"t": time.time(), "events": lines, "neighbours": neighbours(reader)}
    if not neigh_only:
        batch["interfaces"] = list_interfaces()
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
