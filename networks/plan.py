"""What an edit of a network's XML means: a unified diff, and whether libvirt can apply it live.

Changes only to DHCP static hosts, DHCP ranges, DNS host/txt/srv records and portgroups go
live and persistent through virNetworkUpdate (``live_steps``); anything else needs the network
restarted (``restart_reasons``). Pure functions over kvmweb.virt.xml documents.
"""

from lxml import etree

from kvmweb.definitions import network_definition, unified_diff
from kvmweb.virt.xml import Network


def diff(before_xml, after_xml):
    """Unified diff of two definitions (kvmweb.definitions: guests plugging in is no change)."""
    return unified_diff(network_definition(before_xml), network_definition(after_xml))


def _definition(xml):
    return Network.from_xml(network_definition(xml))  # guests plugging in is not a change


def _live_items(doc):
    """(section, parent_index, key, fragment) of every live-updatable element of ``doc``."""
    items = []
    for index, ip in enumerate(doc.ips):
        for host in ip.dhcp.hosts:
            items.append(("ip-dhcp-host", index, host.get_xml()))
        for rng in ip.dhcp.ranges:
            items.append(("ip-dhcp-range", index, rng.get_xml()))
    for section, children in (("dns-host", doc.dns.hosts), ("dns-txt", doc.dns.txts),
                              ("dns-srv", doc.dns.srvs), ("portgroup", doc.portgroups)):
        for child in children:
            items.append((section, -1, child.get_xml()))
    return items


def _without_live_items(doc):
    doc = doc.copy()
    for ip in doc.ips:
        ip.dhcp.hosts.clear()
        ip.dhcp.ranges.clear()
    doc.dns.hosts.clear()
    doc.dns.txts.clear()
    doc.dns.srvs.clear()
    doc.portgroups.clear()
    return doc


def _changed_parts(before, after):
    """Names of the top-level elements that differ, e.g. ['forward', 'ip']."""
    def grouped(doc):
        found = {}
        for el in doc.root:
            if isinstance(el.tag, str):
                found.setdefault(el.tag, []).append(etree.tostring(el, method="c14n"))
        return found

    old, new = grouped(before), grouped(after)
    tags = [t for t in dict.fromkeys([*old, *new]) if old.get(t) != new.get(t)]
    if dict(before.root.attrib) != dict(after.root.attrib):
        tags.append("network attributes")
    return tags


def plan(before_xml, after_xml):
    """{"diff", "changed", "restart_reasons": [...], "live_steps": [(cmd, section, idx, xml)]}."""
    before, after = _definition(before_xml), _definition(after_xml)
    rest_before, rest_after = _without_live_items(before), _without_live_items(after)
    reasons = []
    if rest_before.to_xml() != rest_after.to_xml():
        parts = _changed_parts(rest_before, rest_after)
        reasons = [f"<{p}> changed: libvirt applies that only when the network restarts"
                   if not p.startswith("network") else f"{p} changed" for p in parts]
        reasons = reasons or ["the definition changed outside the live-updatable parts"]
    old_items, new_items = _live_items(before), _live_items(after)
    steps = [("delete", s, i, x) for s, i, x in old_items if (s, i, x) not in new_items]
    steps += [("add", s, i, x) for s, i, x in new_items if (s, i, x) not in old_items]
    text = diff(before_xml, after_xml)
    return {"diff": text, "changed": bool(text), "restart_reasons": reasons, "live_steps": steps}
