"""GET /js/pusher.js serves the committed bundle, cacheably."""

import pytest

from api.views import demo


@pytest.fixture
def fresh_bundle_cache():
    demo._bundle_cache.clear()
    yield
    demo._bundle_cache.clear()


def test_it_serves_the_built_bundle(client, fresh_bundle_cache):
    response = client.get("/js/pusher.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300"
    assert response.content == demo.BUNDLE_PATH.read_bytes()
    assert b"PusherLite" in response.content


def test_it_answers_not_modified_for_a_matching_etag(client, fresh_bundle_cache):
    etag = client.get("/js/pusher.js")["ETag"]
    response = client.get("/js/pusher.js", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_it_reads_the_file_once(client, fresh_bundle_cache, tmp_path, monkeypatch):
    bundle = tmp_path / "pusher.js"
    bundle.write_text("window.PusherLite = 1;")
    monkeypatch.setattr(demo, "BUNDLE_PATH", bundle)
    assert client.get("/js/pusher.js").content == b"window.PusherLite = 1;"
    bundle.write_text("changed on disk")
    assert client.get("/js/pusher.js").content == b"window.PusherLite = 1;"


def test_it_is_404_while_the_bundle_is_not_built(client, fresh_bundle_cache, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "BUNDLE_PATH", tmp_path / "missing.js")
    assert client.get("/js/pusher.js").status_code == 404
    # Building it later works without a restart: a miss is not cached.
    (tmp_path / "missing.js").write_text("built")
    assert client.get("/js/pusher.js").content == b"built"


def test_it_refuses_other_methods(client):
    assert client.post("/js/pusher.js").status_code == 405
