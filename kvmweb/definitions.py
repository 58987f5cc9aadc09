"""What counts as an object's definition when kvmweb compares versions (issue 11: versions for
concurrent edits, drift for changes made behind kvmweb's back). Pure functions, one floor below
the apps: networks, vms and drift all hash and diff the same normalised text.

- A network's definition is its XML as our model writes it, without ``connections`` (guests
  plugging in is not a change of the network).
- A VM's definition, for kvmweb (which manages networking), is its name, UUID and NICs: each
  ``<interface>`` without what libvirt fills in at run time (target vnet name, alias, PCI
  address, the port id and bridge of a network NIC, a ``link state='up'`` that is the default).
  Starting, stopping or pausing a VM changes none of it; attaching, detaching or re-plugging a
  NIC does.
"""

import copy
import difflib
import hashlib

from lxml import etree

from kvmweb.virt.xml import XMLError, safe_parse

_RUNTIME_NIC_CHILDREN = ("target", "alias", "address")
_RUNTIME_NETWORK_SOURCE = ("portid", "bridge", "dev", "mode")


def _pretty(el):
    etree.indent(el, space="  ")
    return etree.tostring(el, encoding="unicode", pretty_print=True)


def network_definition(xml):
    """The network's XML, normalised (our model's order and indentation, no connections)."""
    try:
        root = safe_parse(xml)
    except XMLError:
        return xml or ""
    root.attrib.pop("connections", None)
    return _pretty(root)


def _nic(iface):
    iface = copy.deepcopy(iface)
    iface.tail = None
    for child in list(iface):
        if not isinstance(child.tag, str) or child.tag in _RUNTIME_NIC_CHILDREN:
            iface.remove(child)
        elif child.tag == "link" and child.get("state") == "up":
            iface.remove(child)  # the default; libvirt writes it once a link was set back up
    source = iface.find("source")
    if source is not None and iface.get("type") == "network":
        for attr in _RUNTIME_NETWORK_SOURCE:
            source.attrib.pop(attr, None)
    return iface


def domain_definition(xml):
    """A VM's networking definition: <domain> with its name, uuid and normalised NICs."""
    try:
        root = safe_parse(xml)
    except XMLError:
        return xml or ""
    out = etree.Element("domain")
    for tag in ("name", "uuid"):
        found = root.find(tag)
        if found is not None:
            etree.SubElement(out, tag).text = (found.text or "").strip()
    devices = etree.SubElement(out, "devices")
    for iface in root.findall("devices/interface"):
        devices.append(_nic(iface))
    return _pretty(out)


DEFINITIONS = {"network": network_definition, "domain": domain_definition}


def definition(kind, xml):
    return DEFINITIONS[kind](xml)


def version_of(text):
    """A short hash of a normalised definition."""
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


def version(kind, xml):
    return version_of(definition(kind, xml))


def unified_diff(before, after, before_label="before", after_label="after"):
    """A unified diff of two normalised definitions (empty when they are the same)."""
    return "\n".join(difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(),
                                          before_label, after_label, lineterm=""))
