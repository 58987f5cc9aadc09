"""Who may see and decide drift: the rules of the drifted object's own app. Viewers of a network
or VM see its drift; accept and re-apply need the right to change that network or VM."""

from django.db.models import Q

from kvmweb.access import SIGNED_IN, TEAM_MEMBER, TEAM_OPERATOR, Check, Refused
from networks.access import can_change_network, visible_networks
from networks.models import Network
from vms.access import can_change_vm, visible_vms
from vms.models import Domain

from . import choices
from .models import Drift


def _visible_q(user):
    # One condition per host (an OR per object would pass SQLite's expression depth limit
    # with a few hundred visible VMs).
    targets = {}
    for host_id, name in visible_networks(user).values_list("host_id", "name"):
        targets.setdefault(host_id, []).append(f"network:{name}")
    for host_id, uuid in visible_vms(user).values_list("host_id", "uuid"):
        targets.setdefault(host_id, []).append(f"domain:{uuid}")
    q = Q(pk__in=[])
    for host_id, names in targets.items():
        q |= Q(host_id=host_id, target__in=names)
    return q


def visible_drifts(user):
    """Drift of the networks and VMs ``user`` may see (of objects gone since: staff only)."""
    qs = Drift.objects.select_related("host", "decided_by", "operation")
    if user.is_staff or user.is_superuser:
        return qs
    return qs.filter(_visible_q(user))


def drifted_object(drift):
    """The network or VM row the drift is about (None when it is gone from the read model)."""
    key = drift.target.split(":", 1)[1]
    if drift.kind == choices.NETWORK:
        return Network.objects.filter(host_id=drift.host_id, name=key).first()
    return Domain.objects.filter(host_id=drift.host_id, uuid=key).first()


def can_decide(user, drift):
    obj = drifted_object(drift)
    if obj is None:
        return bool(user.is_staff or user.is_superuser)
    if drift.kind == choices.NETWORK:
        return can_change_network(user, obj)
    return can_change_vm(user, obj)


def require_decide(user, drift):
    if not can_decide(user, drift):
        raise Refused(f"only those who may change {drift.name} accept or re-apply its drift")


PERMISSIONS = {
    "drift:list": SIGNED_IN,
    "drift:detail": TEAM_MEMBER,
    "drift:accept": Check(TEAM_OPERATOR, "POST"),
    "drift:reapply": Check(TEAM_OPERATOR, "POST"),
    "api:drift-list": {"GET": SIGNED_IN},
    "api:drift-detail": {"GET": TEAM_MEMBER},
    "api:drift-accept": {"POST": TEAM_OPERATOR},
    "api:drift-reapply": {"POST": TEAM_OPERATOR},
}
