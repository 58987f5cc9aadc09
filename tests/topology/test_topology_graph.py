"""The topology graph from hand-made read models (pure: no database, no host)."""

from topology import choices as C
from topology.graph import Focus, build, host_part, path, select, without
from topology_fixtures import (HostRec, IfaceRec, NetRec, NicRec, ReadModel, SegmentRec, VMRec, add_vm,
                               addr, bonded_bridge_host, classic_host, two_hosts)


def edge(g, kind, source, target):
    return g.edges.get(f"{kind}|{source}|{target}")


def test_it_draws_the_classic_two_host_setup():
    g = build(two_hosts())
    for h in (1, 2):
        assert g.nodes[f"host:{h}"]["kind"] == C.HOST
        assert g.nodes[f"if:{h}:eth0"]["ifkind"] == "veth"
        assert g.nodes[f"if:{h}:virbr0"]["parent"] == f"host:{h}"
        fwd = edge(g, C.FORWARD, f"net:{h}:default", f"if:{h}:eth0")
        assert fwd["mode"] == "nat" and fwd["via"] == "default route"
        assert edge(g, C.USES, f"net:{h}:default", f"if:{h}:virbr0")
        assert edge(g, C.PORT, f"if:{h}:virbr0", f"if:{h}:vnet0")["iface"] == "vnet0"
        nic = f"nic:{h}:uuid-{h}-pxe1:52:54:00:{h:02x}:00:00"
        assert edge(g, C.TAP, f"if:{h}:vnet0", nic)["iface"] == "vnet0"
        assert edge(g, C.HAS_NIC, f"vm:{h}:uuid-{h}-pxe1", nic)
        assert g.nodes[nic]["state"] == C.UP
        # One LAN joins both uplinks; the two virbr0s (both 192.168.122.1/24) are not a LAN.
        assert edge(g, C.ON_LAN, "lan:10.79.1.0/24", f"if:{h}:eth0")
        assert g.nodes[f"if:{h}:eth0"]["uplink"] is True
    assert [n for n in g.nodes if n.startswith("lan:")] == ["lan:10.79.1.0/24"]
    assert "if:1:lo" not in g.nodes


def test_it_draws_a_bond_under_a_bridge():
    g = build(bonded_bridge_host(ReadModel()))
    assert edge(g, C.SLAVE, "if:3:bond0", "if:3:eth1")
    assert edge(g, C.SLAVE, "if:3:bond0", "if:3:eth2")
    assert edge(g, C.PORT, "if:3:br0", "if:3:bond0")
    assert edge(g, C.PORT, "if:3:br0", "if:3:vnet0")
    assert edge(g, C.USES, "net:3:host-br", "if:3:br0")
    # br0 holds the address, but the LAN is on the wire of its uplink port: the bond.
    assert edge(g, C.ON_LAN, "lan:10.20.0.0/24", "if:3:bond0")
    assert not edge(g, C.ON_LAN, "lan:10.20.0.0/24", "if:3:br0")
    # A bridge-mode network does not forward "via" anything: it is the bridge.
    assert not [e for e in g.edges.values() if e["kind"] == C.FORWARD]


def test_it_draws_a_vlan_on_its_parent_and_in_its_bridge():
    model = ReadModel(hosts=[HostRec(pk=4, name="kvm4")])
    model.ifaces += [
        IfaceRec(host=4, name="eth0", kind="physical"),
        IfaceRec(host=4, name="eth0.100", kind="vlan", parent="eth0", master="br100"),
        IfaceRec(host=4, name="br100", kind="bridge"),
    ]
    g = build(model)
    assert g.nodes["if:4:eth0.100"]["ifkind"] == "vlan"
    assert edge(g, C.VLAN_ON, "if:4:eth0", "if:4:eth0.100")
    assert edge(g, C.PORT, "if:4:br100", "if:4:eth0.100")


def test_it_draws_a_macvtap_on_its_lower_device():
    model = two_hosts()
    model.ifaces += [IfaceRec(host=1, name="eth1", kind="physical"),
                     IfaceRec(host=1, name="macvtap0", kind="macvtap", parent="eth1")]
    model.vms.append(VMRec(host=1, uuid="uuid-mv", name="mv"))
    model.nics.append(NicRec(host=1, vm_uuid="uuid-mv", mac="52:54:00:11:22:33", type="direct",
                             source="eth1", mode="bridge", target="macvtap0"))
    g = build(model)
    assert g.nodes["if:1:macvtap0"]["ifkind"] == "macvtap"
    assert edge(g, C.LOWER, "if:1:eth1", "if:1:macvtap0")["iface"] == "macvtap0"
    assert edge(g, C.TAP, "if:1:macvtap0", "nic:1:uuid-mv:52:54:00:11:22:33")


