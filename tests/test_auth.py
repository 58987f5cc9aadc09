"""Login on every page, API and websocket."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from kvmweb.asgi import application

PAGES = ["/hosts/", "/hosts/add/", "/hosts/1/", "/operations/1/", "/admin/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_it_redirects_anonymous_pages_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/hosts/", "/api/operations/", "/api/schema/", "/api/docs/"])
def test_it_refuses_anonymous_api(client, path):
    assert client.get(path).status_code in (401, 403)


@pytest.mark.django_db
def test_it_accepts_a_token(client, admin_user):
    from teams.models import ApiToken

    _, secret = ApiToken.issue(admin_user, "ci")
    response = client.get("/api/hosts/", HTTP_AUTHORIZATION=f"Token {secret}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_it_serves_the_schema_and_docs(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/hosts/{id}/pin-key/" in schema.content
    assert b"/api/operations/{id}/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


@pytest.mark.django_db
def test_plain_users_cannot_add_hosts(user_api):
    response = user_api.post("/api/hosts/", {"name": "x", "uri": "qemu+ssh://root@10.0.0.1/system"})
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_it_rejects_anonymous_websockets():
    async def attempt():
        communicator = WebsocketCommunicator(application, "/ws/live/",
                                             headers=[(b"origin", b"http://127.0.0.1"),
                                                      (b"host", b"127.0.0.1")])
        connected, _ = await communicator.connect()
        await communicator.disconnect()
        return connected

    assert async_to_sync(attempt)() is False
