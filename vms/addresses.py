"""Where a guest NIC's addresses came from: a DHCP lease of a libvirt network (networks.Lease),
the guest agent, or the host's neighbour (ARP) table (vms.GuestAddress). Read from the database
only, except :func:`search_moved`, which the watcher runs.

An address is shown only while its source still vouches for it, on the L2 segment the NIC is
on now (:class:`Place`: the bridge or device its tap is on, and that segment's subnets — a
libvirt network's own, or the host's addresses on the bridge):
- a lease: not expired, and the NIC is still on that lease's network;
- the guest agent: read lately, after the NIC's last move, and inside the segment's subnets;
- a neighbour entry: on the NIC's segment, inside its subnets, and REACHABLE or confirmed by
  the host after the NIC's last move (a STALE entry left from before a move is not proof).
After a move (``DomainInterface.moved_at``) the old addresses therefore go at once; the new one
comes from the agent, the neighbour table, or a unicast ARP search for the guest's MAC that the
watcher sends on the new segment for a while (:func:`search_moved`).
"""

import ipaddress
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from hosts.models import HostInterface
from kvmweb.virt.errors import VirtError
from networks.models import Lease, Network

from .models import DomainInterface, GuestAddress

log = logging.getLogger(__name__)

# Agent and neighbour-table addresses are re-read by every sync (and neighbours by the watcher's
# netlink stream); older than two sync intervals means nobody saw them lately.
GUEST_ADDRESS_MAX_AGE = timedelta(minutes=10)
# How long after a move the watcher keeps looking for the NIC's new address (the guest may ask
# DHCP again only when its link bounces or its own timers say so).
SEARCH_WINDOW = timedelta(minutes=10)
VIA = {"agent": "guest agent", "arp": "host neighbour table (ARP)"}
# Libvirt networks whose subnets are their own (the segment is the network's bridge).
_OWN_SUBNETS = {"nat", "route", "open", "isolated"}


@dataclass
class Place:
    """Where a NIC is now: its libvirt network (None off networks), the host interface its
    traffic is on (the tap's bridge, a macvtap's lower device), that segment's subnets ([]:
    unknown) and when the NIC last moved (None: never, since kvmweb knows it)."""

    network: str | None = None
    dev: str = ""
    subnets: list = field(default_factory=list)
    moved_at: datetime | None = None


def _in_subnets(ip, subnets):
    try:
        address = ipaddress.ip_address(ip)
        return any(address in ipaddress.ip_network(s, strict=False) for s in subnets)
    except ValueError:
        return False


def lease_counts(network_name, expiry, place, now):
    """A lease vouches while the NIC is on its network and it has not ended."""
    return place.network == network_name and not (expiry and expiry <= now)


def address_counts(addr, place, now):
    """Whether an agent or neighbour-table address (a GuestAddress) still vouches for the NIC
    at ``place`` (see the module docstring). Pure: no database."""
    if addr.seen and addr.seen < now - GUEST_ADDRESS_MAX_AGE:
        return False
    if place.subnets and not _in_subnets(addr.ip, place.subnets):
        return False  # not on the segment the NIC is on now (e.g. learnt before a move)
    after_move = place.moved_at is None or (addr.confirmed is not None and
                                            addr.confirmed >= place.moved_at)
    if addr.source == GuestAddress.Source.ARP:
        if addr.dev and place.dev and addr.dev != place.dev:
            return False  # an entry on another bridge (the NIC's old one)
        return addr.state == "reachable" or after_move
    return after_move


def _subnets_of(host_addresses):
    """The subnets of a host interface's addresses (link-local ones say nothing)."""
    found = []
    for a in host_addresses or []:
        if str(a.get("address", "")).startswith(("fe80:", "169.254.")):
            continue
        subnet = str(ipaddress.ip_interface(f"{a['address']}/{a['prefixlen']}").network)
        if subnet not in found:
            found.append(subnet)
    return found


