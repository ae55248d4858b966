#!/usr/bin/python3
"""Produce and consume with confluent-kafka-python against eddy (make run).

eddy has no consumer groups yet, so the consumer assigns partitions itself
and keeps its own position.
"""
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOTSTRAP = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9092"
TOPIC = "examples-orders"

admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
for fut in admin.create_topics([NewTopic(TOPIC, num_partitions=3, replication_factor=1)]).values():
    try:
        fut.result()
    except Exception as e:  # already exists on a second run
        print("create_topics:", e)

producer = Producer({"bootstrap.servers": BOOTSTRAP, "acks": "all", "compression.type": "zstd"})
for i in range(10):
    producer.produce(TOPIC, key=f"customer-{i % 3}", value=f"order {i}")
producer.flush(10)

consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "unused", "enable.auto.commit": False})
consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in range(3)])
seen = 0
while seen < 10:
    msg = consumer.poll(5.0)
    if msg is None:
        break
    if msg.error():
        continue
    print(f"partition {msg.partition()} offset {msg.offset()}: {msg.key().decode()} -> {msg.value().decode()}")
    seen += 1
consumer.close()
