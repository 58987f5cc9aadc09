"""What /api/topology/ takes and returns (so it is in /api/schema/)."""

from rest_framework import serializers

from .. import choices as C

PK_MAX = 2 ** 31 - 1  # larger numbers name nothing (and overflow some databases' integers)


class FocusQuerySerializer(serializers.Serializer):
    """At most one of host, network, vm (primary keys); none: every host the user may see."""

    host = serializers.IntegerField(required=False, min_value=1, max_value=PK_MAX)
    network = serializers.IntegerField(required=False, min_value=1, max_value=PK_MAX)
    vm = serializers.IntegerField(required=False, min_value=1, max_value=PK_MAX)

    def validate(self, attrs):
        if len(attrs) > 1:
            raise serializers.ValidationError("give at most one of host, network, vm")
        return attrs


class ElementSerializer(serializers.Serializer):
    """A Cytoscape element: {"data": {"id", "kind", "label", "host", ...}}; edges also have
    "source" and "target". Kinds: nodes """ + ", ".join(C.NODE_KINDS) + "; edges " + ", ".join(
        C.EDGE_KINDS) + "."

    data = serializers.DictField()


class CompactElementSerializer(serializers.Serializer):
    """A Cytoscape element as GET /api/topology/ sends it: like a delta's, but keys whose value
    is null, false, an empty string or an empty list are left out ("id", "kind", "label",
    "host", and an edge's "source" and "target" are always there). Kinds: nodes """ + ", ".join(
        C.NODE_KINDS) + "; edges " + ", ".join(C.EDGE_KINDS) + "."

    data = serializers.DictField(help_text="a missing key means null / false / empty")


class GraphSerializer(serializers.Serializer):
    focus = serializers.DictField(help_text='{"kind": "all"|"host"|"network"|"vm", "host", "key"}')
    versions = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="host pk -> version of that host's part: deltas apply to exactly this")
    nodes = CompactElementSerializer(many=True, help_text="in no particular order")
    edges = CompactElementSerializer(many=True, help_text="in no particular order")


class DeltaQuerySerializer(serializers.Serializer):
    host = serializers.IntegerField(min_value=1, max_value=PK_MAX)
    since = serializers.IntegerField(min_value=0, max_value=2 ** 63 - 1,
                                     help_text="the version the client has")


class DeltaSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    base = serializers.IntegerField()
    add_nodes = ElementSerializer(many=True)
    add_edges = ElementSerializer(many=True)
    remove = serializers.ListField(child=serializers.CharField())
    change = serializers.ListField(child=serializers.DictField(),
                                   help_text='[{"id": ..., "data": {changed keys}}]')


class DeltaListSerializer(serializers.Serializer):
    host = serializers.IntegerField()
    version = serializers.IntegerField()
    deltas = DeltaSerializer(many=True)


class PathQuerySerializer(serializers.Serializer):
    a = serializers.CharField(max_length=300, help_text="a node id, e.g. nic:1:<uuid>:<mac>")
    b = serializers.CharField(max_length=300)


class PathSerializer(serializers.Serializer):
    path = serializers.ListField(
        child=serializers.CharField(),
        help_text="node, edge, node, ... ids from a to b; empty when they are not joined")
