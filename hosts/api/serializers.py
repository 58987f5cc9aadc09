from django.db import models
from rest_framework import serializers

from kvmweb.api_fields import StrictCharField

from operations.api.serializers import OperationSerializer

from ..models import Host, HostInterface


class HostSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.CharField: StrictCharField}
    url = serializers.HyperlinkedIdentityField(view_name="api:host-detail")
    networks = serializers.IntegerField(read_only=True, source="network_count")
    domains = serializers.IntegerField(read_only=True, source="domain_count")
    running = serializers.IntegerField(read_only=True, source="running_count")

    class Meta:
        model = Host
        fields = ["id", "url", "name", "uri", "key_path", "status", "status_reason",
                  "host_key", "host_key_fingerprint", "offered_host_key", "offered_fingerprint",
                  "last_seen", "last_sync", "hostname", "libvirt_version", "hypervisor_version",
                  "capabilities", "domain_type", "networks", "domains", "running", "created"]
        read_only_fields = [f for f in fields if f not in ("name", "uri", "key_path", "domain_type")]

    def validate(self, attrs):
        instance = Host(**{**({k: getattr(self.instance, k) for k in ("name", "uri", "key_path")}
                              if self.instance else {}), **attrs})
        from django.core.exceptions import ValidationError as DjangoValidationError

        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class HostCreatedSerializer(HostSerializer):
    operation = OperationSerializer(read_only=True)

    class Meta(HostSerializer.Meta):
        fields = HostSerializer.Meta.fields + ["operation"]
        read_only_fields = HostSerializer.Meta.read_only_fields + ["operation"]


class PinKeySerializer(serializers.Serializer):
    fingerprint = serializers.CharField(
        help_text="the SHA256 fingerprint you compared with the host's own "
                  "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)")


class InterfaceRatesQuerySerializer(serializers.Serializer):
    iface = serializers.RegexField(r"^[A-Za-z0-9._@:+-]{1,15}$",
                                   help_text="interface name on the host, e.g. eth0 or vnet3")


class InterfaceRatesSerializer(serializers.Serializer):
    host = serializers.IntegerField()
    iface = serializers.CharField()
    seconds = serializers.IntegerField(help_text="how far back the history goes at most")
    points = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3),
        help_text="[epoch seconds, rx bytes/s, tx bytes/s], oldest first; sampled only while "
                  "someone followed the host, so there may be gaps")


class HostInterfaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = HostInterface
        fields = ["name", "index", "kind", "state", "up", "carrier", "mac", "mtu", "master",
                  "parent", "link_netnsid", "addresses", "stats"]
