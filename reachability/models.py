from django.conf import settings
from django.db import models


class Probe(models.Model):
    """One question proved with packets ("active"): who asked, when, what the analysis said
    then, and what each probe (a ping or arping from a host, a ping from a guest) got back.

    ``results`` holds one dict per probe, in the order planned (reachability.probes.plan):
    ``kind`` (host-ping, host-arping, guest-ping), ``direction`` (a-to-b, b-to-a, or presence:
    a host checking that a guest answers on its bridge), ``title``, ``command`` (the argument
    list), ``sent``, ``received``, ``output`` (an excerpt) and ``unavailable`` (why it could not
    run, e.g. no guest agent)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    created = models.DateTimeField(auto_now_add=True)
    operation = models.ForeignKey("operations.Operation", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=200, help_text="graph id of the source end")
    destination = models.CharField(max_length=200)
    source_label = models.CharField(max_length=200, blank=True)
    destination_label = models.CharField(max_length=200, blank=True)
    verdict = models.CharField(max_length=16, help_text="the analysis verdict when asked")
    forward = models.BooleanField(null=True)
    backward = models.BooleanField(null=True)
    causes = models.JSONField(default=list, blank=True, help_text="the analysis' cause codes")
    planned = models.JSONField(default=list, blank=True)
    results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["source", "destination", "-created"])]

    def __str__(self):
        return f"probe {self.source_label} → {self.destination_label}"
