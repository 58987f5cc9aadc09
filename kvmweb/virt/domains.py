"""libvirt calls for domains (VMs), their NICs, and the storage pools their disks live in.

Thin wrappers: every call goes through ``connection.call`` (libvirtError -> VirtError); the
orchestration (what to try, what to tell the user) lives in ``vms.operations``. XML goes through
``kvmweb.virt.xml`` models only (storage documents: ``kvmweb.virt.xml.storage``).
"""

import time

import libvirt

from .connection import call
from .inventory import DOMAIN_STATES
from .xml import Domain as DomainXML
from .xml import Pool, Volume

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
UNPLUG_TIMEOUT = 20  # seconds a guest gets to release a hot-unplugged NIC (ACPI PCI hotplug)


# --------------------------------------------------------------------------- domains

def lookup(conn, uuid):
    return call(conn.lookupByUUIDString, uuid)


def _lookup_or_none(find, key):
    """find(key), or None when there is no such domain; other errors as a classified VirtError."""
    try:
        return find(key)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        return call(find, key)  # re-raise as a classified VirtError


def lookup_name(conn, name):
    """The domain called ``name``, or None."""
    return _lookup_or_none(conn.lookupByName, name)


def lookup_uuid(conn, uuid):
    """The domain with that UUID, or None."""
    return _lookup_or_none(conn.lookupByUUIDString, uuid)


def state(dom):
    """'running', 'shut off', 'paused'... as in ``virsh domstate``."""
    return DOMAIN_STATES.get(call(dom.state)[0], "nostate")


def is_active(dom):
    return bool(call(dom.isActive))


def xml(dom, inactive=False):
    return call(dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0)


def define(conn, text):
    return call(conn.defineXML, text)


def start(dom):
    call(dom.create)


def shutdown(dom):
    """Ask the guest to power off (ACPI power button, like pressing it)."""
    call(dom.shutdownFlags, libvirt.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)


def reboot(dom):
    call(dom.reboot, libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)


def destroy(dom):
    """Pull the plug (virsh destroy)."""
    call(dom.destroy)


def suspend(dom):
    call(dom.suspend)


def resume(dom):
    call(dom.resume)


def undefine(dom):
    flags = (libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
             | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
    call(dom.undefineFlags, flags)


def wait_state(dom, wanted, timeout):
    """Poll until the domain is in one of ``wanted`` states; return the last state seen."""
    deadline = time.monotonic() + timeout
    current = state(dom)
    while current not in wanted and time.monotonic() < deadline:
        time.sleep(0.5)
        current = state(dom)
    return current


# --------------------------------------------------------------------------- devices

def attach(dom, device_xml, flags):
    call(dom.attachDeviceFlags, device_xml, flags)


def detach(dom, device_xml, flags):
    call(dom.detachDeviceFlags, device_xml, flags)


def wait_nic_released(dom, mac, inactive=False, timeout=UNPLUG_TIMEOUT):
    """Whether the NIC with this MAC left the domain (its live XML, or its config) in time: a
    detach only asks the guest, which lets the device go when it will (or never)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if DomainXML.from_xml(xml(dom, inactive=inactive)).find_interface(mac) is None:
            return True
        time.sleep(0.5)
    return False


def update(dom, device_xml, flags):
    """updateDeviceFlags; the caller decides what a refusal means."""
    call(dom.updateDeviceFlags, device_xml, flags)


def interface_stats(dom, target):
    """``virsh domifstat``: (rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, ...)."""
    return call(dom.interfaceStats, target)


_ADDRESS_SOURCES = {
    "lease": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
    "agent": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
    "arp": libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
}


def interface_addresses(dom, source):
    """``virsh domifaddr --source SOURCE`` as [{mac, ip, prefix, family}]; [] when the source
    has nothing to say (no guest agent, empty ARP table)."""
    try:
        found = dom.interfaceAddresses(_ADDRESS_SOURCES[source], 0) or {}
    except libvirt.libvirtError:
        return []
    rows = []
    for info in found.values():
        for addr in info.get("addrs") or []:
            rows.append({
                "mac": (info.get("hwaddr") or "").lower(),
                "ip": addr.get("addr", ""),
                "prefix": addr.get("prefix"),
                "family": "ipv6" if addr.get("type") == libvirt.VIR_IP_ADDR_TYPE_IPV6 else "ipv4",
            })
    return rows


# --------------------------------------------------------------------------- storage

def _pool_record(pool):
    info = call(pool.info)  # [state, capacity, allocation, available]
    model = Pool.from_xml(call(pool.XMLDesc, 0))
    active = bool(call(pool.isActive))
    volumes = []
    if active:
        for vol in call(pool.listAllVolumes, 0):
            vol_model = Volume.from_xml(call(vol.XMLDesc, 0))
            vinfo = call(vol.info)  # [type, capacity, allocation]
            volumes.append({
                "name": call(vol.name), "path": call(vol.path), "capacity": vinfo[1],
                "allocation": vinfo[2], "format": vol_model.format or "",
            })
    return {
        "name": call(pool.name), "uuid": call(pool.UUIDString), "type": model.type or "",
        "path": model.path or "", "active": active, "capacity": info[1],
        "allocation": info[2], "available": info[3], "volumes": volumes,
    }


def list_pools(conn):
    """Every storage pool with its volumes (``virsh pool-list --details`` + ``vol-list``)."""
    return [_pool_record(pool) for pool in call(conn.listAllStoragePools, 0)]


def create_volume(conn, pool_name, name, capacity_bytes, fmt="qcow2"):
    """A new volume in a pool; returns its path."""
    pool = call(conn.storagePoolLookupByName, pool_name)
    doc = Volume.new(name=name, capacity=int(capacity_bytes), capacity_unit="bytes",
                     allocation=0, format=fmt)
    vol = call(pool.createXML, doc.to_xml(), 0)
    return call(vol.path)


def volume_path(conn, pool_name, name):
    """The path of volume ``name`` in the pool, or None when it has none by that name."""
    pool = call(conn.storagePoolLookupByName, pool_name)
    try:
        return pool.storageVolLookupByName(name).path()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
            return None
        return call(lambda: pool.storageVolLookupByName(name).path())


def uuid_of(dom):
    return call(dom.UUIDString)


def delete_volume(conn, path):
    """Delete the volume at ``path``. Returns False when no pool knows that path."""
    try:
        vol = conn.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        return False
    call(vol.delete, 0)
    return True
