import pytest

from realtime import topics
from realtime.errors import PayloadTooLarge
from realtime.events import event_encode


@pytest.mark.parametrize(
    "pattern,topic,expected",
    [
        ("*", "anything", True),
        ("room:*", "room:1", True),
        ("room:*", "room:", True),
        ("room:*", "roo", False),
        ("room:1", "room:1", True),
        ("room:1", "room:12", False),
        ("room:1*", "room:12", True),
    ],
)
def test_pattern_matching(pattern, topic, expected):
    assert topics.topic_allowed([pattern], topic) is expected


def test_patterns_are_never_regular_expressions():
    assert not topics.topic_allowed(["room.*"], "roomX1")
    assert not topics.topic_allowed(["(a+)+$"], "aaaaaaaaaaaaaaaaaaaaaaaa!")


@pytest.mark.parametrize(
    "topic", ["general", "private:user-42", "presence:room-7", "a=b@c,d.e;f:g"]
)
def test_valid_topics(topic):
    assert topics.topic_is_valid(topic)


@pytest.mark.parametrize("topic", ["", "x" * 201, "has space", "slash/no", None, 5, "ünï"])
def test_invalid_topics(topic):
    assert not topics.topic_is_valid(topic)


def test_group_names_fit_the_channel_layer_rules_and_separate_applications():
    long_topic = "x" * 200
    name = topics.group_name(1234567, long_topic)
    assert len(name) < 100 and all(c.isalnum() or c in "-_." for c in name)
    assert topics.group_name(1, "general") != topics.group_name(2, "general")


def test_the_payload_limit_follows_its_setting(settings):
    event_encode("room:1", "e", {"a": "x" * 50})  # the limit is read once, then remembered
    settings.EXPUSHER_MAX_PAYLOAD_BYTES = 40
    with pytest.raises(PayloadTooLarge, match="limited to 40 bytes"):
        event_encode("room:1", "e", {"a": "x" * 50})
