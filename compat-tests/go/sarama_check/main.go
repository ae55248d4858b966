// sarama_check drives eddy with Shopify/sarama 1.22 (Debian's
// golang-github-shopify-sarama-dev), unmodified, at a chosen Config.Version.
// sarama does not negotiate versions: Config.Version alone decides which
// request versions it sends, so "-version default" (V0_8_2_0) exercises
// Produce v0, Fetch v0, ListOffsets v0, OffsetCommit v1 and "-version max"
// (V2_2_0_0) the newest sarama knows. compat-tests/test_sarama.py runs the
// steps below in separate processes.
//
//	roundtrip   sync producer (keyed, plain and every codec the version
//	            allows), then a partition consumer from the oldest offset;
//	            writes what it produced to -record for the later steps
//	commit      OffsetManager commits known offsets and closes
//	resume      a new OffsetManager finds them and consumption resumes there
//	admin       ClusterAdmin calls, each result checked
//	group       a ConsumerGroup joins, consumes everything, commits
//	timestamps  several records per v2 batch, then offsets for times
//
// Every failed check prints "FAIL <check>: expected ..., got ..." and the
// process exits 1 after the step (or at once when going on makes no sense).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

var (
	bootstrap  = flag.String("bootstrap", os.Getenv("EDDY_BOOTSTRAP"), "broker host:port")
	versionArg = flag.String("version", "default", "sarama Config.Version: default, max or a Kafka version like 0.10.2.0")
	topic      = flag.String("topic", "", "topic name")
	group      = flag.String("group", "", "consumer group id")
	partitions = flag.Int("partitions", 3, "partitions the topic has")
	messages   = flag.Int("messages", 300, "messages produced uncompressed (each codec adds half as many)")
	record     = flag.String("record", "", "file holding what roundtrip produced (written by roundtrip, read by the others)")
	verbose    = flag.Bool("v", false, "sarama's own log on stderr")

	failures, reported int
	version            sarama.KafkaVersion
)

func failf(check, format string, args ...interface{}) {
	failures++
	fmt.Printf("FAIL %s: %s\n", check, fmt.Sprintf(format, args...))
}

func fatalf(check, format string, args ...interface{}) {
	failf(check, format, args...)
	os.Exit(1)
}

// okf reports a check that passed; after failures it says so instead.
func okf(format string, args ...interface{}) {
	tag := "ok  "
	if failures > reported {
		tag = "BAD "
	}
	reported = failures
	fmt.Printf("%s %s\n", tag, fmt.Sprintf(format, args...))
}

func newConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = version
	c.ClientID = "eddy-compat-sarama"
	c.Metadata.Retry.Max = 10
	c.Metadata.Retry.Backoff = 200 * time.Millisecond
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 10 * time.Second
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Retry.Max = 3
	c.Producer.Partitioner = sarama.NewManualPartitioner
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.CommitInterval = 200 * time.Millisecond
	c.Admin.Timeout = 10 * time.Second
	return c
}

// One produced message, as the producer's success report placed it.
type produced struct {
	partition int32
	offset    int64
	key       string
	value     string
	tsMillis  int64 // 0: the message format carries none
}

func writeRecord(path string, all []produced) {
	f, err := os.Create(path)
	if err != nil {
		fatalf("record", "cannot write %s: %v", path, err)
	}
	w := bufio.NewWriter(f)
	for _, m := range all {
		fmt.Fprintf(w, "%d %d %d %s %s\n", m.partition, m.offset, m.tsMillis, m.key, m.value)
	}
	w.Flush()
	f.Close()
}

