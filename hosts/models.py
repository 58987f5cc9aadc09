from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from kvmweb.virt.target import HostTarget
from kvmweb.virt.uri import validate_uri


class Host(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "waiting for host key"
        KEY_OFFERED = "key_offered", "confirm host key"
        CONNECTING = "connecting", "connecting"
        ONLINE = "online", "online"
        OFFLINE = "offline", "offline"
        ERROR = "error", "error"
        HOST_KEY_CHANGED = "host_key_changed", "host key changed"

    class DomainType(models.TextChoices):
        AUTO = "auto", "kvm if the host offers it, else qemu"
        KVM = "kvm", "kvm"
        QEMU = "qemu", "qemu (TCG)"

    name = models.CharField(max_length=64, unique=True)
    uri = models.CharField("libvirt URI", max_length=255, unique=True,
                           help_text="qemu+ssh://root@HOST/system, or qemu:///system for this machine")
    key_path = models.CharField(
        "SSH private key file", max_length=255, blank=True,
        help_text="leave empty to use kvmweb's own key (shown on the add-host page)")
    # Public keys only: the one pinned, and the one the host offered when last scanned.
    host_key = models.CharField(max_length=600, blank=True)
    host_key_fingerprint = models.CharField(max_length=80, blank=True)
    offered_host_key = models.CharField(max_length=600, blank=True)
    offered_fingerprint = models.CharField(max_length=80, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    status_reason = models.TextField(blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_sync = models.DateTimeField(null=True, blank=True)

    hostname = models.CharField(max_length=255, blank=True)
    libvirt_version = models.CharField(max_length=32, blank=True)
    hypervisor_version = models.CharField(max_length=32, blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    # libvirt offers kvm wherever /dev/kvm exists and domcapabilities answers for it, also where
    # KVM cannot run a real guest (nested setups, the lab): it starts and never boots, so no
    # probe short of booting a guest tells. Whoever knows says so here (lab hosts: qemu).
    domain_type = models.CharField(
        "domain type of new VMs", max_length=8, choices=DomainType.choices,
        default=DomainType.AUTO,
        help_text="what 'auto' means on this host: qemu where KVM is offered but does not work")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("hosts:detail", args=[self.pk])

    def clean(self):
        problem = validate_uri(self.uri)
        if problem:
            raise ValidationError({"uri": problem})
        if self.key_path and not self.key_path.startswith("/"):
            raise ValidationError({"key_path": "give an absolute path to the private key file"})

    @property
    def is_local(self):
        return not urlsplit(self.uri).hostname

    @property
    def address(self):
        return urlsplit(self.uri).hostname or "localhost"

    @property
    def needs_pin(self):
        return not self.is_local and not self.host_key

    @property
    def may_connect(self):
        """Background work (beat, the watcher) connects only to hosts whose key is pinned and
        unchanged; the others wait for an admin."""
        return not self.needs_pin and self.status not in (
            self.Status.NEW, self.Status.KEY_OFFERED, self.Status.HOST_KEY_CHANGED)

    @classmethod
    def connectable(cls):
        return [h for h in cls.objects.all() if h.may_connect]

    def target(self):
        """What the virt layer needs to reach this host."""
        return HostTarget(uri=self.uri, host_key=self.host_key, key_path=self.key_path)

    def counts(self):
        domains = self.domains.all()
        return {
            "networks": self.networks.count(),
            "domains": domains.count(),
            "running": domains.filter(state="running").count(),
        }


class HostInterface(models.Model):
    """One network interface of a host as netlink reports it (the read model of `ip link`)."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="interfaces")
    name = models.CharField(max_length=16)
    index = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16)
    state = models.CharField(max_length=16, blank=True)
    up = models.BooleanField(default=False)
    carrier = models.BooleanField(default=False)
    mac = models.CharField(max_length=64, blank=True)
    mtu = models.PositiveIntegerField(null=True, blank=True)
    master = models.CharField(max_length=16, blank=True)
    parent = models.CharField(max_length=16, blank=True)
    # IFLA_LINK_NETNSID: the peer (a veth's other end) lives in that other network namespace
    # (``eth0@if4``); None when the peer, if any, is in the host's own namespace.
    link_netnsid = models.IntegerField(null=True, blank=True)
    addresses = models.JSONField(default=list, blank=True)
    stats = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["host", "name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="uniq_host_iface")]

    def __str__(self):
        return f"{self.host}:{self.name}"

    @property
    def address_list(self):
        return [f"{a['address']}/{a['prefixlen']}" for a in self.addresses]
