"""Who may see and change teams, members, grants, quotas, pools, the audit log and tokens: the
only place for the teams app (on kvmweb.access).

- Administrators (staff) create and delete teams and set grants, quotas and pools, and create
  users (Teams → Users).
- A team admin manages the team's members (not their own team's grants or quotas).
The pages (teams.views) and the API (teams.api.views, /api/teams/) ask the same functions.
- Members see their team's page (members, grants, quotas and usage, pools).
- The audit log: administrators see all; others see the operations they may see
  (operations.access) and the entries about their teams.
- Every user manages their own API tokens.
"""

from django.db.models import Q

from kvmweb import access as core
from kvmweb.access import (ADMIN, OWNING_TEAM_ADMIN, SELF, SIGNED_IN, TEAM_ADMIN, TEAM_MEMBER, Check,
                           is_admin, require)

from .models import AuditEntry, Team


def visible_teams(user):
    if is_admin(user):
        return Team.objects.all()
    return core.teams(user)


def can_manage_teams(user):
    return is_admin(user)


def require_manage_teams(user):
    require(can_manage_teams(user), "only administrators create teams and set grants, quotas "
                                    "and address pools")


def require_create_users(user):
    require(is_admin(user), "only administrators create users (a team admin adds existing "
                            "users to the team on its page)")


def can_manage_members(user, team):
    return is_admin(user) or team.pk in core.team_ids(user, TEAM_ADMIN)


def require_manage_members(user, team):
    require(can_manage_members(user, team),
            f"only administrators and team admins of {team} change its members")


def visible_audit_entries(user):
    if is_admin(user):
        return AuditEntry.objects.all()
    if not core.signed_in(user):
        return AuditEntry.objects.none()
    return AuditEntry.objects.filter(Q(team_id__in=core.team_ids(user)) | Q(user=user))


# Expected rules (kvmweb.access, tests/teams/test_matrix.py): the team is blue; member_pk is
# the viewer's membership; token pk is the operator's own token.
PERMISSIONS = {
    "teams:list": [Check(SIGNED_IN), Check(ADMIN, "POST", {"name": "newteam"})],
    "teams:audit": SIGNED_IN,
    "teams:users": [Check(ADMIN), Check(ADMIN, "POST", {"username": "newuser", "role": "viewer"})],
    "teams:tokens": [Check(SIGNED_IN), Check(SIGNED_IN, "POST", {"name": "t", "days": 1})],
    "teams:token_revoke": Check(SELF, "POST"),
    "teams:detail": TEAM_MEMBER,
    "teams:update": Check(ADMIN, "POST", {"name": "bluer"}),
    "teams:delete": Check(ADMIN, "POST"),
    "teams:quotas": Check(ADMIN, "POST", {"max_vms": 5}),
    "teams:member_set": Check(OWNING_TEAM_ADMIN, "POST", {"username": "other", "role": "viewer"}),
    "teams:member_remove": Check(OWNING_TEAM_ADMIN, "POST"),
    "teams:grant_set": Check(ADMIN, "POST", {"host": "{far}"}),
    "teams:grant_remove": Check(ADMIN, "POST"),
    "teams:pool_add": Check(ADMIN, "POST", {"cidr": "10.88.0.0/16", "prefix": 24}),
    "teams:pool_remove": Check(ADMIN, "POST"),
    "api:user-list": {"GET": ADMIN, "POST": Check(ADMIN, data={"username": "newuser"})},
    "api:team-list": {"GET": SIGNED_IN, "POST": Check(ADMIN, data={"name": "newteam"})},
    "api:team-detail": {"GET": TEAM_MEMBER, "PUT": Check(ADMIN, data={"name": "bluer"}),
                        "PATCH": Check(ADMIN, data={"description": "web"}), "DELETE": ADMIN},
    "api:team-members": {"POST": Check(OWNING_TEAM_ADMIN,
                                       data={"username": "other", "role": "viewer"})},
    "api:team-member": {"PATCH": Check(OWNING_TEAM_ADMIN, data={"role": "operator"}),
                        "DELETE": OWNING_TEAM_ADMIN},
    "api:team-grants": {"POST": Check(ADMIN, data={"host": "{far}", "bridges": ["br0"]})},
    "api:team-grant": {"DELETE": ADMIN},
    "api:team-quota": {"PATCH": Check(ADMIN, data={"max_vms": 5})},
    "api:team-pools": {"POST": Check(ADMIN, data={"cidr": "10.88.0.0/16", "prefix": 24})},
    "api:team-pool": {"DELETE": ADMIN},
}