def places(pairs):
    """{(host_id, mac): Place} for the NICs of ``pairs`` (those not found are left out)."""
    host_ids = {h for h, _ in pairs}
    macs = {m for _, m in pairs}
    nics = list(DomainInterface.objects.filter(domain__host_id__in=host_ids, mac__in=macs).values_list(
        "domain__host_id", "mac", "type", "source", "target", "moved_at"))
    networks = {(n.host_id, n.name): n for n in Network.objects.filter(host_id__in=host_ids)}
    ifaces = {(h, name): (master, addrs) for h, name, master, addrs in HostInterface.objects.filter(
        host_id__in=host_ids).values_list("host_id", "name", "master", "addresses")}
    found = {}
    for host_id, mac, kind, source, target, moved_at in nics:
        if (host_id, mac) not in pairs:
            continue
        network = networks.get((host_id, source)) if kind == "network" else None
        dev = (network.bridge if network else "") if kind == "network" else source
        tap_master = ifaces.get((host_id, target), ("", []))[0] if target else ""
        dev = tap_master or dev  # the tap's bridge now (a live move may precede libvirt's XML)
        if network is not None and network.kind in _OWN_SUBNETS and dev == network.bridge:
            subnets = list(network.subnets or [])
        else:
            subnets = _subnets_of(ifaces.get((host_id, dev), ("", []))[1])
        # On its network while its tap is on that network's bridge: a tap moved live to
        # another bridge left the network before libvirt's XML (and our read of it) says so.
        on_network = network is not None and (not network.bridge or dev == network.bridge)
        found[(host_id, mac)] = Place(network=source if on_network else None, dev=dev,
                                      subnets=subnets, moved_at=moved_at)
    return found


def addresses_by_mac(hosts_macs):
    """{(host_id, mac): [{ip, prefix, family, source, via, age}]} for (host_id, mac) pairs;
    ``age``: seconds since the address was last seen (a lease: None, it has ``expires``)."""
    pairs = set(hosts_macs)
    host_ids = {h for h, _ in pairs}
    macs = {m for _, m in pairs}
    now = timezone.now()
    where = places(pairs)
    found = {}
    for lease in Lease.objects.filter(network__host_id__in=host_ids, mac__in=macs).select_related("network"):
        key = (lease.network.host_id, lease.mac)
        if key not in where or not lease_counts(lease.network.name, lease.expiry, where[key], now):
            continue  # the NIC left that network (or is gone), or the lease ended
        found.setdefault(key, []).append({
            "ip": lease.ip, "prefix": lease.prefix, "family": lease.family, "source": "lease",
            "via": f"DHCP lease from network {lease.network.name}", "age": None,
            "expires": lease.expiry.isoformat() if lease.expiry else None})
    for addr in GuestAddress.objects.filter(host_id__in=host_ids, mac__in=macs):
        key = (addr.host_id, addr.mac)
        if key not in where or addr.ip in {a["ip"] for a in found.get(key, [])}:
            continue
        if not address_counts(addr, where[key], now):
            continue
        found.setdefault(key, []).append({
            "ip": addr.ip, "prefix": addr.prefix, "family": addr.family, "source": addr.source,
            "via": VIA.get(addr.source, addr.get_source_display()),
            "age": int((now - addr.seen).total_seconds()), "expires": None})
    return found


def for_vm(vm):
    nics = list(vm.nics.all())
    return addresses_by_mac((vm.host_id, n.mac) for n in nics)


