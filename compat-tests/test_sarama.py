#!/usr/bin/python3
"""Shopify/sarama 1.22.1 (Debian) against a running eddy (EDDY_BOOTSTRAP).

sarama never negotiates: its Config.Version alone picks the request
versions. The Go program compat-tests/go/sarama_check (built here, cached in
EDDY_BUILD_DIR/compat-tests/go) runs one step per process:

  default     Config.Version V0_8_2_0 (sarama's default): roundtrip (Metadata
              v0 auto-creates the topic, Produce v0 plain/gzip/snappy, Fetch v0,
              ListOffsets v0), commit (OffsetCommit v1 from an OffsetManager),
              resume (a new process: OffsetFetch v1, consumption from the
              commit), admin (each ClusterAdmin call at the oldest version sarama
              allows: CreateTopics v0/v1, DeleteTopics v0/v1, DescribeConfigs
              v0, AlterConfigs v0, CreatePartitions v0, ListGroups/DescribeGroups
              v0)
  max         Config.Version MaxVersion (V2_2_0_0): the same steps with Produce
              v3 (+ lz4, headers, timestamps; zstd refused as Kafka refuses it
              in Produce v3), Fetch v4, ListOffsets v1, OffsetCommit v2, admin at
              its newest, plus group: a ConsumerGroup joins, consumes every
              message, is described Stable while it does, and commits (v1)
  timestamps  v2 batches of several records each (sarama leaves their max
              timestamp -1); ListOffsets by timestamp must find every record

usage: test_sarama.py default|max|timestamps
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "go"))
import gobuild  # noqa: E402

STEPS = {
    "default": ["roundtrip", "commit", "resume", "admin"],
    "max": ["roundtrip", "commit", "resume", "admin", "group"],
    "timestamps": ["timestamps"],
}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "default"
    if mode not in STEPS:
        print(__doc__)
        return 2
    binary = gobuild.build("sarama_check")
    name = os.environ.get("EDDY_TEST_NAME", "sarama_" + mode)
    work = tempfile.mkdtemp(prefix="compat-sarama-")
    common = ["-bootstrap", os.environ["EDDY_BOOTSTRAP"],
              "-version", "max" if mode != "default" else "default",
              "-topic", name + "_data", "-partitions", "3", "-messages", "300",
              "-record", os.path.join(work, "produced.txt")]
    failed = []
    for step in STEPS[mode]:
        # Each step that commits gets a group of its own.
        args = common + ["-group", "%s_%s" % (name, step)]
        if step == "resume":
            args = common + ["-group", "%s_commit" % name]
        if step == "admin":
            args = [a if a != name + "_data" else name + "_admin" for a in args]
        failed += gobuild.run_steps(binary, args, [step], timeout=90 if step == "group" else 60)
    if failed:
        print("sarama %s: failed steps: %s" % (mode, ", ".join(failed)))
        return 1
    print("sarama %s: all steps passed" % mode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
