"""DRF's JSON parser, with a body nested deeper than Python's parser goes a 400 like any other bad JSON."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # json.load recurses once per level: `[` * 1000 runs out of stack
            raise ParseError("JSON parse error - nested too deeply.") from None
