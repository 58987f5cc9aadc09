"""Changes to teams and users, recorded in the audit log (teams.models.AuditEntry). Host
changes are Operations and are their own audit record."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.forms.models import model_to_dict

from . import choices
from .models import AuditEntry, HostGrant, Membership, Team


def record(user, action, team=None, target="", before=None, after=None, host_name=""):
    return AuditEntry.objects.create(
        user=user if user and user.is_authenticated else None,
        username=user.get_username() if user and user.is_authenticated else "",
        team=team, team_name=team.name if team else "", host_name=host_name, action=action,
        target=target, before=before or {}, after=after or {})


def _quotas(team):
    return {name: getattr(team, name) for name, _, _ in choices.QUOTAS}


@transaction.atomic
def create_team(user, name, description=""):
    team = Team.objects.create(name=name, description=description)
    record(user, "team.create", team, team.name, after={"name": name, "description": description})
    return team


@transaction.atomic
def update_team(user, team, **values):
    """Rename a team or change its description (``name``, ``description``)."""
    before = {k: getattr(team, k) for k in values}
    for name, value in values.items():
        setattr(team, name, value)
    team.save()
    record(user, "team.update", team, team.name, before=before, after=values)
    return team


@transaction.atomic
def delete_team(user, team):
    record(user, "team.delete", None, team.name, before={"name": team.name})
    team.delete()


@transaction.atomic
def set_quotas(user, team, values):
    before = _quotas(team)
    for name, value in values.items():
        setattr(team, name, value)
    team.save()
    record(user, "team.quota", team, team.name, before=before, after=_quotas(team))


@transaction.atomic
def set_member(user, team, member, role):
    membership, created = Membership.objects.get_or_create(team=team, user=member,
                                                           defaults={"role": role})
    before = {} if created else {"role": membership.role}
    membership.role = role
    membership.save()
    record(user, "team.member", team, member.get_username(), before=before, after={"role": role})
    return membership


@transaction.atomic
def remove_member(user, membership):
    record(user, "team.member.remove", membership.team, membership.user.get_username(),
           before={"role": membership.role})
    membership.delete()


@transaction.atomic
def create_user(user, username, email="", password="", is_staff=False, team=None,
                role=choices.VIEWER):
    """A new user (administrators; the caller checks), audited as ``user.create``, and made a
    member of ``team`` with ``role`` when one is given (audited as ``team.member``). An empty
    ``password`` is generated. Returns (the user, the generated password or "" when one was
    given): a generated password is shown once and stored only hashed."""
    generated = "" if password else secrets.token_urlsafe(12)
    new = get_user_model().objects.create_user(username, email or "", password or generated,
                                               is_staff=bool(is_staff))
    record(user, "user.create", None, f"user:{username}",
           after={"username": username, "email": email or "", "is_staff": bool(is_staff),
                  "password": "generated" if generated else "set"})
    if team is not None:
        set_member(user, team, new, role)
    return new, generated


def _grant_dict(grant):
    return {"networks": grant.networks, "bridges": grant.bridges}


@transaction.atomic
def set_grant(user, team, host, networks=(), bridges=()):
    grant, created = HostGrant.objects.get_or_create(team=team, host=host)
    before = {} if created else _grant_dict(grant)
    grant.networks, grant.bridges = list(networks), list(bridges)
    grant.save()
    record(user, "team.grant", team, f"host:{host.name}", before=before,
           after=_grant_dict(grant), host_name=host.name)
    return grant


@transaction.atomic
def remove_grant(user, grant):
    record(user, "team.grant.remove", grant.team, f"host:{grant.host.name}",
           before=_grant_dict(grant), host_name=grant.host.name)
    grant.delete()


@transaction.atomic
def add_pool(user, pool):
    pool.save()
    record(user, "team.pool", pool.team, pool.cidr, after=model_to_dict(pool, ["cidr", "prefix"]))
    return pool


@transaction.atomic
def remove_pool(user, pool):
    record(user, "team.pool.remove", pool.team, pool.cidr,
           before=model_to_dict(pool, ["cidr", "prefix"]))
    pool.delete()


def pool_usage(pool):
    """The team networks whose subnet lies in ``pool``: [(network, subnet)], for the pool page."""
    import ipaddress

    rows = []
    for net in pool.team.networks.select_related("host"):
        for text in net.subnets:
            subnet = ipaddress.ip_network(text, strict=False)
            if subnet.version == 4 and subnet.subnet_of(pool.network):
                rows.append((net, text))
    return rows


def issue_token(user, name, expires=None):
    from .models import ApiToken

    token, secret = ApiToken.issue(user, name, expires)
    record(user, "token.create", None, f"token:{token.name}",
           after={"expires": expires.isoformat() if expires else None})
    return token, secret


def revoke_token(user, token):
    from django.utils import timezone

    token.revoked = timezone.now()
    token.save(update_fields=["revoked"])
    record(user, "token.revoke", None, f"token:{token.name}")
