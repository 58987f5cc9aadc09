"""Where a guest NIC's addresses came from: a DHCP lease of a libvirt network (networks.Lease),
the guest agent, or the host's ARP table (vms.GuestAddress). Read from the database only."""

from networks.models import Lease

from .models import GuestAddress


def addresses_by_mac(hosts_macs):
    """{(host_id, mac): [{ip, prefix, family, source, via}]} for the given (host_id, mac) pairs."""
    pairs = set(hosts_macs)
    host_ids = {h for h, _ in pairs}
    macs = {m for _, m in pairs}
    found = {}
    for lease in Lease.objects.filter(network__host_id__in=host_ids, mac__in=macs).select_related("network"):
        key = (lease.network.host_id, lease.mac)
        if key in pairs:
            found.setdefault(key, []).append({
                "ip": lease.ip, "prefix": lease.prefix, "family": lease.family, "source": "lease",
                "via": f"DHCP lease from network {lease.network.name}"})
    for addr in GuestAddress.objects.filter(host_id__in=host_ids, mac__in=macs):
        key = (addr.host_id, addr.mac)
        known = {a["ip"] for a in found.get(key, [])}
        if key in pairs and addr.ip not in known:
            found.setdefault(key, []).append({
                "ip": addr.ip, "prefix": addr.prefix, "family": addr.family, "source": addr.source,
                "via": addr.get_source_display()})
    return found


def for_vm(vm):
    nics = list(vm.nics.all())
    return addresses_by_mac((vm.host_id, n.mac) for n in nics)
