"""The analysis on hand-made read models (no database, no host): one test per cause code, and
the mixed set-ups people ask about."""

from reachability import choices as C
from reachability.analysis import ask
from tests.topology.topology_fixtures import (HostRec, IfaceRec, NetRec, NicRec, ReadModel,
                                              VMRec, add_vm, addr, two_hosts)

NIC1 = "nic:1:uuid-1-pxe1:52:54:00:01:00:00"
NIC2 = "nic:2:uuid-2-pxe1:52:54:00:02:00:00"


def codes(answer, direction=None):
    return {c["code"] for c in answer["causes"] + answer["warnings"]
            if direction is None or c["direction"] in (direction, C.BOTH)}


def nat_pair():
    model = two_hosts()
    model.nics[0].ips = ["192.168.122.10"]
    model.nics[1].ips = ["192.168.122.20"]
    return model


def bridge_over_eth0(model, host, vm="web", mac="52:54:00:bb:00:01", ip=None, mtu=None):
    """br0 over eth0 (br0 holds the LAN address) and a VM with a NIC on br0."""
    eth0 = next(i for i in model.ifaces if i.host == host and i.name == "eth0")
    br0 = IfaceRec(host=host, name="br0", kind="bridge", addresses=eth0.addresses,
                   routes=eth0.routes, mtu=mtu)
    eth0.addresses, eth0.routes, eth0.master = [], [], "br0"
    model.ifaces.append(br0)
    add_vm(model, host, vm, f"uuid-{host}-{vm}", "br0", f"vnet{10 + host}", mac=mac,
           ips=[ip] if ip else [])
    return f"nic:{host}:uuid-{host}-{vm}:{mac}"


def macvtap_vm(model, host, vm, mac, mode="bridge", ip=None, lower="eth0"):
    tap = f"macvtap{len(model.ifaces)}"
    model.vms.append(VMRec(host=host, uuid=f"uuid-{host}-{vm}", name=vm))
    model.ifaces.append(IfaceRec(host=host, name=tap, kind="macvtap", parent=lower))
    model.nics.append(NicRec(host=host, vm_uuid=f"uuid-{host}-{vm}", mac=mac, type="direct",
                             source=lower, mode=mode, target=tap, ips=[ip] if ip else []))
    return f"nic:{host}:uuid-{host}-{vm}:{mac}"


def private_net(model, host, name, bridge, mode, subnet, vm, mac, ip, **net):
    model.networks.append(NetRec(host=host, name=name, kind=mode or "isolated", bridge=bridge,
                                 forward_mode=mode, subnets=[subnet] if subnet else [], **net))
    gw = subnet.replace("0/24", "1/24") if subnet else None
    model.ifaces.append(IfaceRec(host=host, name=bridge, kind="bridge",
                                 addresses=[addr(gw)] if gw else []))
    add_vm(model, host, vm, f"uuid-{host}-{vm}", bridge, f"vnet{len(model.ifaces)}",
           network=name, mac=mac, ips=[ip])
    return f"nic:{host}:uuid-{host}-{vm}:{mac}"


# -- one test per cause ---------------------------------------------------------------------

def test_two_nat_networks_on_two_hosts_are_private_to_each_host():
    answer = ask(nat_pair(), NIC1, NIC2)
    assert answer["verdict"] == C.UNREACHABLE
    assert C.NAT_DIFFERENT_NETWORKS in codes(answer, C.FORWARD)
    assert C.NAT_DIFFERENT_NETWORKS in codes(answer, C.BACKWARD)
    text = next(c["text"] for c in answer["causes"] if c["code"] == C.NAT_DIFFERENT_NETWORKS)
    assert "MASQUERADE" in text and "private to its host" in text
    assert answer["hops"][0] == NIC1 and answer["hops"][-1] == NIC2
    assert "lan:10.79.1.0/24" in answer["hops"] and "net:1:default" in answer["hops"]


def test_the_same_subnet_on_both_hosts_makes_the_address_ambiguous():
    model = nat_pair()
    model.nics[1].ips = ["192.168.122.10"]  # both guests got .10 from their own dnsmasq
    answer = ask(model, NIC1, NIC2)
    assert C.OVERLAPPING_SUBNETS in codes(answer)
    cause = next(c for c in answer["causes"] if c["code"] == C.OVERLAPPING_SUBNETS)
    assert "ambiguous" in cause["text"] and cause["fixes"][0]["kind"] == C.FIX_RENUMBER


