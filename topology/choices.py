"""The words of the topology graph: node and edge kinds (the ``kind`` of an element's data)."""

# Nodes
HOST = "host"          # a hypervisor: the compound box every other node of the host sits in
IFACE = "iface"        # a host interface; its ``ifkind`` says which (see IFKINDS)
NETWORK = "network"    # a libvirt virtual network
VM = "vm"
NIC = "nic"            # a VM NIC
LAN = "lan"            # an L2 segment between hosts (same IPv4 subnet, or a name an admin gave)
GROUP = "vmgroup"      # many VMs on one network, collapsed into one expandable node
NODE_KINDS = (HOST, IFACE, NETWORK, VM, NIC, LAN, GROUP)

# Host interface kinds as the topology shows them, from hostnet's words (HostInterface.kind).
IFKINDS = {"physical": "nic", "tun/tap": "tap", "bridge": "bridge", "bond": "bond",
           "team": "bond", "vlan": "vlan", "veth": "veth", "macvtap": "macvtap",
           "macvlan": "macvtap", "ipvlan": "macvtap", "ovs": "bridge", "openvswitch": "bridge"}

# Edges (source -> target)
PORT = "port"          # bridge -> its port
SLAVE = "slave"        # bond -> its slave
VLAN_ON = "vlan"       # parent -> VLAN interface
LOWER = "lower"        # lower device -> macvtap on it
PEER = "peer"          # veth <-> its peer on the same host
USES = "uses"          # network -> the bridge it uses
FORWARD = "forward"    # network -> the device it forwards through (``mode`` on the edge)
TAP = "tap"            # tap / macvtap -> the VM NIC attached to it
SOURCE = "source"      # network / bridge / device -> a NIC of a VM that is not running
HAS_NIC = "nic"        # VM -> its NIC
ON_LAN = "lan"         # LAN segment -> the host interface plugged into it
GROUPED = "group"      # network / bridge -> the collapsed group of its VMs
EDGE_KINDS = (PORT, SLAVE, VLAN_ON, LOWER, PEER, USES, FORWARD, TAP, SOURCE, HAS_NIC, ON_LAN,
              GROUPED)

# Node states the page colours.
UP, DOWN, NO_CARRIER, INACTIVE, OFFLINE = "up", "down", "nocarrier", "inactive", "offline"

# libvirt networks whose bridge libvirt makes and owns (its address is not an uplink).
MANAGED_NETWORKS = ("nat", "route", "open", "isolated")
# Where guests reach the outside through the host's routing table when no dev= is given.
ROUTED_MODES = ("nat", "route", "open")
