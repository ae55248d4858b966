'use strict'
// Transactions with kafkajs 2.2.4 against a running eddy (EDDY_BOOTSTRAP).
//
// A producer with a transactionalId (idempotent, maxInFlightRequests 1)
// commits a transaction, aborts one (kafkajs sends immediately, so the
// aborted records are in the log), and commits another, on two partitions.
// A kafkajs consumer in its default isolation (read_committed) reads exactly
// the committed records, once each, and none of the aborted ones; a consumer
// with readUncommitted: true reads all of them. Then sendOffsets: offsets
// sent in a committed transaction become the group's committed offsets
// (admin.fetchOffsets), offsets sent in an aborted one leave them unchanged.
// Finally a second producer with the same transactionalId fences the first:
// the first one's open transaction is aborted and its commit fails.
//
// The broker is expected to run with --group.initial.rebalance.delay.ms 0 and
// --group.min.session.timeout.ms 1000 (see the TESTS table in run.py).

const assert = require('assert')
const { Kafka, logLevel } = require('kafkajs')

const bootstrap = process.env.EDDY_BOOTSTRAP
if (!bootstrap) {
  console.error('EDDY_BOOTSTRAP not set (run through run.py)')
  process.exit(2)
}
const prefix = process.env.EDDY_TEST_NAME || 'kafkajs_txn'
const TOPIC = `${prefix}_data`
const OFFSETS_GROUP = `${prefix}-offsets`
const PARTITIONS = 2
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

function txnProducer(transactionalId) {
  return client(transactionalId).producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: 30000,
  })
}

function msgs(tag, n) {
  const out = []
  for (let i = 0; i < n; i++) out.push({ key: `${tag}`, value: `${tag}-${i}`, partition: i % PARTITIONS })
  return out
}

async function sendIn(txn, tag, n) {
  const res = await txn.send({ topic: TOPIC, acks: -1, messages: msgs(tag, n) })
  for (const r of res) assert.strictEqual(r.errorCode, 0, `${tag}: produce to partition ${r.partition}`)
  return msgs(tag, n).map(m => m.value)
}

// Reads the topic from the beginning in a fresh group until `want` records
// arrived, then `settleMs` more to catch extras. -> [{partition, offset, value}]
async function readAll(name, readUncommitted, want, settleMs = 1500) {
  const seen = []
  const consumer = client(name).consumer({
    groupId: `${prefix}-${name}`,
    // Left out for read_committed: that is kafkajs's default isolation.
    ...(readUncommitted ? { readUncommitted: true } : {}),
    sessionTimeout: 6000,
    heartbeatInterval: 300,
    maxWaitTimeInMs: 200,
  })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({ partition, offset: Number(message.offset), value: message.value.toString() })
    },
  })
  await waitFor(() => seen.length >= want, `${name} to read ${want} records (has ${seen.length})`)
  await sleep(settleMs)
  await consumer.disconnect()
  return seen
}

async function fetchOffsets(admin) {
  const res = await admin.fetchOffsets({ groupId: OFFSETS_GROUP, topics: [TOPIC] })
  return res[0].partitions.slice().sort((x, y) => x.partition - y.partition).map(p => p.offset)
}