def test_the_lan_cannot_start_connections_to_a_nat_vm():
    answer = ask(nat_pair(), "10.79.1.50", NIC1)
    assert answer["verdict"] == C.ONE_WAY
    assert answer["forward"] is False and answer["backward"] is True
    assert codes(answer) == {C.NAT_INBOUND}
    assert answer["hops"][0] == "lan:10.79.1.0/24"


def test_a_macvtap_guest_cannot_reach_its_own_host():
    model = two_hosts()
    guest = macvtap_vm(model, 1, "tap1", "52:54:00:cc:00:01", ip="10.79.1.60")
    answer = ask(model, guest, "host:1")
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.MACVTAP_OWN_HOST}
    assert {f["kind"] for c in answer["causes"] for f in c["fixes"]} >= {C.FIX_SECOND_NIC,
                                                                        C.FIX_BRIDGE_OVER_UPLINK}
    # ... but it reaches the other host and the LAN.
    assert ask(model, guest, "host:2")["verdict"] == C.REACHABLE
    assert ask(model, guest, "10.79.1.1")["verdict"] == C.REACHABLE


def test_two_macvtap_guests_on_one_host_in_private_mode_do_not_see_each_other():
    model = two_hosts()
    a = macvtap_vm(model, 1, "t1", "52:54:00:cc:00:01", mode="private")
    b = macvtap_vm(model, 1, "t2", "52:54:00:cc:00:02", mode="bridge")
    assert codes(ask(model, a, b)) == {C.MACVTAP_MODE}


def test_an_isolated_network_reaches_its_host_but_not_the_lan():
    model = two_hosts()
    vm = private_net(model, 1, "lab", "virbr9", None, "10.9.0.0/24", "iso", "52:54:00:dd:00:01",
                     "10.9.0.5")
    assert ask(model, vm, "host:1")["verdict"] == C.REACHABLE
    answer = ask(model, vm, "host:2")
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.ISOLATED}


def test_an_isolated_guest_reaches_its_host_only_at_the_bridge_address():
    """libvirt's dnsmasq gives an isolated network's guests no default gateway (dhcp-option=3):
    the host answers at its virbr address, not at its LAN one (the lab's guests showed it)."""
    model = two_hosts()
    vm = private_net(model, 1, "lab", "virbr9", None, "10.9.0.0/24", "iso", "52:54:00:dd:00:01",
                     "10.9.0.5")
    assert ask(model, vm, "10.9.0.1")["verdict"] == C.REACHABLE
    answer = ask(model, vm, "10.79.1.11")
    # Nor does it answer the host at that address (no route back: ping -I 10.79.1.11 fails).
    assert (answer["forward"], answer["backward"]) == (False, False), answer
    assert answer["verdict"] == C.UNREACHABLE and codes(answer, C.FORWARD) == {C.ISOLATED}
    assert codes(answer, C.BACKWARD) == {C.ISOLATED} and answer["causes"][0]["direction"] == C.BOTH
    assert "no default gateway" in answer["causes"][0]["text"]
    assert "only at its address on virbr9 (10.9.0.1)" in answer["causes"][0]["text"]
    assert answer["destination"]["label"] == "kvm1 at 10.79.1.11"
    # The host by its name: the address the guest uses, its gateway on the bridge.
    answer = ask(model, vm, "host:1")
    assert answer["verdict"] == C.REACHABLE and answer["destination"]["ip"] == "10.9.0.1"
    assert answer["destination"]["label"] == "kvm1 at 10.9.0.1 (its address on lab)"


def test_an_isolated_network_without_an_address_does_not_reach_its_host():
    model = two_hosts()
    vm = private_net(model, 1, "lab", "virbr9", None, "", "iso", "52:54:00:dd:00:01",
                     "10.9.0.5")
    answer = ask(model, vm, "host:1")
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.ISOLATED}
    assert "no IP address" in answer["causes"][0]["text"]


def test_an_uplink_without_carrier_blocks_bridged_guests():
    model = two_hosts()
    web = bridge_over_eth0(model, 1, ip="10.79.1.70")
    next(i for i in model.ifaces if i.host == 1 and i.name == "eth0").carrier = False
    answer = ask(model, web, "host:2")
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.LINK_DOWN}
    assert answer["causes"][0]["hop"] == "if:1:eth0"
    assert answer["causes"][0]["fixes"][0]["kind"] == C.FIX_LINK_UP


