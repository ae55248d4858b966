#!/usr/bin/python3
"""kafka-python 2.0.2 sending the old API versions Kafka 3.9 still serves
(EDDY_BOOTSTRAP).

- KafkaAdminClient pinned to CreateTopics v0, DescribeConfigs v0 and
  DeleteTopics v0 (its own v0 request and response classes; the admin
  client would otherwise take the broker's maximum).
- KafkaConsumer with api_version=(0, 8, 2): FindCoordinator v0, then
  OffsetCommit v1 and OffsetFetch v1 for a manually assigned partition; the
  commit is read back with the admin client's newer OffsetFetch too.
- KafkaConsumer with api_version=(0, 8, 1): OffsetCommit v0 and OffsetFetch
  v0, which Kafka 3.9 without ZooKeeper answers with UNSUPPORTED_VERSION,
  and which leave the v1 offsets alone.
Every request version is checked from what the client really sent.
"""

import os
import sys

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import UnsupportedVersionError
from kafka.structs import OffsetAndMetadata

BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
PREFIX = os.environ.get("EDDY_TEST_NAME", "kafka_python_legacy")
TOPIC = PREFIX + "_t"


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        sys.exit(1)


def record_sends(client, sent):
    """Wrap KafkaClient.send so the test sees every request class it sends."""
    orig = client.send

    def send(node_id, request, *args, **kwargs):
        sent.append(type(request).__name__)
        return orig(node_id, request, *args, **kwargs)
    client.send = send


def main():
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP, client_id=PREFIX + "-admin")
    sent = []
    record_sends(admin._client, sent)
    matching = admin._matching_api_version
    admin._matching_api_version = lambda op: 0 if op[0].API_KEY in (19, 20, 32) else matching(op)

    res = admin.create_topics([NewTopic(TOPIC, 2, 1, topic_configs={"cleanup.policy": "compact"})])
    check(type(res).__name__ == "CreateTopicsResponse_v0" and res.topic_errors == [(TOPIC, 0)],
          "CreateTopics v0: %r" % (res,))
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC,
                                                 {"cleanup.policy": None, "retention.ms": None})])
    check(len(res) == 1 and type(res[0]).__name__ == "DescribeConfigsResponse_v0", "DescribeConfigs v0 answered")
    (err, _, rtype, rname, entries), = res[0].resources
    got = {e[0]: (e[1], e[2], e[3], e[4]) for e in entries}
    check((err, rtype, rname) == (0, 2, TOPIC), "DescribeConfigs v0 resource %r" % ((err, rtype, rname),))
    check(got == {"cleanup.policy": ("compact", False, False, False),
                  "retention.ms": ("604800000", False, True, False)},
          "DescribeConfigs v0 entries (value, read_only, is_default, is_sensitive): %r" % got)

    tp0, tp1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=PREFIX + "_g", api_version=(0, 8, 2),
                      enable_auto_commit=False, client_id=PREFIX + "-v1")
    csent = []
    record_sends(c._client, csent)
    c.assign([tp0, tp1])
    c.commit({tp0: OffsetAndMetadata(17, "meta-17"), tp1: OffsetAndMetadata(4, "")})
    c.close()
    # A second consumer, so committed() asks the broker instead of the first one's cache.
    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=PREFIX + "_g", api_version=(0, 8, 2),
                      enable_auto_commit=False, client_id=PREFIX + "-v1-read")
    record_sends(c._client, csent)
    c.assign([tp0, tp1])
    check(c.committed(tp0) == 17 and c.committed(tp1) == 4, "OffsetFetch v1 reads the v1 commit back")
    check("GroupCoordinatorRequest_v0" in csent and "OffsetCommitRequest_v1" in csent
          and "OffsetFetchRequest_v1" in csent, "the (0, 8, 2) consumers sent %r" % sorted(set(csent)))
    c.close()
    offsets = admin.list_consumer_group_offsets(PREFIX + "_g")
    check(offsets.get(tp0) == OffsetAndMetadata(17, "meta-17") and offsets.get(tp1) == OffsetAndMetadata(4, ""),
          "a newer OffsetFetch sees the v1 commit: %r" % offsets)

    c = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=PREFIX + "_g", api_version=(0, 8, 1),
                      enable_auto_commit=False, client_id=PREFIX + "-v0")
    csent = []
    record_sends(c._client, csent)
    c.assign([tp0])
    try:
        c.commit({tp0: OffsetAndMetadata(99, "v0")})
        v0_commit = "accepted"
    except UnsupportedVersionError:
        v0_commit = "unsupported"
    check(v0_commit == "unsupported", "OffsetCommit v0 answers UNSUPPORTED_VERSION as Kafka 3.9 without ZooKeeper")
    try:
        c.committed(tp0)
        v0_fetch = "answered"
    except UnsupportedVersionError:
        v0_fetch = "unsupported"
    check(v0_fetch == "unsupported", "OffsetFetch v0 answers UNSUPPORTED_VERSION")
    check("OffsetCommitRequest_v0" in csent and "OffsetFetchRequest_v0" in csent,
          "the (0, 8, 1) consumer sent %r" % sorted(set(csent)))
    c.close()
    offsets = admin.list_consumer_group_offsets(PREFIX + "_g")
    check(offsets.get(tp0) == OffsetAndMetadata(17, "meta-17"), "the v0 commit changed nothing: %r" % offsets)

    res = admin.delete_topics([TOPIC])
    check(type(res).__name__ == "DeleteTopicsResponse_v0" and res.topic_error_codes == [(TOPIC, 0)],
          "DeleteTopics v0: %r" % (res,))
    check(TOPIC not in admin.list_topics(), "the topic is gone")
    check({"CreateTopicsRequest_v0", "DescribeConfigsRequest_v0", "DeleteTopicsRequest_v0"} <= set(sent),
          "the admin client sent %r" % sorted(set(sent)))
    admin.close()
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
