// kafkago_check drives eddy with segmentio/kafka-go 0.2.1 (Debian's
// golang-github-segmentio-kafka-go-dev), unmodified. kafka-go 0.2 has its
// request versions fixed: Produce v2 and Fetch v2 (magic-1 message sets),
// ListOffsets v1, Metadata v1, CreateTopics v0, and for groups
// FindCoordinator v0, JoinGroup v1, SyncGroup v0, Heartbeat v0,
// OffsetCommit v2, OffsetFetch v1 (LeaveGroup v0 only on errors). compat-tests/test_kafka_go.py
// runs the steps in separate processes:
//
//	write         CreateTopics, then a Writer per codec (none, gzip, snappy,
//	              lz4) writes keyed messages; records them in -record
//	read          a Reader per partition reads everything back; offsets for
//	              times and first/last offsets through a Conn
//	group         a Reader with GroupID reads and commits part of the topic
//	group-resume  a new Reader in the same group continues where the first
//	              one committed, and reads the rest exactly once
//
// Every failed check prints "FAIL <check>: expected ..., got ...".
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

var (
	bootstrap  = flag.String("bootstrap", os.Getenv("EDDY_BOOTSTRAP"), "broker host:port")
	topic      = flag.String("topic", "", "topic name")
	group      = flag.String("group", "", "consumer group id")
	partitions = flag.Int("partitions", 3, "partitions to create")
	messages   = flag.Int("messages", 300, "messages written uncompressed (each codec adds half as many)")
	record     = flag.String("record", "", "what write produced (written by write, read by the other steps)")
	first      = flag.Int("first", 200, "messages the group step reads before it leaves")
	state      = flag.String("state", "", "where the group step leaves the offsets it committed")

	failures, reported int
)

func failf(check, format string, args ...interface{}) {
	failures++
	fmt.Printf("FAIL %s: %s\n", check, fmt.Sprintf(format, args...))
}

func fatalf(check, format string, args ...interface{}) {
	failf(check, format, args...)
	os.Exit(1)
}

// okf reports a step that passed; after failures it says so instead.
func okf(format string, args ...interface{}) {
	tag := "ok  "
	if failures > reported {
		tag = "BAD "
	}
	reported = failures
	fmt.Printf("%s %s\n", tag, fmt.Sprintf(format, args...))
}

type written struct {
	partition int
	offset    int64
	tsMillis  int64
	key       string
	value     string
}

func millis(t time.Time) int64 { return t.UnixNano() / int64(time.Millisecond) }

// keyBalancer sends message k to partition k % n: the test knows where
// every message goes, so it knows every offset.
type keyBalancer struct{}

func (keyBalancer) Balance(m kafka.Message, parts ...int) int {
	k, _ := strconv.Atoi(strings.TrimPrefix(string(m.Key), "key-"))
	return parts[k%len(parts)]
}

