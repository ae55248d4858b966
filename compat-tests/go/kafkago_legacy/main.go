// kafkago_legacy: segmentio/kafka-go 0.2.1 (Debian) against eddy. It speaks
// Produce v2 and Fetch v2, so its messages are magic 1 message sets (with
// timestamps) both ways, and ListOffsets v1. For each codec, 50 keyed
// messages go in one Produce request (one compressed wrapper when there is
// a codec) and are read back from offset 0 with every key, value, offset
// and timestamp checked.
// Usage: kafkago_legacy BOOTSTRAP TOPIC_PREFIX
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
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

func run(boot, topic string, codec kafka.CompressionCodec) {
	// The topic is auto-created by the Metadata request DialLeader sends (kafka-go 0.2's
	// CreateTopics is v0, which eddy does not serve).
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var conn *kafka.Conn
	var err error
	for i := 0; i < 20; i++ { // a new topic may have no leader for a moment
		if conn, err = kafka.DialLeader(ctx, "tcp", boot, topic, 0); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		check(false, "%s: dial leader: %v", topic, err)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	stamp := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("key-%02d", i)),
			Value: []byte(fmt.Sprintf("value-%02d the quick brown fox jumps over the lazy dog", i)),
			Time:  stamp.Add(time.Duration(i) * time.Millisecond)}
	}
	_, err = conn.WriteCompressedMessages(codec, msgs...)
	check(err == nil, "%s: produce %d messages (Produce v2): %v", topic, n, err)
	first, err1 := conn.ReadFirstOffset()
	last, err2 := conn.ReadLastOffset()
	check(err1 == nil && err2 == nil && first == 0 && last == n, "%s: first %d (%v), last %d (%v)", topic, first, err1, last, err2)
	if _, err := conn.Seek(0, kafka.SeekAbsolute); err != nil {
		check(false, "%s: seek: %v", topic, err)
		return
	}
	got := 0
	ok := true
	for got < n {
		batch := conn.ReadBatch(1, 1<<20)
		for {
			m, err := batch.ReadMessage()
			if err != nil {
				break
			}
			wantK := fmt.Sprintf("key-%02d", got)
			wantV := fmt.Sprintf("value-%02d the quick brown fox jumps over the lazy dog", got)
			wantT := stamp.Add(time.Duration(got) * time.Millisecond)
			if string(m.Key) != wantK || string(m.Value) != wantV || m.Offset != int64(got) || !m.Time.Equal(wantT) {
				check(false, "%s: message %d: %q=%q@%d %v (want %v)", topic, got, m.Key, m.Value, m.Offset, m.Time, wantT)
				ok = false
			}
			got++
		}
		if err := batch.Close(); err != nil {
			check(false, "%s: fetch (v2) after %d messages: %v", topic, got, err)
			return
		}
	}
	check(ok && got == n, "%s: read back every key, value, offset and timestamp of %d messages", topic, n)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Println("usage: kafkago_legacy BOOTSTRAP TOPIC_PREFIX")
		os.Exit(2)
	}
	boot, prefix := os.Args[1], os.Args[2]
	run(boot, prefix+"_none", nil)
	run(boot, prefix+"_gzip", gzip.NewCompressionCodec())
	run(boot, prefix+"_snappy", snappy.NewCompressionCodec())
	run(boot, prefix+"_lz4", lz4.NewCompressionCodec())
	fmt.Printf("%d checks failed\n", failures)
	if failures > 0 {
		os.Exit(1)
	}
}
