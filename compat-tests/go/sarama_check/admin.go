package main

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

// sarama refuses, on the client side, to send a request its Config.Version
// predates (ClusterAdmin needs V0_10_0_0 at least), so with "-version
// default" every admin call runs at the oldest version sarama allows for it:
// CreateTopics v0 and v1, DeleteTopics v0 and v1, Metadata v0, v1 and v4,
// DescribeConfigs v0, AlterConfigs v0, CreatePartitions v0, ListGroups v0,
// DescribeGroups v0. With "-version max" every call uses MaxVersion.
var admins = map[sarama.KafkaVersion]sarama.ClusterAdmin{}

func adminAt(oldest sarama.KafkaVersion) sarama.ClusterAdmin {
	v := oldest
	if version.IsAtLeast(oldest) {
		v = version
	}
	if a, ok := admins[v]; ok {
		return a
	}
	a, err := sarama.NewClusterAdmin([]string{*bootstrap}, adminConfig(oldest))
	if err != nil {
		fatalf("admin", "NewClusterAdmin at %s: %v", v, err)
	}
	admins[v] = a
	return a
}

func adminConfig(oldest sarama.KafkaVersion) *sarama.Config {
	cfg := newConfig()
	if !version.IsAtLeast(oldest) {
		cfg.Version = oldest
	}
	return cfg
}

func closeAdmins() {
	for _, a := range admins {
		a.Close()
	}
}

func strp(s string) *string { return &s }

// configMap describes one resource and returns name -> entry.
func configMap(check string, a sarama.ClusterAdmin, res sarama.ConfigResource) map[string]sarama.ConfigEntry {
	entries, err := a.DescribeConfig(res)
	if err != nil {
		fatalf(check, "DescribeConfig(%s): %v", res.Name, err)
	}
	out := map[string]sarama.ConfigEntry{}
	for _, e := range entries {
		out[e.Name] = e
	}
	return out
}

func expectConfig(check string, got map[string]sarama.ConfigEntry, name, value string, override bool) {
	e, ok := got[name]
	switch {
	case !ok:
		failf(check, "%s: expected value %q, got no entry (%d entries)", name, value, len(got))
	case e.Value != value:
		failf(check, "%s: expected value %q, got %q", name, value, e.Value)
	case override && e.Default:
		// DescribeConfigs v0 has is_default; a topic override is never a
		// default. (Kafka 3.9 reports false for every entry, so nothing is
		// checked for the entries that are defaults.)
		failf(check, "%s: a topic override must not be reported as default", name)
	}
}

func describeTopic(check string, a sarama.ClusterAdmin, name string) *sarama.TopicMetadata {
	md, err := a.DescribeTopics([]string{name})
	if err != nil {
		fatalf(check, "DescribeTopics(%s): %v", name, err)
	}
	if len(md) != 1 || md[0].Name != name {
		fatalf(check, "DescribeTopics(%s): expected that one topic, got %d entries", name, len(md))
	}
	return md[0]
}

func checkTopicLayout(check string, md *sarama.TopicMetadata, parts int, brokerID int32) {
	if md.Err != sarama.ErrNoError {
		failf(check, "%s: expected no error, got %v", md.Name, md.Err)
		return
	}
	if len(md.Partitions) != parts {
		failf(check, "%s: expected %d partitions, got %d", md.Name, parts, len(md.Partitions))
		return
	}
	ids := make([]int, 0, parts)
	for _, p := range md.Partitions {
		ids = append(ids, int(p.ID))
		one := []int32{brokerID}
		if p.Err != sarama.ErrNoError || p.Leader != brokerID || !reflect.DeepEqual(p.Replicas, one) || !reflect.DeepEqual(p.Isr, one) {
			failf(check, "%s/%d: expected leader %d, replicas and isr [%d], no error; got leader %d replicas %v isr %v err %v",
				md.Name, p.ID, brokerID, brokerID, p.Leader, p.Replicas, p.Isr, p.Err)
		}
	}
	sort.Ints(ids)
	for i, id := range ids {
		if id != i {
			failf(check, "%s: expected partition ids 0..%d, got %v", md.Name, parts-1, ids)
			break
		}
	}
}

