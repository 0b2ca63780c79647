"""api.parsers.json_body_parse (the REST fast path's) answers as DRF's JSONParser reading
the body from a stream does, data for data and error for error."""

import io

import pytest
from rest_framework.exceptions import ParseError

from api.parsers import JSONParser, json_body_parse

BODIES = [
    b'{"a": 1, "b": [true, null, "x"]}',
    b' {"a": "\xc3\xa9"}\n',
    b'{"a": 1}\xc3',  # an incomplete character at the end: the stream reader leaves it out
    b'{"a": "\xc3"}',
    b'{"a": "\xff"}',
    b"\xef\xbb\xbf{}",  # a UTF-8 BOM
    b"",
    b"[1, 2]",
    b'{"a": NaN}',
    b'{"a": -Infinity}',
    b'{"a": 1e999}',
    b'{"a": 1} trailing',
    b'{"a": "\\ud800"}',
    b"\x00",
    b"[" * 100_000 + b"]" * 100_000,
]
ENCODINGS = ["utf-8", "UTF-8", "utf8", "utf-8-sig", "latin-1", "utf-16", "bz2_codec", "nope"]


def outcome(parse) -> tuple:
    try:
        return ("data", parse())
    except ParseError as exc:
        return ("refused", str(exc.detail), exc.status_code)


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_a_body_parses_as_drf_parses_it(body, encoding):
    expected = outcome(lambda: JSONParser().parse(io.BytesIO(body), None, {"encoding": encoding}))
    assert outcome(lambda: json_body_parse(body, encoding)) == expected
