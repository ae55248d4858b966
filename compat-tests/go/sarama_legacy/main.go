// sarama_legacy: sarama 1.22 (Debian) against eddy with the protocol
// versions its Config.Version picks. The default (V0_8_2_0) sends Metadata,
// Produce, Fetch and ListOffsets v0 with magic 0 message sets; V0_10_0_0
// sends Produce and Fetch v2 with magic 1 (timestamps). For each codec the
// version allows, 50 keyed messages go in one Produce request (a compressed
// wrapper when there is a codec), ListOffsets v0 must answer 0 and 50, and a
// partition consumer from the oldest offset must get every key, value and
// offset back (and for magic 1 the CreateTime timestamps). With
// EDDY_DATA_DIR set, the stored batches must be v2 with that codec.
// Usage: sarama_legacy BOOTSTRAP 0.8.2|0.10.0 TOPIC_PREFIX
package main

import (
	"encoding/binary"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"time"

	"github.com/Shopify/sarama"
)

const n = 50

var failures int

func check(ok bool, format string, args ...interface{}) {
	if ok {
		fmt.Printf("ok   "+format+"\n", args...)
	} else {
		fmt.Printf("FAIL "+format+"\n", args...)
		failures++
	}
}

func storedCodecs(topic string) (map[byte]bool, map[byte]bool, error) {
	dir := os.Getenv("EDDY_DATA_DIR")
	data, err := ioutil.ReadFile(filepath.Join(dir, topic+"-0", "00000000000000000000.log"))
	if err != nil {
		return nil, nil, err
	}
	codecs, magics := map[byte]bool{}, map[byte]bool{}
	for pos := 0; pos+23 <= len(data); {
		length := int(int32(binary.BigEndian.Uint32(data[pos+8 : pos+12])))
		magics[data[pos+16]] = true
		codecs[data[pos+22]&7] = true
		pos += 12 + length
	}
	return codecs, magics, nil
}

func run(boot string, version sarama.KafkaVersion, magic1 bool, topic string, codec sarama.CompressionCodec, codecID byte) {
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = "eddy-sarama-legacy"
	cfg.Producer.Return.Successes = true
	cfg.Producer.Compression = codec
	cfg.Producer.Retry.Max = 10
	cfg.Producer.Retry.Backoff = 200 * time.Millisecond
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	cfg.Consumer.Return.Errors = true

	client, err := sarama.NewClient([]string{boot}, cfg)
	if err != nil {
		check(false, "%s: client: %v", topic, err)
		return
	}
	defer client.Close()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		check(false, "%s: producer: %v", topic, err)
		return
	}
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Partition: 0,
			Key:   sarama.StringEncoder(fmt.Sprintf("key-%02d", i)),
			Value: sarama.StringEncoder(fmt.Sprintf("value-%02d the quick brown fox jumps over the lazy dog", i))}
	}
	before := time.Now()
	// The topic is auto-created by the first Metadata request; retries cover LEADER_NOT_AVAILABLE.
	err = producer.SendMessages(msgs)
	after := time.Now()
	check(err == nil, "%s: produce %d messages: %v", topic, n, err)
	producer.Close()
	if err != nil {
		return
	}
	for i, m := range msgs {
		if m.Offset != int64(i) {
			check(false, "%s: message %d got offset %d", topic, i, m.Offset)
			return
		}
	}
	newest, err1 := client.GetOffset(topic, 0, sarama.OffsetNewest)
	oldest, err2 := client.GetOffset(topic, 0, sarama.OffsetOldest)
	check(err1 == nil && err2 == nil && newest == n && oldest == 0,
		"%s: ListOffsets newest %d (%v), oldest %d (%v)", topic, newest, err1, oldest, err2)

	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		check(false, "%s: consumer: %v", topic, err)
		return
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		check(false, "%s: consume partition: %v", topic, err)
		return
	}
	defer pc.Close()
	got := 0
	ok := true
	timeout := time.After(20 * time.Second)
	for got < n {
		select {
		case m := <-pc.Messages():
			wantK := fmt.Sprintf("key-%02d", got)
			wantV := fmt.Sprintf("value-%02d the quick brown fox jumps over the lazy dog", got)
			if string(m.Key) != wantK || string(m.Value) != wantV || m.Offset != int64(got) {
				check(false, "%s: message %d: %q=%q@%d", topic, got, m.Key, m.Value, m.Offset)
				ok = false
			}
			if magic1 {
				lo, hi := before.Add(-time.Second), after.Add(time.Second)
				if m.Timestamp.Before(lo) || m.Timestamp.After(hi) {
					check(false, "%s: message %d timestamp %v outside [%v, %v]", topic, got, m.Timestamp, lo, hi)
					ok = false
				}
			} else if !m.Timestamp.IsZero() {
				check(false, "%s: magic 0 message %d has a timestamp %v", topic, got, m.Timestamp)
				ok = false
			}
			got++
		case e := <-pc.Errors():
			check(false, "%s: consumer error: %v", topic, e)
			return
		case <-timeout:
			check(false, "%s: consumed %d of %d in 20 s", topic, got, n)
			return
		}
	}
	check(ok, "%s: consumed every key, value and offset (and timestamps) of %d messages", topic, n)
	if os.Getenv("EDDY_DATA_DIR") != "" {
		codecs, magics, err := storedCodecs(topic)
		check(err == nil && len(magics) == 1 && magics[2] && codecs[codecID],
			"%s: stored as v2 batches with codec %d (magics %v codecs %v, %v)", topic, codecID, magics, codecs, err)
	}
}

func main() {
	if len(os.Args) != 4 {
		fmt.Println("usage: sarama_legacy BOOTSTRAP 0.8.2|0.10.0 TOPIC_PREFIX")
		os.Exit(2)
	}
	boot, ver, prefix := os.Args[1], os.Args[2], os.Args[3]
	version, magic1 := sarama.V0_8_2_0, false
	if ver == "0.10.0" {
		version, magic1 = sarama.V0_10_0_0, true
	} else {
		check(sarama.NewConfig().Version == sarama.V0_8_2_0, "sarama's default Config.Version is 0.8.2")
	}
	codecs := []struct {
		name string
		c    sarama.CompressionCodec
		id   byte
	}{{"none", sarama.CompressionNone, 0}, {"gzip", sarama.CompressionGZIP, 1}, {"snappy", sarama.CompressionSnappy, 2}}
	if magic1 {
		codecs = append(codecs, struct {
			name string
			c    sarama.CompressionCodec
			id   byte
		}{"lz4", sarama.CompressionLZ4, 3})
	}
	for _, c := range codecs {
		run(boot, version, magic1, prefix+"_"+c.name, c.c, c.id)
	}
	fmt.Printf("%d checks failed\n", failures)
	if failures > 0 {
		os.Exit(1)
	}
}
