"""Pages: teams (members, host grants, quotas with usage, address pools with what uses them),
users (administrators create them), the audit log, and the user's API tokens. They read and
write the database only."""

import difflib
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hosts.models import Host
from operations.access import visible_operations

from . import quotas, services
from .access import (can_manage_members, can_manage_teams, require_create_users,
                     require_manage_members, require_manage_teams, visible_audit_entries,
                     visible_teams)
from .forms import (GrantForm, MemberForm, PoolForm, QuotaForm, TeamForm, TokenForm,
                    UserCreateForm)


def team_list(request):
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        require_manage_teams(request.user)
        if form.is_valid():
            team = services.create_team(request.user, form.cleaned_data["name"],
                                        form.cleaned_data["description"])
            messages.success(request, f"Team {team} created.")
            return redirect(team)
    teams = visible_teams(request.user).prefetch_related("memberships", "grants__host")
    return render(request, "teams/list.html", {
        "teams": teams, "form": form, "can_manage": can_manage_teams(request.user)})


def _team(request, pk):
    return get_object_or_404(visible_teams(request.user), pk=pk)


def team_detail(request, pk, forms=None):
    team = _team(request, pk)
    forms = forms or {}
    pools = [(pool, services.pool_usage(pool)) for pool in team.pools.all()]
    return render(request, "teams/detail.html", {
        "team": team,
        "members": team.memberships.select_related("user"),
        "grants": team.grants.select_related("host"),
        "quota_rows": quotas.rows(team),
        "pools": pools,
        "can_manage": can_manage_teams(request.user),
        "can_manage_members": can_manage_members(request.user, team),
        "team_form": forms.get("team") or TeamForm(
            team=team, initial={"name": team.name, "description": team.description}),
        "member_form": forms.get("member") or MemberForm(),
        "grant_form": forms.get("grant") or GrantForm(hosts=Host.objects.all()),
        "quota_form": forms.get("quota") or QuotaForm(instance=team),
        "pool_form": forms.get("pool") or PoolForm(team=team),
    })


