"""An ASGI HTTP request's body, read up to a limit: for the lean HTTP paths (the Pusher
HTTP API, api.fast_triggers), which stop reading a body as soon as it passes theirs."""


async def body_read(receive, limit: int) -> tuple[bytes, bool] | None:
    """(the body read, whether that is all of it: reading stops past `limit`), or None
    when the client went away."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = message.get("more_body", False)
        if not more or size > limit:
            return b"".join(chunks), not more
