"""DRF's JSON parser, also refusing JSON nested too deep to decode.

Python's decoder raises RecursionError, not ValueError, on deeply nested arrays or objects;
DRF's parser catches only the latter, so such a body became a 500 with a traceback.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
