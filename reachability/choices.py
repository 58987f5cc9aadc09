"""The words of a reachability answer: verdicts, cause codes and the kinds of fixes.

Cause codes are stable strings (scripts match on them, like AWS Reachability Analyzer's
explanation codes); the sentences that go with them are written where the cause is found
(reachability.analysis), with the names of the objects involved.
"""

# Verdicts
REACHABLE = "reachable"
ONE_WAY = "one-way"          # A can start connections to B, not the other way round
UNREACHABLE = "unreachable"
UNKNOWN = "unknown"          # the read model does not say (host offline, address unknown, ...)
VERDICTS = (REACHABLE, ONE_WAY, UNREACHABLE, UNKNOWN)
VERDICT_LABELS = {REACHABLE: "Reachable", ONE_WAY: "Reachable one way only",
                  UNREACHABLE: "Unreachable", UNKNOWN: "Unknown"}

# Cause codes (blocking unless listed in WARNINGS)
NAT_DIFFERENT_NETWORKS = "nat-different-networks"  # both ends behind different NAT networks
NAT_INBOUND = "nat-inbound"                        # a new connection into a NAT network
MACVTAP_OWN_HOST = "macvtap-own-host"              # macvtap guest <-> its own host
MACVTAP_MODE = "macvtap-mode"                      # two macvtap guests, mode vepa / private
ISOLATED = "isolated"                              # isolated network / host-only bridge
LINK_DOWN = "link-down"                            # host interface down or without carrier
NETWORK_INACTIVE = "network-inactive"
NIC_LINK_DOWN = "nic-link-down"                    # the VM NIC's <link state='down'/>
VM_NOT_RUNNING = "vm-not-running"
NO_ROUTE_BACK = "no-route-back"                    # routed network, no route to it on the LAN
FIREWALL_DROP = "firewall-drop"                    # a stored nft rule drops / rejects the flow
IP_FORWARDING_OFF = "ip-forwarding-off"
OVERLAPPING_SUBNETS = "overlapping-subnets"        # the address is ambiguous from the source
MTU_MISMATCH = "mtu-mismatch"                      # warning: MTUs differ along a bridged path
HOST_OFFLINE = "host-offline"                      # unknown: the read model may be stale
UNKNOWN_ATTACHMENT = "unknown-attachment"          # unknown: kvmweb cannot tell where it plugs in
NO_ADDRESS = "no-address"                          # unknown: no IPv4 address known for the end
CAUSES = (NAT_DIFFERENT_NETWORKS, NAT_INBOUND, MACVTAP_OWN_HOST, MACVTAP_MODE, ISOLATED,
          LINK_DOWN, NETWORK_INACTIVE, NIC_LINK_DOWN, VM_NOT_RUNNING, NO_ROUTE_BACK,
          FIREWALL_DROP, IP_FORWARDING_OFF, OVERLAPPING_SUBNETS, MTU_MISMATCH, HOST_OFFLINE,
          UNKNOWN_ATTACHMENT, NO_ADDRESS)
WARNINGS = (MTU_MISMATCH,)
UNKNOWNS = (HOST_OFFLINE, UNKNOWN_ATTACHMENT, NO_ADDRESS)

# Directions a cause applies to
BOTH, FORWARD, BACKWARD = "both", "a-to-b", "b-to-a"

# Fix kinds (reachability.services turns each into a link to the form that applies it,
# pre-filled: a plan the user checks and confirms; the kinds in SHOWN are commands to run
# elsewhere, shown as text, kvmweb does not manage what they change)
FIX_START_NETWORK = "start-network"
FIX_NIC_LINK_UP = "nic-link-up"
FIX_START_VM = "start-vm"
FIX_BRIDGE_OVER_UPLINK = "bridge-over-uplink"    # hostnet plan: bridge over eth0, move NICs
FIX_MOVE_NIC = "move-nic"                        # then the NIC onto that bridge
FIX_SECOND_NIC = "second-nic"                    # a NIC on an isolated / host-only network
FIX_ROUTED_NETWORK = "routed-network"            # a routed network + the LAN route (shown)
FIX_ADD_ROUTE = "add-route"                      # the route to add on the LAN router (shown)
FIX_LINK_UP = "link-up"                          # set a host interface up (host networking)
FIX_FIREWALL = "firewall"                        # look at the rule on the network's page
FIX_IP_FORWARD = "ip-forward"                    # sysctl net.ipv4.ip_forward=1 (shown)
FIX_RENUMBER = "renumber"                        # give one network another subnet
FIX_MTU = "mtu"                                  # same MTU along the path
FIX_MACVTAP_BRIDGE = "macvtap-bridge-mode"       # macvtap mode bridge
FIX_SYNC = "sync"                                # sync the host again
SHOWN = (FIX_ADD_ROUTE, FIX_IP_FORWARD)
