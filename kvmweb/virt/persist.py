"""Persistent network configuration for the state a proven change left on a host.

Pure functions: they turn resulting-state records (see hostnet.plans) into the files of the
host's network manager. ``kvmweb.virt.hostconfig.write_files`` writes them on the host.

Each record: name, kind ("bridge", "vlan", "bond", or a NIC kind), mtu, mac, master, up,
addresses [{family, address, prefixlen}], routes [{dst, gateway, family, metric}], and per kind
ports/stp/forward_delay, parent/vlan_id, mode/slaves.
"""

MANAGERS = ("ifupdown", "networkd", "ifcfg", "networkmanager")
IFUPDOWN_DIR = "/etc/network/interfaces.d"
NETWORKD_DIR = "/etc/systemd/network"
IFCFG_DIR = "/etc/sysconfig/network-scripts"
NM_DIR = "/etc/NetworkManager/system-connections"
HEADER = "# Written by kvmweb ({why}). kvmweb rewrites this file; edit with care.\n"


def _gateways(rec):
    return {r["family"]: r["gateway"] for r in rec.get("routes", [])
            if r["dst"] == "default" and r.get("gateway")}


def _by_family(rec, family):
    return [f"{a['address']}/{a['prefixlen']}" for a in rec.get("addresses", [])
            if a["family"] == family]


def _ifupdown(rec, why):
    name, kind = rec["name"], rec.get("kind")
    lines = [HEADER.format(why=why).rstrip("\n")]
    if rec.get("up", True):
        lines.append(f"auto {name}")
    gws = _gateways(rec)
    v4, v6 = _by_family(rec, "inet"), _by_family(rec, "inet6")
    lines.append(f"iface {name} inet {'static' if v4 else 'manual'}")
    body = [f"address {a}" for a in v4]
    if v4 and gws.get("inet"):
        body.append(f"gateway {gws['inet']}")
    if kind == "bridge":
        body += [f"bridge_ports {' '.join(rec.get('ports') or []) or 'none'}",
                 f"bridge_stp {'on' if rec.get('stp') else 'off'}",
                 f"bridge_fd {rec.get('forward_delay') or 0}"]
        if rec.get("mac"):
            body.append(f"hwaddress ether {rec['mac']}")
    elif kind == "vlan":
        body.append(f"vlan-raw-device {rec['parent']}")
    elif kind == "bond":
        body += [f"bond-mode {rec['mode']}", f"bond-slaves {' '.join(rec['slaves'])}",
                 "bond-miimon 100"]
    if rec.get("mtu"):
        body.append(f"mtu {rec['mtu']}")
    lines += [f"    {b}" for b in body]
    if v6:
        lines.append(f"iface {name} inet6 static")
        lines += [f"    address {a}" for a in v6]
        if gws.get("inet6"):
            lines.append(f"    gateway {gws['inet6']}")
    return {f"{IFUPDOWN_DIR}/kvmweb-{name}": "\n".join(lines) + "\n"}


def _networkd(rec, why):
    name, kind = rec["name"], rec.get("kind")
    files = {}
    head = HEADER.format(why=why)
    if kind in ("bridge", "vlan", "bond"):
        netdev = [head, "[NetDev]", f"Name={name}", f"Kind={kind}"]
        if rec.get("mac"):
            netdev.append(f"MACAddress={rec['mac']}")
        if kind == "bridge":
            netdev += ["", "[Bridge]", f"STP={'yes' if rec.get('stp') else 'no'}",
                       f"ForwardDelaySec={rec.get('forward_delay') or 0}"]
        elif kind == "vlan":
            netdev += ["", "[VLAN]", f"Id={rec['vlan_id']}"]
        elif kind == "bond":
            netdev += ["", "[Bond]", f"Mode={rec['mode']}", "MIIMonitorSec=0.1"]
        files[f"{NETWORKD_DIR}/10-kvmweb-{name}.netdev"] = "\n".join(netdev) + "\n"
    net = [head, "[Match]", f"Name={name}", "", "[Network]"]
    if rec.get("master"):
        key = "Bond" if rec.get("master_kind") == "bond" else "Bridge"
        net.append(f"{key}={rec['master']}")
    net += [f"Address={a}" for a in _by_family(rec, "inet") + _by_family(rec, "inet6")]
    net += [f"Gateway={gw}" for gw in _gateways(rec).values()]
    for child in rec.get("vlans", []):
        net.append(f"VLAN={child}")
    if rec.get("mtu"):
        net += ["", "[Link]", f"MTUBytes={rec['mtu']}"]
    files[f"{NETWORKD_DIR}/10-kvmweb-{name}.network"] = "\n".join(net) + "\n"
    return files


