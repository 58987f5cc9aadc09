from django.db import models


class Domain(models.Model):
    """A libvirt domain (VM) on one host, as last read from it."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(max_length=128)
    uuid = models.CharField(max_length=36)
    state = models.CharField(max_length=16, default="nostate")
    vcpus = models.PositiveIntegerField(default=0)
    memory_kib = models.PositiveBigIntegerField(default=0)
    persistent = models.BooleanField(default=True)
    autostart = models.BooleanField(default=False)
    xml = models.TextField()

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "uuid"], name="uniq_host_domain")]

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

    class Meta:
        ordering = ["domain", "pk"]
        indexes = [models.Index(fields=["mac"])]

    def __str__(self):
        return f"{self.domain.name} {self.mac}"

    def leases(self):
        """Leases with this MAC on this host's networks: where the guest's addresses came from."""
        from networks.models import Lease

        return Lease.objects.filter(network__host_id=self.domain.host_id, mac=self.mac)
