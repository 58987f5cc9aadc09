from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import choices as C
from .. import probes
from ..models import Probe


class QuestionSerializer(serializers.Serializer):
    """The two ends: each a graph id (nic:<host>:<uuid>:<mac>, vm:<host>:<uuid>, host:<pk>),
    an IPv4 address, a VM name (name@host when ambiguous) or a host name; or a VM by id."""

    source = serializers.CharField(required=False, allow_blank=True, max_length=200)
    destination = serializers.CharField(required=False, allow_blank=True, max_length=200)
    source_vm = serializers.IntegerField(required=False, help_text="a VM id (its first NIC)")
    destination_vm = serializers.IntegerField(required=False)

    def validate(self, data):
        for side in ("source", "destination"):
            if not data.get(side) and data.get(f"{side}_vm") is None:
                raise serializers.ValidationError({side: "say what it is (or give "
                                                         f"{side}_vm)"})
        return data


class EndSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["nic", "host", "outside"])
    id = serializers.CharField(help_text="the topology graph id")
    label = serializers.CharField()
    form_label = serializers.CharField(help_text="how the question box names it (\"web1 · NIC "
                                       "52:54:00:7e:d0:81 on kvm1\"); asked with it, it names "
                                       "the same end")
    host = serializers.IntegerField(allow_null=True)
    ip = serializers.CharField(allow_null=True)
    place = serializers.CharField(help_text="private, lan, hostonly, host or unknown")
    network = serializers.CharField(allow_blank=True)
    bridge = serializers.CharField(allow_blank=True)
    lan = serializers.CharField(allow_blank=True)
    macvtap = serializers.CharField(allow_blank=True, help_text="the macvtap lower device")


class FixSerializer(serializers.Serializer):
    kind = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField(allow_blank=True, help_text="a command to run (shown: "
                                   "kvmweb does not manage it) or a note")
    target = serializers.DictField(help_text="what it changes: host, iface, bridge, network, "
                                   "vm, mac…")
    href = serializers.CharField(allow_blank=True, help_text="the URL of the plan: the form "
                                 "that applies it, pre-filled (or the page with the button)")
    applies = serializers.ChoiceField(choices=["plan", "page", "shown"], help_text="plan: a "
                                      "pre-filled form to check and confirm; page: the page "
                                      "where it is done; shown: a command to run elsewhere")


class CauseSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=C.CAUSES)
    text = serializers.CharField()
    hop = serializers.CharField(allow_blank=True, help_text="graph id of the hop")
    hop_label = serializers.CharField(allow_blank=True, help_text="the hop as people name it")
    direction = serializers.ChoiceField(choices=[C.BOTH, C.FORWARD, C.BACKWARD])
    warning = serializers.BooleanField()
    fixes = FixSerializer(many=True)


class ProbeResultSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="host-ping, host-arping or guest-ping")
    direction = serializers.ChoiceField(choices=[C.FORWARD, C.BACKWARD, probes.PRESENCE],
                                        help_text="a-to-b / b-to-a: a direction of the "
                                        "question; presence: the host checks the guest answers "
                                        "on its bridge")
    title = serializers.CharField()
    host = serializers.IntegerField(help_text="the host it ran on (or through, for a guest)")
    to = serializers.CharField()
    iface = serializers.CharField(required=False, allow_blank=True)
    command = serializers.ListField(child=serializers.CharField())
    sent = serializers.IntegerField(allow_null=True)
    received = serializers.IntegerField(allow_null=True)
    output = serializers.CharField(allow_blank=True, help_text="an excerpt of what it printed")
    unavailable = serializers.CharField(required=False, help_text="why it could not run "
                                        "(e.g. guest agent not available)")


class ProbeSerializer(serializers.ModelSerializer):
    """A question proved with packets (active): the analysis of then, each probe's result, and
    the comparison. ``status`` and ``progress`` are those of its operation."""

    user = serializers.StringRelatedField(allow_null=True, help_text="who asked (null: a "
                                          "removed user)")
    status = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    results = ProbeResultSerializer(many=True)
    planned = serializers.SerializerMethodField()
    comparison = serializers.SerializerMethodField()

    class Meta:
        model = Probe
        fields = ["id", "user", "created", "operation", "status", "progress", "source",
                  "destination", "source_label", "destination_label", "verdict", "forward",
                  "backward", "causes", "planned", "results", "comparison"]
        read_only_fields = fields

    def get_status(self, probe) -> str:
        return probe.operation.status if probe.operation_id else "unknown"

    def get_progress(self, probe) -> int:
        return probe.operation.progress if probe.operation_id else 0

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_planned(self, probe):
        return [p["title"] for p in probe.planned]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_comparison(self, probe):
        return probes.compare(probe)


class HopSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the topology graph id")
    label = serializers.CharField()


class AnswerSerializer(serializers.Serializer):
    source = EndSerializer()
    destination = EndSerializer()
    verdict = serializers.ChoiceField(choices=C.VERDICTS)
    verdict_label = serializers.CharField()
    forward = serializers.BooleanField(allow_null=True, help_text="source can start to "
                                       "destination (null: unknown)")
    backward = serializers.BooleanField(allow_null=True)
    causes = CauseSerializer(many=True)
    warnings = CauseSerializer(many=True)
    assumptions = serializers.ListField(child=serializers.CharField())
    hops = serializers.ListField(child=serializers.CharField(), help_text="graph ids, source "
                                 "to destination")
    path = HopSerializer(many=True, help_text="the hops with labels (\"vnet3 on kvm1\", "
                         "\"virbr0 (default on kvm1)\"), source to destination")
    elements = serializers.ListField(child=serializers.CharField(), help_text="graph node and "
                                     "edge ids of the path, to highlight on the topology")
    can_probe = serializers.BooleanField(help_text="whether kvmweb can send probes for it "
                                         "(POST /api/reachability/probes/)")
    may_probe = serializers.BooleanField(help_text="whether you may send them (who may change "
                                         "the source)")
    probes = ProbeSerializer(many=True, help_text="your latest probes of this question")
