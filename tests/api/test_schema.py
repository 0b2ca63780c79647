"""The OpenAPI schema documents the API without warnings, and the docs page works offline."""

import json
import re

import pytest
import yaml
from django.core.management import call_command

PATHS = {
    "/api/organizations": {"get", "post"},
    "/api/organizations/{org}": {"get", "patch", "delete"},
    "/api/organizations/{org}/applications": {"get", "post"},
    "/api/organizations/{org}/applications/{app}": {"get", "patch", "delete"},
    "/api/organizations/{org}/tokens": {"get", "post"},
    "/api/organizations/{org}/applications/{app}/secret": {"post"},
    "/api/organizations/{org}/applications/{app}/restore": {"post"},
    "/api/organizations/{org}/tokens/{token}": {"get", "patch", "delete"},
}


def _assert_documents_management_api(schema: dict):
    assert schema["openapi"].startswith("3.")
    for path, methods in PATHS.items():
        assert set(schema["paths"][path]) == methods, path
    create_app = schema["paths"]["/api/organizations/{org}/applications"]["post"]
    created = create_app["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert created.endswith("/ApplicationCreateOutput")
    component = created.rsplit("/", 1)[1]
    assert "app_secret" in schema["components"]["schemas"][component]["properties"]
    assert "app_secret" not in schema["components"]["schemas"]["Application"]["properties"]
    assert "digest" not in json.dumps(schema["components"]["schemas"])
    assert {"secretToken", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    # The docs start with the first call a customer makes.
    assert next(iter(schema["paths"])) == "/api/sessions"
    assert schema["tags"][0]["name"] == "sessions"


def test_it_serves_the_schema_as_yaml(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    _assert_documents_management_api(yaml.safe_load(response.content))


def test_it_serves_the_schema_as_json(api):
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    _assert_documents_management_api(json.loads(response.content))


def test_the_schema_is_valid_and_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any drf-spectacular warning (unresolvable serializer, unknown
    # authenticator, component name clash...) into an error; --validate checks the result
    # against the OpenAPI specification.
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    _assert_documents_management_api(yaml.safe_load(target.read_text()))


@pytest.mark.django_db
def test_the_docs_page_loads_only_local_assets(api):
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html
    assert "<style" not in html and re.search(r"<script>", html) is None  # expusher.csp
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(url.startswith(("/static/", "/api/docs/?script")) for url in assets)
    scripts = [url for url in assets if url.endswith(".js") or "?script" in url]
    assert any("swagger-ui-bundle" in url for url in scripts)
    for url in [*scripts, *(url for url in assets if url.endswith(".css"))]:
        served = api.get(url.replace("&amp;", "&"))
        assert served.status_code == 200, url
        body = b"".join(served.streaming_content) if served.streaming else served.content
        assert len(body) > 100, url
    start_up = api.get("/api/docs/?script=")
    assert start_up["Content-Type"].startswith("application/javascript")
    assert b'url: "/api/schema/"' in start_up.content