async function main() {
  const admin = client(`${prefix}-admin`).admin()
  await admin.connect()
  assert.strictEqual(
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 10000 }),
    true, 'createTopics')

  const producer = txnProducer(`${prefix}-txn`)
  await producer.connect()

  let txn = await producer.transaction()
  const c1 = await sendIn(txn, 'c1', 10)
  await txn.commit()
  txn = await producer.transaction()
  const a1 = await sendIn(txn, 'a1', 7)
  await txn.abort()
  txn = await producer.transaction()
  const c2 = await sendIn(txn, 'c2', 5)
  await txn.commit()
  log(`committed ${c1.length}, aborted ${a1.length}, committed ${c2.length} records`)

  const committed = await readAll('committed', false, c1.length + c2.length)
  const vals = committed.map(r => r.value)
  log(`read_committed consumer read ${vals.length}: ${vals.join(' ')}`)
  assert.deepStrictEqual(vals.slice().sort(), c1.concat(c2).sort(), 'read_committed sees exactly the committed records')
  for (let p = 0; p < PARTITIONS; p++) {
    const inPart = committed.filter(r => r.partition === p).map(r => r.value)
    // c1 then c2, each in send order
    const want = c1.filter((_, i) => i % PARTITIONS === p).concat(c2.filter((_, i) => i % PARTITIONS === p))
    assert.deepStrictEqual(inPart, want, `partition ${p}: records and their order`)
  }
  const all = await readAll('uncommitted', true, c1.length + a1.length + c2.length)
  log(`read_uncommitted consumer read ${all.length}`)
  assert.deepStrictEqual(all.map(r => r.value).sort(), c1.concat(a1, c2).sort(),
    'read_uncommitted sees committed and aborted records')
  const at = new Map(all.map(r => [r.value, `${r.partition}/${r.offset}`]))
  for (const r of committed) assert.strictEqual(`${r.partition}/${r.offset}`, at.get(r.value), `offset of ${r.value}`)

  // sendOffsets: committed with the transaction, dropped with an abort.
  txn = await producer.transaction()
  await sendIn(txn, 'o1', 2)
  await txn.sendOffsets({
    consumerGroupId: OFFSETS_GROUP,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '3' }] }],
  })
  await txn.commit()
  let offsets = await fetchOffsets(admin)
  log(`after a committed sendOffsets: fetchOffsets [${offsets}]`)
  assert.deepStrictEqual(offsets, ['5', '3'], 'offsets sent in a committed transaction')
  txn = await producer.transaction()
  await sendIn(txn, 'o2', 2)
  await txn.sendOffsets({
    consumerGroupId: OFFSETS_GROUP,
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, offset: '9' }, { partition: 1, offset: '8' }] }],
  })
  await txn.abort()
  offsets = await fetchOffsets(admin)
  log(`after an aborted sendOffsets: fetchOffsets [${offsets}]`)
  assert.deepStrictEqual(offsets, ['5', '3'], 'offsets sent in an aborted transaction must not be committed')

  // Fencing: a second producer with the same transactionalId.
  txn = await producer.transaction()
  const zombie = await sendIn(txn, 'zombie', 4)
  const second = txnProducer(`${prefix}-txn`)
  const t = Date.now()
  await second.connect()
  // kafkajs sends InitProducerId lazily, on the first transaction().
  const txn2 = await second.transaction()
  log(`second producer with the same transactionalId initialised in ${(Date.now() - t) / 1000} s`)
  let fenced = null
  try {
    await txn.commit()
  } catch (e) {
    fenced = e
  }
  assert.ok(fenced, 'commit of the fenced producer succeeded')
  log(`first producer's commit failed as it should: ${fenced.name}: ${fenced.message} (type ${fenced.type})`)
  assert.ok(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH|fenced|epoch/i.test(`${fenced.type} ${fenced.message}`),
    `unexpected error from the fenced producer: ${fenced.type} ${fenced.message}`)
  const after = await sendIn(txn2, 'second', 4)
  await txn2.commit()
  const o = ['o1-0', 'o1-1']
  const final = await readAll('final', false, c1.length + c2.length + o.length + after.length)
  const fv = final.map(r => r.value)
  assert.ok(!fv.some(v => zombie.includes(v)), `the fenced producer's records are visible: ${fv}`)
  assert.deepStrictEqual(fv.slice().sort(), c1.concat(c2, o, after).sort(), 'read_committed after the fence')

  await producer.disconnect().catch(() => {})
  await second.disconnect()
  await admin.disconnect()
  log('PASS: kafkajs transactions: commit visible, abort invisible, sendOffsets, fencing')
}

const timer = setTimeout(() => {
  console.error('FAIL: timed out after 90 s')
  process.exit(1)
}, 90000)

main().then(() => {
  clearTimeout(timer)
  process.exit(0)
}).catch(e => {
  console.error('FAIL:', e && e.stack ? e.stack : e)
  process.exit(1)
})
