from rest_framework import serializers

from .. import choices as C


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
    detail = serializers.CharField(allow_blank=True)
    target = serializers.DictField()
    href = serializers.CharField(allow_blank=True, help_text="the page that applies it")


class CauseSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=C.CAUSES)
    text = serializers.CharField()
    hop = serializers.CharField(allow_blank=True, help_text="graph id of the hop")
    direction = serializers.ChoiceField(choices=[C.BOTH, C.FORWARD, C.BACKWARD])
    warning = serializers.BooleanField()
    fixes = FixSerializer(many=True)


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
    elements = serializers.ListField(child=serializers.CharField(), help_text="graph node and "
                                     "edge ids of the path, to highlight on the topology")
