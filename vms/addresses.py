"""Where a guest NIC's addresses came from: a DHCP lease of a libvirt network (networks.Lease),
the guest agent, or the host's neighbour (ARP) table (vms.GuestAddress). Read from the database
only.

Only addresses that are still true are returned: a lease counts while it has not expired and the
NIC is still on that lease's network (after a NIC moved from the NAT network to a bridge, its old
192.168.122.x lease is not its address any more); an agent or neighbour-table address counts
while it was seen within GUEST_ADDRESS_MAX_AGE and, for a NIC on a libvirt network, lies in one
of that network's subnets. Each address says its source, how it was learnt (``via``) and its age.
"""

import ipaddress
from datetime import timedelta

from django.utils import timezone

from networks.models import Lease, Network

from .models import DomainInterface, GuestAddress

# Agent and neighbour-table addresses are re-read by every sync (and neighbours by the watcher's
# netlink stream); older than two sync intervals means nobody saw them lately.
GUEST_ADDRESS_MAX_AGE = timedelta(minutes=10)
VIA = {"agent": "guest agent", "arp": "host neighbour table (ARP)"}


def _in_subnets(ip, subnets):
    try:
        address = ipaddress.ip_address(ip)
        return any(address in ipaddress.ip_network(s, strict=False) for s in subnets)
    except ValueError:
        return False


def addresses_by_mac(hosts_macs):
    """{(host_id, mac): [{ip, prefix, family, source, via, age}]} for (host_id, mac) pairs;
    ``age``: seconds since the address was last seen (a lease: None, it has ``expires``)."""
    pairs = set(hosts_macs)
    host_ids = {h for h, _ in pairs}
    macs = {m for _, m in pairs}
    now = timezone.now()
    # Where each NIC is now: (host, mac) -> network name, or None for bridge/macvtap NICs.
    attached = {}
    for host_id, mac, kind, source in DomainInterface.objects.filter(
            domain__host_id__in=host_ids, mac__in=macs).values_list(
            "domain__host_id", "mac", "type", "source"):
        attached[(host_id, mac)] = source if kind == "network" else None
    subnets = {(n.host_id, n.name): n.subnets for n in Network.objects.filter(host_id__in=host_ids)}
    found = {}
    for lease in Lease.objects.filter(network__host_id__in=host_ids, mac__in=macs).select_related("network"):
        key = (lease.network.host_id, lease.mac)
        if key not in pairs or attached.get(key) != lease.network.name:
            continue  # the NIC left that network (or is gone): the lease is not its address
        if lease.expiry and lease.expiry <= now:
            continue
        found.setdefault(key, []).append({
            "ip": lease.ip, "prefix": lease.prefix, "family": lease.family, "source": "lease",
            "via": f"DHCP lease from network {lease.network.name}", "age": None,
            "expires": lease.expiry.isoformat() if lease.expiry else None})
    for addr in GuestAddress.objects.filter(host_id__in=host_ids, mac__in=macs,
                                            seen__gte=now - GUEST_ADDRESS_MAX_AGE):
        key = (addr.host_id, addr.mac)
        network = attached.get(key)
        if key not in pairs or addr.ip in {a["ip"] for a in found.get(key, [])}:
            continue
        if network and subnets.get((addr.host_id, network)) and \
                not _in_subnets(addr.ip, subnets[(addr.host_id, network)]):
            continue  # learnt before the NIC moved to this network
        found.setdefault(key, []).append({
            "ip": addr.ip, "prefix": addr.prefix, "family": addr.family, "source": addr.source,
            "via": VIA.get(addr.source, addr.get_source_display()),
            "age": int((now - addr.seen).total_seconds()), "expires": None})
    return found


def for_vm(vm):
    nics = list(vm.nics.all())
    return addresses_by_mac((vm.host_id, n.mac) for n in nics)


def store_neighbours(host, rows):
    """The watcher's netlink stream saw the host's neighbour table change: record the addresses
    of this host's bridged and macvtap guest NICs found there (NAT/routed guests have leases).
    Returns True when something changed."""
    macs = set(DomainInterface.objects.filter(domain__host=host).exclude(type="network")
                                                                  .values_list("mac", flat=True))
    wanted = {(r["mac"], r["ip"]): r for r in rows if r["mac"] in macs}
    if not wanted and not macs:
        return False
    now = timezone.now()
    stored = {(a.mac, a.ip): a for a in GuestAddress.objects.filter(host=host, source="arp",
                                                                   mac__in=macs)}
    new = [GuestAddress(host=host, mac=mac, ip=ip, family=r["family"], source="arp")
           for (mac, ip), r in wanted.items() if (mac, ip) not in stored]
    GuestAddress.objects.bulk_create(new)
    seen_again = [a.pk for key, a in stored.items() if key in wanted]
    GuestAddress.objects.filter(pk__in=seen_again).update(seen=now)
    return bool(new)
