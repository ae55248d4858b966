'use strict'
// kafkajs 2.2.4 admin against a running eddy (EDDY_BOOTSTRAP): configs and partitions.
//
// Covers: admin.describeConfigs (a topic's defaults and overrides with their
// sources, synonyms, a config subset, the BROKER resource), admin.alterConfigs
// (the override set is replaced; validateOnly changes nothing; a bad value and
// an unknown name are rejected with INVALID_CONFIG), a topic altered to a small
// max.message.bytes rejecting a bigger batch while a smaller one passes, and
// admin.createPartitions (growing a topic, producing into the new partitions,
// INVALID_PARTITIONS when not larger).

const assert = require('assert')
const { Kafka, logLevel, ConfigResourceTypes, ConfigSource } = require('kafkajs')

const bootstrap = process.env.EDDY_BOOTSTRAP
if (!bootstrap) {
  console.error('EDDY_BOOTSTRAP not set (run through run.py)')
  process.exit(2)
}
const prefix = process.env.EDDY_TEST_NAME || 'kafkajs_admin'
const TOPIC = `${prefix}_cfg`

const kafka = new Kafka({
  clientId: 'eddy-compat-kafkajs-admin',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 2, initialRetryTime: 200 },
})

async function describeTopic(admin, names) {
  const r = await admin.describeConfigs({
    includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames: names || [] }], // [] is sent as null: all
  })
  assert.strictEqual(r.resources[0].errorCode, 0, `describeConfigs error ${r.resources[0].errorCode}`)
  const byName = {}
  for (const e of r.resources[0].configEntries) byName[e.configName] = e
  return byName
}

async function expectError(promise, type, what) {
  try {
    await promise
  } catch (e) {
    assert.strictEqual(e.type, type, `${what}: expected ${type}, got ${e.type} (${e.message})`)
    console.log(`ok   ${what} -> ${type}`)
    return
  }
  assert.fail(`${what} was accepted`)
}

async function main() {
  const admin = kafka.admin()
  await admin.connect()
  assert.ok(await admin.createTopics({
    topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  }), 'createTopics')

  let c = await describeTopic(admin, null)
  assert.strictEqual(c['retention.ms'].configValue, '3600000')
  assert.strictEqual(c['retention.ms'].configSource, ConfigSource.TOPIC_CONFIG)
  assert.strictEqual(c['retention.ms'].configSynonyms[0].configName, 'retention.ms')
  assert.strictEqual(c['cleanup.policy'].configValue, 'delete')
  assert.strictEqual(c['cleanup.policy'].configSource, ConfigSource.DEFAULT_CONFIG)
  assert.strictEqual(c['compression.type'].configValue, 'producer')
  assert.ok(Object.keys(c).length > 20, 'every topic config is described')
  console.log('ok   describeConfigs: override and defaults with sources and synonyms')

  c = await describeTopic(admin, ['segment.bytes'])
  assert.deepStrictEqual(Object.keys(c), ['segment.bytes'])
  assert.strictEqual(c['segment.bytes'].configValue, '1073741824')
  console.log('ok   describeConfigs with configNames returns only those')

  await admin.alterConfigs({
    validateOnly: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'max.message.bytes', value: '10' }] }],
  })
  c = await describeTopic(admin, ['max.message.bytes', 'retention.ms'])
  assert.strictEqual(c['max.message.bytes'].configValue, '1048588', 'validateOnly changed nothing')
  console.log('ok   alterConfigs validateOnly changes nothing')

  await admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'max.message.bytes', value: '2048' }] }],
  })
  c = await describeTopic(admin, ['max.message.bytes', 'retention.ms'])
  assert.strictEqual(c['max.message.bytes'].configValue, '2048')
  assert.strictEqual(c['max.message.bytes'].configSource, ConfigSource.TOPIC_CONFIG)
  assert.strictEqual(c['retention.ms'].configSource, ConfigSource.DEFAULT_CONFIG, 'alterConfigs replaces the override set')
  console.log('ok   alterConfigs sets max.message.bytes=2048 and replaces the override set')

  await expectError(admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: 'later' }] }],
  }), 'INVALID_CONFIG', 'alterConfigs retention.ms=later')
  await expectError(admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.weeks', value: '1' }] }],
  }), 'INVALID_CONFIG', 'alterConfigs of an unknown config')

  const b = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames: ['message.max.bytes', 'listeners'] }],
  })
  const be = {}
  for (const e of b.resources[0].configEntries) be[e.configName] = e
  assert.strictEqual(be['message.max.bytes'].configValue, '1048588')
  assert.strictEqual(be['message.max.bytes'].readOnly, false)
  assert.strictEqual(be['listeners'].readOnly, true)
  console.log('ok   describeConfigs of the BROKER resource')

  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } })
  await producer.connect()
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ value: Buffer.alloc(1000, 0x61), partition: 0 }] })
  console.log('ok   a 1 KB batch passes max.message.bytes=2048')
  await expectError(producer.send({ topic: TOPIC, acks: -1, messages: [{ value: Buffer.alloc(4000, 0x62), partition: 0 }] }),
    'MESSAGE_TOO_LARGE', 'a 4 KB batch')

  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 3 }] })
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  assert.strictEqual(md.topics[0].partitions.length, 3, 'createPartitions grew the topic')
  console.log('ok   createPartitions grew the topic to 3')
  await expectError(admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 2 }] }),
    'INVALID_PARTITIONS', 'createPartitions to fewer')

  await producer.disconnect()
  const p2 = kafka.producer({ allowAutoTopicCreation: false })
  await p2.connect()
  for (let part = 0; part < 3; part++) {
    const r = await p2.send({ topic: TOPIC, acks: -1, messages: [{ value: `to ${part}`, partition: part }] })
    assert.strictEqual(r[0].errorCode, 0)
    assert.strictEqual(r[0].partition, part)
  }
  await p2.disconnect()
  console.log('ok   a producer writes into the new partitions')
  await admin.disconnect()
  console.log('PASS: kafkajs admin configs and partitions')
}

main().catch(e => {
  console.error('FAIL:', e && e.stack ? e.stack : e)
  process.exit(1)
})
