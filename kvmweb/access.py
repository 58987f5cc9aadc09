"""The shared core of authorization, one floor below the apps.

Every app's ``access.py`` is the one place that answers "may this user do this to this object"
for that app; they all build on these few facts: who is a global administrator (staff), which
teams a user is in and with what role, which hosts those teams were granted, and what those
grants let them attach to. Nothing here knows about networks or VMs.

A refusal is ``Refused`` (a PermissionDenied with a message that says why): pages answer 403
with the message (templates/403.html), the API answers 403 ``{"detail": message}``
(``api_exception_handler``), and because the check comes before any Operation is created,
nothing changes and nothing is enqueued.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from teams import choices
from teams.choices import OPERATOR, TEAM_ADMIN, VIEWER  # noqa: F401 - re-exported for apps
from teams.models import HostGrant, Membership, Team


class Refused(PermissionDenied):
    """The user may not do this; ``str(exc)`` says why (and, where it helps, how to get it)."""


def signed_in(user):
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_admin(user):
    """Staff are global administrators: every host, every object, host networking."""
    return signed_in(user) and (user.is_staff or user.is_superuser)


def require(allowed, message):
    if not allowed:
        raise Refused(message)


def team_ids(user, role=VIEWER):
    """Primary keys of the teams in which ``user`` has at least ``role``."""
    if not signed_in(user):
        return set()
    return set(Membership.objects.filter(user=user, role__in=choices.at_least(role))
               .values_list("team_id", flat=True))


def teams(user, role=VIEWER):
    return Team.objects.filter(pk__in=team_ids(user, role))


def granted_host_ids(user, role=VIEWER):
    """Hosts granted to a team in which ``user`` has at least ``role`` (a subquery)."""
    return HostGrant.objects.filter(
        team__memberships__user=user, team__memberships__role__in=choices.at_least(role)
    ).values("host_id")


def hosts_q(user, role=VIEWER, field="host"):
    """A filter for objects whose ``field`` is a host the user may see (or act on with
    ``role``). Admins: everything. Anonymous: nothing."""
    if is_admin(user):
        return Q()
    if not signed_in(user):
        return Q(pk__in=[])
    return Q(**{f"{field}__in": granted_host_ids(user, role)})


def owned_q(user, role=VIEWER, field="owner"):
    """Objects owned by one of the user's teams (with at least ``role``)."""
    if is_admin(user):
        return Q()
    return Q(**{f"{field}__in": team_ids(user, role)})


def visible_q(user, host_field="host", owner_field="owner"):
    """What a user sees of team-owned objects: on a granted host, and either unowned (synced,
    or made by an administrator) or owned by one of the user's teams. Another team's objects on
    a shared host stay invisible."""
    if is_admin(user):
        return Q()
    return hosts_q(user, field=host_field) & (
        Q(**{f"{owner_field}__isnull": True}) | owned_q(user, field=owner_field))


def operator_teams_on(user, host_id):
    """The teams that let ``user`` create things on this host (operator or team admin)."""
    return Team.objects.filter(pk__in=team_ids(user, OPERATOR), grants__host_id=host_id)


def creating_teams(user):
    """Teams a new network or VM may be made for (form choices): any for administrators, else
    the user's operator teams (``acting_team`` checks the host's grant on submit)."""
    return Team.objects.all() if is_admin(user) else teams(user, OPERATOR)


def acting_team(user, host, team=None):
    """The team a new network or VM on ``host`` will belong to. Administrators may name any
    team or none (an admin-owned object); others act for one of their operator teams granted
    this host, which they must name when there are several."""
    if is_admin(user):
        return team
    mine = list(operator_teams_on(user, host.pk))
    if team is not None:
        require(any(t.pk == team.pk for t in mine),
                f"you are not an operator of team {team} on host {host}")
        return team
    require(mine, f"none of your teams may create anything on host {host}: ask an "
                  "administrator for the operator role in a team that was granted it")
    require(len(mine) == 1, "you are an operator of several teams here ("
                            + ", ".join(t.name for t in mine) + "): choose the team")
    return mine[0]


