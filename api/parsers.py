"""DRF's JSON parser, also refusing JSON nested too deep to decode.

Python's decoder raises RecursionError, not ValueError, on deeply nested arrays or objects;
DRF's parser catches only the latter, so such a body became a 500 with a traceback.
"""

import codecs
import functools
import io
import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

NESTED_TOO_DEEPLY = "JSON parse error - nested too deeply"


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(NESTED_TOO_DEEPLY) from None


def json_body_parse(body: bytes, encoding: str):
    """JSONParser().parse(io.BytesIO(body), None, {"encoding": encoding}): the same data or
    the same ParseError. A UTF-8 body (nearly every one) skips the stream, the codec reader
    and a decoder made per call: the REST triggers parse one per request."""
    if not _is_utf8(encoding):
        return JSONParser().parse(io.BytesIO(body), None, {"encoding": encoding})
    try:
        # What the codec's StreamReader makes of a whole body read at once: an incomplete
        # character at the very end is left out, not refused.
        text = codecs.utf_8_decode(body, "strict", False)[0]
        if text.startswith("\ufeff"):  # json.loads refuses it so
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _decode(text)
    except RecursionError:
        raise ParseError(NESTED_TOO_DEEPLY) from None
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}") from exc


# json.load's decoder for DRF's JSONParser (STRICT_JSON refuses NaN and Infinity).
_decode = json.JSONDecoder(parse_constant=strict_constant if JSONParser.strict else None).decode


@functools.cache
def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False
