"""/api/teams/: administrators set teams up through the API as on the pages (same services,
same audit entries, and the page shows it); team admins manage members only; others only read
their own teams; bad input is a 400 that changes nothing."""

import pytest
from django.test import Client

from teams.models import AddressPool, AuditEntry, HostGrant, Membership, Team

pytestmark = pytest.mark.django_db


def test_an_administrator_sets_up_a_team_and_its_page_shows_it(world, api):
    staff = api("staff")
    response = staff.post("/api/teams/", {"name": "green", "description": "web"}, format="json")
    assert response.status_code == 201, response.content
    team = Team.objects.get(name="green")
    base = f"/api/teams/{team.pk}/"
    assert response.json()["url"].endswith(base)
    assert staff.post(base + "members/", {"username": "viewer", "role": "operator"},
                      format="json").status_code == 201
    grant = staff.post(base + "grants/", {"host": world.host.pk, "bridges": ["br0"],
                                          "networks": ["default"]}, format="json")
    assert grant.status_code == 200 and grant.json()["host_name"] == "kvm1"
    quota = staff.patch(base + "quota/", {"max_networks": 2, "max_vms": 3}, format="json")
    assert quota.status_code == 200
    assert {r["name"]: r["allowed"] for r in quota.json()}["max_vms"] == 3
    assert staff.post(base + "pools/", {"cidr": "10.30.0.0/16", "prefix": 24},
                      format="json").status_code == 201
    assert staff.patch(base, {"name": "emerald"}, format="json").json()["name"] == "emerald"

    team.refresh_from_db()
    assert (team.name, team.max_networks, team.max_vms, team.max_vcpus) == ("emerald", 2, 3, None)
    assert HostGrant.objects.get(team=team).bridges == ["br0"]
    assert Membership.objects.get(team=team).role == "operator"
    assert AddressPool.objects.get(team=team).cidr == "10.30.0.0/16"
    actions = sorted(AuditEntry.objects.filter(team=team).values_list("action", flat=True))
    assert actions == sorted(["team.create", "team.member", "team.grant", "team.quota",
                              "team.pool", "team.update"])
    assert AuditEntry.objects.get(action="team.update").before == {"name": "green"}

    page = Client()
    page.force_login(world.users["staff"])
    html = page.get(f"/teams/{team.pk}/").content.decode()
    assert "emerald" in html and "10.30.0.0/16" in html and "kvm1" in html and "br0" in html

    body = staff.get(base).json()
    assert [m["username"] for m in body["members"]] == ["viewer"]
    assert body["grants"][0]["bridges"] == ["br0"]


def test_a_team_reads_as_its_page_shows_it(world, api):
    world.blue.max_networks = 4
    world.blue.save()
    AddressPool.objects.create(team=world.blue, cidr="10.20.0.0/16")
    body = api("viewer").get(f"/api/teams/{world.blue.pk}/").json()
    assert {m["username"]: m["role"] for m in body["members"]} == {
        "viewer": "viewer", "operator": "operator", "teamadmin": "admin"}
    quota = {r["name"]: (r["used"], r["allowed"]) for r in body["quota"]}
    assert quota["max_networks"] == (1, 4) and quota["max_vms"] == (1, None)
    assert quota["max_addresses"] == (256, None)  # bluenet's 10.20.0.0/24
    [pool] = body["pools"]
    assert pool["used"] == [{"subnet": "10.20.0.0/24", "network": world.bluenet.pk,
                             "network_name": "bluenet", "host_name": "kvm1"}]
    assert body["grants"][0]["host"] == world.host.pk


def test_a_team_admin_manages_members_but_not_grants_or_quotas(world, api):
    teamadmin, base = api("teamadmin"), f"/api/teams/{world.blue.pk}/"
    added = teamadmin.post(base + "members/", {"username": "other", "role": "viewer"},
                           format="json")
    assert added.status_code == 201 and added.json()["username"] == "other"
    member = added.json()["id"]
    assert teamadmin.patch(f"{base}members/{member}/", {"role": "operator"},
                           format="json").json()["role"] == "operator"
    assert teamadmin.delete(f"{base}members/{member}/").status_code == 204
    assert not world.blue.memberships.filter(user__username="other").exists()
    assert list(AuditEntry.objects.filter(team=world.blue).values_list("action", flat=True)) == [
        "team.member.remove", "team.member", "team.member"]

    before = AuditEntry.objects.count()
    grant = world.blue.grants.get()
    for method, url, data in (("patch", base + "quota/", {"max_vms": 99}),
                              ("post", base + "grants/", {"host": world.far.pk}),
                              ("delete", f"{base}grants/{grant.pk}/", None),
                              ("post", base + "pools/", {"cidr": "10.99.0.0/16"}),
                              ("patch", base, {"name": "mine"}),
                              ("delete", base, None),
                              ("post", "/api/teams/", {"name": "mine"})):
        response = getattr(teamadmin, method)(url, data, format="json")
        assert response.status_code == 403, (url, response.content)
        assert "only administrators" in response.json()["detail"]
    world.blue.refresh_from_db()
    assert world.blue.max_vms is None and world.blue.name == "blue"
    assert world.blue.grants.count() == 1 and not world.blue.pools.exists()
    assert AuditEntry.objects.count() == before


