"""Bad input is refused before anything is sent anywhere: a field error, no Host, no Operation."""

import pytest

from hosts.models import Host
from operations.models import Operation

BAD_URIS = [
    ("http://10.0.0.1/system", "qemu+ssh://"),
    ("qemu+ssh:///system", "needs a host"),
    ("qemu+ssh://root@10.0.0.1/session", "/system"),
    ("qemu://10.0.0.1/system", "qemu+ssh"),
    ("qemu+ssh://root@bad_host!/system", "host name"),
    ("qemu+ssh://root;rm@10.0.0.1/system", "user name"),
    ("qemu+ssh://root:secret@10.0.0.1/system", "password"),
    ("qemu+ssh://root@10.0.0.1:99999/system", "port"),
    ("qemu+ssh://root@10.0.0.1/system?command=/bin/evil", "not allowed"),
    ("qemu+ssh://root@10.0.0.1/system?no_verify=1", "not allowed"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("uri,words", BAD_URIS)
def test_it_rejects_bad_uris(admin_api, uri, words):
    response = admin_api.post("/api/hosts/", {"name": "kvm1", "uri": uri}, format="json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()["uri"])
    assert not Host.objects.exists()
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_it_rejects_relative_key_paths(admin_api):
    response = admin_api.post("/api/hosts/", {"name": "kvm1", "uri": "qemu+ssh://root@10.0.0.1/system",
                                              "key_path": "keys/id"}, format="json")
    assert response.status_code == 400
    assert "absolute" in response.json()["key_path"][0]
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_duplicate_name(admin_api):
    Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system")
    response = admin_api.post("/api/hosts/", {"name": "kvm1", "uri": "qemu+ssh://root@10.0.0.2/system"},
                              format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_the_form_shows_the_error_and_creates_nothing(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/hosts/add/", {"name": "kvm1", "uri": "qemu+ssh:///system"})
    assert response.status_code == 200
    assert b"needs a host" in response.content
    assert not Host.objects.exists()


@pytest.mark.django_db
def test_pin_key_refuses_a_wrong_fingerprint(admin_api):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system",
                               status=Host.Status.KEY_OFFERED,
                               offered_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummy",
                               offered_fingerprint="SHA256:abc")
    response = admin_api.post(f"/api/hosts/{host.pk}/pin-key/", {"fingerprint": "SHA256:other"},
                              format="json")
    assert response.status_code == 400
    host.refresh_from_db()
    assert host.host_key == ""
    assert not Operation.objects.exists()


@pytest.mark.django_db
def test_sync_is_refused_before_the_key_is_pinned(admin_api):
    host = Host.objects.create(name="kvm1", uri="qemu+ssh://root@10.0.0.1/system")
    response = admin_api.post(f"/api/hosts/{host.pk}/sync/")
    assert response.status_code == 409
    assert "pin" in response.json()["detail"]
    assert not Operation.objects.exists()
