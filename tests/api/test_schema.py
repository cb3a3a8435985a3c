"""The OpenAPI schema: valid, warning-free, and describing every path of the API."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

EXPECTED_PATHS = {
    "/clients/",
    "/clients/{id}/",
    "/mailings/",
    "/mailings/{id}/",
    "/mailings/{id}/statistics/",
    "/mailings/statistics/",
    "/messages/",
    "/messages/{id}/",
}


@pytest.fixture
def schema(tmp_path) -> dict:
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


class TestSchema:
    def test_it_generates_a_valid_schema_without_warnings(self, schema):
        assert schema["openapi"].startswith("3.")
        assert schema["info"]["title"] == "Mailing back-office API"

    def test_it_describes_every_path(self, schema):
        assert set(schema["paths"]) >= EXPECTED_PATHS

    def test_it_describes_the_methods_of_each_path(self, schema):
        paths = schema["paths"]
        for collection in ("/clients/", "/mailings/", "/messages/"):
            assert {"get", "post"} <= set(paths[collection]), collection
            assert {"get", "put", "patch", "delete"} <= set(paths[collection.rstrip("/") + "/{id}/"]), collection
        assert "get" in paths["/mailings/{id}/statistics/"]
        assert "get" in paths["/mailings/statistics/"]

    def test_it_describes_the_client_shape(self, schema):
        assert set(schema["components"]["schemas"]["Client"]["properties"]) == {
            "id",
            "phone_number",
            "operator_code",
            "tag",
            "timezone",
            "attributes",
        }

    def test_it_documents_the_paging_parameters_and_headers(self, schema):
        clients_list = schema["paths"]["/clients/"]["get"]
        parameters = {p["name"] for p in clients_list["parameters"]}
        assert {"page", "page_size", "tag", "operator_code"} <= parameters
        assert {"X-Total-Count", "Link"} <= set(clients_list["responses"]["200"]["headers"])
        body = clients_list["responses"]["200"]["content"]["application/json"]["schema"]
        if "$ref" in body:
            body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
        assert body["type"] == "array"
        assert body["items"] == {"$ref": "#/components/schemas/Client"}

    def test_it_documents_whole_hour_time_zones_in_requests_and_names_in_answers(self, schema):
        schemas = schema["components"]["schemas"]
        sent = schemas["ClientRequest"]["properties"]["timezone"]
        assert {"type": "integer", "minimum": -12, "maximum": 14, "example": 3} in sent["oneOf"]
        answered = schemas["Client"]["properties"]["timezone"]
        assert answered["type"] == "string"
        assert "oneOf" not in answered

    def test_every_operation_documents_its_429_and_retry_after(self, schema):
        operations = [op for methods in schema["paths"].values() for op in methods.values() if "responses" in op]
        assert len(operations) >= 20
        for operation in operations:
            throttled = operation["responses"]["429"]
            assert "Retry-After" in throttled["headers"], operation["operationId"]
            assert "application/json" in throttled["content"], operation["operationId"]
