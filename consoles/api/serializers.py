from rest_framework import serializers

from kvmweb.api_params import MAX_ID

from ..choices import KINDS
from ..models import ConsoleSession


class TicketRequestSerializer(serializers.Serializer):
    vm = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                  help_text="the VM's id (as in /api/vms/)")
    kind = serializers.ChoiceField(KINDS)


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="one use, for this user, VM and kind")
    expires_in = serializers.IntegerField(help_text="seconds")
    websocket = serializers.CharField(help_text="path to open with ?ticket=…")


class ConsoleSessionSerializer(serializers.ModelSerializer):
    duration = serializers.FloatField(read_only=True, help_text="seconds (so far, if open)")

    class Meta:
        model = ConsoleSession
        fields = ["id", "username", "vm", "vm_name", "host_name", "kind", "client", "started",
                  "ended", "duration", "close_reason", "bytes_in", "bytes_out"]
