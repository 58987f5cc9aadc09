"""Behaviour of the declarative layer itself: typing, creation order, pruning."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from lxml import etree

from kvmweb.virt.xml import (Domain, Forward, Network, XMLChild, XMLDoc, XMLError,
                             XMLObject, XMLProperty, bool_onoff, hex_integer, integer)


def test_setting_creates_elements_in_declared_order_whatever_the_call_order():
    a = Network.new(name="o")
    a.ips.add(address="10.0.0.1", prefix=24)
    a.mtu = 1400
    a.forward.mode = "nat"
    a.uuid = "0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a77"
    a.bridge_name = "virbr77"
    b = Network.new(uuid="0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a77", bridge_name="virbr77", mtu=1400)
    b.forward.mode = "nat"
    b.name = "o"
    b.ips.add(address="10.0.0.1", prefix=24)
    tags = [el.tag for el in a.root]
    assert tags == ["name", "uuid", "forward", "bridge", "mtu", "ip"]
    assert a.to_xml() == b.to_xml()


def test_none_removes_and_prunes_empty_parents_only():
    net = Network.from_xml("<network><name>p</name><bridge name='b' stp='on'/>"
                           "<forward mode='nat'><nat><port start='1' end='2'/></nat></forward></network>")
    net.stp = None
    assert net.to_xml().count("<bridge") == 1 and "stp" not in net.to_xml()
    net.bridge_name = None
    assert "<bridge" not in net.to_xml()
    nat = net.forward.nat
    nat.port_start = None
    assert nat.exists and nat.port_end == 2
    nat.port_end = None                  # <port/> is pruned; an object's own element never is
    assert nat.exists and nat.get_xml() == "<nat/>\n"   # (<forward/> alone means NAT!)
    nat.remove()                          # explicit removal of the object's element
    assert not nat.exists and net.forward.exists
    assert net.forward.mode == "nat"
    net.name = None
    net.bridge_name = None               # removing what is absent is a no-op
    assert [el.tag for el in net.root] == ["forward"]


def test_text_property_removal_keeps_element_with_unknown_content():
    net = Network.from_xml("<network><name>p</name><description lang='en'>d</description></network>")
    net.description = None
    assert '<description lang="en"/>' in net.to_xml()


def test_presence_properties():
    dom = Domain.new(name="f")
    assert dom.features.acpi is False and not dom.features
    dom.features.acpi = True
    dom.features.acpi = True             # idempotent
    assert dom.to_xml().count("<acpi/>") == 1
    dom.features.acpi = False
    assert "<features/>" in dom.to_xml()  # the object's own element stays
    dom.features.pae = True
    dom.features = None
    assert "<features" not in dom.to_xml()


def test_typed_values():
    net = Network.new(name="t")
    net.mac = "52-54-00-AA-BB-CC"
    assert net.mac == "52:54:00:aa:bb:cc"
    ip = net.ips.add(address=IPv4Address("10.1.1.1"), prefix="24")
    assert ip.address == IPv4Address("10.1.1.1") and ip.prefix == 24
    ip.address = " fd00::0001 "
    assert ip.address == IPv6Address("fd00::1") and 'address="fd00::1"' in net.to_xml()
    net.stp = "off"
    assert net.stp is False
    net.delay = "0x10"
    assert net.delay == 16
    for name, bad, msg in [("mac", "52:54:00", "MAC address"), ("mac", 5, "MAC"),
                           ("stp", "yes", "on/off"), ("stp", 1, "bool"),
                           ("delay", "ten", "integer"), ("delay", True, "integer"),
                           ("delay", 1.5, "integer"), ("name", ["x"], "string"),
                           ("mtu", object(), "integer")]:
        with pytest.raises(XMLError, match=msg):
            setattr(net, name, bad)
    with pytest.raises(XMLError, match="IP address"):
        ip.address = "10.1.1.300"
    with pytest.raises(XMLError, match="IP address"):
        ip.address = 42
    assert hex_integer(2).format(4, "x") == "0x04"
    with pytest.raises(XMLError, match="negative"):
        hex_integer(2).format(-1, "x")


def test_invalid_document_values_raise_on_read_with_location():
    net = Network.from_xml("<network><bridge stp='maybe' delay='soon'/><ip address='nope'/></network>")
    with pytest.raises(XMLError, match=r"Network.stp \(./bridge/@stp\).*'maybe'"):
        net.stp
    with pytest.raises(XMLError, match="delay"):
        net.delay
    with pytest.raises(XMLError, match="IP address"):
        net.ips[0].address


def test_typos_and_unknown_keywords_are_errors():
    net = Network.new(name="t")
    with pytest.raises(AttributeError, match="brige_name"):
        net.brige_name = "x"
    with pytest.raises(TypeError, match="no settable XML property 'ips'"):
        net.update(ips=[])
    with pytest.raises(TypeError, match="nope"):
        Network.new(nope=1)
    with pytest.raises(AttributeError, match="add"):
        net.ips = []
    with pytest.raises(TypeError, match="new"):
        Network()
    with pytest.raises(TypeError, match="bound"):
        Forward()


def test_child_list_operations():
    net = Network.new(name="l")
    assert not net.ips and len(net.ips) == 0
    a = net.ips.add(address="10.0.0.1", prefix=8)
    b = net.ips.add(family="ipv6", address="fd00::1", prefix=64)
    assert len(net.ips) == 2 and net.ips[-1] == b and net.ips[0] != b
    assert net.ips.find(prefix=64) == b and net.ips.find(prefix=1) is None
    assert len({a, net.ips[0]}) == 1
    assert a.to_dict()["address"] == IPv4Address("10.0.0.1")
    assert a.get_xml() == '<ip address="10.0.0.1" prefix="8"/>\n'
    assert "ChildList" in repr(net.ips) and "<IP <ip>>" in repr(a)
    net.ips.remove(a)
    assert list(net.ips) == [b]
    with pytest.raises(XMLError, match="not in this list"):
        net.ips.remove(a)
    net.ips.clear()
    assert "<ip" not in net.to_xml()
    assert a.get_xml() != "" and Network.new().forward.get_xml() == ""
    assert "absent" in repr(Network.new().forward)


def test_child_assignment_copies_and_none_removes():
    src = Network.from_xml("<network><forward mode='nat'><nat ipv6='yes'/></forward></network>")
    dst = Network.new(name="d")
    dst.forward = src.forward
    assert dst.forward.nat.ipv6 and dst.forward.mode == "nat"
    dst.forward.mode = "route"
    assert src.forward.mode == "nat"            # a copy, not shared
    dst.forward = src.forward                   # replaces in place
    assert dst.root.findall("forward")[0].get("mode") == "nat" and len(dst.root.findall("forward")) == 1
    with pytest.raises(XMLError, match="expected Forward"):
        dst.forward = src.dns
    with pytest.raises(XMLError, match="has no element"):
        dst.forward = Network.new().forward
    dst.forward.remove()
    dst.forward.remove()                        # already gone: no-op
    assert dst.kind == "isolated"


def test_list_property_replaces_all_values_in_place():
    dom = Domain.from_xml("<domain><os><type>hvm</type><boot dev='hd'/><boot dev='cdrom'/>"
                          "<bootmenu enable='yes'/></os></domain>")
    dom.os.boot_devs = ["network", "hd"]
    assert [el.tag for el in dom.root.find("os")] == ["type", "boot", "boot", "bootmenu"]
    dom.os.boot_devs = []
    assert dom.os.boot_devs == [] and dom.root.find("os/boot") is None


def test_custom_model_with_predicates():
    class Addr(XMLObject):
        bus = XMLProperty("./address[@type='pci']/@bus", kind=hex_integer(2))
        flag = XMLProperty("./flag/@state", kind=bool_onoff)

    class Dev(XMLDoc):
        ROOT_TAG = "dev"
        name = XMLProperty("./name")
        hw = XMLChild(Addr, "./hw")
        size = XMLProperty(".", kind=integer)

    dev = Dev.from_xml("<dev><hw><address type='usb' bus='1'/></hw></dev>")
    assert dev.hw.bus is None                   # only the type='pci' address matches
    dev.hw.bus = 3
    assert dev.hw.get_xml() == ('<hw>\n  <address type="usb" bus="1"/>\n'
                                '  <address type="pci" bus="0x03"/>\n</hw>\n')
    dev.hw.bus = None                           # pruned: only the predicate attribute was left
    assert dev.hw.get_xml() == '<hw>\n  <address type="usb" bus="1"/>\n</hw>\n'
    dev.size = 5
    assert dev.size == 5
    with pytest.raises(ValueError, match="must start"):
        XMLProperty("name")
    with pytest.raises(ValueError, match="unsupported step"):
        XMLProperty("./a[1]")
    with pytest.raises(ValueError, match="presence"):
        XMLProperty("./@x", kind=__import__("kvmweb.virt.xml", fromlist=["present"]).present)


def test_comments_and_processing_instructions_are_preserved():
    text = "<network><!-- c1 --><name>x</name><?pi data?></network>"
    net = Network.from_xml(text)
    net.uuid = "0f5d7a62-6a4b-4c1e-9d2a-6f0d3b9b8a78"
    out = net.to_xml()
    assert "<!-- c1 -->" in out and "<?pi data?>" in out
    assert out.index("</name>") < out.index("<uuid>")
    assert isinstance(etree.fromstring(out.encode()), etree._Element)