def test_it_shows_a_network_whose_bridge_does_not_exist_yet():
    model = two_hosts()
    model.networks.append(NetRec(host=1, name="lab2", kind="nat", bridge="virbr5", active=False,
                                 forward_mode="nat", subnets=["192.168.50.0/24"]))
    g = build(model)
    net = g.nodes["net:1:lab2"]
    assert net["state"] == C.INACTIVE and net["bridge_missing"] is True
    assert not [e for e in g.edges.values() if e["source"] == "net:1:lab2" and e["kind"] == C.USES]
    assert edge(g, C.FORWARD, "net:1:lab2", "if:1:eth0")["mode"] == "nat"


def test_it_keeps_an_offline_hosts_last_known_picture():
    model = ReadModel()
    classic_host(model, 1, "kvm1", "10.79.1.11/24", status="offline")
    g = build(model)
    assert g.nodes["host:1"]["state"] == "offline" and g.nodes["host:1"]["offline"] is True
    assert "if:1:vnet0" in g.nodes and "vm:1:uuid-1-pxe1" in g.nodes


def test_it_colours_interfaces_by_state():
    model = two_hosts()
    model.ifaces.append(IfaceRec(host=1, name="eth1", kind="physical", up=False, carrier=False))
    model.ifaces.append(IfaceRec(host=1, name="eth2", kind="physical", up=True, carrier=False))
    g = build(model)
    assert g.nodes["if:1:eth1"]["state"] == C.DOWN
    assert g.nodes["if:1:eth2"]["state"] == C.NO_CARRIER
    assert g.nodes["if:1:eth0"]["state"] == C.UP


def test_a_stopped_vms_nic_hangs_on_its_network():
    model = two_hosts()
    add_vm(model, 1, "off", "uuid-off", "virbr0", "", network="default", running=False)
    g = build(model)
    nic = "nic:1:uuid-off:52:54:00:aa:bb:cc"
    assert g.nodes[nic]["state"] == C.INACTIVE
    assert edge(g, C.SOURCE, "net:1:default", nic)


def test_it_joins_uplinks_an_admin_named_into_one_segment():
    model = two_hosts()
    model.ifaces += [IfaceRec(host=1, name="eth1", kind="physical"),
                     IfaceRec(host=2, name="eno2", kind="physical",
                              addresses=[addr("172.16.9.2/24")])]
    model.segments += [SegmentRec(host=1, iface="eth1", name="rack 4"),
                       SegmentRec(host=2, iface="eno2", name="rack 4")]
    g = build(model)
    assert g.nodes["lan:name:rack 4"]["label"] == "rack 4"
    assert edge(g, C.ON_LAN, "lan:name:rack 4", "if:1:eth1")
    assert edge(g, C.ON_LAN, "lan:name:rack 4", "if:2:eno2")
    assert "lan:172.16.9.0/24" not in g.nodes  # the name wins over the subnet


def test_many_vms_on_one_network_collapse_into_a_group():
    model = ReadModel()
    classic_host(model, 1, "kvm1", "10.79.1.11/24", vms=[f"vm{i:02d}" for i in range(12)])
    classic_host(model, 2, "kvm2", "10.79.1.12/24", vms=[f"vm{i:02d}" for i in range(10)])
    g = build(model, group_over=10)
    grp = g.nodes["grp:net:1:default"]
    assert grp["count"] == 12 and grp["label"] == "12 VMs on default"
    assert edge(g, C.GROUPED, "net:1:default", "grp:net:1:default")
    assert g.nodes["vm:1:uuid-1-vm03"]["group"] == "grp:net:1:default"
    assert g.nodes["nic:1:uuid-1-vm03:52:54:00:01:00:03"]["group"] == "grp:net:1:default"
    assert g.nodes["if:1:vnet3"]["group"] == "grp:net:1:default"
    assert g.nodes["if:1:virbr0"]["group"] is None
    # Ten is not more than ten: kvm2's VMs stay single.
    assert "grp:net:2:default" not in g.nodes
    assert g.nodes["vm:2:uuid-2-vm03"]["group"] is None


def test_a_network_focus_shows_its_vms_and_way_out_only():
    model = two_hosts()
    model.ifaces.append(IfaceRec(host=1, name="virbr1", kind="bridge"))
    model.networks.append(NetRec(host=1, name="other", kind="isolated", bridge="virbr1"))
    add_vm(model, 1, "iso", "uuid-iso", "virbr1", "vnet7", network="other")
    sub = select(build(model), Focus("network", 1, "default"))
    assert {"net:1:default", "if:1:virbr0", "if:1:vnet0", "vm:1:uuid-1-pxe1", "if:1:eth0",
            "host:1"} <= set(sub.nodes)
    assert "vm:1:uuid-iso" not in sub.nodes and "host:2" not in sub.nodes
    assert "lan:10.79.1.0/24" not in sub.nodes  # the walk stops at the uplink


def test_a_vm_focus_shows_its_neighbours_on_the_same_bridge():
    model = ReadModel()
    classic_host(model, 1, "kvm1", "10.79.1.11/24", vms=["a", "b"])
    classic_host(model, 2, "kvm2", "10.79.1.12/24")
    sub = select(build(model), Focus("vm", 1, "uuid-1-a"))
    assert {"vm:1:uuid-1-a", "vm:1:uuid-1-b", "if:1:virbr0", "net:1:default"} <= set(sub.nodes)
    assert not [n for n in sub.nodes if n.endswith(":2") or ":2:" in n]


