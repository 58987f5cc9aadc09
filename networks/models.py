from django.db import models


class Network(models.Model):
    """A libvirt virtual network on one host, as last read from it (virsh net-dumpxml)."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="networks")
    # The team that created it through kvmweb; None (found by a sync, or made by an
    # administrator for no team) means only administrators change it (networks.access).
    owner = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="networks")
    name = models.CharField(max_length=64)
    uuid = models.CharField(max_length=36)
    xml = models.TextField()
    active = models.BooleanField(default=False)
    autostart = models.BooleanField(default=False)
    persistent = models.BooleanField(default=True)
    # Projections of the XML for list pages and filters, refreshed on every sync.
    kind = models.CharField(max_length=32, blank=True)
    bridge = models.CharField(max_length=16, blank=True)
    subnets = models.JSONField(default=list, blank=True)
    dhcp = models.BooleanField(default=False)
    # The firewall rules libvirt installed for this network, as last read (nft -j list ruleset).
    firewall = models.JSONField(default=list, blank=True)
    firewall_read = models.DateTimeField(null=True, blank=True)
    firewall_error = models.TextField(blank=True)
    # When the host was read for this row: a later read is never replaced by an earlier one
    # (a full sync that read before the watcher's re-read of this object must not undo it).
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host__name", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="uniq_host_network")]

    def __str__(self):
        return f"{self.name} on {self.host}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("networks:detail", args=[self.pk])

    @property
    def target(self):
        """The Operation target naming this network (also its per-object lock)."""
        return f"network:{self.name}"

    def mtu_mismatch(self):
        """A sentence when the MTUs of this network's bridge and its ports (vnetN, the uplink)
        differ: frames larger than the smallest are dropped without a word. "" when they agree."""
        from hosts.models import HostInterface

        if not self.bridge:
            return ""
        rows = sorted(HostInterface.objects.filter(host_id=self.host_id, mtu__isnull=False)
                      .filter(models.Q(name=self.bridge) | models.Q(master=self.bridge))
                      .values_list("name", "mtu"))
        if len({mtu for _, mtu in rows}) < 2:
            return ""
        return ("MTUs differ on " + self.bridge + " (" + ", ".join(f"{n} {m}" for n, m in rows)
                + "): small packets such as pings pass, larger frames are dropped without a "
                "word. Give them all the same MTU.")

    def attached_nics(self):
        """VM NICs on this host that use this network (type network, source = our name)."""
        from vms.models import DomainInterface

        return DomainInterface.objects.filter(domain__host_id=self.host_id, type="network",
                                              source=self.name).select_related("domain")


class Lease(models.Model):
    """A DHCP lease handed out by a network's dnsmasq (virsh net-dhcp-leases)."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="leases")
    mac = models.CharField(max_length=17)
    ip = models.GenericIPAddressField()
    prefix = models.PositiveSmallIntegerField(null=True, blank=True)
    family = models.CharField(max_length=4, default="ipv4")
    hostname = models.CharField(max_length=255, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    expiry = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["network", "ip"]
        indexes = [models.Index(fields=["mac"])]

    def __str__(self):
        return f"{self.mac} {self.ip}"

    @classmethod
    def replace_for(cls, network, leases):
        """Make the network's leases equal what the host said (kvmweb.virt.inventory records)."""
        from datetime import datetime, timezone as tz

        network.leases.all().delete()
        cls.objects.bulk_create(
            cls(network=network, mac=x["mac"], ip=x["ip"], prefix=x["prefix"], family=x["family"],
                hostname=x["hostname"], client_id=x["client_id"],
                expiry=datetime.fromtimestamp(x["expiry"], tz=tz.utc) if x["expiry"] else None)
            for x in leases if x["ip"])
