"""Constants with libvirt's exact spellings."""

# <interface type=...> kvmweb creates and edits.
NIC_TYPES = [("network", "virtual network"), ("bridge", "host bridge"), ("direct", "macvtap (direct)")]
# NIC models QEMU's x86 machines offer everywhere (domcapabilities does not list NIC models).
NIC_MODELS = ["virtio", "e1000", "e1000e", "rtl8139"]
MACVTAP_MODES = ["bridge", "vepa", "private", "passthrough"]
LINK_STATES = ["up", "down"]
# Domain.state: kvmweb.virt.inventory.DOMAIN_STATES's words for libvirt's domain states.
STATES = ["nostate", "running", "blocked", "paused", "shutting down", "shut off", "crashed",
          "suspended"]

BOOT_CHOICES = [("network", "network (PXE)"), ("hd", "disk"), ("cdrom", "ISO (CD-ROM)"),
                ("kernel", "kernel + initrd")]
DISK_CHOICES = [("none", "no disk"), ("new", "new qcow2 volume"), ("existing", "existing volume")]
# The display of a new VM: VNC on the host's loopback only (reached through SSH), or none.
DISPLAY_CHOICES = [("vnc", "VNC on the host's loopback (graphical console)"), ("none", "no display")]
DOMAIN_TYPES = [("auto", "kvm if the host offers it, else qemu"), ("kvm", "kvm"), ("qemu", "qemu (TCG)")]

VM_ACTIONS = {
    "start": "vm.start", "shutdown": "vm.shutdown", "reboot": "vm.reboot",
    "destroy": "vm.destroy", "suspend": "vm.suspend", "resume": "vm.resume",
}
ACTION_LABELS = {
    "start": "Start", "shutdown": "Shut down (ACPI)", "reboot": "Reboot",
    "destroy": "Force off", "suspend": "Pause", "resume": "Resume",
}
# Which actions make sense in which state (the worker checks again on the host).
ACTIONS_BY_STATE = {
    "running": ["shutdown", "reboot", "destroy", "suspend"],
    "blocked": ["shutdown", "reboot", "destroy", "suspend"],
    "paused": ["resume", "destroy"],
    "shut off": ["start"],
    "crashed": ["start", "destroy"],
    "shutting down": ["destroy"],
}