def test_an_inactive_network_blocks_its_guests():
    model = nat_pair()
    model.networks[0].active = False
    answer = ask(model, NIC1, "host:1")
    assert answer["verdict"] == C.UNREACHABLE and C.NETWORK_INACTIVE in codes(answer)
    assert answer["causes"][0]["fixes"][0]["kind"] == C.FIX_START_NETWORK


def test_a_nic_with_its_link_set_down_reaches_nothing():
    model = nat_pair()
    model.nics[0].link_state = "down"
    answer = ask(model, NIC1, "host:1")
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.NIC_LINK_DOWN}


def test_a_vm_that_is_not_running_reaches_nothing():
    model = nat_pair()
    model.vms[0].state = "shut off"
    assert codes(ask(model, NIC1, "host:1")) == {C.VM_NOT_RUNNING}


def test_a_routed_network_needs_a_route_back_on_the_lan():
    model = two_hosts()
    vm = private_net(model, 1, "routed", "virbr7", "route", "10.7.0.0/24", "r1",
                     "52:54:00:ee:00:01", "10.7.0.5")
    answer = ask(model, vm, "host:2")
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.NO_ROUTE_BACK}
    fix = answer["causes"][0]["fixes"][0]
    assert fix["kind"] == C.FIX_ADD_ROUTE and fix["detail"] == "ip route add 10.7.0.0/24 via 10.79.1.11"
    # With that route on kvm2, both ways work (no NAT in the way).
    eth0 = next(i for i in model.ifaces if i.host == 2 and i.name == "eth0")
    eth0.routes = eth0.routes + [{"family": "inet", "dst": "10.7.0.0/24",
                                  "gateway": "10.79.1.11", "metric": 0}]
    assert ask(model, vm, "host:2")["verdict"] == C.REACHABLE


def test_a_firewall_rule_of_the_network_drops_the_flow():
    model = nat_pair()
    model.networks[0].firewall = [{"family": "ip", "table": "libvirt_network", "chain":
                                   "guest_output", "text": "ip saddr 192.168.122.10 "
                                   "ip daddr 10.79.1.0/24 counter packets 0 bytes 0 drop"}]
    answer = ask(model, NIC1, "host:2")
    assert answer["forward"] is False and C.FIREWALL_DROP in codes(answer, C.FORWARD)
    assert "guest_output" in next(c["text"] for c in answer["causes"]
                                  if c["code"] == C.FIREWALL_DROP)
    # libvirt's own "iifname virbr0 reject" names no address: not this cause.
    model.networks[0].firewall = [{"table": "t", "chain": "c", "text": "iifname virbr0 reject"}]
    assert C.FIREWALL_DROP not in codes(ask(model, NIC1, "host:2"))


def test_ip_forwarding_off_stops_nat_guests_going_out():
    model = nat_pair()
    model.hosts[0].ip_forward = False
    answer = ask(model, NIC1, "host:2")
    # (kvm2 cannot start anything to a NAT guest anyway.)
    assert answer["verdict"] == C.UNREACHABLE and answer["forward"] is False
    assert codes(answer, C.FORWARD) == {C.IP_FORWARDING_OFF}
    model.hosts[0].ip_forward = None
    assert any("IP forwarding assumed on" in a for a in ask(model, NIC1, "host:2")["assumptions"])


def test_mtu_differing_along_a_bridged_path_is_a_warning():
    model = two_hosts()
    a = bridge_over_eth0(model, 1, ip="10.79.1.70", mtu=9000)
    b = bridge_over_eth0(model, 2, vm="db", mac="52:54:00:bb:00:02", ip="10.79.1.71", mtu=1500)
    answer = ask(model, a, b)
    assert answer["verdict"] == C.REACHABLE
    assert [w["code"] for w in answer["warnings"]] == [C.MTU_MISMATCH]
    assert "9000" in answer["warnings"][0]["text"]


def test_an_offline_host_makes_the_answer_unknown():
    model = nat_pair()
    model.hosts[1].status = "offline"
    answer = ask(model, NIC1, "host:2")
    assert answer["verdict"] == C.UNKNOWN and C.HOST_OFFLINE in codes(answer)


# -- mixed set-ups --------------------------------------------------------------------------

def test_a_nat_vm_on_one_host_reaches_a_bridged_vm_on_the_other_one_way():
    model = nat_pair()
    web = bridge_over_eth0(model, 2, ip="10.79.1.72")
    answer = ask(model, NIC1, web)
    assert answer["verdict"] == C.ONE_WAY and answer["forward"] is True
    assert codes(answer) == {C.NAT_INBOUND}
    assert answer["hops"] == [NIC1, "if:1:vnet0", "if:1:virbr0", "net:1:default", "if:1:eth0",
                              "lan:10.79.1.0/24", "if:2:eth0", "if:2:br0", "if:2:vnet12", web]


