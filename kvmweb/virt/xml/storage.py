"""Storage pool and volume documents: only what VM creation and the VM pages need."""

from .base import XMLDoc, XMLProperty, integer


class Volume(XMLDoc):
    """A storage volume (https://libvirt.org/formatstorage.html#storage-volume-xml)."""

    ROOT_TAG = "volume"

    type = XMLProperty("./@type")
    name = XMLProperty("./name")
    capacity = XMLProperty("./capacity", kind=integer)
    capacity_unit = XMLProperty("./capacity/@unit")
    allocation = XMLProperty("./allocation", kind=integer)
    path = XMLProperty("./target/path")
    format = XMLProperty("./target/format/@type")


class Pool(XMLDoc):
    """A storage pool: only what the VM pages show."""

    ROOT_TAG = "pool"

    type = XMLProperty("./@type")
    name = XMLProperty("./name")
    path = XMLProperty("./target/path")
