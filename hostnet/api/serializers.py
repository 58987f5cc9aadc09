"""API bodies of host network changes: one serializer per action (types and ranges; the rules
that need the host's interfaces are checked by hostnet.plans), the plan, and the tree."""

from rest_framework import serializers

from operations.api.serializers import OperationSerializer

from .. import plans


def _name(help_text="an interface name on the host", required=True):
    return serializers.CharField(max_length=32, required=required, allow_blank=not required,
                                 help_text=help_text)


def _int(label, low, high, **kwargs):
    message = f"{label} must be between {low} and {high}"
    return serializers.IntegerField(
        min_value=low, max_value=high, **kwargs,
        error_messages={"invalid": f"{label} must be a whole number",
                        "min_value": message, "max_value": message})


def _addresses(help_text):
    return serializers.ListField(child=serializers.CharField(), required=False, default=list,
                                 help_text=help_text)


class ChangeSerializer(serializers.Serializer):
    """What every host network change takes."""

    timeout = _int("the rollback timeout", plans.MIN_TIMEOUT, plans.MAX_TIMEOUT,
                   required=False, default=plans.DEFAULT_TIMEOUT,
                   help_text="seconds kvmweb has to prove it still reaches the host; otherwise "
                             "the host restores its saved state by itself")
    persist = serializers.BooleanField(required=False, default=True,
                                       help_text="false: runtime only, gone after a reboot")
    force = serializers.BooleanField(required=False, default=False,
                                     help_text="I know: lifts only the management-path checks")
    version = serializers.CharField(
        required=False, help_text="the host's interfaces' `version` (GET /api/hostnet/{id}/) "
        "this change was planned against: changed since (or another change pending) answers "
        "409 with the diff and the version to plan against")


class BridgeCreateSerializer(ChangeSerializer):
    name = _name("the new bridge, e.g. br0")
    uplink = _name("empty: isolated host-only bridge; a NIC: its addresses, routes and MAC "
                   "move to the bridge", required=False)
    move_addresses = serializers.BooleanField(required=False, default=True)
    stp = serializers.BooleanField(required=False, default=False)
    forward_delay = _int("forward delay (s)", 0, 30, required=False)
    address = serializers.CharField(required=False, allow_blank=True,
                                    help_text="isolated bridge only: the host's address on it, "
                                              "e.g. 10.0.5.1/24")


class BridgeDeleteSerializer(ChangeSerializer):
    name = _name("the bridge to delete")
    uplink = _name("the port that gets the addresses back", required=False)
    give_back = serializers.BooleanField(required=False, default=True)


class VlanCreateSerializer(ChangeSerializer):
    parent = _name("the interface the VLAN rides on")
    vlan_id = _int("VLAN id", 1, 4094)
    name = _name("default: PARENT.ID", required=False)


class BondCreateSerializer(ChangeSerializer):
    name = _name("the new bond, e.g. bond0")
    mode = serializers.ChoiceField(
        choices=plans.BOND_MODES, required=False, default="active-backup",
        error_messages={"invalid_choice": "unknown bond mode {input!r}; choose one of "
                                          + ", ".join(plans.BOND_MODES)})
    members = serializers.ListField(child=serializers.CharField(max_length=32),
                                    help_text="the member NICs")


class MTUSerializer(ChangeSerializer):
    name = _name()
    mtu = _int("MTU", 68, 65535, help_text="at most the device's own maximum")


class LinkStateSerializer(ChangeSerializer):
    name = _name()
    up = serializers.BooleanField(help_text="true: up, false: down")


class AddressesSerializer(ChangeSerializer):
    name = _name()
    add = _addresses("addresses with prefix to add, e.g. 10.0.5.2/24")
    remove = _addresses("addresses with prefix to remove")


class PortMoveSerializer(ChangeSerializer):
    port = _name("the port to move, e.g. vnet1")
    bridge = _name("the bridge to move it to")


ACTION_SERIALIZERS = {
    "bridge_create": BridgeCreateSerializer, "bridge_delete": BridgeDeleteSerializer,
    "vlan_create": VlanCreateSerializer, "bond_create": BondCreateSerializer,
    "mtu": MTUSerializer, "link_state": LinkStateSerializer,
    "addresses": AddressesSerializer, "port_move": PortMoveSerializer,
}
assert set(ACTION_SERIALIZERS) == set(plans.ACTIONS)


class PlanSerializer(serializers.Serializer):
    """What a change will do: the steps, the interfaces' resulting state, notes."""

    action = serializers.CharField()
    summary = serializers.CharField()
    steps = serializers.ListField(child=serializers.DictField(),
                                  help_text="the netlink steps, in order")
    involved = serializers.ListField(child=serializers.CharField())
    created = serializers.ListField(child=serializers.CharField(), required=False)
    result = serializers.ListField(child=serializers.DictField(),
                                   help_text="the interfaces as they will be afterwards")
    notes = serializers.ListField(child=serializers.CharField(), required=False)
    timeout = serializers.IntegerField()
    management_interface = serializers.CharField(allow_null=True)
    persist = serializers.BooleanField()
    force = serializers.BooleanField()


class ChangeStartedSerializer(OperationSerializer):
    plan = PlanSerializer(read_only=True)

    class Meta(OperationSerializer.Meta):
        fields = [*OperationSerializer.Meta.fields, "plan"]


class TreeNodeSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    relation = serializers.CharField(allow_blank=True, allow_null=True)
    vm = serializers.CharField(allow_blank=True, allow_null=True)
    state = serializers.CharField(allow_blank=True)
    up = serializers.BooleanField()
    mac = serializers.CharField(allow_blank=True)
    mtu = serializers.IntegerField(allow_null=True)
    addresses = serializers.ListField(child=serializers.CharField())
    stp = serializers.JSONField(allow_null=True, help_text="bridges: STP on (as the kernel says)")
    forward_delay = serializers.JSONField(allow_null=True, help_text="bridges: seconds")
    port_state = serializers.CharField(allow_blank=True, allow_null=True)
    children = serializers.ListField(child=serializers.DictField(),
                                     help_text="nodes of the same shape")


class HostTreeSerializer(serializers.Serializer):
    host = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField(help_text="the interfaces' version (hash); send it with a "
                                              "change")
    interfaces = TreeNodeSerializer(many=True)
