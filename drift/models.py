from django.conf import settings
from django.db import models
from django.urls import reverse

from . import choices


class Baseline(models.Model):
    """What kvmweb last applied, read or accepted for one object on one host: the definition
    (kvmweb.definitions, normalised) a later read is compared with."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=200, help_text="network:<name> or domain:<uuid>")
    kind = models.CharField(max_length=16, choices=choices.KINDS)
    xml = models.TextField()
    version = models.CharField(max_length=16)
    source = models.CharField(max_length=200, help_text="how kvmweb came to this version")
    updated = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "target"], name="drift_baseline_one")]

    def __str__(self):
        return f"{self.target} on {self.host_id}: {self.version}"


class Drift(models.Model):
    """A difference made outside kvmweb: the host's definition of an object is not the one
    kvmweb last applied or accepted, and no kvmweb operation explains it. Open until someone
    accepts the host's version or re-applies kvmweb's (or the host comes back by itself)."""

    host = models.ForeignKey("hosts.Host", on_delete=models.CASCADE, related_name="drifts")
    target = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=choices.KINDS)
    name = models.CharField(max_length=200, help_text="the network's or VM's name")
    status = models.CharField(max_length=16, choices=choices.STATUSES, default=choices.OPEN)
    noticed_by = models.CharField(max_length=200, help_text="who could tell: sync or watcher event")
    noticed = models.DateTimeField()
    last_seen = models.DateTimeField()
    baseline_xml = models.TextField(help_text="kvmweb's version")
    baseline_version = models.CharField(max_length=16)
    host_xml = models.TextField(help_text="the host's version")
    host_version = models.CharField(max_length=16)
    diff = models.TextField(help_text="unified diff from kvmweb's version to the host's")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided = models.DateTimeField(null=True, blank=True)
    operation = models.ForeignKey("operations.Operation", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+",
                                  help_text="the re-apply operation")

    class Meta:
        ordering = ["-noticed", "-pk"]
        indexes = [models.Index(fields=["host", "target", "status"])]

    def __str__(self):
        return f"drift of {self.target} ({self.status})"

    def get_absolute_url(self):
        return reverse("drift:detail", args=[self.pk])

    @property
    def changed_lines(self):
        """The diff's added and removed lines (at most five), for lists."""
        lines = [line for line in self.diff.splitlines()
                 if line[:1] in "+-" and not line.startswith(("+++", "---"))]
        return lines[:5] + (["…"] if len(lines) > 5 else [])

    @property
    def is_open(self):
        return self.status == choices.OPEN

    @property
    def reapplying(self):
        return self.is_open and self.operation is not None and not self.operation.is_finished
