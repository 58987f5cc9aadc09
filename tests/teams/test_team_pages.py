"""Team pages: administrators set up teams, grants, quotas and pools (each change audited);
team admins manage members only; members read; tokens are shown once and stored hashed; logins
are throttled."""

import pytest
from django.test import Client

from teams.models import AddressPool, ApiToken, AuditEntry, HostGrant, Membership, Team

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_an_administrator_sets_up_a_team(world):
    staff = signed_in(world.users["staff"])
    response = staff.post("/teams/", {"name": "green", "description": "web"})
    team = Team.objects.get(name="green")
    assert response.status_code == 302 and response.url == f"/teams/{team.pk}/"
    assert staff.post(f"/teams/{team.pk}/members/", {"username": "viewer", "role": "operator"}).status_code == 302
    assert staff.post(f"/teams/{team.pk}/grants/", {"host": world.host.pk, "bridges": "br0"}).status_code == 302
    assert staff.post(f"/teams/{team.pk}/quotas/", {"max_networks": 2, "max_vms": 3}).status_code == 302
    assert staff.post(f"/teams/{team.pk}/pools/", {"cidr": "10.30.0.0/16", "prefix": 24}).status_code == 302
    team.refresh_from_db()
    assert (team.max_networks, team.max_vms, team.max_vcpus) == (2, 3, None)
    assert HostGrant.objects.get(team=team).bridges == ["br0"]
    assert Membership.objects.get(team=team).role == "operator"
    assert AddressPool.objects.get(team=team).cidr == "10.30.0.0/16"
    actions = set(AuditEntry.objects.filter(team=team).values_list("action", flat=True))
    assert actions == {"team.create", "team.member", "team.grant", "team.quota", "team.pool"}
    quota = AuditEntry.objects.get(action="team.quota")
    assert quota.before["max_networks"] is None and quota.after["max_networks"] == 2
    page = staff.get(f"/teams/{team.pk}/").content.decode()
    assert "10.30.0.0/16" in page and "kvm1" in page


def test_a_pool_overlapping_another_is_refused(world):
    AddressPool.objects.create(team=world.red, cidr="10.20.0.0/16")
    staff = signed_in(world.users["staff"])
    response = staff.post(f"/teams/{world.blue.pk}/pools/", {"cidr": "10.20.128.0/17", "prefix": 24})
    assert response.status_code == 200 and "overlaps pool 10.20.0.0/16" in response.content.decode()
    assert not world.blue.pools.exists()


def test_a_team_admin_manages_members_but_not_grants_or_quotas(world):
    teamadmin = signed_in(world.users["teamadmin"])
    assert teamadmin.post(f"/teams/{world.blue.pk}/members/",
                          {"username": "other", "role": "viewer"}).status_code == 302
    assert world.blue.memberships.filter(user__username="other").exists()
    before = AuditEntry.objects.count()
    for url, data in ((f"/teams/{world.blue.pk}/quotas/", {"max_vms": 99}),
                      (f"/teams/{world.blue.pk}/grants/", {"host": world.far.pk}),
                      (f"/teams/{world.blue.pk}/pools/", {"cidr": "10.99.0.0/16", "prefix": 24}),
                      ("/teams/", {"name": "mine"})):
        response = teamadmin.post(url, data)
        assert response.status_code == 403 and "only administrators" in response.content.decode()
    assert AuditEntry.objects.count() == before
    assert not world.blue.grants.filter(host=world.far).exists()


def test_members_read_their_team_and_nobody_elses(world):
    viewer = signed_in(world.users["viewer"])
    assert viewer.get(f"/teams/{world.blue.pk}/").status_code == 200
    assert viewer.get(f"/teams/{world.red.pk}/").status_code == 404
    assert viewer.post(f"/teams/{world.blue.pk}/members/",
                       {"username": "viewer", "role": "admin"}).status_code == 403
    assert world.blue.memberships.get(user__username="viewer").role == "viewer"


