"""Names of the storage pool every lab host gets for the tiny Linux (see hosts.install_boot_pool).

A dir pool, so its files are libvirt volumes: team members may boot only from storage-pool
volumes (vms.access), never from any path on a host. Kept free of imports: the VM form reads
these names to say how to boot the tiny Linux and to fill the form in."""

BOOT_POOL = "lab-boot"
KERNEL_VOLUME = "vmlinuz"
INITRD_VOLUME = "initrd.img"
# In the lab host's mount namespace: its private /var/lib/libvirt (state dir lib-libvirt/).
POOL_DIR = f"/var/lib/libvirt/{BOOT_POOL}"
DOMAIN_TYPE = "qemu"  # lab hosts cannot run guests with KVM (see hosts.models.Host.domain_type)
