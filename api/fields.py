"""Serializer fields shared by the API's input serializers. They check shape only."""

from rest_framework import serializers

from realtime.topics import pattern_is_valid

# Patterns in one list: a JWT's listen/publish, an application's anonymous_listen/publish.
MAX_PATTERNS = 64


class TopicPatternField(serializers.CharField):
    default_error_messages = {
        "invalid_pattern": "A pattern is a topic, a topic prefix ending in '*', or '*'.",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not pattern_is_valid(value):
            self.fail("invalid_pattern")
        return value