func cmdWrite() {
	conn, err := kafka.Dial("tcp", *bootstrap)
	if err != nil {
		fatalf("create-topic", "Dial: %v", err)
	}
	err = conn.CreateTopics(kafka.TopicConfig{Topic: *topic, NumPartitions: *partitions, ReplicationFactor: 1})
	if err != nil {
		fatalf("create-topic", "CreateTopics v0: %v", err)
	}
	parts, err := conn.ReadPartitions(*topic)
	conn.Close()
	if err != nil || len(parts) != *partitions {
		fatalf("create-topic", "expected %d partitions in Metadata v1, got %d (err %v)", *partitions, len(parts), err)
	}
	okf("CreateTopics v0 made %s with %d partitions", *topic, *partitions)

	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var all []written
	next := make([]int64, *partitions)
	seq := 0
	codecs := []kafka.CompressionCodec{nil, gzip.NewCompressionCodec(), snappy.NewCompressionCodec(), lz4.NewCompressionCodec()}
	for _, codec := range codecs {
		name, n := "none", *messages
		if codec != nil {
			name, n = codecName(codec), *messages/2
		}
		w := kafka.NewWriter(kafka.WriterConfig{
			Brokers: []string{*bootstrap}, Topic: *topic, Balancer: keyBalancer{},
			BatchSize: 20, BatchTimeout: 20 * time.Millisecond, RequiredAcks: -1,
			CompressionCodec: codec,
		})
		var msgs []kafka.Message
		for i := 0; i < n; i++ {
			k := seq
			seq++
			m := kafka.Message{
				Key:   []byte(fmt.Sprintf("key-%05d", k)),
				Value: []byte(fmt.Sprintf("value-%05d-%s-%s", k, name, strings.Repeat(strconv.Itoa(k%10), 10+k%41))),
				Time:  base.Add(time.Duration(k) * time.Millisecond),
			}
			msgs = append(msgs, m)
			p := k % *partitions
			all = append(all, written{p, next[p], millis(m.Time), string(m.Key), string(m.Value)})
			next[p]++
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.WriteMessages(ctx, msgs...)
		cancel()
		stats := w.Stats()
		w.Close()
		if err != nil {
			fatalf("write/"+name, "WriteMessages: %v", err)
		}
		if stats.Errors != 0 {
			failf("write/"+name, "expected no writer errors, got %d", stats.Errors)
		}
		okf("Writer (%s) wrote %d messages", name, n)
	}
	writeRecord(all)

	// First and last offsets per partition (ListOffsets v1).
	for p := 0; p < *partitions; p++ {
		c := dialLeader("write/offsets", p)
		f, l, err := c.ReadOffsets()
		c.Close()
		if err != nil || f != 0 || l != next[p] {
			failf("write/offsets", "partition %d: expected first 0 last %d, got %d %d (err %v)", p, next[p], f, l, err)
		}
	}
	okf("first and last offsets match what was written")
}

func codecName(c kafka.CompressionCodec) string {
	return [...]string{"none", "gzip", "snappy", "lz4"}[c.Code()]
}

func dialLeader(check string, p int) *kafka.Conn {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kafka.DialLeader(ctx, "tcp", *bootstrap, *topic, p)
	if err != nil {
		fatalf(check, "DialLeader(%d): %v", p, err)
	}
	return c
}

func writeRecord(all []written) {
	f, err := os.Create(*record)
	if err != nil {
		fatalf("record", "%v", err)
	}
	w := bufio.NewWriter(f)
	for _, m := range all {
		fmt.Fprintf(w, "%d %d %d %s %s\n", m.partition, m.offset, m.tsMillis, m.key, m.value)
	}
	w.Flush()
	f.Close()
}

func readRecord() map[int][]written {
	f, err := os.Open(*record)
	if err != nil {
		fatalf("record", "cannot read %s (run write first): %v", *record, err)
	}
	defer f.Close()
	out := map[int][]written{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.SplitN(sc.Text(), " ", 5)
		p, _ := strconv.Atoi(s[0])
		o, _ := strconv.ParseInt(s[1], 10, 64)
		ts, _ := strconv.ParseInt(s[2], 10, 64)
		out[p] = append(out[p], written{p, o, ts, s[3], s[4]})
	}
	return out
}

func checkMessage(check string, m kafka.Message, w written) {
	if m.Offset != w.offset || string(m.Key) != w.key || string(m.Value) != w.value {
		failf(check, "expected offset %d %s=%.30s..., got offset %d %s=%.30s...", w.offset, w.key, w.value, m.Offset, m.Key, m.Value)
		return
	}
	if got := millis(m.Time); got != w.tsMillis {
		failf(check, "offset %d: expected timestamp %d, got %d", w.offset, w.tsMillis, got)
	}
}

func cmdRead() {
	want := readRecord()
	for p := 0; p < *partitions; p++ {
		check := fmt.Sprintf("read/partition-%d", p)
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{*bootstrap}, Topic: *topic, Partition: p,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond,
		})
		for i, w := range want[p] {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			m, err := r.ReadMessage(ctx)
			cancel()
			if err != nil {
				fatalf(check, "message %d of %d: %v", i, len(want[p]), err)
			}
			if m.Partition != p {
				failf(check, "expected partition %d, got %d", p, m.Partition)
			}
			checkMessage(check, m, w)
		}
		r.Close()
	}
	okf("Reader per partition read back every message, key, value, offset and timestamp")

	// Offsets for times (ListOffsets v1): each message's own timestamp,
	// one just before it, and one past the end of the partition.
	for p := 0; p < *partitions; p++ {
		check := fmt.Sprintf("read/offsets-for-times/partition-%d", p)
		c := dialLeader(check, p)
		for i, w := range want[p] {
			if i%7 != 0 && i != len(want[p])-1 {
				continue
			}
			for _, ts := range []int64{w.tsMillis, w.tsMillis - 1} {
				got, err := c.ReadOffset(time.Unix(0, ts*int64(time.Millisecond)))
				if err != nil || got != w.offset {
					failf(check, "timestamp %d: expected offset %d, got %d (err %v)", ts, w.offset, got, err)
				}
			}
		}
		last := want[p][len(want[p])-1]
		if got, err := c.ReadOffset(time.Unix(0, (last.tsMillis+10000)*int64(time.Millisecond))); err != nil || got != -1 {
			failf(check, "timestamp after the last message: expected -1, got %d (err %v)", got, err)
		}
		c.Close()
	}
	okf("offsets for times on every partition")
}

