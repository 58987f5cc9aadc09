"""Per-second interface rates of a host: computed from two counter readings, pushed as one
message per host per second, and kept in Redis for the last HISTORY_SECONDS (never in the
database) so a graph opened now starts filled with what was sampled while someone looked."""

import json
import time

from django.conf import settings

from operations.locks import client


def history_seconds():
    return settings.KVMWEB_RATES_HISTORY


def _key(host_pk):
    return f"kvmweb:rates:{host_pk}"


def compute(previous, current):
    """Bytes/s per interface between two ``read_counters`` results; interfaces that appeared,
    vanished, or whose counters went backwards (re-created, wrapped) are left out."""
    elapsed = current["t"] - previous["t"]
    if elapsed <= 0:
        return {}
    rates = {}
    for name, (rx, tx) in current["counters"].items():
        before = previous["counters"].get(name)
        if before is None or rx < before[0] or tx < before[1]:
            continue
        rates[name] = [round((rx - before[0]) / elapsed, 1), round((tx - before[1]) / elapsed, 1)]
    return rates


def record(host_pk, t, rates):
    """Append one second of a host's rates and drop what is older than the history window."""
    key = _key(host_pk)
    keep = history_seconds()
    pipe = client().pipeline()
    pipe.rpush(key, json.dumps([round(t, 3), rates], separators=(",", ":")))
    pipe.ltrim(key, -keep, -1)
    pipe.expire(key, keep)
    pipe.execute()


def history(host_pk, iface):
    """[[t, rx_bytes_per_s, tx_bytes_per_s], ...] of one interface, oldest first, within the window."""
    since = time.time() - history_seconds()
    points = []
    for raw in client().lrange(_key(host_pk), 0, -1):
        t, rates = json.loads(raw)
        if t >= since and iface in rates:
            points.append([t, *rates[iface]])
    return points
