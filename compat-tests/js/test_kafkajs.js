'use strict'
// kafkajs 2.2.4 against a running eddy (EDDY_BOOTSTRAP).
//
// Covers: admin.createTopics (and false for a duplicate), listTopics,
// fetchTopicMetadata, producer.send with acks=-1 (uncompressed and gzip,
// explicit partitions and key-partitioned, headers, explicit timestamps),
// the baseOffset each send reports, admin.fetchTopicOffsets (low 0, high =
// count) and fetchTopicOffsetsByTimestamp, admin.deleteTopics.
//
// TODO(consumer groups): kafkajs has no group-less consumer, so nothing is
// read back here. Once eddy implements FindCoordinator/JoinGroup/SyncGroup/
// Heartbeat/OffsetCommit/OffsetFetch, add a kafkajs consumer that subscribes
// with fromBeginning and checks every message byte-exact.

const assert = require('assert')
const { Kafka, logLevel, CompressionTypes, Partitioners } = require('kafkajs')

const bootstrap = process.env.EDDY_BOOTSTRAP
if (!bootstrap) {
  console.error('EDDY_BOOTSTRAP not set (run through run.py)')
  process.exit(2)
}
const prefix = process.env.EDDY_TEST_NAME || 'kafkajs'
const TOPIC = `${prefix}_data`
const DOOMED = `${prefix}_deleted`
const PARTITIONS = 3
const PER_ROUND = 60 // messages per explicit-partition round, PER_ROUND / PARTITIONS per partition

const kafka = new Kafka({
  clientId: 'eddy-compat-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.WARN,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 3, initialRetryTime: 200 },
})

function value(i) {
  // Mixed binary and text, lengths 0..~2 KiB.
  const n = (i * 131) % 2048
  const b = Buffer.alloc(n)
  for (let j = 0; j < n; j++) b[j] = j < n / 2 ? (i * 31 + j * 7) & 0xff : 0x61 + ((i + j) % 26)
  return b
}

