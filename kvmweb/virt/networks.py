"""libvirt calls for virtual networks: define, start, stop, autostart, undefine, live update.

Each function does one thing and raises VirtError with libvirt's own message; the handlers
(networks.operations) string them together and undo what they did when a later step fails.
"""

import threading
import uuid

import libvirt

from .connection import call, ensure_event_loop, get_connection
from .errors import VirtError
from .inventory import network_record
from .xml import Network

UPDATE_COMMANDS = {
    "add": libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
    "delete": libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
    "modify": libvirt.VIR_NETWORK_UPDATE_COMMAND_MODIFY,
}
UPDATE_SECTIONS = {
    "ip-dhcp-host": libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
    "ip-dhcp-range": libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE,
    "dns-host": libvirt.VIR_NETWORK_SECTION_DNS_HOST,
    "dns-txt": libvirt.VIR_NETWORK_SECTION_DNS_TXT,
    "dns-srv": libvirt.VIR_NETWORK_SECTION_DNS_SRV,
    "portgroup": libvirt.VIR_NETWORK_SECTION_PORTGROUP,
}


def connect(target):
    return get_connection(target)


def lookup(conn, name):
    """The network called ``name``, or None when the host has none by that name."""
    try:
        return conn.networkLookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
            return None
        return call(conn.networkLookupByName, name)  # re-raise as VirtError


def require(conn, name):
    net = lookup(conn, name)
    if net is None:
        raise VirtError(f"the host has no network named {name!r} (changed behind our back? "
                        "sync the host)", VirtError.INVALID, retryable=False)
    return net


def define(conn, xml):
    return call(conn.networkDefineXML, xml)


def create_transient(conn, xml):
    return call(conn.networkCreateXML, xml)


def start(net):
    call(net.create)


def stop(net):
    call(net.destroy)


def undefine(net):
    call(net.undefine)


def set_autostart(net, on):
    call(net.setAutostart, 1 if on else 0)


def is_active(net):
    return bool(call(net.isActive))


def is_autostart(net):
    return bool(call(net.autostart))


def uuid_of(net):
    return call(net.UUIDString)


def is_persistent(net):
    return bool(call(net.isPersistent))


def xml_desc(net, inactive=False):
    return call(net.XMLDesc, libvirt.VIR_NETWORK_XML_INACTIVE if inactive else 0)


def record(net):
    """Everything the read model stores about this one network (as inventory.collect does)."""
    return network_record(net)


def update(net, command, section, parent_index, fragment):
    """One virNetworkUpdate on the running and the persistent definition (whichever exist)."""
    flags = 0
    if is_active(net):
        flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
    if is_persistent(net):
        flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    call(net.update, UPDATE_COMMANDS[command], UPDATE_SECTIONS[section], parent_index,
         fragment, flags)


# -- checking XML with libvirt's own parser, without any host ------------------------

_check_lock = threading.Lock()
_check_conn = None


def libvirt_check(xml):
    """libvirt's parser's complaint about a network document (None when it accepts it).

    Runs libvirt's in-process test driver: nothing leaves this process, no host is asked."""
    global _check_conn
    doc = Network.from_xml(xml)
    doc.name = f"kvmweb-check-{uuid.uuid4().hex[:12]}"
    doc.uuid = None
    with _check_lock:
        ensure_event_loop()
        if _check_conn is None:
            _check_conn = libvirt.open("test:///default")
        try:
            net = _check_conn.networkDefineXML(doc.to_xml())
        except libvirt.libvirtError as exc:
            return str(exc)
        try:
            net.undefine()
        except libvirt.libvirtError:
            pass
    return None
