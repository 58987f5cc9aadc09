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

KIND_CHOICES = [  # each says in one line who can reach whom
    (NAT, "NAT: guests reach out through the host's address; nothing outside can start a "
          "connection in"),
    (ROUTE, "Routed: guests and the LAN reach each other, once the LAN router has a route "
            "to the subnet via this host"),
    (OPEN, "Open: routed, and libvirt adds no firewall rules (your own rules decide)"),
    (ISOLATED, "Isolated: guests reach each other and the host, nothing beyond"),
    (BRIDGE, "Bridge to an existing host bridge: guests are on the LAN like any machine"),
    (MACVTAP_BRIDGE, "macvtap, bridge mode: guests reach the LAN and each other, not this host"),
    (MACVTAP_VEPA, "macvtap, VEPA mode: through the external switch; not this host, each "
                   "other only if the switch hairpins"),
    (MACVTAP_PRIVATE, "macvtap, private mode: guests reach the LAN only (not each other, "
                      "not this host)"),
    (MACVTAP_PASSTHROUGH, "macvtap, passthrough: one guest owns the device; not this host"),
    (HOSTDEV, "Hostdev: SR-IOV VF pool from a PF; guests on the LAN, not this host through it"),
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
