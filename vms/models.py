from django.db import models
from django.urls import reverse


class Domain(models.Model):
    """A libvirt domain (VM) on one host, as last read from it."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="domains")
    # The team that created it through kvmweb; None means only administrators change it.
    owner = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="vms")
    name = models.CharField(max_length=128)
    uuid = models.CharField(max_length=36)
    state = models.CharField(max_length=16, default="nostate")
    vcpus = models.PositiveIntegerField(default=0)
    memory_kib = models.PositiveBigIntegerField(default=0)
    persistent = models.BooleanField(default=True)
    autostart = models.BooleanField(default=False)
    xml = models.TextField()
    # When the host was read for this row: a later read is never replaced by an earlier one
    # (a full sync that read before the watcher's re-read of this object must not undo it).
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "uuid"], name="uniq_host_domain")]

    def get_absolute_url(self):
        return reverse("vms:detail", args=[self.pk])

    def __str__(self):
        return f"{self.name} on {self.host}"

    @property
    def memory_mib(self):
        return self.memory_kib // 1024


class DomainInterface(models.Model):
    """One NIC of a domain (a row of virsh domiflist) with its counters (virsh domifstat)."""

    domain = models.ForeignKey(Domain, on_delete=models.CASCADE, related_name="nics")
    mac = models.CharField(max_length=17)
    type = models.CharField(max_length=16)
    source = models.CharField(max_length=128, blank=True)
    mode = models.CharField(max_length=16, blank=True)
    model = models.CharField(max_length=32, blank=True)
    target = models.CharField(max_length=16, blank=True)
    link_state = models.CharField(max_length=8, default="up")
    portgroup = models.CharField(max_length=64, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    # When the NIC last moved to another network, bridge or device (its type or source changed
    # between two reads; kept across re-reads): addresses learnt before it no longer count.
    moved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["domain", "pk"]
        indexes = [models.Index(fields=["mac"])]

    def __str__(self):
        return f"{self.domain.name} {self.mac}"

    def leases(self):
        """Leases with this MAC on this host's networks: where the guest's addresses came from."""
        from networks.models import Lease

        return Lease.objects.filter(network__host_id=self.domain.host_id, mac=self.mac)


class StoragePool(models.Model):
    """A libvirt storage pool on one host (virsh pool-list --details), read by the VM sync."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="pools")
    name = models.CharField(max_length=128)
    uuid = models.CharField(max_length=36)
    type = models.CharField(max_length=16, blank=True)
    path = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=False)
    capacity = models.PositiveBigIntegerField(default=0)
    allocation = models.PositiveBigIntegerField(default=0)
    available = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="uniq_host_pool")]

    def __str__(self):
        return f"{self.name} on {self.host}"

    @property
    def available_gib(self):
        return round(self.available / 2 ** 30, 1)


class Volume(models.Model):
    """A volume in a storage pool (virsh vol-list --details)."""

    pool = models.ForeignKey(StoragePool, on_delete=models.CASCADE, related_name="volumes")
    name = models.CharField(max_length=255)
    path = models.CharField(max_length=1024)
    capacity = models.PositiveBigIntegerField(default=0)
    allocation = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["pool", "name"]

    def __str__(self):
        return self.path


class GuestAddress(models.Model):
    """An address of a guest NIC that came from the guest agent (virsh domifaddr --source
    agent) or the host's neighbour table (netlink, as `ip -s neigh`). DHCP leases live in
    networks.Lease. Which of them are shown: vms.addresses."""

    class Source(models.TextChoices):
        AGENT = "agent", "guest agent"
        ARP = "arp", "ARP table"

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="guest_addresses")
    mac = models.CharField(max_length=17)
    ip = models.GenericIPAddressField()
    prefix = models.PositiveSmallIntegerField(null=True, blank=True)
    family = models.CharField(max_length=4, default="ipv4")
    source = models.CharField(max_length=8, choices=Source.choices)
    seen = models.DateTimeField(auto_now=True)
    # Neighbour entries: the host interface the entry is on, its NUD state (reachable, stale…)
    # and when the host last confirmed the guest answered there (the kernel's ndm_confirmed;
    # for the agent: when it was read). See vms.addresses for which of these still count.
    dev = models.CharField(max_length=16, blank=True)
    state = models.CharField(max_length=12, blank=True)
    confirmed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host", "mac", "ip"]
        indexes = [models.Index(fields=["host", "mac"])]

    def __str__(self):
        return f"{self.mac} {self.ip} ({self.source})"
