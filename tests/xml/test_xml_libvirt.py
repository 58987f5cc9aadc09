"""The XML we write means to libvirt exactly what the original meant.

Every document in data/ is defined on libvirt's in-process test driver from
the original text and from our output (after a parse, and after a parse plus
a no-op edit); libvirt's own XMLDesc() must be identical.
"""

from __future__ import annotations

import pytest

from kvmweb.virt.xml import Domain, Network
from xml_testutil import data_files

libvirt = pytest.importorskip("libvirt")


@pytest.fixture(scope="module")
def conn():
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    c = libvirt.open("test:///default")
    yield c
    c.close()


def _noop_edit_network(net: Network) -> None:
    # Re-set values to themselves and touch absent children without writing.
    net.name = net.name
    net.uuid = net.uuid
    assert net.forward.mode == net.forward.mode
    for ip in net.ips:
        ip.address = ip.address


def _noop_edit_domain(dom: Domain) -> None:
    dom.name = dom.name
    for nic in dom.interfaces:
        nic.mac = nic.mac
        nic.type = nic.type


def _network_desc(conn, text: str) -> str:
    net = conn.networkDefineXML(text)
    try:
        return net.XMLDesc(0)
    finally:
        net.undefine()


def _domain_desc(conn, text: str) -> str:
    dom = conn.defineXML(text)
    try:
        return dom.XMLDesc(0)
    finally:
        dom.undefine()


@pytest.mark.parametrize("path", data_files("network"), ids=lambda p: p.name)
def test_network_libvirt_roundtrip(conn, path):
    original = path.read_text()
    expected = _network_desc(conn, original)
    parsed = Network.from_xml(original)
    assert _network_desc(conn, parsed.to_xml()) == expected
    _noop_edit_network(parsed)
    assert _network_desc(conn, parsed.to_xml()) == expected
    # libvirt's own output parses and round-trips through us too.
    assert _network_desc(conn, Network.from_xml(expected).to_xml()) == expected


@pytest.mark.parametrize("path", data_files("domain"), ids=lambda p: p.name)
def test_domain_libvirt_roundtrip(conn, path):
    original = path.read_text()
    expected = _domain_desc(conn, original)
    parsed = Domain.from_xml(original)
    assert _domain_desc(conn, parsed.to_xml()) == expected
    _noop_edit_domain(parsed)
    assert _domain_desc(conn, parsed.to_xml()) == expected
    assert _domain_desc(conn, Domain.from_xml(expected).to_xml()) == expected