@require_POST
def team_update(request, pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    form = TeamForm(request.POST, team=team)
    if not form.is_valid():
        return team_detail(request, pk, {"team": form})
    services.update_team(request.user, team, name=form.cleaned_data["name"],
                         description=form.cleaned_data["description"])
    messages.success(request, f"Team {team} saved.")
    return redirect(team)


@require_POST
def team_delete(request, pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    services.delete_team(request.user, team)
    messages.info(request, f"Team {team.name} deleted; its networks and VMs now belong to no "
                           "team (administrators only).")
    return redirect("teams:list")


@require_POST
def team_quotas(request, pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    form = QuotaForm(request.POST)  # validated apart; services saves and audits the change
    if not form.is_valid():
        return team_detail(request, pk, {"quota": form})
    services.set_quotas(request.user, team, {k: form.cleaned_data[k] for k in form.fields})
    messages.success(request, "Quotas saved.")
    return redirect(team)


@require_POST
def member_set(request, pk):
    team = _team(request, pk)
    require_manage_members(request.user, team)
    form = MemberForm(request.POST)
    if not form.is_valid():
        return team_detail(request, pk, {"member": form})
    services.set_member(request.user, team, form.cleaned_data["username"], form.cleaned_data["role"])
    messages.success(request, f"{form.cleaned_data['username']} is {form.cleaned_data['role']} "
                              f"of {team}.")
    return redirect(team)


@require_POST
def member_remove(request, pk, member_pk):
    team = _team(request, pk)
    require_manage_members(request.user, team)
    services.remove_member(request.user, get_object_or_404(team.memberships, pk=member_pk))
    return redirect(team)


@require_POST
def grant_set(request, pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    form = GrantForm(request.POST, hosts=Host.objects.all())
    if not form.is_valid():
        return team_detail(request, pk, {"grant": form})
    data = form.cleaned_data
    services.set_grant(request.user, team, data["host"], data["networks"], data["bridges"])
    messages.success(request, f"{team} may use {data['host']}.")
    return redirect(team)


@require_POST
def grant_remove(request, pk, grant_pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    services.remove_grant(request.user, get_object_or_404(team.grants, pk=grant_pk))
    return redirect(team)


@require_POST
def pool_add(request, pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    form = PoolForm(request.POST, team=team)
    if not form.is_valid():
        return team_detail(request, pk, {"pool": form})
    services.add_pool(request.user, form.instance)
    messages.success(request, f"Pool {form.instance.cidr} added.")
    return redirect(team)


@require_POST
def pool_remove(request, pk, pool_pk):
    require_manage_teams(request.user)
    team = _team(request, pk)
    services.remove_pool(request.user, get_object_or_404(team.pools, pk=pool_pk))
    return redirect(team)


# -- users (administrators) -------------------------------------------------------------------

def users(request):
    """Every user with their teams, and the form that makes one (administrators only: team
    admins add existing users to their team on its page)."""
    require_create_users(request.user)
    team = request.GET.get("team", "")
    form = UserCreateForm(request.POST or None,
                          initial={"team": team} if team.isdigit() else None)
    created = password = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created, password = services.create_user(
            request.user, data["username"], data["email"], data["password"], data["is_staff"],
            data["team"], data["role"])
        team = f" and added to team {data['team']} as {data['role']}" if data["team"] else ""
        messages.success(request, f"User {created.username} created{team}.")
        form = UserCreateForm()
    people = get_user_model().objects.order_by("username").prefetch_related("memberships__team")
    return render(request, "teams/users.html", {
        "people": people, "form": form, "created": created, "password": password})


# -- audit ----------------------------------------------------------------------------------

def xml_diff(before, after):
    """Unified diff lines of two XML texts (empty when neither is set)."""
    if not before and not after:
        return []
    return list(difflib.unified_diff((before or "").splitlines(), (after or "").splitlines(),
                                     "before", "after", lineterm="", n=2))


# query parameter -> the fields it searches (the same names on Operation and AuditEntry,
# except the user and team names, which an Operation reaches through its foreign keys).
AUDIT_FILTERS = {
    "user": (("user__username",), ("username",)),
    "team": (("team__name",), ("team_name",)),
    "host": (("host_name",), ("host_name",)),
    "object": (("target", "action"), ("target", "action")),
}


def _search(request, which):
    q = Q()
    for param, fields in AUDIT_FILTERS.items():
        value = request.GET.get(param, "").strip()
        if value:
            any_field = Q()
            for name in fields[which]:
                any_field |= Q(**{f"{name}__icontains": value})
            q &= any_field
    return q


def audit(request):
    ops = visible_operations(request.user).filter(_search(request, 0)).select_related("user", "team")
    entries = visible_audit_entries(request.user).filter(_search(request, 1))
    rows = [{"when": op.created, "user": op.user.username if op.user else "", "team": op.team,
             "host": op.host_name, "action": op.action, "target": op.target, "op": op,
             "status": op.get_status_display(), "diff": xml_diff(op.xml_before, op.xml_after)}
            for op in ops.order_by("-created")[:200]]
    rows += [{"when": e.created, "user": e.username, "team": e.team_name, "host": e.host_name,
              "action": e.action, "target": e.target, "entry": e,
              "diff": [f"{k}: {e.before.get(k)!r} -> {e.after.get(k)!r}"
                       for k in sorted(set(e.before) | set(e.after))
                       if e.before.get(k) != e.after.get(k)]}
             for e in entries[:200]]
    rows.sort(key=lambda r: r["when"], reverse=True)
    return render(request, "teams/audit.html", {"rows": rows[:200], "query": request.GET})


# -- the user's API tokens ---------------------------------------------------------------------

def tokens(request):
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data.get("days")
        expires = timezone.now() + timedelta(days=days) if days else None
        _, secret = services.issue_token(request.user, form.cleaned_data["name"], expires)
        form = TokenForm()
    return render(request, "teams/tokens.html", {
        "tokens": request.user.api_tokens.all(), "form": form, "secret": secret,
        "memberships": request.user.memberships.select_related("team")})


@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(request.user.api_tokens.filter(revoked__isnull=True), pk=pk)
    services.revoke_token(request.user, token)
    messages.info(request, f"Token {token.name} revoked.")
    return redirect("teams:tokens")