// readRecord returns, per partition, the produced messages indexed by offset.
func readRecord(path string) map[int32][]produced {
	f, err := os.Open(path)
	if err != nil {
		fatalf("record", "cannot read %s (run roundtrip first): %v", path, err)
	}
	defer f.Close()
	out := map[int32][]produced{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 5)
		if len(parts) != 5 {
			fatalf("record", "bad line %q", sc.Text())
		}
		p, _ := strconv.Atoi(parts[0])
		o, _ := strconv.ParseInt(parts[1], 10, 64)
		ts, _ := strconv.ParseInt(parts[2], 10, 64)
		out[int32(p)] = append(out[int32(p)], produced{int32(p), o, parts[3], parts[4], ts})
	}
	for p, list := range out {
		for i, m := range list {
			if m.offset != int64(i) {
				fatalf("record", "partition %d: produced offsets are not 0..n-1 (index %d has offset %d)", p, i, m.offset)
			}
		}
	}
	return out
}

func codecsForVersion() []sarama.CompressionCodec {
	codecs := []sarama.CompressionCodec{sarama.CompressionGZIP, sarama.CompressionSnappy}
	if version.IsAtLeast(sarama.V0_10_0_0) {
		codecs = append(codecs, sarama.CompressionLZ4)
	}
	// zstd is left out: sarama 1.22 sends it in Produce v3, and Kafka takes
	// zstd only from Produce v7 (checkZstdRefused).
	return codecs
}

func codecName(c sarama.CompressionCodec) string {
	return [...]string{"none", "gzip", "snappy", "lz4", "zstd"}[c]
}

// produceRound sends n messages spread over the partitions. Uncompressed
// ones go one SendMessage each; compressed ones go in one SendMessages call
// with a flush threshold, so that several share a compressed wrapper/batch.
func produceRound(codec sarama.CompressionCodec, n int, seq *int, baseTs time.Time) []produced {
	cfg := newConfig()
	cfg.Producer.Compression = codec
	if codec != sarama.CompressionNone {
		cfg.Producer.Flush.Messages = 25
		cfg.Producer.Flush.Frequency = 50 * time.Millisecond
	}
	prod, err := sarama.NewSyncProducer([]string{*bootstrap}, cfg)
	if err != nil {
		fatalf("produce/"+codecName(codec), "NewSyncProducer: %v", err)
	}
	defer prod.Close()
	var msgs []*sarama.ProducerMessage
	for i := 0; i < n; i++ {
		k := *seq
		*seq++
		m := &sarama.ProducerMessage{
			Topic:     *topic,
			Partition: int32(k % *partitions),
			Key:       sarama.StringEncoder(fmt.Sprintf("key-%05d", k)),
			// Compressible but not uniform, with the codec in it.
			Value: sarama.StringEncoder(fmt.Sprintf("value-%05d-%s-%s", k, codecName(codec),
				strings.Repeat(strconv.Itoa(k%10), 20+k%37))),
		}
		if version.IsAtLeast(sarama.V0_10_0_0) {
			m.Timestamp = baseTs.Add(time.Duration(k) * time.Millisecond)
		}
		if version.IsAtLeast(sarama.V0_11_0_0) {
			m.Headers = []sarama.RecordHeader{{Key: []byte("seq"), Value: []byte(strconv.Itoa(k))}}
		}
		msgs = append(msgs, m)
	}
	if codec == sarama.CompressionNone {
		for _, m := range msgs {
			p, o, err := prod.SendMessage(m)
			if err != nil {
				fatalf("produce/none", "SendMessage key %s: %v", m.Key, err)
			}
			if p != m.Partition {
				failf("produce/none", "key %s: expected partition %d, got %d", m.Key, m.Partition, p)
			}
			m.Offset = o
		}
	} else if err := prod.SendMessages(msgs); err != nil {
		fatalf("produce/"+codecName(codec), "SendMessages: %v", err)
	}
	out := make([]produced, 0, n)
	for _, m := range msgs {
		k, _ := m.Key.Encode()
		v, _ := m.Value.Encode()
		var ts int64
		if version.IsAtLeast(sarama.V0_10_0_0) {
			ts = m.Timestamp.UnixNano() / int64(time.Millisecond)
		}
		out = append(out, produced{m.Partition, m.Offset, string(k), string(v), ts})
	}
	okf("produced %d messages with codec %s", n, codecName(codec))
	return out
}

