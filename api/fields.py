"""Serializer fields shared by the API's input serializers. They check shape only."""

from rest_framework import serializers

from realtime.topics import pattern_is_valid, topic_is_valid


class TopicField(serializers.CharField):
    default_error_messages = {
        "invalid_topic": "Topic names are 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; :",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not topic_is_valid(value):
            self.fail("invalid_topic")
        return value


class TopicPatternField(serializers.CharField):
    default_error_messages = {
        "invalid_pattern": "A pattern is a topic, a topic prefix ending in '*', or '*'.",
    }

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not pattern_is_valid(value):
            self.fail("invalid_pattern")
        return value
