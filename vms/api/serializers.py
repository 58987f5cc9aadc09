from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from operations.api.serializers import OperationSerializer

from .. import addresses, versions
from ..choices import (BOOT_CHOICES, DISK_CHOICES, DISPLAY_CHOICES, DOMAIN_TYPES, LINK_STATES, MACVTAP_MODES,
                       NIC_MODELS, NIC_TYPES)
from ..services import disk_paths
from ..models import Domain, DomainInterface, StoragePool, Volume


class NICSpecSerializer(serializers.Serializer):
    type = serializers.ChoiceField(NIC_TYPES, default="network")
    source = serializers.CharField(help_text="network name, host bridge, or host device (macvtap)")
    mode = serializers.ChoiceField(MACVTAP_MODES, required=False, help_text="macvtap mode")
    portgroup = serializers.CharField(required=False, allow_blank=True)
    model = serializers.CharField(required=False, default="virtio")
    mac = serializers.CharField(required=False, allow_blank=True,
                                help_text="leave empty for a free 52:54:00:… MAC")
    link_state = serializers.ChoiceField(LINK_STATES, required=False)
    inbound_average = serializers.IntegerField(required=False, min_value=0, help_text="KiB/s")
    outbound_average = serializers.IntegerField(required=False, min_value=0, help_text="KiB/s")


def _version_field():
    return serializers.CharField(
        required=False, help_text="the VM's `version` this change was planned against: a VM "
        "changed since (or with another change pending) answers 409 with the diff and the "
        "version to plan against")


class NICAddSerializer(NICSpecSerializer):
    version = _version_field()


class NICUpdateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(NIC_TYPES, required=False)
    source = serializers.CharField(required=False)
    mode = serializers.ChoiceField(MACVTAP_MODES, required=False)
    portgroup = serializers.CharField(required=False, allow_blank=True)
    model = serializers.CharField(required=False)
    mac = serializers.CharField(required=False)
    link_state = serializers.ChoiceField(LINK_STATES, required=False)
    inbound_average = serializers.IntegerField(required=False, min_value=0)
    outbound_average = serializers.IntegerField(required=False, min_value=0)
    version = _version_field()


class AddressSerializer(serializers.Serializer):
    ip = serializers.CharField()
    prefix = serializers.IntegerField(allow_null=True)
    family = serializers.CharField()
    source = serializers.CharField(help_text="lease, agent or arp")
    via = serializers.CharField(required=False, allow_blank=True, allow_null=True)


class DiskPathSerializer(serializers.Serializer):
    path = serializers.CharField()
    cdrom = serializers.BooleanField()


class NICSerializer(serializers.ModelSerializer):
    addresses = serializers.SerializerMethodField()

    class Meta:
        model = DomainInterface
        fields = ["mac", "type", "source", "mode", "portgroup", "model", "target", "link_state",
                  "stats", "moved_at", "addresses"]
        extra_kwargs = {"moved_at": {"help_text": "when the NIC last moved to another network, "
                                     "bridge or device (addresses learnt before no longer count)"}}

    @extend_schema_field(AddressSerializer(many=True))
    def get_addresses(self, nic):
        found = self.context.get("addresses")
        if found is None:
            found = addresses.for_vm(nic.domain)
        return found.get((nic.domain.host_id, nic.mac), [])


class VMSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vm-detail")
    host_name = serializers.CharField(source="host.name", read_only=True)
    memory_mib = serializers.IntegerField(read_only=True)
    nics = serializers.SerializerMethodField()
    disks = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField(
        help_text="the VM's networking definition's version (hash); send it with a NIC change "
                  "or delete so a change made meanwhile is refused (409) instead of overwritten")

    class Meta:
        model = Domain
        fields = ["id", "url", "host", "host_name", "owner", "name", "uuid", "version", "state",
                  "vcpus", "memory_mib", "persistent", "autostart", "nics", "disks"]
        read_only_fields = fields

    def get_version(self, vm) -> str:
        return versions.current_version(vm)

    @extend_schema_field(NICSerializer(many=True))
    def get_nics(self, vm):
        found = addresses.for_vm(vm)
        return NICSerializer(vm.nics.all(), many=True, context={**self.context, "addresses": found}).data

    @extend_schema_field(DiskPathSerializer(many=True))
    def get_disks(self, vm):
        return [{"path": p, "cdrom": c} for p, c in disk_paths(vm.xml)]


class VMCreateSerializer(serializers.Serializer):
    host = serializers.IntegerField()
    team = serializers.IntegerField(required=False, allow_null=True,
                                    help_text="the team that will own it; needed only when you "
                                              "operate for several teams")
    name = serializers.CharField(max_length=63)
    memory_mib = serializers.IntegerField(min_value=1)
    vcpus = serializers.IntegerField(min_value=1, default=1)
    disk = serializers.ChoiceField(DISK_CHOICES, default="none")
    pool = serializers.CharField(required=False, allow_blank=True)
    disk_gib = serializers.IntegerField(required=False, min_value=0)
    volume = serializers.CharField(required=False, allow_blank=True, help_text="existing volume path")
    boot = serializers.ChoiceField(BOOT_CHOICES, default="network")
    iso = serializers.CharField(required=False, allow_blank=True)
    kernel = serializers.CharField(required=False, allow_blank=True)
    initrd = serializers.CharField(required=False, allow_blank=True)
    cmdline = serializers.CharField(required=False, allow_blank=True)
    domain_type = serializers.ChoiceField(DOMAIN_TYPES, default="auto")
    display = serializers.ChoiceField(DISPLAY_CHOICES, default="vnc",
                                      help_text="vnc: listens on the host's 127.0.0.1 only")
    nics = NICSpecSerializer(many=True, required=False, default=list)
    guest_agent = serializers.BooleanField(
        default=True, help_text="add the qemu-guest-agent channel (org.qemu.guest_agent.0): "
                                "in-guest probes and the agent's addresses need it")
    start = serializers.BooleanField(default=True)


class VolumeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Volume
        fields = ["name", "path", "capacity", "allocation", "format"]


class PoolSerializer(serializers.ModelSerializer):
    volumes = VolumeSerializer(many=True, read_only=True)

    class Meta:
        model = StoragePool
        fields = ["id", "host", "name", "type", "path", "active", "capacity", "allocation",
                  "available", "volumes"]


class ShutdownSerializer(serializers.Serializer):
    timeout = serializers.IntegerField(required=False, min_value=1, max_value=600)


class HostRefSerializer(serializers.Serializer):
    host = serializers.IntegerField()


NIC_MODEL_CHOICES = NIC_MODELS


class OfferSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="e.g. bounce-link")
    title = serializers.CharField()
    href = serializers.CharField(help_text="the page where it is done")
    api = serializers.CharField(help_text="the API URL to POST to do it")


class NICChangeSerializer(OperationSerializer):
    """The accepted change (its Operation) with what to know before it lands: ``warnings``
    (what works in a surprising way: the macvtap host <-> guest blind spot, NAT isolation, a
    moved NIC keeping its old address) and ``offers`` (next steps, e.g. bounce the link)."""

    warnings = serializers.SerializerMethodField()
    offers = serializers.SerializerMethodField()

    class Meta(OperationSerializer.Meta):
        fields = OperationSerializer.Meta.fields + ["warnings", "offers"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, op):
        return self.context.get("warnings", [])

    @extend_schema_field(OfferSerializer(many=True))
    def get_offers(self, op):
        return self.context.get("offers", [])
