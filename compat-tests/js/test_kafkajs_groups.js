'use strict'
// Consumer groups with kafkajs 2.2.4 against a running eddy (EDDY_BOOTSTRAP).
//
// Two consumers in one group (each its own Kafka client, so the client ids
// tell them apart) subscribe to a 4-partition topic: their GROUP_JOIN
// assignments must be disjoint and cover every partition. Messages produced
// after the split are consumed with eachMessage, every one exactly once, by
// the partition's owner, and compared byte-exact. admin.describeGroups shows
// the group Stable, protocol type "consumer", protocol "RoundRobinAssigner",
// two members whose decoded assignments match what the consumers were given;
// admin.listGroups lists it; admin.fetchOffsets returns the end offsets once
// kafkajs has auto-committed. Both consumers disconnect (LeaveGroup: the
// group is Empty), and a third consumer of the group (fromBeginning) starts
// at the committed offsets and reads only what was produced after.
//
// The broker is expected to run with --group.initial.rebalance.delay.ms 0 and
// --group.min.session.timeout.ms 1000 (see the TESTS table in run.py).

const assert = require('assert')
const { Kafka, logLevel, AssignerProtocol, Partitioners } = require('kafkajs')

const bootstrap = process.env.EDDY_BOOTSTRAP
if (!bootstrap) {
  console.error('EDDY_BOOTSTRAP not set (run through run.py)')
  process.exit(2)
}
const prefix = process.env.EDDY_TEST_NAME || 'kafkajs_groups'
const TOPIC = `${prefix}_data`
const GROUP = `${prefix}-group`
const PARTITIONS = 4
const T0 = Date.now()

function log(...args) {
  console.log(`[${((Date.now() - T0) / 1000).toFixed(2).padStart(6)}]`, ...args)
}

function client(clientId) {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  })
}

const sleep = ms => new Promise(r => setTimeout(r, ms))

async function waitFor(pred, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await pred()) return
    await sleep(100)
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
}

