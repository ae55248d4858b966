package main

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

// groupHandler checks every claimed message against the record and marks
// it; when all partitions are read to their end it checks the group as the
// admin API describes it, then ends the session.
type groupHandler struct {
	want   map[int32][]produced
	cancel context.CancelFunc

	mu       sync.Mutex
	consumed map[int32]int
	claims   map[string][]int32
	member   string
	gen      int32
	done     bool
}

func (h *groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.claims, h.member, h.gen = s.Claims(), s.MemberID(), s.GenerationID()
	return nil
}

func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	p := c.Partition()
	check := fmt.Sprintf("group/partition-%d", p)
	want := h.want[p]
	for msg := range c.Messages() {
		h.mu.Lock()
		i := h.consumed[p]
		h.mu.Unlock()
		if i >= len(want) {
			failf(check, "unexpected message at offset %d past the end %d", msg.Offset, len(want))
			continue
		}
		w := want[i]
		if msg.Offset != w.offset || string(msg.Key) != w.key || string(msg.Value) != w.value {
			failf(check, "message %d: expected offset %d %s, got offset %d %s", i, w.offset, w.key, msg.Offset, msg.Key)
		}
		checkTimestamp(check, msg, w)
		s.MarkMessage(msg, "")
		h.mu.Lock()
		h.consumed[p] = i + 1
		all := true
		for q, list := range h.want {
			if h.consumed[q] < len(list) {
				all = false
			}
		}
		finish := all && !h.done
		if finish {
			h.done = true
		}
		h.mu.Unlock()
		if finish {
			go h.finish()
		}
	}
	return nil
}

// finish runs while the member is still in the group.
func (h *groupHandler) finish() {
	defer h.cancel()
	a := adminAt(sarama.MaxVersion)
	desc, err := a.DescribeConsumerGroups([]string{*group})
	if err != nil || len(desc) != 1 {
		failf("group/describe", "DescribeConsumerGroups: expected one group, got %d (err %v)", len(desc), err)
		return
	}
	d := desc[0]
	if d.Err != sarama.ErrNoError || d.State != "Stable" || d.ProtocolType != "consumer" || d.Protocol != "range" || len(d.Members) != 1 {
		failf("group/describe", "expected Stable, protocol consumer/range, 1 member; got %q %s/%s, %d members (err %v)",
			d.State, d.ProtocolType, d.Protocol, len(d.Members), d.Err)
		return
	}
	for id, m := range d.Members {
		if id != h.member || m.ClientId != "eddy-compat-sarama" {
			failf("group/describe", "expected member %s with client id eddy-compat-sarama, got %s %s", h.member, id, m.ClientId)
		}
		asg, err := m.GetMemberAssignment()
		if err != nil {
			failf("group/describe", "member assignment does not decode: %v", err)
			continue
		}
		got := asg.Topics[*topic]
		sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
		if !reflect.DeepEqual(got, allPartitions()) {
			failf("group/describe", "expected the member assigned partitions %v, got %v", allPartitions(), asg.Topics)
		}
	}
	groups, err := a.ListConsumerGroups()
	if err != nil || groups[*group] != "consumer" {
		failf("group/list", "expected %s with protocol type consumer, got %q (err %v)", *group, groups[*group], err)
	}
	okf("while consuming: group Stable with this one member assigned every partition")
}

func allPartitions() []int32 {
	var out []int32
	for p := int32(0); p < int32(*partitions); p++ {
		out = append(out, p)
	}
	return out
}

func cmdGroup() {
	want := readRecord(*record)
	defer closeAdmins()
	cfg := newConfig()
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cg, err := sarama.NewConsumerGroup([]string{*bootstrap}, *group, cfg)
	if err != nil {
		fatalf("group", "NewConsumerGroup: %v", err)
	}
	go func() {
		for err := range cg.Errors() {
			failf("group", "consumer group error: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &groupHandler{want: want, cancel: cancel, consumed: map[int32]int{}}
	if err := cg.Consume(ctx, []string{*topic}, h); err != nil {
		fatalf("group", "Consume: %v", err)
	}
	// Consume returned: the session ended and its offsets were flushed.
	if err := cg.Close(); err != nil {
		failf("group", "Close: %v", err)
	}
	if !h.done {
		fatalf("group", "session ended before every message was consumed: %v of %d partitions' messages", h.consumed, len(want))
	}
	if h.member == "" || h.gen < 1 || !reflect.DeepEqual(sortedClaim(h.claims[*topic]), allPartitions()) {
		failf("group/join", "expected a member id, generation >= 1 and claims %v; got %q, %d, %v", allPartitions(), h.member, h.gen, h.claims)
	}
	okf("group member %s (generation %d) consumed every message", h.member, h.gen)

	// The commits are there for a new process (here: a fresh client).
	resp, err := adminAt(sarama.MaxVersion).ListConsumerGroupOffsets(*group, map[string][]int32{*topic: allPartitions()})
	if err != nil {
		fatalf("group/committed", "ListConsumerGroupOffsets: %v", err)
	}
	for _, p := range allPartitions() {
		b := resp.GetBlock(*topic, p)
		if b == nil || b.Err != sarama.ErrNoError || b.Offset != int64(len(want[p])) {
			failf("group/committed", "partition %d: expected committed offset %d (the end), got %+v", p, len(want[p]), b)
		}
	}
	okf("the group's committed offsets are the partition ends")
}

func sortedClaim(c []int32) []int32 {
	out := append([]int32(nil), c...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