func cmdRoundtrip() {
	seq := 0
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	all := produceRound(sarama.CompressionNone, *messages, &seq, base)
	for _, c := range codecsForVersion() {
		all = append(all, produceRound(c, *messages/2, &seq, base)...)
	}
	// Offsets reported to the producer must be 0..n-1 per partition, in
	// send order (every send waited for the previous one's answer).
	byPart := map[int32][]produced{}
	for _, m := range all {
		byPart[m.partition] = append(byPart[m.partition], m)
	}
	for p := int32(0); p < int32(*partitions); p++ {
		for i, m := range byPart[p] {
			if m.offset != int64(i) {
				fatalf("produce/offsets", "partition %d, message %d (%s): expected offset %d, got %d", p, i, m.key, i, m.offset)
			}
		}
	}
	if version.IsAtLeast(sarama.V2_1_0_0) {
		checkZstdRefused()
	}
	okf("producer offsets are contiguous from 0 on all %d partitions", *partitions)
	if *record != "" {
		writeRecord(*record, all)
	}
	consumeAll(byPart)
	checkWatermarks(byPart)
}

// checkZstdRefused: sarama allows zstd from V2_1_0_0 but still sends
// Produce v3, and Kafka refuses zstd batches in Produce below v7 with
// UNSUPPORTED_COMPRESSION_TYPE, nothing appended.
func checkZstdRefused() {
	cfg := newConfig()
	cfg.Producer.Compression = sarama.CompressionZSTD
	cfg.Producer.Retry.Max = 0
	prod, err := sarama.NewSyncProducer([]string{*bootstrap}, cfg)
	if err != nil {
		fatalf("produce/zstd", "NewSyncProducer: %v", err)
	}
	defer prod.Close()
	_, _, err = prod.SendMessage(&sarama.ProducerMessage{Topic: *topic, Partition: 0, Value: sarama.StringEncoder("zstd")})
	if err != sarama.ErrUnsupportedCompressionType {
		failf("produce/zstd", "zstd in Produce v3: expected UNSUPPORTED_COMPRESSION_TYPE, got %v", err)
		return
	}
	okf("zstd in Produce v3 refused with UNSUPPORTED_COMPRESSION_TYPE")
}

