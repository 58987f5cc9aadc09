from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kvmweb.api_fields import StrictBooleanField

from ..models import Drift


class DriftSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:drift-detail")
    host_name = serializers.CharField(source="host.name", read_only=True)
    decided_by = serializers.SerializerMethodField(help_text="who accepted or re-applied it")
    diff = serializers.CharField(help_text="unified diff from kvmweb's version to the host's")

    class Meta:
        model = Drift
        fields = ["id", "url", "host", "host_name", "kind", "target", "name", "status",
                  "noticed_by", "noticed", "last_seen", "baseline_version", "host_version",
                  "diff", "baseline_xml", "host_xml", "decided_by", "decided", "operation"]
        read_only_fields = fields


    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, drift):
        return str(drift.decided_by) if drift.decided_by else None


class ReapplySerializer(serializers.Serializer):
    confirm = StrictBooleanField(required=False, default=False,
                                 help_text="go ahead when re-applying restarts the network")