def test_an_operator_sees_only_their_team_and_may_change_nothing(world, api):
    operator, base = api("operator"), f"/api/teams/{world.blue.pk}/"
    assert [t["name"] for t in operator.get("/api/teams/").json()["results"]] == ["blue"]
    assert operator.get(f"/api/teams/{world.red.pk}/").status_code == 404
    assert api("other").patch(f"/api/teams/{world.blue.pk}/quota/", {"max_vms": 1},
                              format="json").status_code == 404  # blue is not theirs to see
    member = world.blue.memberships.get(user__username="viewer").pk
    pool = AddressPool.objects.create(team=world.blue, cidr="10.20.0.0/16")
    before = AuditEntry.objects.count()
    for method, url, data in (("post", "/api/teams/", {"name": "mine"}),
                              ("put", base, {"name": "mine"}),
                              ("patch", base, {"description": "x"}),
                              ("delete", base, None),
                              ("post", base + "members/", {"username": "other", "role": "admin"}),
                              ("patch", f"{base}members/{member}/", {"role": "admin"}),
                              ("delete", f"{base}members/{member}/", None),
                              ("post", base + "grants/", {"host": world.far.pk}),
                              ("delete", f"{base}grants/{world.blue.grants.get().pk}/", None),
                              ("patch", base + "quota/", {"max_vms": 99}),
                              ("post", base + "pools/", {"cidr": "10.99.0.0/16"}),
                              ("delete", f"{base}pools/{pool.pk}/", None)):
        response = getattr(operator, method)(url, data, format="json")
        assert response.status_code == 403, (method, url, response.content)
        assert response.json()["detail"].startswith("only administrators")
    assert AuditEntry.objects.count() == before
    assert world.blue.memberships.get(pk=member).role == "viewer"
    assert Team.objects.filter(name="blue").exists() and not Team.objects.filter(name="mine")
    assert api(None).get("/api/teams/").status_code == 401


def test_bad_input_is_a_400_that_changes_nothing(world, api):
    AddressPool.objects.create(team=world.red, cidr="10.20.0.0/16")
    staff, base = api("staff"), f"/api/teams/{world.blue.pk}/"
    before = AuditEntry.objects.count()
    cases = [
        ("post", base + "pools/", {"cidr": "10.20.128.0/17"}, "cidr", "overlaps pool 10.20.0.0/16"),
        ("post", base + "pools/", {"cidr": "10.21.0.1/16"}, "cidr", "not an IPv4 network"),
        ("post", base + "pools/", {"cidr": "10.21.0.0/16", "prefix": 8}, "prefix", "between /16"),
        ("post", base + "members/", {"username": "nobody", "role": "viewer"}, "username",
         "no such user"),
        ("post", base + "members/", {"username": "other", "role": "owner"}, "role",
         "not a valid choice"),
        ("post", base + "grants/", {"host": 999999}, "host", "no such host"),
        ("post", base + "grants/", {"host": world.far.pk, "bridges": ["br 0"]}, "bridges",
         "not a name"),
        ("patch", base + "quota/", {"max_vms": -1}, "max_vms", "greater than or equal to 0"),
        ("patch", base + "quota/", {"max_vms": "many"}, "max_vms", "valid integer"),
        ("post", "/api/teams/", {"name": "RED"}, "name", "exists already"),
        ("post", "/api/teams/", {"name": 5}, "name", "give a string"),
        ("patch", base, {"name": "Red"}, "name", "exists already"),
    ]
    for method, url, data, field, message in cases:
        response = getattr(staff, method)(url, data, format="json")
        assert response.status_code == 400, (url, data, response.content)
        assert message in " ".join(map(str, response.json()[field])), response.json()
    assert staff.post(base + "pools/", ["not", "an", "object"], format="json").status_code == 400
    assert staff.delete(f"{base}pools/{2**64}/").status_code == 404
    assert staff.delete(f"{base}members/0/").status_code == 404
    assert AuditEntry.objects.count() == before
    world.blue.refresh_from_db()
    assert world.blue.name == "blue" and world.blue.max_vms is None
    assert not world.blue.pools.exists() and world.blue.grants.count() == 1
    assert world.blue.memberships.count() == 3 and Team.objects.count() == 2


def test_an_administrator_removes_what_they_set_and_the_team(world, api):
    staff, base = api("staff"), f"/api/teams/{world.blue.pk}/"
    pool = AddressPool.objects.create(team=world.blue, cidr="10.20.0.0/16")
    assert staff.delete(f"{base}pools/{pool.pk}/").status_code == 204
    assert staff.delete(f"{base}grants/{world.blue.grants.get().pk}/").status_code == 204
    assert staff.delete(f"/api/teams/{world.red.pk}/pools/{pool.pk}/").status_code == 404
    assert staff.delete(base).status_code == 204
    assert not Team.objects.filter(name="blue").exists()
    assert list(AuditEntry.objects.values_list("action", flat=True)) == [
        "team.delete", "team.grant.remove", "team.pool.remove"]


def test_the_schema_documents_the_team_endpoints(admin_api):
    paths = admin_api.get("/api/schema/?format=json").json()["paths"]
    assert set(paths["/api/teams/{id}/members/{member_pk}/"]) >= {"patch", "delete"}
    for path in ("/api/teams/", "/api/teams/{id}/", "/api/teams/{id}/grants/",
                 "/api/teams/{id}/quota/", "/api/teams/{id}/pools/{pool_pk}/"):
        assert path in paths
    pools = paths["/api/teams/{id}/pools/"]["post"]["responses"]
    assert {"201", "400", "403", "404"} <= set(pools)