@transaction.atomic
def store_neighbours(host, rows, complete=True):
    """Record the addresses of this host's guest NICs without leases (bridged, macvtap, on
    bridge-mode networks) found in its neighbour table (NAT/routed guests have leases). ``rows``: kvmweb.virt.netlink_remote
    neighbours() rows. ``complete``: the rows are the whole table (the watcher's netlink
    batches, a sync), so entries gone from it are dropped; otherwise (a search's finds) they
    are added. A confirmation time never goes back for the same entry: a search's proof holds
    when the kernel's own entry is older. Returns True when what is shown changed (an entry
    flipping between REACHABLE and STALE changes nothing shown, most of the time)."""
    macs = set(_without_leases(DomainInterface.objects.filter(domain__host=host))
               .values_list("mac", flat=True))
    wanted = {(r["mac"], r["ip"]): r for r in rows if r["mac"] in macs}
    stored = {(a.mac, a.ip): a for a in GuestAddress.objects.filter(host=host, source="arp")}
    if not wanted and not stored:
        return False
    now = timezone.now()
    where = places({(host.pk, mac) for mac in macs})

    def shown(addr):
        place = where.get((host.pk, addr.mac))
        return place is not None and address_counts(addr, place, now)

    changed = False
    new, touched = [], []
    for key, row in wanted.items():
        ago = row.get("confirmed_ago")
        when = None if ago is None else now - timedelta(seconds=ago)
        addr = stored.get(key)
        if addr is None:
            addr = GuestAddress(host=host, mac=row["mac"], ip=row["ip"], family=row["family"],
                                source="arp", dev=row.get("dev", ""), state=row.get("state", ""),
                                confirmed=when, seen=now)
            new.append(addr)
            changed |= shown(addr)
            continue
        was, before = shown(addr), (addr.dev, addr.state, addr.confirmed, addr.seen)
        if addr.confirmed and (when is None or addr.confirmed > when):
            when = addr.confirmed
        addr.dev, addr.state, addr.confirmed = row.get("dev", ""), row.get("state", ""), when
        changed |= was != shown(addr)
        # Written when it says something new (a busy table sends a batch per change), or to
        # renew ``seen`` now and then.
        moved_on = (before[2] is None) != (when is None) or (
            when is not None and abs((when - before[2]).total_seconds()) > 1)
        if before[:2] != (addr.dev, addr.state) or moved_on or before[3] < now - timedelta(minutes=1):
            addr.seen = now
            touched.append(addr)
    GuestAddress.objects.bulk_create(new)
    GuestAddress.objects.bulk_update(touched, ["dev", "state", "confirmed", "seen"])
    gone = [a for key, a in stored.items() if key not in wanted] if complete else []
    changed |= any(shown(a) for a in gone)
    GuestAddress.objects.filter(pk__in=[a.pk for a in gone]).delete()
    return changed


def store_agent_addresses(host, rows, macs=None):
    """An agent read (virsh domifaddr --source agent) replaces the host's agent rows (only those
    of ``macs`` when given: a search); ``confirmed`` is the time of the read (the guest said so
    just now)."""
    now = timezone.now()
    rows = [r for r in rows if macs is None or r["mac"] in macs]
    with transaction.atomic():
        old = GuestAddress.objects.filter(host=host, source="agent")
        (old if macs is None else old.filter(mac__in=macs)).delete()
        GuestAddress.objects.bulk_create(GuestAddress(host=host, source="agent", confirmed=now, **r)
                                         for r in rows)


def _without_leases(nics):
    """The NICs whose addresses libvirt's DHCP does not tell: on a bridge or device, or on a
    libvirt network that is a host bridge or macvtap (NAT, routed, open and isolated networks
    have leases)."""
    leased = Network.objects.filter(host_id=OuterRef("domain__host_id"), name=OuterRef("source"),
                                    kind__in=_OWN_SUBNETS)
    return nics.exclude(Q(type="network") & Exists(leased))