def may_change_owned(user, obj):
    """Whether ``user`` may change a team-owned object (``obj.owner``, ``obj.host``):
    administrators, or operators of the owning team while it holds a grant on the host.
    Unowned objects (found by a sync) are for administrators only."""
    if is_admin(user):
        return True
    return (obj.owner_id is not None and obj.owner_id in team_ids(user, OPERATOR)
            and operator_teams_on(user, obj.host_id).filter(pk=obj.owner_id).exists())


def require_change_owned(user, obj, what):
    """Refused, saying whose ``what`` it is, unless ``may_change_owned``."""
    if may_change_owned(user, obj):
        return
    if obj.owner_id is None:
        raise Refused(f"{what} on {obj.host} belongs to no team: only administrators change it")
    raise Refused(f"only administrators and operators of team {obj.owner} change {what}")


def grants_on(user, host_id, role=OPERATOR):
    return HostGrant.objects.filter(host_id=host_id, team_id__in=team_ids(user, role))


def may_use_shared(user, host_id, kind, name):
    """Whether one of the user's operator teams' grants on this host names this network
    (kind "networks") or host bridge (kind "bridges")."""
    return any(name in (getattr(g, kind) or []) for g in grants_on(user, host_id))


def api_exception_handler(exc, context):
    """DRF's handler, but a Refused keeps its message (DRF would replace it with a generic one)."""
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    from .conflicts import Conflict

    if isinstance(exc, Refused):
        return Response({"detail": str(exc)}, status=getattr(exc, "status_code", 403))
    if isinstance(exc, Conflict):
        return Response(exc.body, status=409)
    return exception_handler(exc, context)


# -- the permission matrix -------------------------------------------------------------------
#
# Every URL (page, API action per HTTP method) and every websocket group kind has an expected
# rule, declared next to the code in its app's access module as ``PERMISSIONS``:
#   {"url name": KIND}                       a page, checked with GET
#   {"url name": Check(KIND, "POST", ...)}   a page, checked with POST (and data, kwargs)
#   {"url name": [Check(...), ...]}          several checks (e.g. per action)
#   {"api:x-y": {"GET": KIND, "POST": Check(KIND, data={...})}}   an API route, per method
#   {"ws:<group kind>": KIND}                who may follow ``<kind>.<pk>`` (kvmweb.consumers)
# tests/teams/test_matrix.py walks kvmweb/urls.py and the DRF router and fails for any URL,
# method or group kind without a rule. KIND is who may (the objects in the test belong to team
# blue on a host granted to teams blue and red):
PUBLIC = "public"                # anyone, even anonymous (login)
SIGNED_IN = "signed_in"          # every signed-in user (lists filter what they show)
HOST_MEMBER = "host_member"      # members of a team granted the host (any team)
HOST_OPERATOR = "host_operator"  # operators of a team granted the host (any team)
TEAM_MEMBER = "team_member"      # members of the team that owns the object
TEAM_OPERATOR = "team_operator"  # operators (and team admins) of the owning team
OWNING_TEAM_ADMIN = "team_admin"  # team admins of the team
ADMIN = "admin"                  # administrators (staff) only
SELF = "self"                    # only the user the object belongs to (an API token)
SELF_OR_ADMIN = "self_or_admin"  # that user and administrators (a console session record)
MONITORING = "monitoring"        # no user: a monitoring token or address (health.access)


class Check:
    def __init__(self, kind, /, method="GET", data=None, **kwargs):
        self.kind, self.method, self.data, self.kwargs = kind, method, data, kwargs

    def __repr__(self):
        return f"{self.method} {self.kind} {self.kwargs or ''}"


PERMISSIONS = {
    "/": SIGNED_IN,  # the redirect to the hosts list (a URL without a name)
    "login": PUBLIC,
    "logout": Check(SIGNED_IN, "POST"),
    "api:api-root": SIGNED_IN,
    "schema": SIGNED_IN,
    "api-docs": SIGNED_IN,
    "admin:index": ADMIN,  # the rest of the Django admin is Django's own staff check
}
