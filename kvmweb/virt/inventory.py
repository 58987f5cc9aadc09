"""Read a host's inventory with bulk libvirt calls; returns plain data for the database.

Round trips per host: capabilities + version calls, listAllNetworks, listAllDomains,
getAllDomainStats, plus one XMLDesc and one DHCPLeases per network and one XMLDesc per domain.
The per-domain XML calls are issued concurrently on the one connection (libvirt's RPC
multiplexes them), so a sync costs about the same wall time for 1 or 100 VMs.
"""

from concurrent.futures import ThreadPoolExecutor

import libvirt
from .connection import call
from .xml import Domain, Network, safe_parse

DOMAIN_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: "nostate",
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "blocked",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down",
    libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
}


def _version(number):
    return f"{number // 1000000}.{number // 1000 % 1000}.{number % 1000}"


def _domcaps_ok(conn, virttype):
    try:
        conn.getDomainCapabilities(None, None, None, virttype, 0)
    except libvirt.libvirtError:
        return False
    return True


def host_facts(conn):
    """Versions and a capabilities summary."""
    info = call(conn.getInfo)  # [arch, memory MiB, cpus, mhz, nodes, sockets, cores, threads]
    caps = safe_parse(call(conn.getCapabilities))
    listed = sorted(set(caps.xpath("/capabilities/guest/arch/domain/@type")))
    # A type counts only if domcapabilities works for it: /dev/kvm can exist (and be listed
    # in capabilities) on a host where QEMU cannot use KVM.
    domain_types = [t for t in listed if _domcaps_ok(conn, t)]
    return {
        "hostname": call(conn.getHostname),
        "libvirt_version": _version(call(conn.getLibVersion)),
        "hypervisor_version": _version(call(conn.getVersion)),
        "capabilities": {
            "arch": info[0],
            "memory_mib": info[1],
            "cpus": info[2],
            "cpu_model": (caps.findtext("host/cpu/model") or ""),
            "domain_types": domain_types,
        },
    }


def _leases(net):
    return [{
        "mac": (lease.get("mac") or "").lower(),
        "ip": lease.get("ipaddr") or "",
        "prefix": lease.get("prefix"),
        "hostname": lease.get("hostname") or "",
        "client_id": lease.get("clientid") or "",
        "expiry": lease.get("expirytime"),
        "family": "ipv6" if lease.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV6 else "ipv4",
    } for lease in call(net.DHCPLeases)]


def active_network_leases(conn):
    """{network name: leases} of the active networks only: the cheap read the watcher repeats
    every few seconds for hosts someone is looking at (two calls per network, no XML)."""
    nets = call(conn.listAllNetworks, libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)
    return {call(net.name): _leases(net) for net in nets}


def network_xmls(conn):
    """{name: XML} of every network of the host: the cheap read the watcher repeats every few
    seconds to notice ``virsh net-update``, for which libvirt sends no event."""
    return {call(net.name): call(net.XMLDesc, 0) for net in call(conn.listAllNetworks, 0)}


def network_record(net):
    xml = call(net.XMLDesc, 0)
    model = Network.from_xml(xml)
    active = bool(call(net.isActive))
    leases = _leases(net) if active else []
    subnets = []
    for ip in model.ips:
        if ip.address:
            subnets.append(str(ip.network))
    return {
        "name": call(net.name),
        "uuid": call(net.UUIDString),
        "xml": xml,
        "active": active,
        "autostart": bool(call(net.autostart)),
        "persistent": bool(call(net.isPersistent)),
        "bridge": model.bridge_name or "",
        "kind": model.kind,
        "subnets": subnets,
        "dhcp": any(ip.dhcp and (ip.dhcp.ranges or ip.dhcp.hosts) for ip in model.ips),
        "leases": leases,
    }


def _nic_stats(stats):
    """Map target device -> counters from one domain's getAllDomainStats record."""
    result = {}
    for i in range(stats.get("net.count", 0)):
        name = stats.get(f"net.{i}.name")
        if not name:
            continue
        result[name] = {
            key.replace(".", "_"): stats.get(f"net.{i}.{key}", 0)
            for key in ("rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
                        "tx.bytes", "tx.pkts", "tx.errs", "tx.drop")
        }
    return result


def _domain_record(dom, stats):
    xml = call(dom.XMLDesc, 0)  # without VIR_DOMAIN_XML_SECURE: no display passwords
    model = Domain.from_xml(xml)
    if any(g.passwd for g in model.graphics):  # a driver that shows them anyway
        xml = model.without_secrets().to_xml()
    counters = _nic_stats(stats)
    state = stats.get("state.state", libvirt.VIR_DOMAIN_NOSTATE)
    nics = []
    for nic in model.interfaces:
        nics.append({
            "mac": (nic.mac or "").lower(),
            "type": nic.type or "",
            "source": nic.source or "",
            "mode": nic.source_mode or "",
            "model": nic.model or "",
            "target": nic.target_dev or "",
            "link_state": nic.link_state or "up",
            "portgroup": nic.source_portgroup or "",
            "stats": counters.get(nic.target_dev or "", {}),
        })
    return {
        "name": call(dom.name),
        "uuid": call(dom.UUIDString),
        "state": DOMAIN_STATES.get(state, "nostate"),
        "vcpus": model.vcpu or 0,
        "memory_kib": model.memory or 0,
        "persistent": bool(call(dom.isPersistent)),
        "autostart": bool(call(dom.autostart)) if call(dom.isPersistent) else False,
        "xml": xml,
        "nics": nics,
    }


def domain_record(conn, dom):
    """One domain as ``collect`` reports it (for storing a VM right after kvmweb created it)."""
    flags = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_INTERFACE
    stats = call(conn.domainListGetStats, [dom], flags, 0)
    return _domain_record(dom, stats[0][1] if stats else {})


def collect(conn):
    """Everything kvmweb stores about one host's libvirt: networks with leases, domains with NICs."""
    networks = call(conn.listAllNetworks, 0)
    stats_flags = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_INTERFACE
    domain_stats = call(conn.getAllDomainStats, stats_flags, 0)
    with ThreadPoolExecutor(max_workers=8) as pool:
        nets = list(pool.map(network_record, networks))
        doms = list(pool.map(lambda pair: _domain_record(*pair), domain_stats))
    return {"networks": nets, "domains": doms}