async function main() {
  const admin = kafka.admin()
  await admin.connect()

  const created = await admin.createTopics({
    topics: [
      { topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 },
      { topic: DOOMED, numPartitions: 1, replicationFactor: 1 },
    ],
    waitForLeaders: true,
    timeout: 10000,
  })
  assert.strictEqual(created, true, 'createTopics should report the topics as created')
  const again = await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], timeout: 10000 })
  assert.strictEqual(again, false, 'createTopics of an existing topic should return false (TOPIC_ALREADY_EXISTS)')

  const names = await admin.listTopics()
  assert.ok(names.includes(TOPIC) && names.includes(DOOMED), `listTopics ${JSON.stringify(names)} lacks the new topics`)
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  const parts = md.topics[0].partitions.slice().sort((a, b) => a.partitionId - b.partitionId)
  assert.deepStrictEqual(parts.map(p => p.partitionId), [0, 1, 2], 'partition ids')
  for (const p of parts) {
    assert.strictEqual(p.leader, 1, `partition ${p.partitionId} leader`)
    assert.deepStrictEqual(p.replicas, [1], `partition ${p.partitionId} replicas`)
    assert.deepStrictEqual(p.isr, [1], `partition ${p.partitionId} isr`)
    assert.strictEqual(p.partitionErrorCode, 0, `partition ${p.partitionId} error code`)
  }

  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()

  const baseTs = Date.now() - 100000
  const sent = [] // { partition, ts } in send order for the explicit-partition rounds
  const perPart = new Array(PARTITIONS).fill(0)

  async function round(first, compression) {
    const messages = []
    for (let i = first; i < first + PER_ROUND; i++) {
      const partition = i % PARTITIONS
      const ts = baseTs + i
      messages.push({
        key: `key-${i}`,
        value: value(i),
        partition,
        timestamp: String(ts),
        headers: i % 2 ? { idx: String(i), kind: Buffer.from([0, 1, 2, 255]) } : undefined,
      })
      sent.push({ partition, ts })
    }
    const res = await producer.send({ topic: TOPIC, acks: -1, compression, messages })
    assert.strictEqual(res.length, PARTITIONS, `send returned ${res.length} partition results`)
    for (const r of res) {
      assert.strictEqual(r.topicName, TOPIC)
      assert.strictEqual(r.errorCode, 0, `partition ${r.partition} error ${r.errorCode}`)
      assert.strictEqual(r.baseOffset, String(perPart[r.partition]),
        `round at ${first}: partition ${r.partition} baseOffset ${r.baseOffset}, want ${perPart[r.partition]}`)
    }
    for (let p = 0; p < PARTITIONS; p++) perPart[p] += PER_ROUND / PARTITIONS
  }
  await round(0, CompressionTypes.None)
  await round(PER_ROUND, CompressionTypes.GZIP)

  // Key-partitioned messages (kafkajs's default partitioner), current timestamps.
  const keyed = []
  for (let i = 0; i < 40; i++) keyed.push({ key: `k${i}`, value: `keyed-${i}` })
  const kres = await producer.send({ topic: TOPIC, acks: -1, messages: keyed })
  let keyedTotal = 0
  for (const r of kres) {
    assert.strictEqual(r.errorCode, 0)
    assert.strictEqual(r.baseOffset, String(perPart[r.partition]),
      `keyed send: partition ${r.partition} baseOffset ${r.baseOffset}, want ${perPart[r.partition]}`)
  }
  await producer.disconnect()

  const offsets = await admin.fetchTopicOffsets(TOPIC)
  assert.strictEqual(offsets.length, PARTITIONS)
  for (const o of offsets) {
    assert.strictEqual(o.low, '0', `partition ${o.partition} low ${o.low}`)
    assert.ok(Number(o.high) >= perPart[o.partition], `partition ${o.partition} high ${o.high} < ${perPart[o.partition]}`)
    keyedTotal += Number(o.high) - perPart[o.partition]
    // Later keyed sends start where the high watermark was.
    const kr = kres.find(r => r.partition === o.partition)
    if (!kr) assert.strictEqual(o.high, String(perPart[o.partition]), `partition ${o.partition} high`)
  }
  assert.strictEqual(keyedTotal, keyed.length,
    `high watermarks add up to ${keyedTotal} keyed messages beyond the explicit rounds, want ${keyed.length}`)

  // First offset per partition whose timestamp is >= the query.
  for (const q of [baseTs, baseTs + 17, baseTs + PER_ROUND + 1, baseTs + 2 * PER_ROUND - 1]) {
    const res = await admin.fetchTopicOffsetsByTimestamp(TOPIC, q)
    for (const r of res) {
      const mine = sent.filter(s => s.partition === r.partition)
      // Past the explicit rounds the answer is the first key-partitioned
      // message (stamped now), or -1, which kafkajs turns into the high
      // watermark: perPart in both cases.
      let want = mine.findIndex(s => s.ts >= q)
      if (want < 0) want = perPart[r.partition]
      assert.strictEqual(r.offset, String(want), `fetchTopicOffsetsByTimestamp(${q}) partition ${r.partition}`)
    }
  }
  // After everything: kafkajs maps "no such offset" (-1) to the high watermark.
  const future = await admin.fetchTopicOffsetsByTimestamp(TOPIC, Date.now() + 3600000)
  for (const r of future) {
    const o = offsets.find(x => x.partition === r.partition)
    assert.strictEqual(r.offset, o.high, `fetchTopicOffsetsByTimestamp(future) partition ${r.partition}`)
  }

  await admin.deleteTopics({ topics: [DOOMED], timeout: 10000 })
  let left = await admin.listTopics()
  for (let i = 0; i < 20 && left.includes(DOOMED); i++) {
    await new Promise(r => setTimeout(r, 200))
    left = await admin.listTopics()
  }
  assert.ok(!left.includes(DOOMED), `${DOOMED} still listed after deleteTopics`)
  assert.ok(left.includes(TOPIC), `${TOPIC} vanished when ${DOOMED} was deleted`)

  await admin.disconnect()
  console.log(`PASS: kafkajs ${sent.length + keyed.length} messages produced, offsets checked`)
}

main().catch(e => {
  console.error('FAIL:', e && e.stack ? e.stack : e)
  process.exit(1)
})