// consumeAll reads every partition from the oldest offset and compares each
// message with what was produced.
func consumeAll(byPart map[int32][]produced) {
	client, err := sarama.NewClient([]string{*bootstrap}, newConfig())
	if err != nil {
		fatalf("consume", "NewClient: %v", err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fatalf("consume", "NewConsumer: %v", err)
	}
	defer consumer.Close()
	for p := int32(0); p < int32(*partitions); p++ {
		want := byPart[p]
		pc, err := consumer.ConsumePartition(*topic, p, sarama.OffsetOldest)
		if err != nil {
			fatalf("consume", "ConsumePartition(%d, oldest): %v", p, err)
		}
		readAndCheck(pc, p, want, 0)
		if hw := pc.HighWaterMarkOffset(); hw != int64(len(want)) {
			failf("consume/high-watermark", "partition %d: expected %d, got %d", p, len(want), hw)
		}
		pc.Close()
	}
	okf("consumed and checked %d partitions from the oldest offset", *partitions)
}

// readAndCheck consumes want[from:] from pc and compares key, value, offset
// and (when the fetch version carries one) timestamp of each.
func readAndCheck(pc sarama.PartitionConsumer, p int32, want []produced, from int) {
	check := fmt.Sprintf("consume/partition-%d", p)
	for i := from; i < len(want); i++ {
		select {
		case msg := <-pc.Messages():
			w := want[i]
			if msg.Offset != w.offset {
				fatalf(check, "message %d: expected offset %d, got %d (key %s)", i, w.offset, msg.Offset, msg.Key)
			}
			if string(msg.Key) != w.key || string(msg.Value) != w.value {
				failf(check, "offset %d: expected %s=%.40s..., got %s=%.40s...", w.offset, w.key, w.value, msg.Key, msg.Value)
			}
			checkTimestamp(check, msg, w)
			if version.IsAtLeast(sarama.V0_11_0_0) {
				got := "none"
				if len(msg.Headers) == 1 && string(msg.Headers[0].Key) == "seq" {
					n, _ := strconv.Atoi(string(msg.Headers[0].Value))
					got = fmt.Sprintf("key-%05d", n)
				}
				if len(msg.Headers) != 1 || got != w.key {
					failf(check, "offset %d: expected one header seq matching %s, got %d headers (%s)", w.offset, w.key, len(msg.Headers), got)
				}
			}
		case cerr := <-pc.Errors():
			fatalf(check, "consumer error at message %d: %v", i, cerr)
		case <-time.After(15 * time.Second):
			fatalf(check, "timed out waiting for offset %d (have %d of %d)", want[i].offset, i, len(want))
		}
	}
}

func checkTimestamp(check string, msg *sarama.ConsumerMessage, w produced) {
	switch {
	case !version.IsAtLeast(sarama.V0_10_0_0):
		// Fetch v0/v1 answers carry magic-0 messages, which have no
		// timestamp; the broker converts down to them.
		if !msg.Timestamp.IsZero() {
			failf(check, "offset %d: Fetch v%d must return magic-0 messages without timestamps, got timestamp %v",
				w.offset, fetchVersion(), msg.Timestamp)
		}
	default:
		got := msg.Timestamp.UnixNano() / int64(time.Millisecond)
		if got != w.tsMillis {
			failf(check, "offset %d: expected timestamp %d, got %d", w.offset, w.tsMillis, got)
		}
	}
}

func fetchVersion() int {
	switch {
	case version.IsAtLeast(sarama.V0_11_0_0):
		return 4
	case version.IsAtLeast(sarama.V0_10_1_0):
		return 3
	case version.IsAtLeast(sarama.V0_10_0_0):
		return 2
	case version.IsAtLeast(sarama.V0_9_0_0):
		return 1
	}
	return 0
}

// checkWatermarks asks for the oldest and newest offsets with ListOffsets
// (v0 below V0_10_1_0, v1 from there).
func checkWatermarks(byPart map[int32][]produced) {
	client, err := sarama.NewClient([]string{*bootstrap}, newConfig())
	if err != nil {
		fatalf("list-offsets", "NewClient: %v", err)
	}
	defer client.Close()
	for p := int32(0); p < int32(*partitions); p++ {
		oldest, err := client.GetOffset(*topic, p, sarama.OffsetOldest)
		if err != nil || oldest != 0 {
			failf("list-offsets/earliest", "partition %d: expected 0, got %d (err %v)", p, oldest, err)
		}
		newest, err := client.GetOffset(*topic, p, sarama.OffsetNewest)
		if err != nil || newest != int64(len(byPart[p])) {
			failf("list-offsets/latest", "partition %d: expected %d, got %d (err %v)", p, len(byPart[p]), newest, err)
		}
	}
	okf("ListOffsets earliest/latest match on every partition")
}

// commitOffset is what the commit step stores for partition p (and resume
// and admin expect): a point inside the partition, and its own metadata.
func commitOffset(p int32, n int) int64 { return int64(n/3 + int(p)*7) }
func commitMeta(p int32) string         { return fmt.Sprintf("eddy-meta-%d", p) }

func cmdCommit() {
	want := readRecord(*record)
	cfg := newConfig()
	if version.IsAtLeast(sarama.V0_9_0_0) {
		// A retention makes sarama send OffsetCommit v2 instead of v1.
		cfg.Consumer.Offsets.Retention = time.Hour
	}
	client, err := sarama.NewClient([]string{*bootstrap}, cfg)
	if err != nil {
		fatalf("commit", "NewClient: %v", err)
	}
	om, err := sarama.NewOffsetManagerFromClient(*group, client)
	if err != nil {
		fatalf("commit", "NewOffsetManager: %v", err)
	}
	var poms []sarama.PartitionOffsetManager
	for p := int32(0); p < int32(*partitions); p++ {
		pom, err := om.ManagePartition(*topic, p)
		if err != nil {
			fatalf("commit", "ManagePartition(%d): %v", p, err)
		}
		// A fresh group has nothing committed: NextOffset is Offsets.Initial.
		if next, meta := pom.NextOffset(); next != sarama.OffsetOldest || meta != "" {
			failf("commit/fresh-group", "partition %d: expected no committed offset (NextOffset %d), got %d %q",
				p, sarama.OffsetOldest, next, meta)
		}
		pom.MarkOffset(commitOffset(p, len(want[p])), commitMeta(p))
		poms = append(poms, pom)
	}
	// Errors of the commit come back on each partition's channel.
	var wg sync.WaitGroup
	for _, pom := range poms {
		wg.Add(1)
		go func(pom sarama.PartitionOffsetManager) {
			defer wg.Done()
			for e := range pom.Errors() {
				failf("commit", "OffsetCommit error on %s/%d: %v", e.Topic, e.Partition, e.Err)
			}
		}(pom)
	}
	// Close flushes the marked offsets and waits for the broker's answer.
	for _, pom := range poms {
		pom.AsyncClose()
	}
	om.Close()
	wg.Wait()
	client.Close()
	okf("committed offsets for %d partitions of group %s", *partitions, *group)
}

func cmdResume() {
	want := readRecord(*record)
	client, err := sarama.NewClient([]string{*bootstrap}, newConfig())
	if err != nil {
		fatalf("resume", "NewClient: %v", err)
	}
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(*group, client)
	if err != nil {
		fatalf("resume", "NewOffsetManager: %v", err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fatalf("resume", "NewConsumer: %v", err)
	}
	for p := int32(0); p < int32(*partitions); p++ {
		pom, err := om.ManagePartition(*topic, p)
		if err != nil {
			fatalf("resume", "ManagePartition(%d): %v", p, err)
		}
		next, meta := pom.NextOffset()
		if next != commitOffset(p, len(want[p])) || meta != commitMeta(p) {
			fatalf("resume/committed", "partition %d: expected offset %d metadata %q, got %d %q",
				p, commitOffset(p, len(want[p])), commitMeta(p), next, meta)
		}
		pc, err := consumer.ConsumePartition(*topic, p, next)
		if err != nil {
			fatalf("resume", "ConsumePartition(%d, %d): %v", p, next, err)
		}
		readAndCheck(pc, p, want[p], int(next))
		pc.Close()
		pom.Close()
	}
	consumer.Close()
	om.Close()
	okf("a new process found the committed offsets and resumed there on %d partitions", *partitions)
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: sarama_check [flags] roundtrip|commit|resume|admin|group|timestamps\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *bootstrap == "" || *topic == "" {
		flag.Usage()
		os.Exit(2)
	}
	switch *versionArg {
	case "default":
		version = sarama.NewConfig().Version
	case "max":
		version = sarama.MaxVersion
	default:
		v, err := sarama.ParseKafkaVersion(*versionArg)
		if err != nil {
			fatalf("flags", "%v", err)
		}
		version = v
	}
	if *verbose {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Ltime|log.Lmicroseconds)
	}
	fmt.Printf("sarama Config.Version %s, step %s, topic %s\n", version, flag.Arg(0), *topic)
	start := time.Now()
	switch flag.Arg(0) {
	case "roundtrip":
		cmdRoundtrip()
	case "commit":
		cmdCommit()
	case "resume":
		cmdResume()
	case "admin":
		cmdAdmin()
	case "group":
		cmdGroup()
	case "timestamps":
		cmdTimestamps()
	default:
		flag.Usage()
		os.Exit(2)
	}
	if failures > 0 {
		fmt.Printf("%s: %d check(s) failed\n", flag.Arg(0), failures)
		os.Exit(1)
	}
	fmt.Printf("%s: all checks passed in %.1fs\n", flag.Arg(0), time.Since(start).Seconds())
}
