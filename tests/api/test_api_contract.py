"""Quick checks of the API contract that do not need a server (the Schemathesis run does the rest)."""

import pytest

from tests.api.seed import seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(admin_api):
    response = admin_api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_host_networking_is_in_the_schema_with_a_body_per_action(schema):
    for action in ("bridge_create", "bond_create", "mtu", "port_move"):
        for path in (f"/api/hostnet/{{id}}/{action}/", f"/api/hostnet/{{id}}/{action}/plan/"):
            body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
            assert body["schema"]["$ref"].startswith("#/components/schemas/")


def test_options_on_host_networking_answers(admin_api):
    host = seed()[0]
    for url in (f"/api/hostnet/{host.pk}/mtu/", f"/api/hostnet/{host.pk}/mtu/plan/"):
        response = admin_api.options(url)
        assert response.status_code == 200, response.content


def _first_id(model_path):
    """The id of a seeded row of the model the path names (ids differ per table on PostgreSQL)."""
    from hosts.models import Host
    from networks.models import Network
    from vms.models import Domain

    return {"hosts": Host, "networks": Network, "vms": Domain}[model_path].objects.order_by("pk").first().pk


@pytest.mark.parametrize("path", ["/api/hosts/{id}/interfaces/", "/api/networks/{id}/leases/",
                                  "/api/vms/{id}/nics/", "/api/vms/pools/"])
def test_sub_lists_are_documented_and_answered_as_arrays(admin_api, schema, path):
    answer = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["type"] == "array"
    seed()
    response = admin_api.get(path.replace("{id}", str(_first_id(path.split("/")[2]))))
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_nested_lists_are_documented_as_what_they_are(schema):
    parts = schema["components"]["schemas"]
    assert parts["Network"]["properties"]["attached_nics"]["type"] == "array"
    assert parts["VM"]["properties"]["nics"]["type"] == "array"


def test_validation_and_missing_objects_are_documented(schema):
    create = schema["paths"]["/api/networks/"]["post"]["responses"]
    assert {"202", "400", "401", "403"} <= set(create)
    edit = schema["paths"]["/api/networks/{id}/"]["patch"]["responses"]
    assert {"202", "400", "404", "409"} <= set(edit)


def test_bad_query_values_are_refused_not_ignored(admin_api):
    seed()
    for url in ("/api/networks/?host=x", "/api/vms/pools/?host=-1", "/api/hosts/?limit=0",
                "/api/operations/?offset=a", "/api/networks/?active=maybe"):
        response = admin_api.get(url)
        assert response.status_code == 400, (url, response.content)


def test_an_unknown_api_url_answers_json(admin_api):
    response = admin_api.get("/api/hostnet/x/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
