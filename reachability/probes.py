"""Proof with packets ("active"): which probes kvmweb can send for a question, and what the
packets say next to the analysis. Pure (on places.End and the read model); the worker sends
them (reachability.operations, kvmweb.virt.probes).

- A host end pings the other end's address from that host, from the host's address the
  question is about (``ping -I``; its direction: a-to-b when the host is the source).
- A VM NIC end of a running VM pings the other end from inside the guest, through
  qemu-guest-agent (guest-exec); a guest without the agent says so when the probe runs.
- A VM NIC whose host has an address on the guest's bridge (virbr0 of a NAT network, a bridge
  with an address) is asked for by ARP from that host (arping on the bridge): whether the guest
  is there and answers at all ("presence", not a direction of the question).
A macvtap guest cannot be reached from its own host, so it gets no presence probe.
"""

import ipaddress

from . import choices as C
from .places import HOSTONLY, LAN, PRIVATE

PRESENCE = "presence"
DIRECTION_WORDS = {C.FORWARD: "source → destination", C.BACKWARD: "destination → source",
                   PRESENCE: "host → guest on its bridge"}


def _presence_iface(ix, end):
    """The bridge on which the end's host has an address in the end's subnet, or ""."""
    if end.kind != "nic" or not end.ip:
        return ""
    p, ip = end.place, ipaddress.ip_address(end.ip)
    bridge = p.bridge if p.kind in (PRIVATE, LAN, HOSTONLY) and not p.lower else ""
    rec = ix.ifaces.get((end.host, bridge)) if bridge else None
    if rec is None:
        return ""
    for a in rec.addresses:
        if a.get("family") != "inet":
            continue
        if ip in ipaddress.ip_interface(f"{a['address']}/{a['prefixlen']}").network:
            return bridge
    return ""


def plan(ix, a, b):
    """The probes for "can A reach B?", in the order they run: a list of plain dicts."""
    out = []
    for end, other, direction in ((a, b, C.FORWARD), (b, a, C.BACKWARD)):
        if end.kind == "host" and other.ip and end.id != other.id:
            # From the address the question is about (ping -I takes an address too): a host
            # answers an isolated guest from its bridge address, never from its LAN one.
            out.append({"kind": "host-ping", "host": end.host, "direction": direction,
                        "to": other.ip, "iface": end.address or "",
                        "title": f"ping {other.label} from {end.label}"})
        elif end.kind == "nic" and other.ip and end.vm is not None and end.vm.state == "running":
            out.append({"kind": "guest-ping", "host": end.host, "direction": direction,
                        "vm": end.vm.uuid, "to": other.ip,
                        "title": f"ping {other.label} from inside {end.vm.name} "
                                 "(qemu-guest-agent)"})
    for end in (a, b):
        bridge = _presence_iface(ix, end)
        if bridge and not any(p.get("iface") == bridge and p["to"] == end.ip for p in out):
            host = ix.hosts[end.host].name if end.host in ix.hosts else end.host
            out.append({"kind": "host-arping", "host": end.host, "direction": PRESENCE,
                        "to": end.ip, "iface": bridge, "about": end.label,
                        "title": f"arping {end.label} on {bridge} from {host}"})
    return out


def _got(result):
    """True (something came back), False (nothing), None (did not run / cannot tell)."""
    if result.get("unavailable") or result.get("sent") is None:
        return None
    return bool(result.get("received"))


def _said(result):
    tool = "ARP replies" if result["kind"] == "host-arping" else "pings"
    return (f"{result.get('received') or 0}/{result.get('sent')} {tool} came back "
            f"({' '.join(result.get('command') or [])})")


def compare(probe):
    """Sentences that set the packets beside the analysis: agreement first, then a plain
    statement of each disagreement (and a guest that does not answer ARP on its bridge).
    ``probe``: a Probe (or the like)."""
    agreement, disagreements = compare_parts(probe)
    return ([agreement] if agreement else []) + disagreements


def compare_parts(probe):
    """(the agreement sentence or None, the disagreement sentences) of ``compare``."""
    lines, agree = [], []
    labels = {C.FORWARD: (probe.source_label, probe.destination_label),
              C.BACKWARD: (probe.destination_label, probe.source_label)}
    for direction, expected in ((C.FORWARD, probe.forward), (C.BACKWARD, probe.backward)):
        ran = [r for r in probe.results if r["direction"] == direction and _got(r) is not None]
        if not ran:
            continue
        came = [r for r in ran if _got(r)]
        packets, evidence = (True, came[0]) if came else (False, ran[0])
        x, y = labels[direction]
        if expected is None:
            lines.append(f"The analysis could not tell whether {x} reaches {y}; the packets "
                         f"say {'yes' if packets else 'no'}: {_said(evidence)}.")
        elif expected != packets:
            caveat = ""
            if packets and C.OVERLAPPING_SUBNETS in (probe.causes or []):
                caveat = (f" — but {evidence['to']} is ambiguous (overlapping subnets): the "
                          "replies may come from another machine with that address")
            lines.append(f"The analysis says {x} {'reaches' if expected else 'cannot reach'} "
                         f"{y} ({probe.verdict}) but {_said(evidence)}{caveat}.")
        else:
            agree.append(f"{x} → {y}")
    for r in probe.results:
        if r["direction"] == PRESENCE and _got(r) is False:
            lines.append(f"No answer to ARP on {r['iface']}: {r['about']} is not there (down, not yet up, or another address); "
                         "pings to it prove nothing about the network.")
    agreement = f"The packets agree with the analysis ({', '.join(agree)})." if agree else None
    return agreement, lines
