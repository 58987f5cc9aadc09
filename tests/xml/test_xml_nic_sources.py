"""The NIC list shows the same Source as `virsh domiflist`, for every interface type."""

from __future__ import annotations

import subprocess

import pytest

from kvmweb.virt.xml import Domain
from xml_testutil import DATA

libvirt = pytest.importorskip("libvirt")
PATH = DATA / "domain-nic-types.xml"


def virsh_domiflist():
    """{mac: source} from virsh itself, on libvirt's test driver (None where it shows '-')."""
    out = subprocess.run(
        ["virsh", "-q", "-c", "test:///default", f"define {PATH}; domiflist nic-types"],
        capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("testnet", "mytap"))]
    return {row[4]: (None if row[2] == "-" else row[2]) for row in rows}


def test_every_nic_type_has_the_source_virsh_shows():
    expected = virsh_domiflist()
    assert len(expected) == 12
    assert expected["52:54:00:10:00:04"] == "/run/openvswitch/vhu0"  # vhostuser
    nics = Domain.from_xml(PATH.read_text()).interfaces
    assert {nic.mac: nic.source for nic in nics} == expected
    vhost = next(n for n in nics if n.type == "vhostuser")
    assert vhost.source_path == "/run/openvswitch/vhu0"


def test_a_sync_stores_those_sources():
    from kvmweb.virt.inventory import _domain_record

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("test:///default")
    dom = conn.defineXML(PATH.read_text())
    try:
        record = _domain_record(dom, {})
    finally:
        dom.undefine()
        conn.close()
    stored = {nic["mac"]: nic["source"] or None for nic in record["nics"]}
    assert stored == virsh_domiflist()