// groupReader's session is short: kafka-go 0.2.1's Close does not send
// LeaveGroup (it forgets its membership first), so the group-resume member
// joins only once the broker has expired the group step's member.
func groupReader() *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{*bootstrap}, Topic: *topic, GroupID: *group,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond,
		HeartbeatInterval: 300 * time.Millisecond, SessionTimeout: 2 * time.Second,
		RebalanceTimeout: 2 * time.Second,
	})
}

// readGroup reads n messages with ReadMessage (which commits each one
// synchronously) and returns, per partition, the offsets read.
func readGroup(check string, r *kafka.Reader, want map[int][]written, n int) map[int][]int64 {
	got := map[int][]int64{}
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			fatalf(check, "message %d of %d: %v", i, n, err)
		}
		list := want[m.Partition]
		if m.Offset < 0 || m.Offset >= int64(len(list)) {
			fatalf(check, "partition %d: offset %d is outside the %d messages written", m.Partition, m.Offset, len(list))
		}
		checkMessage(check, m, list[m.Offset])
		got[m.Partition] = append(got[m.Partition], m.Offset)
	}
	return got
}

func total(want map[int][]written) int {
	n := 0
	for _, l := range want {
		n += len(l)
	}
	return n
}

func cmdGroup() {
	want := readRecord()
	r := groupReader()
	got := readGroup("group", r, want, *first)
	if err := r.Close(); err != nil {
		failf("group", "Close (LeaveGroup): %v", err)
	}
	// Each partition was read in order from 0; its commit is one past the
	// last offset read.
	committed := map[int]int64{}
	for p := 0; p < *partitions; p++ {
		for i, o := range got[p] {
			if o != int64(i) {
				failf("group/order", "partition %d: read %d was offset %d, expected %d (a fresh group starts at the oldest offset)", p, i, o, i)
				break
			}
		}
		committed[p] = int64(len(got[p]))
	}
	f, err := os.Create(*state)
	if err != nil {
		fatalf("group", "%v", err)
	}
	for p := 0; p < *partitions; p++ {
		fmt.Fprintf(f, "%d %d\n", p, committed[p])
	}
	f.Close()
	okf("group member read and committed %d messages: per partition %v", *first, committed)
}

func cmdGroupResume() {
	want := readRecord()
	committed := map[int]int64{}
	data, err := os.ReadFile(*state)
	if err != nil {
		fatalf("group-resume", "cannot read %s (run group first): %v", *state, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var p int
		var o int64
		fmt.Sscanf(line, "%d %d", &p, &o)
		committed[p] = o
	}
	rest := total(want) - *first
	r := groupReader()
	got := readGroup("group-resume", r, want, rest)
	for p := 0; p < *partitions; p++ {
		offs := got[p]
		sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
		wantN := int64(len(want[p])) - committed[p]
		if int64(len(offs)) != wantN || (len(offs) > 0 && offs[0] != committed[p]) {
			first := int64(-1)
			if len(offs) > 0 {
				first = offs[0]
			}
			failf("group-resume/partition-"+strconv.Itoa(p), "expected offsets %d..%d (resuming at the commit), got %d messages starting at %d",
				committed[p], len(want[p])-1, len(offs), first)
		}
	}
	// Nothing more may come: every message was read exactly once.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	if m, err := r.FetchMessage(ctx); err == nil {
		failf("group-resume", "expected no more messages, got partition %d offset %d", m.Partition, m.Offset)
	}
	cancel()
	if err := r.Close(); err != nil {
		failf("group-resume", "Close: %v", err)
	}
	okf("a new group member resumed at the committed offsets and read the other %d messages once", rest)
}

func main() {
	flag.Parse()
	if flag.NArg() != 1 || *bootstrap == "" || *topic == "" || *record == "" {
		fmt.Fprintln(os.Stderr, "usage: kafkago_check -topic T -record FILE [-group G -state FILE] write|read|group|group-resume")
		os.Exit(2)
	}
	fmt.Printf("kafka-go 0.2, step %s, topic %s\n", flag.Arg(0), *topic)
	start := time.Now()
	switch flag.Arg(0) {
	case "write":
		cmdWrite()
	case "read":
		cmdRead()
	case "group":
		cmdGroup()
	case "group-resume":
		cmdGroupResume()
	default:
		fmt.Fprintln(os.Stderr, "unknown step", flag.Arg(0))
		os.Exit(2)
	}
	if failures > 0 {
		fmt.Printf("%s: %d check(s) failed\n", flag.Arg(0), failures)
		os.Exit(1)
	}
	fmt.Printf("%s: all checks passed in %.1fs\n", flag.Arg(0), time.Since(start).Seconds())
}
