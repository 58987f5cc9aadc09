"""API bodies of teams: a team as its page shows it (members, grants, quota with usage, pools
with the subnets in use), and one body per change. The rules come from teams.validation and
AddressPool.clean, as on the pages."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hosts.models import Host
from kvmweb.api_fields import StrictBooleanField, StrictCharField
from kvmweb.api_params import MAX_ID

from .. import choices, quotas, services, validation
from ..models import AddressPool, HostGrant, Membership, Team


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "role"]
        read_only_fields = fields


class GrantSerializer(serializers.ModelSerializer):
    host_name = serializers.CharField(source="host.name", read_only=True)
    networks = serializers.ListField(child=serializers.CharField(), help_text=(
        "networks on the host the team may attach NICs to besides its own"))
    bridges = serializers.ListField(child=serializers.CharField(),
                                    help_text="host bridges the team may attach NICs to")

    class Meta:
        model = HostGrant
        fields = ["id", "host", "host_name", "networks", "bridges"]
        read_only_fields = fields


class QuotaSerializer(serializers.Serializer):
    name = serializers.ChoiceField([name for name, _, _ in choices.QUOTAS],
                                   help_text="the limit's field (PATCH .../quota/ sets it)")
    label = serializers.CharField(help_text="what it limits")
    used = serializers.IntegerField(help_text="what the team owns plus what is queued")
    allowed = serializers.IntegerField(allow_null=True, help_text="null: no limit")
    unit = serializers.CharField()


class AddressPoolUseSerializer(serializers.Serializer):
    subnet = serializers.CharField()
    network = serializers.IntegerField(source="network.pk", help_text="the network's id")
    network_name = serializers.CharField(source="network.name")
    host_name = serializers.CharField(source="network.host.name")


class AddressPoolSerializer(serializers.ModelSerializer):
    used = serializers.SerializerMethodField(help_text="the team's networks with a subnet in "
                                                       "the pool")

    class Meta:
        model = AddressPool
        fields = ["id", "cidr", "prefix", "used"]
        read_only_fields = fields

    @extend_schema_field(AddressPoolUseSerializer(many=True))
    def get_used(self, pool):
        return AddressPoolUseSerializer([{"network": net, "subnet": subnet}
                                  for net, subnet in services.pool_usage(pool)], many=True).data


class TeamSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:team-detail")
    members = MemberSerializer(many=True, read_only=True, source="memberships")
    grants = GrantSerializer(many=True, read_only=True)
    quota = serializers.SerializerMethodField()
    pools = AddressPoolSerializer(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "url", "name", "description", "created", "members", "grants", "quota",
                  "pools"]
        read_only_fields = fields

    @extend_schema_field(QuotaSerializer(many=True))
    def get_quota(self, team):
        return QuotaSerializer(quotas.rows(team), many=True).data


# -- bodies of changes ---------------------------------------------------------------------------

class TeamWriteSerializer(serializers.Serializer):
    """Create a team, or rename it / change its description (the team in context "team")."""

    name = StrictCharField(max_length=64)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)

    def validate_name(self, value):
        return validation.team_name(value, self.context.get("team"))


class MemberSetSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150, help_text="the user to add (or whose role to set)")
    role = serializers.ChoiceField(choices.ROLE_CHOICES)

    def validate_username(self, value):
        return validation.member(value)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices.ROLE_CHOICES)


def _names(help_text):
    return serializers.ListField(child=StrictCharField(max_length=64), required=False,
                                 default=list, max_length=256, help_text=help_text)


class GrantSetSerializer(serializers.Serializer):
    """Grant the team a host (or replace what an existing grant names)."""

    host = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="the host's id")
    networks = _names("networks on the host the team may attach NICs to besides its own")
    bridges = _names("host bridges the team may attach NICs to (e.g. br0)")

    def validate_host(self, value):
        host = Host.objects.filter(pk=value).first()
        if host is None:
            raise serializers.ValidationError("no such host")
        return host

    def validate_networks(self, value):
        return validation.names(value)

    def validate_bridges(self, value):
        return validation.names(value)


class QuotaSetSerializer(serializers.ModelSerializer):
    """The limits to set (null: no limit); limits left out stay as they are."""

    class Meta:
        model = Team
        fields = [name for name, _, _ in choices.QUOTAS]
        extra_kwargs = {name: {"required": False} for name in fields}


class AddressPoolAddSerializer(serializers.Serializer):
    cidr = StrictCharField(max_length=43, help_text="an IPv4 network, e.g. 10.20.0.0/16")
    prefix = serializers.IntegerField(min_value=0, max_value=32, required=False, default=24,
                                      help_text="size of each network's subnet (/24: 256 "
                                                "addresses)")

    def validate(self, data):
        pool = AddressPool(team=self.context["team"], **data)
        pool.clean()  # the model's rules (IPv4, prefix, no overlap), as the page's form
        data["pool"] = pool
        return data


# -- users (administrators) ----------------------------------------------------------------------

class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    is_staff = serializers.BooleanField(read_only=True, help_text="an administrator")
    teams = serializers.SerializerMethodField(help_text="the user's memberships")

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_teams(self, user):
        return [{"team": m.team_id, "team_name": m.team.name, "role": m.role}
                for m in user.memberships.all()]


class UserCreatedSerializer(UserSerializer):
    """For the schema only (teams.api.views.UserViewSet.create answers the password itself)."""

    password = serializers.CharField(read_only=True, help_text=(
        "the generated password, shown this once (empty when you gave one)"))


class UserCreateSerializer(serializers.Serializer):
    """A new user; an empty or missing password is generated and answered once."""

    username = StrictCharField(max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    password = StrictCharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                               write_only=True, help_text="empty: one is generated")
    is_staff = StrictBooleanField(required=False, default=False,
                                  help_text="make the user an administrator")
    team = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                    allow_null=True, default=None,
                                    help_text="the team's id: add the user to it right away")
    role = serializers.ChoiceField(choices.ROLE_CHOICES, required=False, default=choices.VIEWER,
                                   help_text="the role in that team")

    def validate_username(self, value):
        return validation.new_username(value)

    def validate_team(self, value):
        if value is None:
            return None
        team = Team.objects.filter(pk=value).first()
        if team is None:
            raise serializers.ValidationError("no such team")
        return team

    def validate(self, data):
        validation.new_password(data.get("password"), data.get("username", ""))
        return data
