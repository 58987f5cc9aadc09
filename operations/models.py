from django.conf import settings
from django.db import models
from django.urls import reverse


class Operation(models.Model):
    """One change (or one requested read) on a host: who, what, how it went, and its log."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        ROLLED_BACK = "rolled_back", "rolled back"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.ROLLED_BACK)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    # The audit log outlives hosts: a removed host leaves its operations with its name.
    host = models.ForeignKey("hosts.Host", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="operations")
    host_name = models.CharField(max_length=64, blank=True)
    # The team the change was made for (owner of what it creates; audit search by team).
    team = models.ForeignKey("teams.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="operations")
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True,
                              help_text="the object on the host, e.g. network:default")
    # What people call the target (the VM's name, not domain:<uuid>), fixed when the operation
    # is created so it still reads right after the object is renamed or gone.
    target_name = models.CharField(max_length=200, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    xml_before = models.TextField(blank=True)
    xml_after = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # Who runs it and whether it is still alive (operations.reaper): the running worker stamps
    # ``heartbeat`` every few seconds; a queued operation's stamp says when it was last
    # (re-)enqueued or waited for its locks.
    worker = models.CharField(max_length=200, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="times a worker started it")

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["host", "-created"]),
                   models.Index(fields=["status", "heartbeat"])]

    def __str__(self):
        return f"{self.action} {self.target} ({self.status})"

    def get_absolute_url(self):
        return reverse("operations:detail", args=[self.pk])

    @property
    def target_display(self):
        return self.target_name or self.target

    @property
    def is_finished(self):
        return self.status in self.FINISHED