def test_bridges_over_eth0_on_both_hosts_reach_each_other():
    model = two_hosts()
    a = bridge_over_eth0(model, 1, ip="10.79.1.70")
    b = bridge_over_eth0(model, 2, vm="db", mac="52:54:00:bb:00:02", ip="10.79.1.71")
    answer = ask(model, a, b)
    assert answer["verdict"] == C.REACHABLE and not answer["causes"]
    assert ask(model, a, "host:1")["verdict"] == C.REACHABLE


def test_two_macvtap_guests_in_bridge_mode_on_one_host_see_each_other_not_the_host():
    model = two_hosts()
    a = macvtap_vm(model, 1, "t1", "52:54:00:cc:00:01", ip="10.79.1.61")
    b = macvtap_vm(model, 1, "t2", "52:54:00:cc:00:02", ip="10.79.1.62")
    assert ask(model, a, b)["verdict"] == C.REACHABLE
    assert codes(ask(model, b, "host:1")) == {C.MACVTAP_OWN_HOST}
    # A NAT guest of that host goes out through the host's stack: the same blind spot.
    assert C.MACVTAP_OWN_HOST in codes(ask(model, NIC1, a), C.FORWARD)


def test_a_routed_network_reaches_a_nat_network_on_the_same_host_one_way():
    model = nat_pair()
    vm = private_net(model, 1, "routed", "virbr7", "route", "10.7.0.0/24", "r1",
                     "52:54:00:ee:00:01", "10.7.0.5")
    answer = ask(model, NIC1, vm)
    assert answer["verdict"] == C.ONE_WAY and answer["forward"] is True
    assert codes(answer) == {C.NAT_INBOUND}


def test_ends_are_found_by_address_and_unknown_ones_are_none():
    model = nat_pair()
    assert ask(model, "192.168.122.10", "10.79.1.12")["destination"]["id"] == "host:2"
    assert ask(model, "vm:1:uuid-1-pxe1", "host:2")["source"]["id"] == NIC1
    assert ask(model, "nic:9:x:y", "host:2") is None
    unknown = ask(model, NIC1, "172.16.5.5")
    assert unknown["verdict"] == C.UNKNOWN and C.UNKNOWN_ATTACHMENT in codes(unknown)


def test_every_cause_code_is_tested_here():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    names = [n for n in dir(C) if getattr(C, n) in C.CAUSES]
    untested = [n for n in names if f"C.{n}" not in text.replace("C.CAUSES", "")]
    assert untested == ["NO_ADDRESS"]  # reserved: a missing address is an assumption today


def test_a_host_only_bridge_reaches_only_its_host():
    model = ReadModel(hosts=[HostRec(1, "kvm1")], ifaces=[
        IfaceRec(host=1, name="eth0", kind="physical", addresses=[addr("10.79.1.11/24")]),
        IfaceRec(host=1, name="br9", kind="bridge", addresses=[addr("10.99.0.1/24")])])
    add_vm(model, 1, "h1", "u-h1", "br9", "vnet0", mac="52:54:00:99:00:01", ips=["10.99.0.5"])
    nic = "nic:1:u-h1:52:54:00:99:00:01"
    assert ask(model, nic, "host:1")["verdict"] == C.REACHABLE
    assert codes(ask(model, nic, "10.79.1.50")) == {C.ISOLATED}
    next(i for i in model.ifaces if i.name == "br9").addresses = []
    answer = ask(model, nic, "host:1")
    assert answer["verdict"] == C.UNREACHABLE and answer["destination"]["ip"] is None
    assert answer["destination"]["label"] == "kvm1 (it has no address on br9)"


# -- a host asked about by name: the address the other end would use ---------------------------

def by_name(model, source, host="host:1", reverse=False):
    answer = ask(model, host, source) if reverse else ask(model, source, host)
    end = answer["source" if reverse else "destination"]
    return answer, end["ip"], end["label"]


def test_a_host_by_name_from_its_own_nat_guest_is_its_virbr_address():
    answer, ip, label = by_name(nat_pair(), NIC1)
    assert answer["verdict"] == C.REACHABLE and ip == "192.168.122.1"
    assert label == "kvm1 at 192.168.122.1 (its address on default)"
    # From a NAT guest of another host: the host's address on the LAN that guest leaves on.
    answer, ip, label = by_name(nat_pair(), NIC2)
    assert answer["verdict"] == C.ONE_WAY and ip == "10.79.1.11"
    assert label == "kvm1 at 10.79.1.11 (its address on 10.79.1.0/24)"