def test_a_host_focus_keeps_its_lan_but_not_the_other_host():
    sub = select(build(two_hosts()), Focus("host", 2))
    assert "lan:10.79.1.0/24" in sub.nodes and "host:2" in sub.nodes
    assert not [n for n in sub.nodes if n.startswith(("if:1:", "host:1", "vm:1:"))]
    part = host_part(build(two_hosts()), 2)
    assert set(part["nodes"]) == set(sub.nodes) and set(part["edges"]) == set(sub.edges)


def test_the_path_between_nics_on_two_hosts_crosses_the_lan():
    g = build(two_hosts())
    a, b = "nic:1:uuid-1-pxe1:52:54:00:01:00:00", "nic:2:uuid-2-pxe1:52:54:00:02:00:00"
    chain = path(g, a, b)
    nodes = chain[::2]
    assert nodes[0] == a and nodes[-1] == b
    assert "lan:10.79.1.0/24" in nodes and "if:1:eth0" in nodes and "if:2:eth0" in nodes
    for i, e in enumerate(chain[1::2]):  # each edge joins the nodes either side of it
        assert {g.edges[e]["source"], g.edges[e]["target"]} == {chain[2 * i], chain[2 * i + 2]}


def test_a_path_never_goes_through_a_vm():
    model = two_hosts()
    model.ifaces.append(IfaceRec(host=1, name="virbr9", kind="bridge"))
    # A VM with a NIC on virbr0 and one on an island bridge: it is not a router.
    model.nics.append(NicRec(host=1, vm_uuid="uuid-1-pxe1", mac="52:54:00:99:99:99",
                             type="bridge", source="virbr9", target="vnet9"))
    model.ifaces.append(IfaceRec(host=1, name="vnet9", kind="tun/tap", master="virbr9"))
    add_vm(model, 1, "island", "uuid-island", "virbr9", "vnet10", mac="52:54:00:99:99:98")
    g = build(model)
    assert path(g, "nic:1:uuid-island:52:54:00:99:99:98", "nic:2:uuid-2-pxe1:52:54:00:02:00:00") == []
    assert path(g, "nic:1:uuid-island:52:54:00:99:99:98", "nic:1:uuid-1-pxe1:52:54:00:99:99:99")
    assert path(g, "nic:1:nope", "nic:1:uuid-island:52:54:00:99:99:98") == []


def test_hidden_vms_and_networks_leave_no_trace_and_groups_recount():
    model = ReadModel()
    classic_host(model, 1, "kvm1", "10.79.1.11/24", vms=[f"vm{i:02d}" for i in range(12)])
    for pk, vm in enumerate(model.vms, start=100):
        vm.pk = pk
    model.networks[0].pk = 7
    g = build(model, group_over=10)
    seen = without(g, networks={7}, vms={100, 101})
    assert "net:1:default" not in seen.nodes and "vm:1:uuid-1-vm00" not in seen.nodes
    assert "nic:1:uuid-1-vm00:52:54:00:01:00:00" not in seen.nodes
    assert not [e for e in seen.edges.values()
                if e["source"] not in seen.nodes or e["target"] not in seen.nodes]
    assert "if:1:virbr0" in seen.nodes  # host interfaces belong to whoever sees the host
    # The group hangs on the hidden network: it goes (its VMs stay, each on its own).
    assert "grp:net:1:default" not in seen.nodes
    assert without(g) is g
    regrouped = without(g, vms={100, 101})
    assert regrouped.nodes["grp:net:1:default"]["count"] == 10
    assert regrouped.nodes["grp:net:1:default"]["label"] == "10 VMs on default"
    assert g.nodes["grp:net:1:default"]["count"] == 12  # the published graph is not touched
    alone = without(g, vms=set(range(100, 112)))
    assert not [i for i in alone.nodes if i.startswith("grp:")]
    assert not [e for e in alone.edges.values() if e["kind"] == C.GROUPED]


def test_a_peer_edge_joins_only_veth_ends_in_the_same_namespace():
    """``eth0@if4``: a lab host's uplink is a veth whose peer (index 4) lives in another
    namespace; a link with that index in the host's own namespace (vnet0) is not its peer."""
    model = ReadModel(hosts=[HostRec(pk=5, name="kvm5")])
    model.ifaces += [
        IfaceRec(host=5, name="eth0", kind="veth", parent="vnet0", link_netnsid=0),
        IfaceRec(host=5, name="vnet0", kind="tun/tap", master="virbr0"),
        IfaceRec(host=5, name="virbr0", kind="bridge"),
        IfaceRec(host=5, name="kv-a", kind="veth", parent="kv-b"),
        IfaceRec(host=5, name="kv-b", kind="veth", parent="kv-a"),
    ]
    g = build(model)
    assert not [e for e in g.edges.values() if e["kind"] == C.PEER and "if:5:eth0" in
                (e["source"], e["target"])]
    assert edge(g, C.PEER, "if:5:kv-a", "if:5:kv-b")  # both ends here: one peer edge