def _ifcfg(rec, why):
    name, kind = rec["name"], rec.get("kind")
    lines = [HEADER.format(why=why).rstrip("\n"), f"DEVICE={name}",
             f"ONBOOT={'yes' if rec.get('up', True) else 'no'}", "NM_CONTROLLED=no"]
    v4 = rec.get("addresses", [])
    lines.append("BOOTPROTO=none")
    if kind == "bridge":
        lines += ["TYPE=Bridge", f"STP={'yes' if rec.get('stp') else 'no'}",
                  f"DELAY={rec.get('forward_delay') or 0}"]
    elif kind == "vlan":
        lines += ["VLAN=yes", f"PHYSDEV={rec['parent']}", f"VLAN_ID={rec['vlan_id']}"]
    elif kind == "bond":
        lines += ["TYPE=Bond", f'BONDING_OPTS="mode={rec["mode"]} miimon=100"']
    if rec.get("master"):
        key = "MASTER" if rec.get("master_kind") == "bond" else "BRIDGE"
        lines.append(f"{key}={rec['master']}")
    n = 0
    for addr in v4:
        if addr["family"] == "inet":
            lines += [f"IPADDR{n}={addr['address']}", f"PREFIX{n}={addr['prefixlen']}"]
            n += 1
    six = _by_family(rec, "inet6")
    if six:
        lines += ["IPV6INIT=yes", f"IPV6ADDR={six[0]}"]
        if len(six) > 1:
            lines.append(f'IPV6ADDR_SECONDARIES="{" ".join(six[1:])}"')
    gws = _gateways(rec)
    if gws.get("inet"):
        lines.append(f"GATEWAY={gws['inet']}")
    if rec.get("mtu"):
        lines.append(f"MTU={rec['mtu']}")
    return {f"{IFCFG_DIR}/ifcfg-{name}": "\n".join(lines) + "\n"}


def _networkmanager(rec, why):
    name, kind = rec["name"], rec.get("kind")
    nm_type = {"bridge": "bridge", "vlan": "vlan", "bond": "bond"}.get(kind, "ethernet")
    lines = [HEADER.format(why=why).rstrip("\n"), "[connection]", f"id=kvmweb-{name}",
             f"type={nm_type}", f"interface-name={name}", "autoconnect=true"]
    if rec.get("master"):
        lines += [f"master={rec['master']}",
                  f"slave-type={'bond' if rec.get('master_kind') == 'bond' else 'bridge'}"]
    if kind == "bridge":
        lines += ["", "[bridge]", f"stp={'true' if rec.get('stp') else 'false'}",
                  f"forward-delay={rec.get('forward_delay') or 0}"]
        if rec.get("mac"):
            lines.append(f"mac-address={rec['mac']}")
    elif kind == "vlan":
        lines += ["", "[vlan]", f"parent={rec['parent']}", f"id={rec['vlan_id']}"]
    elif kind == "bond":
        lines += ["", "[bond]", f"mode={rec['mode']}", "miimon=100"]
    if not rec.get("master"):
        gws = _gateways(rec)
        for family, section in (("inet", "ipv4"), ("inet6", "ipv6")):
            addrs = _by_family(rec, family)
            lines += ["", f"[{section}]",
                      f"method={'manual' if addrs else ('disabled' if family == 'inet' else 'ignore')}"]
            lines += [f"address{i + 1}={a}" for i, a in enumerate(addrs)]
            if addrs and gws.get(family):
                lines.append(f"gateway={gws[family]}")
    return {f"{NM_DIR}/kvmweb-{name}.nmconnection": "\n".join(lines) + "\n"}


def render(manager, records, why="network change"):
    """{path: text} for every record, in the format of ``manager``."""
    writer = {"ifupdown": _ifupdown, "networkd": _networkd, "ifcfg": _ifcfg,
              "networkmanager": _networkmanager}.get(manager)
    if writer is None:
        raise ValueError(f"no writer for network manager {manager!r}")
    kinds = {r["name"]: r.get("kind") for r in records}
    files = {}
    for rec in records:
        rec = {**rec, "master_kind": kinds.get(rec.get("master"), "bridge")}
        files.update(writer(rec, why))
    return files


def paths_for(manager, name):
    """Every file kvmweb may have written for interface ``name`` (to remove it)."""
    return {
        "ifupdown": [f"{IFUPDOWN_DIR}/kvmweb-{name}"],
        "networkd": [f"{NETWORKD_DIR}/10-kvmweb-{name}.netdev",
                     f"{NETWORKD_DIR}/10-kvmweb-{name}.network"],
        "ifcfg": [f"{IFCFG_DIR}/ifcfg-{name}"],
        "networkmanager": [f"{NM_DIR}/kvmweb-{name}.nmconnection"],
    }.get(manager, [])
