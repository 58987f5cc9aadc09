from rest_framework import serializers

from ..models import Operation


class OperationSerializer(serializers.ModelSerializer):
    user = serializers.StringRelatedField(allow_null=True, help_text="who started it (null: the system)")
    url = serializers.HyperlinkedIdentityField(view_name="api:operation-detail")

    class Meta:
        model = Operation
        fields = ["id", "url", "user", "host", "action", "target", "target_name", "params", "status", "progress",
                  "log", "error", "xml_before", "xml_after", "created", "started", "finished"]
        read_only_fields = fields
