"""Teams, their members' roles, the hosts granted to them, quotas, address pools, the audit
log of team changes, and per-user API tokens.

This app sits one floor above ``operations`` and below hosts/networks/vms: it names their
models only by string in foreign keys and never imports their code, so every app's access
module can build on it (see kvmweb/access.py).
"""

import hashlib
import ipaddress
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from . import choices


class Team(models.Model):
    """A group of users that owns networks and VMs on the hosts granted to it."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    # Quotas: empty means no limit. Usage counts what the team owns plus what is queued.
    max_networks = models.PositiveIntegerField(null=True, blank=True)
    max_vms = models.PositiveIntegerField(null=True, blank=True)
    max_vcpus = models.PositiveIntegerField(null=True, blank=True)
    max_memory_mib = models.PositiveIntegerField(null=True, blank=True)
    max_nics = models.PositiveIntegerField(null=True, blank=True)
    max_addresses = models.PositiveIntegerField(
        null=True, blank=True, help_text="IPv4 addresses in the team's networks' subnets")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("teams:detail", args=[self.pk])


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    role = models.CharField(max_length=16, choices=choices.ROLE_CHOICES, default=choices.VIEWER)

    class Meta:
        ordering = ["team", "user__username"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="uniq_team_member")]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"


class HostGrant(models.Model):
    """A host a team may use. Its members see the host's objects; its operators create networks
    and VMs there. NICs go to the team's own networks, plus the networks and host bridges named
    here (like Proxmox's SDN.Use on a bridge or Neutron's network RBAC)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="grants")
    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="grants")
    networks = models.JSONField(default=list, blank=True,
                                help_text="names of networks on the host the team may attach to")
    bridges = models.JSONField(default=list, blank=True,
                               help_text="host bridges the team may attach NICs to")

    class Meta:
        ordering = ["team", "host__name"]
        constraints = [models.UniqueConstraint(fields=["team", "host"], name="uniq_team_host")]

    def __str__(self):
        return f"{self.host} to {self.team}"


class AddressPool(models.Model):
    """IPv4 space a team's new NAT/routed/isolated networks take their subnets from."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="pools")
    cidr = models.CharField(max_length=43, help_text="e.g. 10.20.0.0/16")
    prefix = models.PositiveSmallIntegerField(default=24, help_text="size of each network's subnet")

    class Meta:
        ordering = ["team", "cidr"]

    def __str__(self):
        return f"{self.cidr} /{self.prefix} ({self.team})"

    @property
    def network(self):
        return ipaddress.ip_network(self.cidr, strict=True)

    def clean(self):
        try:
            net = ipaddress.ip_network(self.cidr, strict=True)
        except ValueError as exc:
            raise ValidationError({"cidr": f"not an IPv4 network like 10.20.0.0/16 ({exc})"}) from None
        if net.version != 4:
            raise ValidationError({"cidr": "pools are IPv4 networks"})
        if not net.prefixlen <= (self.prefix or 0) <= 30:
            raise ValidationError({"prefix": f"give a prefix between /{net.prefixlen} and /30"})
        for other in AddressPool.objects.exclude(pk=self.pk):
            if other.network.overlaps(net):
                raise ValidationError({"cidr": f"overlaps pool {other.cidr} of team {other.team}"})


class AuditEntry(models.Model):
    """A change to teams, members, grants, quotas, pools or tokens (host changes are Operations).
    Names are copied so the entry reads the same after the objects are gone."""

    created = models.DateTimeField(auto_now_add=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    username = models.CharField(max_length=150, blank=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="audit")
    team_name = models.CharField(max_length=64, blank=True)
    host_name = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.username} {self.action} {self.target}"


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """An API token: shown once at creation, stored as a SHA-256 digest, with an expiry."""

    PREFIX = "kvw_"
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.name} ({self.user})"

    @classmethod
    def issue(cls, user, name, expires=None):
        """Create a token; returns (token, secret). The secret is never stored or shown again."""
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, key_id=key_id, digest=_digest(secret),
                                   expires=expires)
        return token, f"{cls.PREFIX}{key_id}_{secret}"

    @classmethod
    def find_live(cls, presented):
        """The live token for ``presented`` (kvw_<id>_<secret>), or None."""
        if not presented.startswith(cls.PREFIX):
            return None
        key_id, _, secret = presented[len(cls.PREFIX):].partition("_")
        token = cls.objects.filter(key_id=key_id).select_related("user").first()
        if token is None or not secrets.compare_digest(token.digest, _digest(secret)):
            return None
        return token if token.is_live else None

    @property
    def is_live(self):
        return self.revoked is None and (self.expires is None or self.expires > timezone.now())
