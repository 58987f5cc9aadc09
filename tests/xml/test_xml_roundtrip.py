"""Parse -> write without edits gives the same document, for every data file."""

from __future__ import annotations

import pytest

from kvmweb.virt.xml import Domain, Network
from xml_testutil import canon, data_files

NETWORKS = data_files("network")
DOMAINS = data_files("domain")


def test_there_is_enough_data():
    assert len(NETWORKS) >= 30 and len(DOMAINS) >= 5


@pytest.mark.parametrize("path", NETWORKS, ids=lambda p: p.name)
def test_network_roundtrip(path):
    text = path.read_text()
    out = Network.from_xml(text).to_xml()
    assert canon(out) == canon(text)
    # Deterministic and idempotent: writing our own output again is byte-identical.
    assert Network.from_xml(out).to_xml() == out
    assert out.startswith("<network") and out.endswith("</network>\n")


@pytest.mark.parametrize("path", DOMAINS, ids=lambda p: p.name)
def test_domain_roundtrip(path):
    text = path.read_text()
    out = Domain.from_xml(text).to_xml()
    assert canon(out) == canon(text)
    assert Domain.from_xml(out).to_xml() == out


def test_to_xml_is_pretty_and_does_not_touch_the_live_tree():
    net = Network.from_xml("<network><name>p</name><bridge name='b'/></network>")
    assert net.to_xml() == '<network>\n  <name>p</name>\n  <bridge name="b"/>\n</network>\n'
    assert net.root.text is None  # indentation was applied to a copy
    assert str(net) == net.to_xml()


def test_copy_is_independent():
    net = Network.from_xml("<network><name>a</name></network>")
    other = net.copy()
    other.name = "b"
    assert (net.name, other.name) == ("a", "b")
