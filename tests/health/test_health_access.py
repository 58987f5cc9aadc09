"""Who gets /healthz, /readyz and /metrics (health.access)."""

import pytest
from django.test import Client, override_settings

STRANGER = "192.0.2.10"


def test_it_answers_healthz_to_anyone_without_login():
    response = Client(REMOTE_ADDR=STRANGER).get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/metrics", "/readyz"])
def test_it_refuses_a_stranger_and_a_signed_in_user(url, plain_user, admin_user):
    assert Client(REMOTE_ADDR=STRANGER).get(url).status_code == 403
    for user in (plain_user, admin_user):  # a session, even staff's, is not a monitoring key
        client = Client(REMOTE_ADDR=STRANGER)
        client.force_login(user)
        assert client.get(url).status_code == 403


@pytest.mark.django_db
@override_settings(KVMWEB_METRICS_TOKEN="s3cret-token")
def test_it_lets_the_token_in_from_anywhere():
    client = Client(REMOTE_ADDR=STRANGER)
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="s3cret-token").status_code == 403


@pytest.mark.django_db
@override_settings(KVMWEB_METRICS_TOKEN="")
def test_an_empty_token_setting_lets_no_token_in():
    assert Client(REMOTE_ADDR=STRANGER).get(
        "/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
@override_settings(KVMWEB_METRICS_ALLOW=["10.1.0.0/16", "not-a-cidr"])
def test_it_lets_an_allowed_address_in_but_not_through_a_proxy():
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.2.0.1").get("/metrics").status_code == 403
    # Loopback is no longer listed, and a proxied request never counts by its address.
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="10.1.2.3").get(
        "/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403


@pytest.mark.django_db
def test_loopback_is_allowed_by_default():
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200


@override_settings(KVMWEB_METRICS_ALLOW=["10.0.0.0/8", "10.0.0.300/32"])
def test_a_mistyped_allow_entry_is_a_startup_error():
    from health.apps import check_metrics_allow

    errors = check_metrics_allow()
    assert [e.id for e in errors] == ["health.E001"]
    assert "'10.0.0.300/32'" in errors[0].msg
