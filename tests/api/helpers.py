"""Assertions shared by the API tests."""

REALM = 'Bearer realm="expusher"'


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The response has `status` and the API's one error shape; return the error."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    if status == 401:
        assert response["WWW-Authenticate"] == REALM
    return error
