#!/usr/bin/python3
"""Broker configs eddy only accepts, through stock admin clients, against a
running eddy (EDDY_BOOTSTRAP, started by run.py with
--num.network.threads 5 --ssl.keystore.password hunter2), plus a broker of
its own (EDDY_BIN) for the restart check.

librdkafka's admin test alters sasl.kerberos.min.time.before.relogin on the
BROKER resource; Kafka takes every dynamic name of its broker config list.
Covers:
  DescribeConfigs of BROKER <node.id> lists every broker row of
    broker/configs.def (count checked against the file), accepted-only ones
    with their Kafka default, read_only following Kafka's update mode, a
    static accepted-only value from the flags, passwords as null and
    sensitive.
  confluent-kafka-python 1.7.0 alter_configs (AlterConfigs) on BROKER "1"
    with sasl.kerberos.min.time.before.relogin and other accepted-only
    names: stored and described as DYNAMIC_BROKER_CONFIG.
  kafka-python 2.0.2 alter_configs on BROKER "" (cluster default) with
    cluster-wide accepted-only names; a per-broker one there is refused.
  IncrementalAlterConfigs v0 on the wire (neither client has it in these
    versions) on BROKER "1": SET, DELETE; INVALID_REQUEST (Kafka's code)
    for a read-only property, a listener-only security config, a bad value;
    a custom name Kafka does not know is kept and described.
  A restart keeps the accepted-only dynamic values.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kwire as kw  # noqa: E402

from confluent_kafka import KafkaException  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource  # noqa: E402
from kafka.admin import ConfigResource as KPConfigResource  # noqa: E402
from kafka.admin import ConfigResourceType, KafkaAdminClient  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP = os.environ["EDDY_BOOTSTRAP"]
INVALID_REQUEST = 42
INVALID_CONFIG = 40


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        sys.exit(1)


def table_rows():
    """{name: (type, default, mode, eddy)} of the [broker] section of broker/configs.def."""
    rows, section = {}, None
    with open(os.path.join(HERE, "..", "broker", "configs.def")) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith("["):
                section = s
                continue
            if section == "[broker]":
                c = [x.strip() for x in line.split("|")]
                rows[c[0]] = (c[1], None if c[2] == "null" else c[2], c[4], c[5])
    return rows


def incremental(conn, restype, name, ops):
    body = kw.array([(restype, name, ops)], lambda r: kw.i8(r[0]) + kw.string(r[1]) + kw.array(
        r[2], lambda o: kw.string(o[0]) + kw.i8(o[1]) + kw.string(o[2])))
    body += kw.boolean(False)
    rd = kw.Reader(conn.call(44, 0, body))
    rd.i32()
    out = []
    for _ in range(rd.array_len()):
        out.append((rd.i16(), rd.string(), rd.i8(), rd.string()))
    return out[0]


def describe_wire(conn, restype, name, keys=None):
    """DescribeConfigs v1 with synonyms; {name: (value, read_only, source, sensitive, synonyms)}."""
    body = kw.array([(restype, name)], lambda r: kw.i8(r[0]) + kw.string(r[1]) + (
        kw.i32(-1) if keys is None else kw.array(keys, kw.string))) + kw.boolean(True)
    rd = kw.Reader(conn.call(32, 1, body))
    rd.i32()
    res = {}
    for _ in range(rd.array_len()):
        err, _msg, _t, _n = rd.i16(), rd.string(), rd.i8(), rd.string()
        check(err == 0, "DescribeConfigs %s %r answered without error (%d)" % (restype, name, err))
        for _ in range(rd.array_len()):
            cname, value, ro, source, sens = rd.string(), rd.string(), rd.boolean(), rd.i8(), rd.boolean()
            syn = [(rd.string(), rd.string(), rd.i8()) for _ in range(rd.array_len())]
            res[cname] = (value, ro, source, sens, syn)
    return res


def describe_part(rows):
    conn = kw.Conn(BOOTSTRAP, timeout=5.0)
    d = describe_wire(conn, 4, "1")
    conn.close()
    check(len(d) == len(rows) and set(d) == set(rows),
          "DescribeConfigs BROKER 1 lists all %d broker rows of configs.def (%d listed; missing %r)"
          % (len(rows), len(d), sorted(set(rows) - set(d))[:5]))
    e = d["sasl.kerberos.min.time.before.relogin"]
    check(e[0] == "60000" and e[2] == 5 and not e[1],
          "an accepted-only property has Kafka's default, DEFAULT_CONFIG, and is alterable (%r)" % (e[:4],))
    check(d["zookeeper.connect"][1] and d["log.dirs"][1], "read-only properties are described read_only")
    e = d["num.network.threads"]
    check(e[0] == "5" and e[2] == 4, "a static accepted-only value from the flags is STATIC_BROKER_CONFIG (%r)"
          % (e[:4],))
    e = d["ssl.keystore.password"]
    check(e[0] is None and e[3] and e[2] == 4 and all(s[1] is None for s in e[4]),
          "a password is sensitive: value and synonym values null (%r)" % (e,))
    e = d["sasl.jaas.config"]
    check(e[0] is None and e[3] and e[2] == 5, "an unset password is sensitive and null (%r)" % (e[:4],))
    check(d["broker.rack"][0] is None, "a property without a default is described as null")
    # confluent-kafka's view of the same resource.
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    cfg = admin.describe_configs([res])[res].result(10)
    check(len(cfg) == len(rows), "confluent-kafka describe_configs sees every broker row (%d)" % len(cfg))
    check(cfg["ssl.keystore.password"].is_sensitive, "confluent-kafka sees the password as sensitive")


def confluent_part():
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    accepted = {"sasl.kerberos.min.time.before.relogin": "58000", "log.cleaner.threads": "2",
                "num.io.threads": "4", "sasl.enabled.mechanisms": "GSSAPI,PLAIN"}
    res = ConfigResource(ConfigResource.Type.BROKER, "1", set_config=accepted)
    admin.alter_configs([res])[res].result(10)
    check(True, "confluent-kafka alter_configs on BROKER 1 with sasl.kerberos.min.time.before.relogin and "
                "other accepted-only names")
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    cfg = admin.describe_configs([res])[res].result(10)
    for k, v in accepted.items():
        check(cfg[k].value == v and cfg[k].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value,
              "%s=%s described as DYNAMIC_BROKER_CONFIG (%s, %r)" % (k, v, cfg[k].value, cfg[k].source))

    for bad, why in (({"broker.rack": "r1"}, "a read-only accepted-only property"),
                     ({"num.io.threads": "0"}, "a value below the range"),
                     ({"ssl.keystore.location": "/k"}, "a listener-only security config")):
        res = ConfigResource(ConfigResource.Type.BROKER, "1", set_config=bad)
        try:
            admin.alter_configs([res])[res].result(10)
            check(False, "alter_configs with %s was accepted" % why)
        except KafkaException as e:
            err = e.args[0]
            check(err.code() == INVALID_REQUEST, "alter_configs with %s -> INVALID_REQUEST (%s)" % (why, err.str()))
    cfg = admin.describe_configs([res])[res].result(10)
    check(cfg["num.io.threads"].value == "4", "a refused alter changed nothing")


def kafka_python_part():
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    r = admin.alter_configs([KPConfigResource(ConfigResourceType.BROKER, "",
                                              configs={"background.threads": "12", "log.cleaner.io.buffer.size": "1048576"})])
    check(r.resources[0][0] == 0, "kafka-python alter_configs of cluster-wide accepted-only names on BROKER '' (%r)"
          % (r.resources[0][:2],))
    # kafka-python describes only numbered brokers: the cluster default over the wire.
    conn = kw.Conn(BOOTSTRAP, timeout=5.0)
    d = describe_wire(conn, 4, "")
    conn.close()
    check(sorted(d) == ["background.threads", "log.cleaner.io.buffer.size"] and d["background.threads"][:3:2] == ("12", 3),
          "BROKER '' describes just what was set on it, DYNAMIC_DEFAULT_BROKER_CONFIG (%r)" % (d,))
    r = admin.describe_configs([KPConfigResource(ConfigResourceType.BROKER, "1", {"background.threads": None})])
    e = r[0].resources[0][4][0]
    check(e[1] == "12" and e[3] == 3, "BROKER 1 inherits the cluster default background.threads (%r)" % (e,))
    r = admin.alter_configs([KPConfigResource(ConfigResourceType.BROKER, "",
                                              configs={"sasl.kerberos.min.time.before.relogin": "1000"})])
    check(r.resources[0][0] == INVALID_REQUEST and "broker id must be specified" in (r.resources[0][1] or ""),
          "a per-broker property on the cluster default -> INVALID_REQUEST (%r)" % (r.resources[0][:2],))
    admin.close()


def wire_part():
    conn = kw.Conn(BOOTSTRAP, timeout=5.0)
    r = incremental(conn, 4, "1", [("sasl.kerberos.min.time.before.relogin", 0, "61000"),
                                   ("sasl.kerberos.ticket.renew.jitter", 0, "0.1")])
    check(r[0] == 0, "IncrementalAlterConfigs SET of accepted-only names on BROKER 1 (%r)" % (r,))
    d = describe_wire(conn, 4, "1", ["sasl.kerberos.min.time.before.relogin", "sasl.kerberos.ticket.renew.jitter",
                                     "num.io.threads"])
    e = d["sasl.kerberos.min.time.before.relogin"]
    check(e[0] == "61000" and e[2] == 2 and [s[2] for s in e[4]] == [2, 5],
          "incremental SET described with synonyms dynamic then default (%r)" % (e,))
    check(d["num.io.threads"][0] == "4", "the incremental SET kept the other dynamic configs")
    r = incremental(conn, 4, "1", [("sasl.kerberos.ticket.renew.jitter", 1, None)])
    d = describe_wire(conn, 4, "1", ["sasl.kerberos.ticket.renew.jitter"])
    check(r[0] == 0 and d["sasl.kerberos.ticket.renew.jitter"][:3:2] == ("0.05", 5),
          "incremental DELETE goes back to Kafka's default (%r)" % (d["sasl.kerberos.ticket.renew.jitter"],))
    for op, why in ((("log.dirs", 0, "/x"), "a read-only property"),
                    (("ssl.truststore.location", 0, "/t"), "a listener-only security config"),
                    (("sasl.kerberos.min.time.before.relogin", 0, "soon"), "a value that is not a long")):
        r = incremental(conn, 4, "1", [op])
        check(r[0] == INVALID_REQUEST and op[0] in (r[1] or ""),
              "incremental SET of %s -> INVALID_REQUEST naming it (%r)" % (why, r[:2]))
    r = incremental(conn, 4, "1", [("num.io.threads", 2, "5")])
    check(r[0] == INVALID_CONFIG, "APPEND to a non-list broker property -> INVALID_CONFIG (%r)" % (r[:2],))
    r = incremental(conn, 4, "1", [("sasl.enabled.mechanisms", 2, "SCRAM-SHA-256")])
    d = describe_wire(conn, 4, "1", ["sasl.enabled.mechanisms"])
    check(r[0] == 0 and d["sasl.enabled.mechanisms"][0] == "GSSAPI,PLAIN,SCRAM-SHA-256",
          "APPEND to an accepted-only list (%r)" % (d["sasl.enabled.mechanisms"][0],))
    r = incremental(conn, 4, "1", [("my.plugin.setting", 0, "on")])
    d = describe_wire(conn, 4, "1", ["my.plugin.setting"])
    check(r[0] == 0 and d.get("my.plugin.setting", (None,))[0] == "on",
          "a custom name Kafka does not know is kept and described, as in Kafka (%r)" % (d,))
    conn.close()


def restart_part():
    binary = os.environ.get("EDDY_BIN")
    if not binary:
        check(False, "EDDY_BIN is not set")
    data = tempfile.mkdtemp(prefix="eddy-broker-cfg-restart-")

    def start():
        p = subprocess.Popen([binary, "--listeners", "PLAINTEXT://127.0.0.1:0", "--log.dirs", data],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline().strip()
        check(line.startswith("eddy ready on "), "own broker started")
        return p, line[len("eddy ready on "):]

    def stop(p):
        p.send_signal(signal.SIGTERM)
        check(p.wait(10) == 0, "own broker stopped cleanly")

    try:
        p, boot = start()
        conn = kw.Conn(boot, timeout=5.0)
        r = incremental(conn, 4, "1", [("sasl.kerberos.min.time.before.relogin", 0, "59000"),
                                       ("my.plugin.setting", 0, "kept")])
        check(r[0] == 0, "set accepted-only and custom configs on the own broker")
        r = incremental(conn, 4, "", [("log.cleaner.threads", 0, "3")])
        check(r[0] == 0, "set an accepted-only cluster default on the own broker")
        conn.close()
        stop(p)
        p, boot = start()
        conn = kw.Conn(boot, timeout=5.0)
        d = describe_wire(conn, 4, "1", ["sasl.kerberos.min.time.before.relogin", "log.cleaner.threads",
                                         "my.plugin.setting"])
        conn.close()
        check(d["sasl.kerberos.min.time.before.relogin"][:3:2] == ("59000", 2)
              and d["log.cleaner.threads"][:3:2] == ("3", 3) and d["my.plugin.setting"][0] == "kept",
              "accepted-only and custom dynamic configs survive a restart (%r)" % (d,))
        stop(p)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def main():
    rows = table_rows()
    describe_part(rows)
    confluent_part()
    kafka_python_part()
    wire_part()
    restart_part()
    print("all broker config checks passed")


if __name__ == "__main__":
    main()
