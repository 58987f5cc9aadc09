"""Sub-elements shared by network and domain XML: bandwidth, VLAN, virtualport."""

from __future__ import annotations

from .base import XMLChild, XMLChildList, XMLObject, XMLProperty, bool_yesno, integer

__all__ = ["BandwidthLimit", "Bandwidth", "VlanTag", "Vlan", "VirtualPort"]


class BandwidthLimit(XMLObject):
    """``<inbound>`` / ``<outbound>``: average/peak/floor in KiB/s, burst in KiB."""

    average = XMLProperty("./@average", kind=integer)
    peak = XMLProperty("./@peak", kind=integer)
    burst = XMLProperty("./@burst", kind=integer)
    floor = XMLProperty("./@floor", kind=integer)


class Bandwidth(XMLObject):
    """``<bandwidth>`` with optional ``<inbound>`` and ``<outbound>``."""

    inbound = XMLChild(BandwidthLimit, "./inbound")
    outbound = XMLChild(BandwidthLimit, "./outbound")


class VlanTag(XMLObject):
    """``<tag id='42' nativeMode='untagged'/>``."""

    id = XMLProperty("./@id", kind=integer)
    native_mode = XMLProperty("./@nativeMode")


class Vlan(XMLObject):
    """``<vlan trunk='yes'>`` with one or more tags."""

    trunk = XMLProperty("./@trunk", kind=bool_yesno)
    tags = XMLChildList(VlanTag, "./tag")

    @property
    def ids(self) -> list[int]:
        return [t.id for t in self.tags]


class VirtualPort(XMLObject):
    """``<virtualport type='openvswitch|802.1Qbg|802.1Qbh|midonet'>`` and its parameters."""

    type = XMLProperty("./@type")
    profile_id = XMLProperty("./parameters/@profileid")
    interface_id = XMLProperty("./parameters/@interfaceid")
    manager_id = XMLProperty("./parameters/@managerid", kind=integer)
    type_id = XMLProperty("./parameters/@typeid", kind=integer)
    type_id_version = XMLProperty("./parameters/@typeidversion", kind=integer)
    instance_id = XMLProperty("./parameters/@instanceid")
