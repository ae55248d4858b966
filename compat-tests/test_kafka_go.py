#!/usr/bin/python3
"""segmentio/kafka-go 0.2.1 (Debian) against a running eddy (EDDY_BOOTSTRAP).

kafka-go 0.2 sends fixed versions: CreateTopics v0, Metadata v1, Produce v2
and Fetch v2 (magic-1 message sets), ListOffsets v1, and for its group
reader FindCoordinator v0, JoinGroup v1, SyncGroup v0, Heartbeat v0,
OffsetCommit v2, OffsetFetch v1 (its Close sends no LeaveGroup). The Go program
compat-tests/go/kafkago_check (built here, cached in EDDY_BUILD_DIR) runs:

  write         CreateTopics (3 partitions), a Writer per codec (none, gzip,
                snappy, lz4) writes keyed messages with timestamps; first and
                last offsets of every partition
  read          a Reader per partition reads every message back (offset, key,
                value, timestamp); offsets for times through a Conn
  group         a Reader with a GroupID reads 200 messages, committing each,
                and leaves
  group-resume  a new process, same group: resumes exactly at the commits and
                reads the remaining messages once
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "go"))
import gobuild  # noqa: E402


def main():
    binary = gobuild.build("kafkago_check")
    name = os.environ.get("EDDY_TEST_NAME", "kafka_go")
    work = tempfile.mkdtemp(prefix="compat-kafka-go-")
    common = ["-bootstrap", os.environ["EDDY_BOOTSTRAP"], "-topic", name + "_data",
              "-partitions", "3", "-messages", "300", "-first", "200",
              "-group", name + "_group", "-record", os.path.join(work, "written.txt"),
              "-state", os.path.join(work, "committed.txt")]
    failed = gobuild.run_steps(binary, common, ["write", "read", "group", "group-resume"])
    if failed:
        print("kafka-go: failed steps: %s" % ", ".join(failed))
        return 1
    print("kafka-go: all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
