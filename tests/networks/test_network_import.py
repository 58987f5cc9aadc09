"""Every network definition libvirt accepts imports through kvmweb and survives its edits.

The corpus is tests/xml/data/network-*.xml (every forward mode with its device forms, DNS,
DHCP, IPv6, portgroups, virtualport, bandwidth, metadata). For each one, on a host whose read
model has the devices the definition names: the import is accepted, and an edit that changes
nothing (through the form's spec, and as XML) gives a definition libvirt's test driver reads
back exactly as it reads the original.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "xml"))
from test_xml_libvirt import _network_desc as libvirt_reads  # noqa: E402
from test_xml_libvirt import conn  # noqa: E402,F401  (libvirt's test driver)
from xml_testutil import data_files  # noqa: E402

from kvmweb.virt.xml import Network as NetworkXML  # noqa: E402

# Pairs named *-out.xml are the expected results of edits, not inputs of their own.
CORPUS = [p for p in data_files("network") if not p.name.endswith("-out.xml")]


def host_with_devices_of(doc):
    """A synced host that has every device ``doc`` names (so only our rules can refuse it)."""
    from hosts.models import Host, HostInterface

    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.74.0.11/system",
                               status=Host.Status.ONLINE)
    fwd = doc.forward
    devices = {d: "ether" for d in [*fwd.devs, fwd.dev, fwd.pf_dev] if d}
    if doc.kind == "bridge":
        ovs = doc.virtualport.type == "openvswitch"
        devices[doc.bridge_name] = "openvswitch" if ovs else "bridge"
    for name, kind in devices.items():
        HostInterface.objects.create(host=host, name=name, kind=kind)
    return host


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_it_imports_and_round_trips(db, conn, path):
    from networks import intake
    from networks.models import Network

    original = path.read_text()
    doc = NetworkXML.from_xml(original)
    host = host_with_devices_of(doc)

    imported = intake.create_from_xml(host, original)
    assert imported.ok, imported.errors
    expected = libvirt_reads(conn, original)
    assert libvirt_reads(conn, imported.xml) == expected

    network = Network.objects.create(host=host, name=doc.name, uuid=doc.uuid or "",
                                     xml=expected, kind=doc.kind, bridge=doc.bridge_name or "")
    as_spec = intake.edit_from_spec(network, {})
    assert as_spec.ok, as_spec.errors
    assert libvirt_reads(conn, as_spec.xml) == expected
    as_xml = intake.edit_from_xml(network, expected)
    assert as_xml.ok, as_xml.errors
    assert not intake.edit_plan(network, as_xml.xml)["changed"]


@pytest.mark.parametrize("name, kind", [
    ("network-ovs.xml", "bridge"), ("network-ovs-portgroups.xml", "bridge"),
    ("network-hostdev-vf-list.xml", "hostdev"),
    ("network-passthrough-vf-list.xml", "macvtap-passthrough"),
    ("network-passthrough-pf.xml", "macvtap-passthrough"),
    ("network-macvtap-bridge-dev.xml", "macvtap-bridge"),
])
def test_it_tells_each_kind_apart(name, kind):
    path = next(p for p in CORPUS if p.name == name)
    assert NetworkXML.from_xml(path.read_text()).kind == kind


def test_a_vf_pool_keeps_its_addresses_and_needs_no_pf(db):
    from networks import intake

    path = next(p for p in CORPUS if p.name == "network-hostdev-vf-list.xml")
    doc = NetworkXML.from_xml(path.read_text())
    result = intake.create_from_xml(host_with_devices_of(doc), path.read_text())
    assert result.ok, result.errors
    out = NetworkXML.from_xml(result.xml)
    assert [a.pci_name for a in out.forward.addresses] == [
        "0000:03:00.1", "0000:03:00.2", "0000:03:00.3"]
    assert out.forward.pf_dev is None