def test_a_token_is_shown_once_stored_hashed_and_revocable(world):
    operator = signed_in(world.users["operator"])
    page = operator.post("/teams/tokens/", {"name": "ci", "days": 30}).content.decode()
    token = ApiToken.objects.get(name="ci")
    secret = page.split('id="token-secret">')[1].split("<")[0]
    assert secret.startswith("kvw_") and secret not in token.digest and len(token.digest) == 64
    assert secret not in operator.get("/teams/tokens/").content.decode()  # only once
    api = Client()
    assert api.get("/api/vms/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 200
    assert api.get("/api/vms/", HTTP_AUTHORIZATION=f"Token {secret}x").status_code == 401
    assert operator.post(f"/teams/tokens/{token.pk}/revoke/").status_code == 302
    assert api.get("/api/vms/", HTTP_AUTHORIZATION=f"Token {secret}").status_code == 401


def test_an_expired_token_is_refused(world):
    from datetime import timedelta

    from django.utils import timezone

    _, secret = ApiToken.issue(world.users["operator"], "old", timezone.now() - timedelta(seconds=1))
    assert Client().get("/api/vms/", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401


def test_logins_are_throttled_after_repeated_failures(world, settings):
    settings.KVMWEB_LOGIN_FAILURES = 3
    client = Client()
    for _ in range(3):
        response = client.post("/login/", {"username": "operator", "password": "wrong"})
        assert "Too many" not in response.content.decode()
    response = client.post("/login/", {"username": "operator", "password": "operator-pass-123"})
    assert response.status_code == 200 and "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_audit_log_searches_shows_the_xml_diff_and_outlives_the_host(world):
    from operations.models import Operation

    ops = dict(user=world.users["operator"], host=world.host, host_name="kvm1",
               action="network.update", xml_before="<network>\n  <mtu size='1500'/>\n</network>",
               xml_after="<network>\n  <mtu size='9000'/>\n</network>")
    Operation.objects.create(team=world.blue, target="network:bluenet", **ops)
    Operation.objects.create(team=world.red, target="network:rednet", **ops)
    viewer = signed_in(world.users["viewer"])
    page = viewer.get("/teams/audit/?object=net&user=oper").content.decode()
    assert "network:bluenet" in page and "network:rednet" not in page  # red's is not blue's
    assert "+  &lt;mtu size=&#x27;9000&#x27;/&gt;" in page and "-  &lt;mtu size=&#x27;1500&#x27;/&gt;" in page
    assert "network:bluenet" not in viewer.get("/teams/audit/?user=nobody").content.decode()
    staff = signed_in(world.users["staff"])
    assert staff.post(f"/hosts/{world.host.pk}/delete/").status_code == 302
    assert Operation.objects.filter(host__isnull=True, host_name="kvm1").count() == 2
    page = staff.get("/teams/audit/?host=kvm1&team=red").content.decode()
    assert "network:rednet" in page and "network:bluenet" not in page
    page = staff.get("/teams/audit/?host=kvm1&user=staff").content.decode()
    assert 'data-audit-action="host.remove"' in page and "host:kvm1" in page


def test_an_administrator_renames_a_team_on_its_page(world):
    staff = signed_in(world.users["staff"])
    url = f"/teams/{world.blue.pk}/edit/"
    taken = staff.post(url, {"name": "RED"})
    assert taken.status_code == 200 and "exists already" in taken.content.decode()
    assert staff.post(url, {"name": "Blue", "description": "web"}).status_code == 302
    world.blue.refresh_from_db()
    assert (world.blue.name, world.blue.description) == ("Blue", "web")
    entry = AuditEntry.objects.get(action="team.update")
    assert entry.before == {"name": "blue", "description": ""} and entry.after["name"] == "Blue"
    response = signed_in(world.users["teamadmin"]).post(url, {"name": "mine"})
    assert response.status_code == 403
