package main

import (
	"fmt"
	"time"

	"github.com/Shopify/sarama"
)

// sarama (V0_11_0_0 and later) writes v2 batches whose header max timestamp
// is -1: it never fills it in. Kafka recomputes it from the records on
// append, so offsets for times (ListOffsets v1+) work for these batches like
// for any other. This step produces records with known timestamps, several
// to a batch, uncompressed on partition 0 and lz4 on partition 1, and then
// asks for offsets by timestamp.
const (
	tsRecords = 40
	tsStepMs  = 10
)

func cmdTimestamps() {
	if !version.IsAtLeast(sarama.V0_11_0_0) {
		fatalf("timestamps", "needs -version 0.11.0.0 or later (v2 batches), got %s", version)
	}
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	codecs := []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionLZ4}
	for p, codec := range codecs {
		cfg := newConfig()
		cfg.Producer.Compression = codec
		cfg.Producer.Flush.Messages = 10
		cfg.Producer.Flush.Frequency = time.Second
		prod, err := sarama.NewSyncProducer([]string{*bootstrap}, cfg)
		if err != nil {
			fatalf("timestamps/produce", "NewSyncProducer: %v", err)
		}
		var msgs []*sarama.ProducerMessage
		for i := 0; i < tsRecords; i++ {
			msgs = append(msgs, &sarama.ProducerMessage{
				Topic: *topic, Partition: int32(p),
				Value:     sarama.StringEncoder(fmt.Sprintf("ts-%d-%d", p, i)),
				Timestamp: tsOf(base, i),
			})
		}
		if err := prod.SendMessages(msgs); err != nil {
			fatalf("timestamps/produce", "SendMessages: %v", err)
		}
		prod.Close()
		for i, m := range msgs {
			if m.Offset != int64(i) {
				fatalf("timestamps/produce", "partition %d message %d: expected offset %d, got %d", p, i, i, m.Offset)
			}
		}
	}
	okf("produced %d records with timestamps %d ms apart on partitions 0 (none) and 1 (lz4)", tsRecords, tsStepMs)

	client, err := sarama.NewClient([]string{*bootstrap}, newConfig())
	if err != nil {
		fatalf("timestamps", "NewClient: %v", err)
	}
	defer client.Close()
	for p, codec := range codecs {
		checkStoredBatches(client, int32(p), codecName(codec), base)
		checkOffsetsForTimes(client, int32(p), codecName(codec), base)
	}
}

func tsOf(base time.Time, i int) time.Time {
	return base.Add(time.Duration(i*tsStepMs) * time.Millisecond)
}

func millis(t time.Time) int64 { return t.UnixNano() / int64(time.Millisecond) }

// checkStoredBatches fetches the partition with a plain Fetch v4 and looks at
// the batches themselves: the test means nothing unless sarama put several
// records in one batch, and each batch's max timestamp must be its records'
// maximum (Kafka rewrites it on append).
func checkStoredBatches(client sarama.Client, p int32, codec string, base time.Time) {
	check := fmt.Sprintf("timestamps/stored-batches/%s", codec)
	broker, err := client.Leader(*topic, p)
	if err != nil {
		fatalf(check, "Leader: %v", err)
	}
	req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 100, MinBytes: 1, MaxBytes: 1 << 20}
	req.AddBlock(*topic, p, 0, 1<<20)
	resp, err := broker.Fetch(req)
	if err != nil {
		fatalf(check, "Fetch: %v", err)
	}
	block := resp.GetBlock(*topic, p)
	if block == nil || block.Err != sarama.ErrNoError {
		fatalf(check, "Fetch partition %d: expected records, got %+v", p, block)
	}
	batches, multi, records := 0, 0, 0
	for _, rs := range block.RecordsSet {
		b := rs.RecordBatch
		if b == nil {
			failf(check, "partition %d: expected v2 batches, got a legacy message set", p)
			continue
		}
		batches++
		if len(b.Records) > 1 {
			multi++
		}
		max := int64(-1)
		for _, r := range b.Records {
			if ts := millis(b.FirstTimestamp.Add(r.TimestampDelta)); ts > max {
				max = ts
			}
			records++
		}
		got := int64(-1)
		if !b.MaxTimestamp.IsZero() {
			got = millis(b.MaxTimestamp)
		}
		if got != max {
			failf(check, "batch at offset %d (%d records): expected max timestamp %d (the broker recomputes it on append), got %d",
				b.FirstOffset, len(b.Records), max, got)
		}
	}
	if records != tsRecords || multi == 0 {
		fatalf(check, "partition %d: expected %d records with at least one batch of several, got %d records in %d batches (%d of several)",
			p, tsRecords, records, batches, multi)
	}
	okf("partition %d (%s): %d records in %d batches, %d of several records", p, codec, records, batches, multi)
}

// checkOffsetsForTimes asks ListOffsets (v1: Config.Version >= V0_10_1_0)
// for the first offset whose timestamp is at or after each probe.
func checkOffsetsForTimes(client sarama.Client, p int32, codec string, base time.Time) {
	check := fmt.Sprintf("timestamps/offsets-for-times/%s", codec)
	wrong := 0
	probe := func(what string, ts int64, want int64) {
		got, err := client.GetOffset(*topic, p, ts)
		if err == nil && got == want {
			return
		}
		// The first few say what is wrong; the rest are only counted.
		if wrong++; wrong > 6 {
			failures++
			return
		}
		if err != nil {
			failf(check, "%s (timestamp %d): ListOffsets error %v, expected offset %d", what, ts, err, want)
		} else {
			failf(check, "%s (timestamp %d): expected offset %d, got %d", what, ts, want, got)
		}
	}
	probe("before the first record", millis(base)-1000, 0)
	for i := 0; i < tsRecords; i++ {
		ts := millis(tsOf(base, i))
		probe(fmt.Sprintf("exactly record %d's timestamp", i), ts, int64(i))
		if i > 0 {
			probe(fmt.Sprintf("between records %d and %d", i-1, i), ts-tsStepMs/2, int64(i))
		}
	}
	probe("after the last record", millis(tsOf(base, tsRecords)), -1)
	if wrong > 6 {
		fmt.Printf("FAIL %s: ... %d more wrong answers, %d of %d in all\n", check, wrong-6, wrong, 2*tsRecords+1)
	}
	okf("partition %d (%s): offsets for %d timestamps", p, codec, 2*tsRecords+1)
}
