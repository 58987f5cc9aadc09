"""Deltas between two versions of a host's part of the graph (pure)."""

import copy

from topology import choices as C
from topology.delta import apply, diff, is_empty, size
from topology.graph import build, host_part
from topology_fixtures import IfaceRec, NetRec, ReadModel, add_vm, classic_host, two_hosts


def part(model, host=1, **kw):
    return host_part(build(model, **kw), host)


def ids(items):
    return {i["data"]["id"] for i in items}


def test_the_same_picture_gives_an_empty_delta():
    assert is_empty(diff(part(two_hosts()), part(two_hosts())))


def test_a_new_vm_is_only_additions():
    before = two_hosts()
    after = copy.deepcopy(before)
    add_vm(after, 1, "new", "uuid-new", "virbr0", "vnet5", network="default")
    d = diff(part(before), part(after))
    assert ids(d["add_nodes"]) == {"vm:1:uuid-new", "nic:1:uuid-new:52:54:00:aa:bb:cc", "if:1:vnet5"}
    assert ids(d["add_edges"]) == {"port|if:1:virbr0|if:1:vnet5",
                                   "tap|if:1:vnet5|nic:1:uuid-new:52:54:00:aa:bb:cc",
                                   "nic|vm:1:uuid-new|nic:1:uuid-new:52:54:00:aa:bb:cc"}
    assert d["remove"] == [] and d["change"] == []


def test_a_nic_moved_to_another_network_rewires_only_its_edges():
    before = two_hosts()
    before.ifaces.append(IfaceRec(host=1, name="virbr1", kind="bridge"))
    before.networks.append(NetRec(host=1, name="lab", kind="route", bridge="virbr1",
                                  forward_mode="route"))
    after = copy.deepcopy(before)
    nic = after.nics[0]
    nic.source = "lab"
    next(i for i in after.ifaces if i.host == 1 and i.name == "vnet0").master = "virbr1"
    d = diff(part(before), part(after))
    assert d["remove"] == ["port|if:1:virbr0|if:1:vnet0"]
    assert ids(d["add_edges"]) == {"port|if:1:virbr1|if:1:vnet0"}
    assert d["add_nodes"] == []
    assert d["change"] == [{"id": "nic:1:uuid-1-pxe1:52:54:00:01:00:00", "data": {"source": "lab"}}]


def test_a_link_going_down_changes_one_key():
    before = two_hosts()
    after = copy.deepcopy(before)
    vnet = next(i for i in after.ifaces if i.host == 1 and i.name == "vnet0")
    vnet.up = False
    d = diff(part(before), part(after))
    assert d["change"] == [{"id": "if:1:vnet0", "data": {"state": C.DOWN}}]
    assert size(d) == 1


def test_removing_a_vm_removes_edges_before_nodes():
    before = two_hosts()
    after = copy.deepcopy(before)
    after.vms = [v for v in after.vms if v.host != 1]
    after.nics = [n for n in after.nics if n.host != 1]
    after.ifaces = [i for i in after.ifaces if not (i.host == 1 and i.name == "vnet0")]
    d = diff(part(before), part(after))
    kinds = ["|" in r for r in d["remove"]]
    assert kinds == sorted(kinds, reverse=True)  # every edge id comes before every node id
    assert "vm:1:uuid-1-pxe1" in d["remove"] and "if:1:vnet0" in d["remove"]


def test_crossing_the_group_threshold_adds_the_group_and_marks_members():
    before = ReadModel()
    classic_host(before, 1, "kvm1", "10.79.1.11/24", vms=[f"vm{i}" for i in range(3)])
    after = copy.deepcopy(before)
    add_vm(after, 1, "vm9", "uuid-vm9", "virbr0", "vnet9", network="default")
    d = diff(part(before, group_over=3), part(after, group_over=3))
    assert "grp:net:1:default" in ids(d["add_nodes"])
    changed = {c["id"]: c["data"] for c in d["change"]}
    assert changed["vm:1:uuid-1-vm0"] == {"group": "grp:net:1:default"}


def test_applying_a_delta_gives_the_new_part():
    before = two_hosts()
    after = copy.deepcopy(before)
    add_vm(after, 1, "new", "uuid-new", "virbr0", "vnet5", network="default")
    after.nics[0].ips = ["192.168.122.50"]
    after.ifaces = [i for i in after.ifaces if i.name != "virbr0" or i.host != 1]
    old, new = part(before), part(after)
    assert apply(old, diff(old, new)) == new
    assert apply(new, diff(new, old)) == old