// waitGone polls until a Metadata v4+ request (which never auto-creates)
// says the topic does not exist.
func waitGone(check string, name string) {
	a := adminAt(sarama.V0_11_0_0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		md, err := a.DescribeTopics([]string{name})
		if err == nil && len(md) == 1 && md[0].Err == sarama.ErrUnknownTopicOrPartition {
			return
		}
		if time.Now().After(deadline) {
			got := "an error"
			if err == nil && len(md) == 1 {
				got = fmt.Sprintf("%v with %d partitions", md[0].Err, len(md[0].Partitions))
			}
			fatalf(check, "%s: expected UNKNOWN_TOPIC_OR_PARTITION from Metadata, got %s (err %v)", name, got, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func topicErrIs(err error, want sarama.KError) bool {
	switch e := err.(type) {
	case *sarama.TopicError:
		return e.Err == want
	case *sarama.TopicPartitionError:
		return e.Err == want
	case sarama.KError:
		return e == want
	}
	return false
}

func cmdAdmin() {
	defer closeAdmins()
	ta, tb := *topic+"-a", *topic+"-b"

	// The controller as Metadata v1+ names it; DescribeCluster sends
	// Metadata v0, which has no controller field (sarama reports -1).
	client, err := sarama.NewClient([]string{*bootstrap}, adminConfig(sarama.V0_10_0_0))
	if err != nil {
		fatalf("admin/controller", "NewClient: %v", err)
	}
	ctl, err := client.Controller()
	if err != nil {
		fatalf("admin/controller", "Controller: %v", err)
	}
	id := ctl.ID()
	client.Close()
	brokers, _, err := adminAt(sarama.V0_10_0_0).DescribeCluster()
	if err != nil || len(brokers) != 1 || brokers[0].ID() != id {
		fatalf("admin/describe-cluster", "expected one broker, the controller %d, got %d brokers (err %v)", id, len(brokers), err)
	}
	okf("DescribeCluster: broker %d at %s is the controller", id, brokers[0].Addr())

	// CreateTopics v0 (or the newest): a topic with an override.
	a := adminAt(sarama.V0_10_1_0)
	detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": strp("3600000")}}
	if err := a.CreateTopic(ta, detail, false); err != nil {
		fatalf("admin/create-topic", "CreateTopic(%s): expected success, got %v", ta, err)
	}
	if err := a.CreateTopic(ta, detail, false); !topicErrIs(err, sarama.ErrTopicAlreadyExists) {
		failf("admin/create-topic-again", "expected TOPIC_ALREADY_EXISTS, got %v", err)
	}
	bad := &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": strp("not-a-number")}}
	if err := a.CreateTopic(*topic+"-bad", bad, false); !topicErrIs(err, sarama.ErrInvalidConfig) {
		failf("admin/create-topic-invalid-config", "expected INVALID_CONFIG, got %v", err)
	}
	okf("CreateTopic: created, then TOPIC_ALREADY_EXISTS, INVALID_CONFIG for a bad value")

	// CreateTopics v1 (validate_only exists from v1).
	a = adminAt(sarama.V0_11_0_0)
	if err := a.CreateTopic(tb, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, true); err != nil {
		failf("admin/create-topic-validate-only", "expected success, got %v", err)
	}
	waitGone("admin/create-topic-validate-only", tb)
	if err := a.CreateTopic(tb, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		fatalf("admin/create-topic-v1", "CreateTopic(%s): expected success, got %v", tb, err)
	}
	waitGone("admin/create-topic-invalid-config", *topic+"-bad")
	okf("CreateTopic with validateOnly creates nothing; without it creates")

	// ListTopics: Metadata v0 for all topics plus one DescribeConfigs v0.
	topics, err := adminAt(sarama.V0_11_0_0).ListTopics()
	if err != nil {
		fatalf("admin/list-topics", "ListTopics: %v", err)
	}
	for name, parts := range map[string]int32{ta: 3, tb: 1} {
		d, ok := topics[name]
		if !ok {
			failf("admin/list-topics", "expected %s among %d topics, not there", name, len(topics))
			continue
		}
		if d.NumPartitions != parts || d.ReplicationFactor != 1 || len(d.ReplicaAssignment) != int(parts) {
			failf("admin/list-topics", "%s: expected %d partitions, replication 1, got %d partitions, replication %d, %d assignments",
				name, parts, d.NumPartitions, d.ReplicationFactor, len(d.ReplicaAssignment))
		}
	}
	if v := topics[ta].ConfigEntries["retention.ms"]; v == nil || *v != "3600000" {
		failf("admin/list-topics", "%s: expected config retention.ms=3600000 among the non-default entries, got %v", ta, v)
	}
	okf("ListTopics: both topics, partition counts and the override")

	// DescribeTopics: Metadata v1 (or v5).
	checkTopicLayout("admin/describe-topics", describeTopic("admin/describe-topics", adminAt(sarama.V0_10_0_0), ta), 3, id)
	okf("DescribeTopics: 3 partitions led by broker %d", id)

	// DescribeConfigs (sarama always sends v0).
	a = adminAt(sarama.V0_11_0_0)
	topicRes := sarama.ConfigResource{Type: sarama.TopicResource, Name: ta}
	cfgs := configMap("admin/describe-config", a, topicRes)
	expectConfig("admin/describe-config", cfgs, "retention.ms", "3600000", true)
	expectConfig("admin/describe-config", cfgs, "cleanup.policy", "delete", false)
	named := configMap("admin/describe-config-names", a, sarama.ConfigResource{Type: sarama.TopicResource, Name: ta,
		ConfigNames: []string{"retention.ms", "cleanup.policy"}})
	if len(named) != 2 {
		failf("admin/describe-config-names", "expected exactly the 2 named entries, got %d: %v", len(named), keysOf(named))
	}
	// sarama 1.22 numbers its ConfigResourceType after the ACL resource
	// types: its BrokerResource is 5, which Kafka does not know (it answers
	// INVALID_REQUEST with a message, an error to sarama), and Kafka's
	// BROKER (4) is sarama's ClusterResource.
	brokerName := strconv.Itoa(int(id))
	if _, err := a.DescribeConfig(sarama.ConfigResource{Type: sarama.BrokerResource, Name: brokerName}); err == nil {
		failf("admin/describe-config-type-5", "resource type 5 is no Kafka config resource: expected an error, got success")
	}
	brokerCfgs := configMap("admin/describe-config-broker", a, sarama.ConfigResource{Type: sarama.ClusterResource, Name: brokerName})
	expectConfig("admin/describe-config-broker", brokerCfgs, "num.partitions", "3", false)
	okf("DescribeConfig: topic override, a default, named entries, a broker config")

	// AlterConfigs v0 replaces the whole set of overrides.
	if err := a.AlterConfig(sarama.TopicResource, ta, map[string]*string{
		"retention.ms": strp("7200000"), "cleanup.policy": strp("compact")}, false); err != nil {
		fatalf("admin/alter-config", "AlterConfig: %v", err)
	}
	cfgs = configMap("admin/alter-config", a, topicRes)
	expectConfig("admin/alter-config", cfgs, "retention.ms", "7200000", true)
	expectConfig("admin/alter-config", cfgs, "cleanup.policy", "compact", true)
	if err := a.AlterConfig(sarama.TopicResource, ta, map[string]*string{"retention.ms": strp("60000")}, true); err != nil {
		failf("admin/alter-config-validate-only", "expected success, got %v", err)
	}
	if err := a.AlterConfig(sarama.TopicResource, ta, map[string]*string{"max.message.bytes": strp("200000")}, false); err != nil {
		fatalf("admin/alter-config-replace", "AlterConfig: %v", err)
	}
	cfgs = configMap("admin/alter-config-replace", a, topicRes)
	expectConfig("admin/alter-config-replace", cfgs, "max.message.bytes", "200000", true)
	// The earlier overrides are gone (and validate_only changed nothing).
	expectConfig("admin/alter-config-replace", cfgs, "cleanup.policy", "delete", false)
	if e := cfgs["retention.ms"]; e.Value == "7200000" || e.Value == "60000" {
		failf("admin/alter-config-replace", "retention.ms: AlterConfigs replaces all overrides, expected the default back, got %q", e.Value)
	}
	if err := a.AlterConfig(sarama.TopicResource, ta, map[string]*string{"retention.ms": strp("soon")}, false); err == nil {
		failf("admin/alter-config-invalid", "expected an INVALID_CONFIG error message for retention.ms=soon, got success")
	}
	okf("AlterConfig: set, validate-only, replace-all semantics, invalid value refused")

	// CreatePartitions v0.
	a = adminAt(sarama.V1_0_0_0)
	if err := a.CreatePartitions(ta, 5, nil, false); err != nil {
		fatalf("admin/create-partitions", "CreatePartitions(%s, 5): %v", ta, err)
	}
	if err := a.CreatePartitions(ta, 4, nil, false); !topicErrIs(err, sarama.ErrInvalidPartitions) {
		failf("admin/create-partitions-fewer", "expected INVALID_PARTITIONS, got %v", err)
	}
	checkTopicLayout("admin/create-partitions", describeTopic("admin/create-partitions", adminAt(sarama.V0_11_0_0), ta), 5, id)
	okf("CreatePartitions: 3 -> 5, and 5 -> 4 refused")

	adminGroups(ta)

	// DeleteTopics v0 and v1.
	a = adminAt(sarama.V0_10_1_0)
	if err := a.DeleteTopic(ta); err != nil {
		fatalf("admin/delete-topic", "DeleteTopic(%s): %v", ta, err)
	}
	waitGone("admin/delete-topic", ta)
	if err := a.DeleteTopic(ta); !topicErrIs(err, sarama.ErrUnknownTopicOrPartition) {
		failf("admin/delete-topic-again", "expected UNKNOWN_TOPIC_OR_PARTITION, got %v", err)
	}
	if err := adminAt(sarama.V0_11_0_0).DeleteTopic(tb); err != nil {
		failf("admin/delete-topic-v1", "DeleteTopic(%s): %v", tb, err)
	}
	waitGone("admin/delete-topic-v1", tb)
	okf("DeleteTopic: deleted, then UNKNOWN_TOPIC_OR_PARTITION")
}

// adminGroups commits offsets as a standalone client (no members), then
// lists and describes the group and reads the offsets back.
func adminGroups(t string) {
	g := *group
	client, err := sarama.NewClient([]string{*bootstrap}, newConfig())
	if err != nil {
		fatalf("admin/groups", "NewClient: %v", err)
	}
	om, err := sarama.NewOffsetManagerFromClient(g, client)
	if err != nil {
		fatalf("admin/groups", "NewOffsetManager: %v", err)
	}
	for p := int32(0); p < 3; p++ {
		pom, err := om.ManagePartition(t, p)
		if err != nil {
			fatalf("admin/groups", "ManagePartition: %v", err)
		}
		pom.MarkOffset(int64(10+p), "")
		pom.AsyncClose()
	}
	om.Close()
	client.Close()

	a := adminAt(sarama.V0_10_0_0)
	groups, err := a.ListConsumerGroups()
	if err != nil {
		fatalf("admin/list-groups", "ListConsumerGroups: %v", err)
	}
	if pt, ok := groups[g]; !ok || pt != "" {
		failf("admin/list-groups", "expected group %s with protocol type \"\" (offsets only), got present=%v type %q among %v",
			g, ok, pt, groups)
	}
	desc, err := a.DescribeConsumerGroups([]string{g})
	if err != nil || len(desc) != 1 {
		fatalf("admin/describe-groups", "DescribeConsumerGroups: expected one description, got %d (err %v)", len(desc), err)
	}
	d := desc[0]
	if d.Err != sarama.ErrNoError || d.GroupId != g || d.State != "Empty" || len(d.Members) != 0 {
		failf("admin/describe-groups", "expected %s Empty with no members, got %s %q with %d members (err %v)",
			g, d.GroupId, d.State, len(d.Members), d.Err)
	}
	resp, err := a.ListConsumerGroupOffsets(g, map[string][]int32{t: {0, 1, 2}})
	if err != nil {
		fatalf("admin/list-group-offsets", "ListConsumerGroupOffsets: %v", err)
	}
	for p := int32(0); p < 3; p++ {
		b := resp.GetBlock(t, p)
		if b == nil || b.Err != sarama.ErrNoError || b.Offset != int64(10+p) {
			failf("admin/list-group-offsets", "%s/%d: expected committed offset %d, got %+v", t, p, 10+p, b)
		}
	}
	okf("ListConsumerGroups, DescribeConsumerGroups (Empty), ListConsumerGroupOffsets")
}

func keysOf(m map[string]sarama.ConfigEntry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