def test_a_host_by_name_from_its_own_routed_guest_is_its_bridge_address():
    model = two_hosts()
    vm = private_net(model, 1, "routed", "virbr7", "route", "10.7.0.0/24", "r1",
                     "52:54:00:ee:00:01", "10.7.0.5")
    answer, ip, label = by_name(model, vm)
    assert answer["verdict"] == C.REACHABLE and ip == "10.7.0.1"
    answer, ip, _ = by_name(model, vm, "host:2")  # elsewhere: on the LAN, a route back needed
    assert ip == "10.79.1.12" and codes(answer) == {C.NO_ROUTE_BACK}


def test_a_host_by_name_from_an_isolated_guest_is_the_bridge_address_both_ways():
    model = two_hosts()
    vm = private_net(model, 1, "inet", "virbr9", None, "10.9.0.0/24", "iso", "52:54:00:dd:00:01",
                     "10.9.0.5")
    for reverse in (False, True):  # the host as source is resolved the same way
        answer, ip, label = by_name(model, vm, reverse=reverse)
        assert answer["verdict"] == C.REACHABLE and not answer["causes"], answer
        assert (ip, label) == ("10.9.0.1", "kvm1 at 10.9.0.1 (its address on inet)")
    answer, ip, _ = by_name(model, vm, "host:2")
    assert answer["verdict"] == C.UNREACHABLE and ip == "10.79.1.12"
    # Without an address on the network, the host has none the guest could use: it says so.
    model = two_hosts()
    vm = private_net(model, 1, "inet", "virbr9", None, "", "iso", "52:54:00:dd:00:01", "10.9.0.5")
    answer, ip, label = by_name(model, vm)
    assert answer["verdict"] == C.UNREACHABLE and ip is None
    assert label == "kvm1 (it has no address on inet)"


def test_a_host_by_name_from_a_bridged_guest_is_its_lan_address():
    model = two_hosts()
    web = bridge_over_eth0(model, 1, ip="10.79.1.70")
    answer, ip, label = by_name(model, web)
    assert answer["verdict"] == C.REACHABLE and ip == "10.79.1.11"
    assert label == "kvm1 at 10.79.1.11 (its address on 10.79.1.0/24)"
    answer, ip, _ = by_name(model, web, "host:2")
    assert answer["verdict"] == C.REACHABLE and ip == "10.79.1.12"


def test_a_host_by_name_from_its_macvtap_guest_is_its_lan_address_which_it_cannot_reach():
    model = two_hosts()
    guest = macvtap_vm(model, 1, "tap1", "52:54:00:cc:00:01", ip="10.79.1.60")
    answer, ip, label = by_name(model, guest)
    assert answer["verdict"] == C.UNREACHABLE and codes(answer) == {C.MACVTAP_OWN_HOST}
    assert (ip, label) == ("10.79.1.11", "kvm1 at 10.79.1.11 (its address on 10.79.1.0/24)")
    answer, ip, _ = by_name(model, guest, "host:2")
    assert answer["verdict"] == C.REACHABLE and ip == "10.79.1.12"


def test_a_host_by_name_on_a_host_only_bridge_and_from_another_host():
    model = ReadModel(hosts=[HostRec(1, "kvm1"), HostRec(2, "kvm2")], ifaces=[
        IfaceRec(host=1, name="eth0", kind="physical", addresses=[addr("10.79.1.11/24")]),
        IfaceRec(host=1, name="eth1", kind="physical", addresses=[addr("10.80.0.11/24")]),
        IfaceRec(host=2, name="eth0", kind="physical", addresses=[addr("10.80.0.12/24")]),
        IfaceRec(host=1, name="br9", kind="bridge", addresses=[addr("10.99.0.1/24")])])
    add_vm(model, 1, "h1", "u-h1", "br9", "vnet0", mac="52:54:00:99:00:01", ips=["10.99.0.5"])
    _, ip, _ = by_name(model, "nic:1:u-h1:52:54:00:99:00:01")
    assert ip == "10.99.0.1"
    # kvm2 asking about kvm1: kvm1's address on the LAN they share, not its first one.
    answer = ask(model, "host:2", "host:1")
    assert answer["destination"]["ip"] == "10.80.0.11" and answer["source"]["ip"] == "10.80.0.12"
