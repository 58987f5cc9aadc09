"""The console sessions list reads its ``vm`` filter strictly (Schemathesis found a 500 for a
number larger than a primary key can be)."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_refuses_a_vm_filter_larger_than_an_id(admin_api):
    response = admin_api.get("/api/consoles/sessions/", {"vm": str(2**70)})
    assert response.status_code == 400
    assert "vm" in response.json()


def test_it_refuses_a_vm_filter_that_is_not_a_number(admin_api):
    assert admin_api.get("/api/consoles/sessions/", {"vm": "x"}).status_code == 400


def test_it_lists_with_a_plain_vm_filter(admin_api):
    response = admin_api.get("/api/consoles/sessions/", {"vm": "12"})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_ticket_for_a_vm_id_larger_than_an_id_is_a_400(admin_api):
    response = admin_api.post("/api/consoles/tickets/", {"vm": 2**70, "kind": "serial"}, format="json")
    assert response.status_code == 400
