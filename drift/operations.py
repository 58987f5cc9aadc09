"""The operation that puts kvmweb's version of a drifted VM back on its host (networks go
through their own update / redefine operations). Runs in the worker.

A VM's definition, for drift, is its NICs (kvmweb.definitions.domain_definition): NICs the
host has and kvmweb's version has not are detached, missing ones attached, changed ones updated
in place — in the running VM when it runs (the version compared is the live one), else in its
config. Each step looks at the host first, so running it twice is safe.
"""


from lxml import etree

from hosts import operations as host_operations
from kvmweb.definitions import definition
from kvmweb.virt import domains
from kvmweb.virt.domains import CONFIG, LIVE, UNPLUG_TIMEOUT
from kvmweb.virt.errors import VirtError
from kvmweb.virt.xml import safe_parse
from operations import services as ops


def _nics(xml):
    """{mac: normalised <interface> element} of a domain XML (or a kvmweb definition)."""
    root = safe_parse(definition("domain", xml))
    return {(el.find("mac").get("address") or "").lower(): el
            for el in root.findall("devices/interface") if el.find("mac") is not None}


def _text(el):
    return etree.tostring(el, encoding="unicode")


@ops.handler("drift.reapply", plumbing=True)
def reapply_domain(op):
    dom = domains.lookup(host_operations.libvirt_connection(op.host), op.params["uuid"])
    active = domains.is_active(dom)
    flags, where = (LIVE, "the running VM") if active else (CONFIG, "the VM's config")
    before = domains.xml(dom, inactive=not active)
    ops.report(op, f"putting kvmweb's NICs back on {where}", progress=10, xml_before=before)
    wanted, have = _nics(op.params["xml"]), _nics(before)
    for mac in [m for m in have if m not in wanted]:
        ops.report(op, f"detaching NIC {mac} (not in kvmweb's version)", progress=30)
        domains.detach(dom, _text(have[mac]), flags)
        if not domains.wait_nic_released(dom, mac, inactive=not active):
            raise VirtError(f"the guest did not release NIC {mac} within {UNPLUG_TIMEOUT} s "
                            "(no ACPI PCI hotplug in the guest?); shut it down and re-apply",
                            retryable=False)
    for mac in [m for m in wanted if m not in have]:
        ops.report(op, f"attaching NIC {mac} (kvmweb's version has it)", progress=55)
        domains.attach(dom, _text(wanted[mac]), flags)
    for mac in [m for m in wanted if m in have and _text(wanted[m]) != _text(have[m])]:
        ops.report(op, f"updating NIC {mac} to kvmweb's version", progress=75)
        domains.update(dom, _text(wanted[mac]), flags)
    ops.report(op, "kvmweb's version is back; reading the host", progress=85,
               xml_after=domains.xml(dom, inactive=not active))
    try:
        host_operations.sync(op.host)
    except VirtError as exc:
        ops.report(op, f"re-applied, but reading the host back failed: {exc}")
