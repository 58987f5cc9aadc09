"""Users made by administrators on the Teams pages (Teams → Users) and through /api/users/:
the password is given or generated and shown once, the user may join a team right away, and
each creation is in the audit log, as is a user added in Django's admin. Team admins and plain
users are refused (team admins still add existing users to their team)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from teams.models import AuditEntry, Membership

pytestmark = pytest.mark.django_db
User = get_user_model()


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_an_administrator_creates_a_user_with_a_generated_password_and_a_team(world):
    staff = signed_in(world.users["staff"])
    team_page = staff.get(f"/teams/{world.blue.pk}/").content.decode()
    assert f'href="/teams/users/?team={world.blue.pk}"' in team_page
    form = staff.get(f"/teams/users/?team={world.blue.pk}").content.decode()
    assert f'<option value="{world.blue.pk}" selected>' in form
    response = staff.post("/teams/users/", {"username": "alice", "email": "alice@example.org",
                                            "password": "", "team": world.blue.pk,
                                            "role": "operator"})
    page = response.content.decode()
    assert response.status_code == 200, page
    password = page.split('id="user-password">')[1].split("<")[0]
    alice = User.objects.get(username="alice")
    assert len(password) >= 12 and alice.check_password(password) and password not in alice.password
    assert not alice.is_staff and alice.email == "alice@example.org"
    assert Membership.objects.get(user=alice, team=world.blue).role == "operator"
    entry = AuditEntry.objects.get(action="user.create")
    assert (entry.username, entry.target) == ("staff", "user:alice")
    assert entry.after == {"username": "alice", "email": "alice@example.org", "is_staff": False,
                           "password": "generated"}
    assert AuditEntry.objects.filter(action="team.member", target="alice", team=world.blue).exists()
    again = staff.get("/teams/users/").content.decode()
    assert password not in again and 'data-user="alice"' in again  # shown once only
    assert Client().login(username="alice", password=password)
    audit = staff.get("/teams/audit/?object=user.create").content.decode()
    assert "user:alice" in audit


def test_a_given_password_must_pass_the_validators_and_names_are_unique(world):
    staff = signed_in(world.users["staff"])
    before = (User.objects.count(), AuditEntry.objects.count())
    short = staff.post("/teams/users/", {"username": "bob", "password": "abc", "role": "viewer"})
    assert short.status_code == 200 and "too short" in short.content.decode()
    taken = staff.post("/teams/users/", {"username": "VIEWER", "role": "viewer"})
    assert "exists already" in taken.content.decode()
    bad = staff.post("/teams/users/", {"username": "b b;", "role": "viewer"})
    assert "Enter a valid username" in bad.content.decode()
    assert (User.objects.count(), AuditEntry.objects.count()) == before
    response = staff.post("/teams/users/", {"username": "bob", "password": "long-enough-pass-9",
                                            "is_staff": "on", "role": "viewer"})
    assert 'id="user-password"' not in response.content.decode()  # it was given: not shown
    bob = User.objects.get(username="bob")
    assert bob.is_staff and bob.check_password("long-enough-pass-9")
    assert not bob.memberships.exists()
    assert AuditEntry.objects.get(action="user.create").after["password"] == "set"


@pytest.mark.parametrize("role", ["teamadmin", "operator", "viewer"])
def test_team_admins_and_plain_users_may_not_create_users(world, api, role):
    before = (User.objects.count(), AuditEntry.objects.count())
    client = signed_in(world.users[role])
    assert client.get("/teams/users/").status_code == 403
    response = client.post("/teams/users/", {"username": "mallory", "role": "viewer"})
    assert response.status_code == 403
    assert "only administrators create users" in response.content.decode()
    assert api(role).post("/api/users/", {"username": "mallory"}, format="json").status_code == 403
    assert api(role).get("/api/users/").status_code == 403
    assert (User.objects.count(), AuditEntry.objects.count()) == before
    assert 'id="users-link"' not in client.get("/teams/").content.decode()


def test_a_team_admin_still_adds_an_existing_user_to_the_team(world):
    User.objects.create_user("carol", "", "carol-pass-123")
    teamadmin = signed_in(world.users["teamadmin"])
    assert teamadmin.post(f"/teams/{world.blue.pk}/members/",
                          {"username": "carol", "role": "viewer"}).status_code == 302
    assert world.blue.memberships.filter(user__username="carol").exists()


def test_the_api_creates_a_user_and_answers_the_generated_password_once(world, api):
    staff = api("staff")
    response = staff.post("/api/users/", {"username": "dave", "team": world.red.pk,
                                          "role": "admin"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    dave = User.objects.get(username="dave")
    assert body["username"] == "dave" and dave.check_password(body["password"])
    assert body["teams"] == [{"team": world.red.pk, "team_name": "red", "role": "admin"}]
    assert AuditEntry.objects.get(action="user.create").username == "staff"
    listed = staff.get("/api/users/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert "dave" in [u["username"] for u in rows] and all("password" not in u for u in rows)
    given = staff.post("/api/users/", {"username": "erin", "password": "long-enough-pass-9",
                                       "is_staff": True}, format="json").json()
    assert given["password"] == "" and given["is_staff"] is True
    before = (User.objects.count(), AuditEntry.objects.count())
    for bad in ({"username": "dave"}, {"username": "x", "password": "abc"},
                {"username": "x", "team": 99999}, {"username": "x", "is_staff": 1},
                {"username": "x", "role": "boss"}, {"username": 5}, ["x"]):
        assert staff.post("/api/users/", bad, format="json").status_code == 400, bad
    assert (User.objects.count(), AuditEntry.objects.count()) == before
    schema = staff.get("/api/schema/", {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/users/"]


def test_a_user_added_in_django_admin_is_audited(world):
    staff = Client()
    assert staff.login(username="staff", password="staff-pass-123")
    response = staff.post("/admin/auth/user/add/", {
        "username": "frank", "password1": "long-enough-pass-9",
        "password2": "long-enough-pass-9", "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    entry = AuditEntry.objects.get(action="user.create")
    assert (entry.username, entry.target, entry.after["via"]) == ("staff", "user:frank",
                                                                 "Django admin")


def test_the_menu_names_the_account_and_the_django_admin_apart(world):
    page = signed_in(world.users["staff"]).get("/teams/").content.decode()
    assert ">Account (staff)</a>" in page and ">Django admin</a>" in page
    assert ">Admin</a>" not in page
    viewer_page = signed_in(world.users["viewer"]).get("/teams/").content.decode()
    assert ">Django admin</a>" not in viewer_page and ">Account (viewer)</a>" in viewer_page
