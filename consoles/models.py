from django.conf import settings
from django.db import models

from .choices import KINDS


class ConsoleSession(models.Model):
    """One console connection: who opened which VM's console, when, and for how long.

    Names are copied so the record outlives the user, the VM and the host."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="console_sessions")
    username = models.CharField(max_length=150)
    vm = models.ForeignKey("vms.Domain", null=True, on_delete=models.SET_NULL,
                           related_name="console_sessions")
    vm_name = models.CharField(max_length=128)
    host_name = models.CharField(max_length=64)
    kind = models.CharField(max_length=8, choices=KINDS)
    client = models.CharField(max_length=64, blank=True, help_text="the browser's address")
    started = models.DateTimeField(auto_now_add=True)
    ended = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    bytes_in = models.PositiveBigIntegerField(default=0, help_text="from the browser to the VM")
    bytes_out = models.PositiveBigIntegerField(default=0, help_text="from the VM to the browser")

    class Meta:
        ordering = ["-started"]
        indexes = [models.Index(fields=["vm", "-started"])]

    def __str__(self):
        return f"{self.username}: {self.kind} console of {self.vm_name} at {self.started:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        """Seconds the session lasted (so far, while it is open)."""
        from django.utils import timezone

        return ((self.ended or timezone.now()) - self.started).total_seconds()