// A group member: the assignment of its last GROUP_JOIN, the joins seen, and
// every message it was handed.
async function member(name, fromBeginning = true) {
  const m = { name, assigned: new Set(), joins: 0, seen: [], crashed: null }
  m.consumer = client(name).consumer({
    groupId: GROUP,
    sessionTimeout: 6000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  const { GROUP_JOIN, CRASH } = m.consumer.events
  m.consumer.on(GROUP_JOIN, e => {
    m.joins++
    const parts = (e.payload.memberAssignment[TOPIC] || []).slice().sort((a, b) => a - b)
    m.assigned = new Set(parts)
    log(`${name} joined generation as ${e.payload.isLeader ? 'leader' : 'follower'}: [${parts}]`)
  })
  m.consumer.on(CRASH, e => {
    m.crashed = e.payload.error
    log(`${name} crashed: ${e.payload.error}`)
  })
  await m.consumer.connect()
  await m.consumer.subscribe({ topic: TOPIC, fromBeginning })
  await m.consumer.run({
    eachMessage: async ({ partition, message }) => {
      m.seen.push({ partition, offset: Number(message.offset), key: message.key.toString(), value: message.value })
    },
  })
  return m
}

function splitOk(members) {
  const all = new Set()
  let n = 0
  for (const m of members) {
    if (m.assigned.size === 0) return false
    for (const p of m.assigned) all.add(p)
    n += m.assigned.size
  }
  return all.size === PARTITIONS && n === PARTITIONS
}

async function waitSplit(members, what, timeoutMs = 25000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    await waitFor(() => splitOk(members), what, Math.max(100, deadline - Date.now()))
    const before = members.map(m => m.joins)
    await sleep(1000)
    if (splitOk(members) && members.every((m, i) => m.joins === before[i])) return members.map(m => new Set(m.assigned))
    if (Date.now() > deadline) throw new Error(`assignment did not settle: ${what}`)
  }
}

function value(i) {
  const b = Buffer.alloc(16 + (i % 50))
  for (let j = 0; j < b.length; j++) b[j] = (i * 7 + j * 13) & 0xff
  return b
}

async function produce(producer, first, count) {
  const messages = []
  for (let i = first; i < first + count; i++) messages.push({ key: `k-${i}`, value: value(i), partition: i % PARTITIONS })
  const res = await producer.send({ topic: TOPIC, acks: -1, messages })
  for (const r of res) assert.strictEqual(r.errorCode, 0, `produce to partition ${r.partition}`)
}

async function main() {
  const admin = client(`${prefix}-admin`).admin()
  await admin.connect()
  assert.strictEqual(
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 10000 }),
    true, 'createTopics')
  const producer = client(`${prefix}-producer`).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()

  const a = await member(`${prefix}-a`)
  await waitSplit([a], 'the first consumer to own all partitions')
  const b = await member(`${prefix}-b`)
  const [sa, sb] = await waitSplit([a, b], 'two consumers to split the partitions')
  log(`split: a=[${[...sa]}] b=[${[...sb]}]`)
  assert.strictEqual(sa.size, PARTITIONS / 2, 'round robin over two members gives half each')

  // Offsets per partition are counted from 0 (fresh topic), in send order.
  await produce(producer, 0, 200)
  const expected = new Map() // "p/o" -> {key, value}
  const perPart = new Array(PARTITIONS).fill(0)
  for (let i = 0; i < 200; i++) {
    const p = i % PARTITIONS
    expected.set(`${p}/${perPart[p]++}`, { key: `k-${i}`, value: value(i) })
  }
  await waitFor(() => a.seen.length + b.seen.length >= expected.size, 'both consumers to read all 200 messages')
  await sleep(500)
  const got = new Map()
  for (const [m, owned] of [[a, sa], [b, sb]]) {
    for (const r of m.seen) {
      const k = `${r.partition}/${r.offset}`
      assert.ok(owned.has(r.partition), `${m.name} read partition ${r.partition} it does not own`)
      assert.ok(!got.has(k), `message ${k} read twice`)
      const want = expected.get(k)
      assert.ok(want, `unexpected message at ${k}`)
      assert.strictEqual(r.key, want.key, `key at ${k}`)
      assert.ok(r.value.equals(want.value), `value at ${k} differs`)
      got.set(k, m.name)
    }
  }
  assert.strictEqual(got.size, expected.size, `read ${got.size} distinct messages, want ${expected.size}`)

  const desc = await admin.describeGroups([GROUP])
  assert.strictEqual(desc.groups.length, 1, 'describeGroups returns one group')
  const g = desc.groups[0]
  log(`describeGroups: state=${g.state} protocolType=${g.protocolType} protocol=${g.protocol} members=${g.members.map(m => m.clientId)}`)
  assert.strictEqual(g.errorCode, 0, 'describeGroups error code')
  assert.strictEqual(g.groupId, GROUP)
  assert.strictEqual(g.state, 'Stable', 'group state')
  assert.strictEqual(g.protocolType, 'consumer', 'protocol type')
  assert.strictEqual(g.protocol, 'RoundRobinAssigner', 'protocol (kafkajs default assigner)')
  assert.deepStrictEqual(g.members.map(m => m.clientId).sort(), [a.name, b.name].sort(), 'member client ids')
  for (const gm of g.members) {
    const owned = gm.clientId === a.name ? sa : sb
    const asg = AssignerProtocol.MemberAssignment.decode(gm.memberAssignment)
    assert.deepStrictEqual((asg.assignment[TOPIC] || []).slice().sort((x, y) => x - y), [...owned].sort((x, y) => x - y),
      `describeGroups assignment of ${gm.clientId}`)
    const meta = AssignerProtocol.MemberMetadata.decode(gm.memberMetadata)
    assert.deepStrictEqual(meta.topics, [TOPIC], `describeGroups subscription of ${gm.clientId}`)
  }
  const { groups } = await admin.listGroups()
  log('listGroups:', JSON.stringify(groups))
  assert.ok(groups.some(x => x.groupId === GROUP && x.protocolType === 'consumer'), `listGroups lacks ${GROUP}`)

  const ends = perPart.map(String)
  let offsets
  await waitFor(async () => {
    const res = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
    offsets = res[0].partitions.slice().sort((x, y) => x.partition - y.partition).map(p => p.offset)
    return JSON.stringify(offsets) === JSON.stringify(ends)
  }, `fetchOffsets to show the end offsets ${ends} (last: ${offsets})`, 10000)
  log(`fetchOffsets: [${offsets}]`)

  await a.consumer.disconnect()
  await b.consumer.disconnect()
  const after = (await admin.describeGroups([GROUP])).groups[0]
  assert.strictEqual(after.state, 'Empty', 'group state after both consumers left')
  assert.strictEqual(after.members.length, 0, 'members after both consumers left')

  await produce(producer, 200, 40)
  const fresh = new Map()
  for (let i = 200; i < 240; i++) {
    const p = i % PARTITIONS
    fresh.set(`${p}/${perPart[p]++}`, `k-${i}`)
  }
  const c = await member(`${prefix}-c`)
  await waitSplit([c], 'the third consumer to own all partitions')
  await waitFor(() => c.seen.length >= fresh.size, 'the third consumer to read the 40 new messages')
  await sleep(500)
  const cgot = c.seen.map(r => `${r.partition}/${r.offset}`)
  const old = cgot.filter(k => !fresh.has(k))
  assert.strictEqual(old.length, 0, `the third consumer re-read ${old.length} committed messages (${old.slice(0, 5)})`)
  assert.strictEqual(cgot.length, fresh.size, `the third consumer read ${cgot.length} messages, want ${fresh.size}`)
  for (const r of c.seen) assert.strictEqual(r.key, fresh.get(`${r.partition}/${r.offset}`), `key at ${r.partition}/${r.offset}`)
  const ends2 = perPart.map(String)
  await waitFor(async () => {
    const res = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
    offsets = res[0].partitions.slice().sort((x, y) => x.partition - y.partition).map(p => p.offset)
    return JSON.stringify(offsets) === JSON.stringify(ends2)
  }, `fetchOffsets to show ${ends2} (last: ${offsets})`, 10000)
  await c.consumer.disconnect()
  for (const m of [a, b, c]) assert.strictEqual(m.crashed, null, `${m.name} crashed: ${m.crashed}`)

  await producer.disconnect()
  await admin.disconnect()
  console.log(`PASS: kafkajs group split [${[...sa]}]/[${[...sb]}], 200 messages once each, describeGroups Stable, ` +
    `fetchOffsets [${ends}], resumed with only the 40 new messages`)
}

const timer = setTimeout(() => {
  console.error('FAIL: test did not finish within 90 s')
  process.exit(1)
}, 90000)
timer.unref()

main().then(() => process.exit(0)).catch(e => {
  console.error('FAIL:', e && e.stack ? e.stack : e)
  process.exit(1)
})
