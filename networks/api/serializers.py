from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kvmweb.api_fields import StrictBooleanField

from hosts.access import visible_hosts
from hosts.models import Host

from kvmweb.access import creating_teams
from teams.models import Team

from .. import choices, intake, versions
from ..models import Lease, Network


class StaticHostSerializer(serializers.Serializer):
    mac = serializers.CharField()
    ip = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=True, default="")


class DNSHostSerializer(serializers.Serializer):
    ip = serializers.CharField()
    hostnames = serializers.ListField(child=serializers.CharField(), allow_empty=True)


class ForwarderSerializer(serializers.Serializer):
    addr = serializers.CharField(required=False, allow_blank=True, default="")
    domain = serializers.CharField(required=False, allow_blank=True, default="")


class PortGroupSerializer(serializers.Serializer):
    name = serializers.CharField()
    vlan = serializers.IntegerField(required=False, allow_null=True, default=None)
    default = serializers.BooleanField(required=False, default=False)


def _opt_char(help_text=""):
    return serializers.CharField(required=False, allow_blank=True, help_text=help_text)


def _opt_int(help_text=""):
    return serializers.IntegerField(required=False, allow_null=True, help_text=help_text)


class SpecFields(serializers.Serializer):
    """Every option of a network, all optional: unset ones get virt-manager-like defaults."""

    kind = serializers.ChoiceField(choices=choices.KIND_CHOICES, required=False)
    bridge = _opt_char("bridge kind: the existing host bridge; others: optional name (virbrN)")
    subnet = _opt_char("IPv4 CIDR; omitted: the next free 192.168.X.0/24; empty: no IPv4")
    gateway = _opt_char("default: the subnet's first address")
    dhcp = serializers.BooleanField(required=False, allow_null=True, default=None)
    dhcp_start = _opt_char()
    dhcp_end = _opt_char()
    static_hosts = StaticHostSerializer(many=True, required=False)
    ipv6_subnet = _opt_char()
    ipv6_gateway = _opt_char()
    dhcpv6 = serializers.BooleanField(required=False, default=False)
    dhcpv6_start = _opt_char()
    dhcpv6_end = _opt_char()
    dns_domain = serializers.CharField(required=False, allow_blank=True, allow_null=True,
                                       default=None)
    dns_hosts = DNSHostSerializer(many=True, required=False)
    dns_forwarders = ForwarderSerializer(many=True, required=False)
    forward_dev = _opt_char("forward only through this host device (the classic eth0)")
    nat_port_start = _opt_int()
    nat_port_end = _opt_int()
    mtu = _opt_int()
    portgroups = PortGroupSerializer(many=True, required=False)
    devices = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="macvtap kinds: host devices of the pool")
    pf = _opt_char("hostdev: the SR-IOV physical function")
    tftp_root = _opt_char()
    bootp_file = _opt_char()
    bootp_server = _opt_char()
    qos_inbound = _opt_int("average inbound KiB/s")
    qos_outbound = _opt_int("average outbound KiB/s")


def _raise(errors):
    raise serializers.ValidationError({k if k != "__all__" else "non_field_errors": v
                                       for k, v in errors.items()})


class NetworkCreateSerializer(SpecFields):
    host = serializers.PrimaryKeyRelatedField(queryset=Host.objects.none())
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.none(), required=False, allow_null=True,
        help_text="the team that will own it; needed only when you operate for several teams")
    name = serializers.CharField(required=False, allow_blank=True)
    xml = serializers.CharField(required=False, help_text="import: a whole <network> definition")
    start = serializers.BooleanField(required=False, default=True)
    autostart = serializers.BooleanField(required=False, default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = request.user if request else None
        self.fields["host"].queryset = visible_hosts(user)
        self.fields["team"].queryset = creating_teams(user)

    def validate(self, attrs):
        host, user = attrs["host"], self.context["request"].user
        if attrs.get("xml"):
            team, result = intake.create_for(user, host, attrs.get("team"), xml=attrs["xml"])
        else:
            spec = {k: v for k, v in attrs.items() if k not in ("host", "xml", "team")}
            if "dns_domain" in spec and spec["dns_domain"] is None:
                del spec["dns_domain"]
            team, result = intake.create_for(user, host, attrs.get("team"), spec=spec)
        if not result.ok:
            _raise(result.errors)
        attrs["intake"], attrs["team"] = result, team
        return attrs


class NetworkEditSerializer(SpecFields):
    xml = serializers.CharField(required=False, help_text="replace the whole definition")
    confirm = serializers.BooleanField(
        required=False, default=False,
        help_text="apply a change that restarts the network (guests lose connectivity)")
    version = serializers.CharField(
        required=False, help_text="the network's `version` this edit was planned against; "
                                  "an edit planned against an older one is refused with 409")

    def validate(self, attrs):
        network = self.context["network"]
        if attrs.get("xml"):
            result = intake.edit_from_xml(network, attrs["xml"])
        else:
            changes = {k: v for k, v in attrs.items() if k not in ("xml", "confirm", "version")
                       and k in self.initial_data}
            result = intake.edit_from_spec(network, changes)
        if not result.ok:
            _raise(result.errors)
        attrs["intake"] = result
        return attrs


class AttachedNICSerializer(serializers.Serializer):
    vm = serializers.CharField()
    mac = serializers.CharField()
    target = serializers.CharField(allow_blank=True, help_text="the vnet device while it runs")
    state = serializers.CharField(help_text="the VM's state")


class NetworkSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:network-detail")
    host_name = serializers.CharField(source="host.name", read_only=True)
    attached_nics = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()
    leases = serializers.IntegerField(source="lease_count", read_only=True)

    class Meta:
        model = Network
        fields = ["id", "url", "host", "host_name", "owner", "name", "uuid", "version", "kind", "bridge", "subnets",
                  "dhcp", "active", "autostart", "persistent", "attached_nics", "leases",
                  "firewall", "firewall_read", "firewall_error"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(help_text=(
        "the definition's version (hash); send it with an edit so a concurrent change is "
        "refused (409) instead of overwritten")))
    def get_version(self, net):
        return versions.current_version(net)

    @extend_schema_field(AttachedNICSerializer(many=True))
    def get_attached_nics(self, net):
        return [{"vm": n.domain.name, "mac": n.mac, "target": n.target, "state": n.domain.state}
                for n in net.attached_nics()]


class LeaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lease
        fields = ["mac", "ip", "prefix", "family", "hostname", "client_id", "expiry"]


class FirewallSerializer(serializers.Serializer):
    rules = serializers.ListField(child=serializers.DictField(),
                                  help_text="the nft rules naming this network (nft -j)")
    read = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)


class AutostartSerializer(serializers.Serializer):
    on = StrictBooleanField()


class ConfirmSerializer(serializers.Serializer):
    confirm = StrictBooleanField(required=False, default=False)