def moved_without_address(host):
    """NICs of the host's running VMs that moved within SEARCH_WINDOW and have no address
    shown since, with where to look: [(mac, Place)]. NICs with leases wait for them (the lease
    refresh); macvtap NICs are left out: their host cannot talk to them (the blind spot)."""
    since = timezone.now() - SEARCH_WINDOW
    pairs = {(host.pk, mac) for mac in _without_leases(DomainInterface.objects.filter(
        domain__host=host, domain__state="running", moved_at__gte=since).exclude(
        type="direct")).values_list("mac", flat=True)}
    if not pairs:
        return []
    where = places(pairs)
    shown = addresses_by_mac(pairs)
    return [(mac, where[(h, mac)]) for h, mac in sorted(pairs)
            if (h, mac) in where and not shown.get((h, mac))]


SEARCH_SOON, SEARCH_LATER = timedelta(minutes=2), 15.0
_searched = {}  # (host pk, mac) -> monotonic time before which it is not searched again

# The agent of a guest with the channel but no agent running makes libvirt wait for its reply:
# ask each VM's agent at most every AGENT_EVERY seconds. {(host pk, domain uuid): monotonic}
AGENT_EVERY = 10.0
_agent_asked = {}


def _ask_agents(host, conn, pending):
    """Fresh agent addresses of the VMs whose NICs are ``pending`` (those with the agent
    channel). Returns True when one of them is now shown."""
    from kvmweb.virt import domains, probes

    rows_by_vm = {}
    for dom_row in {n.domain for n in DomainInterface.objects.filter(
            domain__host=host, mac__in=[m for m, _ in pending]).select_related("domain")}:
        key = (host.pk, dom_row.uuid)
        if time.monotonic() < _agent_asked.get(key, 0) or not probes.has_agent_channel(dom_row.xml):
            continue
        _agent_asked[key] = time.monotonic() + AGENT_EVERY
        try:
            rows_by_vm[dom_row] = domains.interface_addresses(domains.lookup(conn, dom_row.uuid),
                                                              "agent")
        except VirtError:
            continue
    macs = {mac for mac, _ in pending}
    for rows in rows_by_vm.values():
        if any(r["mac"] in macs for r in rows):
            store_agent_addresses(host, rows, macs=macs & {r["mac"] for r in rows})
    shown = addresses_by_mac({(host.pk, mac) for mac in macs})
    return any(a["source"] == "agent" for found in shown.values() for a in found)


def search_moved(host, target, conn=None):
    """Run by the watcher every few seconds for each host it holds: for each NIC that moved and
    has no new address yet, its guest agent (when the VM has the channel and ``conn``, the
    watcher's libvirt connection, is up) and a unicast ARP search for its MAC on its new
    segment (kvmweb.virt.netlink.find_by_mac); what answers is stored (a neighbour entry
    confirmed now). Returns True when an address was found."""
    pending = moved_without_address(host)
    found_any = bool(pending and conn is not None and _ask_agents(host, conn, pending))
    if found_any:
        pending = moved_without_address(host)
    from kvmweb.virt import netlink

    now = time.monotonic()
    for mac, place in pending:
        # Every call at first (the guest asks DHCP soon after a move, or after a link bounce),
        # then every SEARCH_LATER seconds: a guest that keeps quiet is not asked 200 times.
        if now < _searched.get((host.pk, mac), 0):
            continue
        if place.moved_at and timezone.now() - place.moved_at > SEARCH_SOON:
            _searched[(host.pk, mac)] = now + SEARCH_LATER
        subnets = [s for s in place.subnets if ipaddress.ip_network(s).version == 4
                   and ipaddress.ip_network(s).num_addresses <= 1024]
        if not place.dev or not subnets:
            continue  # nowhere the host could ask from
        try:
            rows = netlink.find_by_mac(target, place.dev, mac, subnets)
        except (VirtError, ValueError) as exc:
            log.info("host %s: ARP search for %s on %s failed: %s", host, mac, place.dev, exc)
            continue
        if rows:
            log.info("host %s: %s answers at %s on %s", host, mac,
                     ", ".join(r["ip"] for r in rows), place.dev)
            found_any |= store_neighbours(host, rows, complete=False)
    return found_any
