"""Network kinds with libvirt's own words (see kvmweb.virt.xml.NETWORK_KINDS)."""

NAT = "nat"
ROUTE = "route"
OPEN = "open"
ISOLATED = "isolated"
BRIDGE = "bridge"
MACVTAP_PRIVATE = "macvtap-private"
MACVTAP_VEPA = "macvtap-vepa"
MACVTAP_BRIDGE = "macvtap-bridge"
MACVTAP_PASSTHROUGH = "macvtap-passthrough"
HOSTDEV = "hostdev"

KIND_CHOICES = [
    (NAT, "NAT (guests reach out through the host's address)"),
    (ROUTE, "Routed (guests' subnet routed, no NAT)"),
    (OPEN, "Open (routed, libvirt adds no firewall rules)"),
    (ISOLATED, "Isolated (guests and host only)"),
    (BRIDGE, "Bridge to an existing host bridge"),
    (MACVTAP_BRIDGE, "macvtap, bridge mode (guests see each other)"),
    (MACVTAP_VEPA, "macvtap, VEPA mode (through the external switch)"),
    (MACVTAP_PRIVATE, "macvtap, private mode (guests isolated)"),
    (MACVTAP_PASSTHROUGH, "macvtap, passthrough (one guest per device)"),
    (HOSTDEV, "Hostdev: SR-IOV VF pool from a PF"),
]
KINDS = [k for k, _ in KIND_CHOICES]

# libvirt creates and owns a bridge with an IP for these; they have subnets, DHCP, DNS.
MANAGED = (NAT, ROUTE, OPEN, ISOLATED)
MACVTAP = (MACVTAP_PRIVATE, MACVTAP_VEPA, MACVTAP_BRIDGE, MACVTAP_PASSTHROUGH)
FORWARD_MODE = {NAT: "nat", ROUTE: "route", OPEN: "open", BRIDGE: "bridge",
                MACVTAP_PRIVATE: "private", MACVTAP_VEPA: "vepa", MACVTAP_BRIDGE: "bridge",
                MACVTAP_PASSTHROUGH: "passthrough", HOSTDEV: "hostdev"}
# Host interface kinds (hosts.HostInterface.kind) a bridge-mode network can attach to.
BRIDGE_IFACE_KINDS = ("bridge", "ovs", "openvswitch")
