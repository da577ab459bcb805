/*
 * Unit tests of kube: decoding every kind from API JSON (tests/data/<kind>/,
 * written in kube-apiserver v1.35's shape), list and watch streams split at
 * every byte, malformed inputs and limits, encoders and round trips,
 * reference counts and interning, and the size of a typical pod record.
 */
#include "base.h"
#include "kube.h"
#include "unit.h"

/* From apiclient/kube_internal.h: live entries of the intern table. */
size_t kube__intern_count(void);

/* ---- Helpers ------------------------------------------------------------- */

static struct kube_object *decode_file(enum kube_kind kind, const char *rel)
{
	size_t len;
	char *data = unit_read_data(rel, &len);
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = NULL;
	enum err e = kube_object_decode(kind, data, len, &o, &eb);

	free(data);
	if (e != ERR_OK)
		unit_fail(__FILE__, __LINE__, "%s: %s: %s", rel, err_name(e),
			  eb.msg);
	return o;
}

static int64_t ts(const char *s)
{
	int64_t ms = -1;

	if (clock_parse_rfc3339(s, &ms) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "bad test timestamp %s", s);
	return ms;
}

/* Collects one line per event, so two runs can be compared. */
struct sink {
	struct buf sig;
	unsigned n;
	enum err ret;		  /* what the callback returns */
	struct kube_object *last; /* the last record, one reference */
	struct kube_status status;
};

static enum err sink_event(void *ctx, struct kube_event *ev)
{
	struct sink *k = ctx;
	const struct kube_object *o = ev->obj;

	k->n++;
	if (buf_addf(&k->sig, "%s rv=%s iee=%d", kube_event_type_name(ev->type),
		     ev->resource_version ? ev->resource_version : "-",
		     ev->initial_events_end) != ERR_OK)
		return ERR_TOO_LARGE;
	if (o && buf_addf(&k->sig, " %s/%s bytes=%zu", o->meta.ns, o->meta.name,
			  o->bytes) != ERR_OK)
		return ERR_TOO_LARGE;
	if (o && o->kind == KUBE_KIND_POD &&
	    buf_addf(&k->sig, " ready=%d ports=%u ips=%u", kube_pod(o)->ready,
		     kube_pod(o)->n_ports, kube_pod(o)->n_ips) != ERR_OK)
		return ERR_TOO_LARGE;
	if (ev->status) {
		k->status = *ev->status;
		if (buf_addf(&k->sig, " code=%d reason=%s", ev->status->code,
			     ev->status->reason) != ERR_OK)
			return ERR_TOO_LARGE;
	}
	if (buf_adds(&k->sig, "\n") != ERR_OK)
		return ERR_TOO_LARGE;
	kube_object_unref(k->last);
	k->last = ev->obj;
	return k->ret;
}

static void sink_init(struct sink *k)
{
	memset(k, 0, sizeof(*k));
	buf_init(&k->sig, 0);
}

static void sink_release(struct sink *k)
{
	buf_release(&k->sig);
	kube_object_unref(k->last);
	k->last = NULL;
}

static struct kube_stream *new_stream(enum kube_kind kind,
				      enum kube_stream_mode mode,
				      struct sink *k, struct kube_limits lim)
{
	struct kube_stream_options o = {
	    .kind = kind,
	    .mode = mode,
	    .on_event = sink_event,
	    .ctx = k,
	    .limits = lim,
	};

	return kube_stream_new(&o);
}

/* Feeds data in pieces of at most step bytes (0: all at once) or cut in
 * two at split; returns the first error, message in eb. */
static enum err run_stream(struct kube_stream *s, const char *data, size_t len,
			   size_t split, size_t step, struct errbuf *eb)
{
	enum err e;

	if (step) {
		for (size_t i = 0; i < len; i += step) {
			e = kube_stream_feed(s, data + i, MIN(step, len - i),
					     eb);
			if (e != ERR_OK)
				return e;
		}
		return kube_stream_finish(s, eb);
	}
	e = kube_stream_feed(s, data, split, eb);
	if (e == ERR_OK)
		e = kube_stream_feed(s, data + split, len - split, eb);
	if (e == ERR_OK)
		e = kube_stream_finish(s, eb);
	return e;
}

static const struct kube_limits no_limits;

/* ---- Decoding each kind -------------------------------------------------- */

static void test_pod_decode(void)
{
	struct kube_object *o = decode_file(KUBE_KIND_POD, "pod/web-1.json");
	const struct kube_pod *p = kube_pod(o);
	const struct kube_meta *m = &o->meta;

	CHECK_STR_EQ(m->name, "web-1");
	CHECK_STR_EQ(m->ns, "default");
	CHECK_STR_EQ(m->generate_name, "web-");
	CHECK_STR_EQ(m->uid, "6f1c2b8e-3d4a-4f5b-9c6d-7e8f9a0b1c2d");
	CHECK_STR_EQ(m->resource_version, "48213");
	CHECK_INT_EQ(m->generation, 1);
	CHECK_INT_EQ(m->creation_ms, ts("2026-03-02T10:15:30Z"));
	CHECK(!kube_object_deleting(o));
	CHECK_INT_EQ(m->labels.n, 3);
	CHECK_STR_EQ(m->labels.items[0].key, "app");
	CHECK_STR_EQ(m->labels.items[1].key, "pod-template-hash");
	CHECK_STR_EQ(m->labels.items[2].key, "tier");
	CHECK_STR_EQ(kube_labels_get(&m->labels, "tier"), "frontend");
	CHECK_NULL(kube_labels_get(&m->labels, "nope"));
	CHECK_INT_EQ(m->annotations.n, 0);
	CHECK_INT_EQ(m->n_owners, 0);
	CHECK_STR_EQ(p->node_name, "worker-1");
	CHECK_STR_EQ(p->hostname, "web-1");
	CHECK_STR_EQ(p->subdomain, "web");
	CHECK_INT_EQ(p->phase, KUBE_POD_RUNNING);
	CHECK_INT_EQ(p->ready, KUBE_TRUE);
	CHECK_INT_EQ(p->ready_transition_ms, ts("2026-03-02T10:15:41Z"));
	CHECK_INT_EQ(p->n_ips, 2);
	CHECK_STR_EQ(p->ips[0], "10.244.1.17");
	CHECK_STR_EQ(p->ips[1], "fd00:10:244:1::11");
	kube_object_unref(o);
}

static void test_pod_ports_and_sidecars(void)
{
	struct kube_object *o = decode_file(KUBE_KIND_POD, "pod/web-1.json");
	const struct kube_pod *p = kube_pod(o);
	static const struct {
		const char *name;
		int32_t port;
		enum kube_protocol proto;
		bool sidecar;
	} want[] = {
	    {"http", 8080, KUBE_PROTO_TCP, false},
	    {"dns", 5353, KUBE_PROTO_UDP, false},
	    /* restartPolicy follows the ports of this init container */
	    {"proxy-admin", 15000, KUBE_PROTO_TCP, true},
	    {NULL, 15090, KUBE_PROTO_TCP, true},
	};

	/* The "migrate" init container is not a sidecar: its port is dropped.
	 */
	CHECK_INT_EQ(p->n_ports, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_STR_EQ(p->ports[i].name, want[i].name);
		CHECK_INT_EQ(p->ports[i].port, want[i].port);
		CHECK_INT_EQ(p->ports[i].protocol, want[i].proto);
		CHECK_INT_EQ(p->ports[i].sidecar, want[i].sidecar);
	}
	kube_object_unref(o);
}

static void test_pod_podip_fallback(void)
{
	static const char json[] =
	    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},"
	    "\"spec\":{\"containers\":null},"
	    "\"status\":{\"podIP\":\"10.1.2.3\",\"podIPs\":null,"
	    "\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}";
	struct kube_object *o = NULL;

	CHECK_OK(
	    kube_object_decode(KUBE_KIND_POD, json, strlen(json), &o, NULL));
	CHECK_INT_EQ(kube_pod(o)->n_ips, 1);
	CHECK_STR_EQ(kube_pod(o)->ips[0], "10.1.2.3");
	CHECK_NULL(kube_pod(o)->node_name);
	CHECK_INT_EQ(kube_pod(o)->ready, KUBE_FALSE);
	CHECK_INT_EQ(kube_pod(o)->phase, KUBE_POD_UNKNOWN);
	kube_object_unref(o);
}

static void test_pod_typical_size(void)
{
	struct kube_object *o = decode_file(KUBE_KIND_POD, "pod/typical.json");
	const struct kube_pod *p = kube_pod(o);

	CHECK_INT_EQ(o->meta.labels.n, 3);
	CHECK_INT_EQ(p->n_ports, 2);
	CHECK_INT_EQ(p->n_ips, 1);
	CHECK_INT_EQ(p->ready, KUBE_TRUE);
	CHECK_STR_EQ(p->node_name, "worker-2");
	printf("# typical pod: sizeof(struct kube_pod)=%zu obj.bytes=%zu\n",
	       sizeof(struct kube_pod), o->bytes);
	/* A regression guard on memory, not a timing. */
	CHECK(o->bytes < 1024);
	CHECK(o->bytes >= sizeof(struct kube_pod));
	kube_object_unref(o);
}

static void test_service_decode(void)
{
	struct kube_object *o =
	    decode_file(KUBE_KIND_SERVICE, "service/web.json");
	const struct kube_service *s = kube_service(o);

	CHECK_STR_EQ(o->meta.name, "web");
	CHECK_INT_EQ(o->meta.labels.n, 2);
	CHECK_INT_EQ(o->meta.annotations.n, 1);
	CHECK_STR_EQ(kube_labels_get(&o->meta.annotations,
				     "service.kubernetes.io/topology-mode"),
		     "Auto");
	CHECK(s->has_selector);
	CHECK_INT_EQ(s->selector.n, 1);
	CHECK_STR_EQ(kube_labels_get(&s->selector, "app"), "web");
	CHECK_INT_EQ(s->type, KUBE_SVC_CLUSTER_IP);
	CHECK_STR_EQ(s->cluster_ip, "10.96.45.12");
	CHECK_INT_EQ(s->n_cluster_ips, 2);
	CHECK_STR_EQ(s->cluster_ips[1], "fd00:10:96::2d0c");
	CHECK_INT_EQ(s->n_families, 2);
	CHECK_INT_EQ(s->families[0], KUBE_FAMILY_IPV4);
	CHECK_INT_EQ(s->families[1], KUBE_FAMILY_IPV6);
	CHECK_INT_EQ(s->family_policy, KUBE_POLICY_PREFER_DUAL_STACK);
	CHECK_STR_EQ(s->internal_traffic_policy, "Cluster");
	CHECK_INT_EQ(s->allocate_lb_node_ports, KUBE_UNSET);
	CHECK_INT_EQ(s->n_ports, 2);
	CHECK_STR_EQ(s->ports[0].target_port_name, "http");
	CHECK_INT_EQ(s->ports[0].target_port_num, 0);
	CHECK_STR_EQ(s->ports[0].app_protocol, "http");
	CHECK_INT_EQ(s->ports[1].protocol, KUBE_PROTO_UDP);
	CHECK_INT_EQ(s->ports[1].port, 53);
	CHECK_INT_EQ(s->ports[1].target_port_num, 5353);
	CHECK_NULL(s->ports[1].target_port_name);
	kube_object_unref(o);
}

static void test_service_lb_and_headless(void)
{
	struct kube_object *o =
	    decode_file(KUBE_KIND_SERVICE, "service/lb.json");
	const struct kube_service *s = kube_service(o);

	CHECK(s->has_selector); /* "selector": {} */
	CHECK_INT_EQ(s->selector.n, 0);
	CHECK_INT_EQ(s->type, KUBE_SVC_LOAD_BALANCER);
	CHECK(s->has_external_ips);
	CHECK(s->publish_not_ready);
	CHECK_INT_EQ(s->health_check_node_port, 32100);
	CHECK_INT_EQ(s->allocate_lb_node_ports, KUBE_FALSE);
	CHECK_STR_EQ(s->external_traffic_policy, "Local");
	CHECK_STR_EQ(s->traffic_distribution, "PreferClose");
	CHECK_INT_EQ(s->family_policy, KUBE_POLICY_SINGLE_STACK);
	CHECK_INT_EQ(s->ports[0].node_port, 31443);
	CHECK_INT_EQ(s->ports[0].target_port_num, 8443);
	CHECK_INT_EQ(o->meta.annotations.n, 1);
	CHECK_STR_EQ(o->meta.annotations.items[0].key,
		     "service.kubernetes.io/topology-aware-hints");
	kube_object_unref(o);

	o = decode_file(KUBE_KIND_SERVICE, "service/headless-noselector.json");
	s = kube_service(o);
	CHECK(!s->has_selector);
	CHECK_STR_EQ(s->cluster_ip, "None");
	CHECK_NULL(s->ports[0].name);
	CHECK(!s->has_external_ips);
	kube_object_unref(o);
}

static void test_node_decode(void)
{
	struct kube_object *o =
	    decode_file(KUBE_KIND_NODE, "node/worker-1.json");
	const struct kube_node *n = kube_node(o);

	CHECK_STR_EQ(o->meta.name, "worker-1");
	CHECK_STR_EQ(o->meta.ns, "");
	CHECK_INT_EQ(o->meta.labels.n, 7);
	CHECK_INT_EQ(o->meta.annotations.n, 0);
	CHECK_STR_EQ(n->zone, "eu-west-1a");
	CHECK(!n->control_plane);
	CHECK_INT_EQ(n->ready, KUBE_TRUE);
	CHECK_INT_EQ(n->cpu_milli, 3500);
	kube_object_unref(o);

	o = decode_file(KUBE_KIND_NODE, "node/control-plane.json");
	n = kube_node(o);
	CHECK(n->control_plane);
	CHECK_NULL(n->zone);
	CHECK_INT_EQ(n->ready, KUBE_FALSE);
	CHECK_INT_EQ(n->cpu_milli, 500);
	kube_object_unref(o);
}

static void test_slice_decode(void)
{
	struct kube_object *o = decode_file(KUBE_KIND_ENDPOINTSLICE,
					    "endpointslice/web-abc12.json");
	const struct kube_endpointslice *s = kube_endpointslice(o);
	const struct kube_endpoint *e = s->endpoints;

	CHECK_INT_EQ(o->meta.generation, 3);
	CHECK_INT_EQ(o->meta.labels.n, 4);
	CHECK_INT_EQ(o->meta.annotations.n, 1);
	CHECK_INT_EQ(o->meta.n_owners, 1);
	CHECK_STR_EQ(o->meta.owners[0].kind, "Service");
	CHECK_STR_EQ(o->meta.owners[0].uid,
		     "b7e6d5c4-a3b2-4c1d-9e0f-1a2b3c4d5e6f");
	CHECK_INT_EQ(o->meta.owners[0].controller, KUBE_TRUE);
	CHECK_INT_EQ(s->address_type, KUBE_ADDR_IPV4);
	CHECK_INT_EQ(s->n_endpoints, 3);
	CHECK_STR_EQ(e[0].addresses[0], "10.244.1.17");
	CHECK_INT_EQ(e[0].ready, KUBE_TRUE);
	CHECK_INT_EQ(e[0].terminating, KUBE_FALSE);
	CHECK_STR_EQ(e[0].hostname, "web-1");
	CHECK_STR_EQ(e[0].target.name, "web-1");
	CHECK_STR_EQ(e[0].target.ns, "default");
	CHECK_STR_EQ(e[0].zone, "eu-west-1a");
	CHECK(e[0].has_hints);
	CHECK_INT_EQ(e[0].n_hint_zones, 1);
	CHECK_INT_EQ(e[0].n_hint_nodes, 0);
	CHECK_INT_EQ(e[1].ready, KUBE_FALSE);
	CHECK_INT_EQ(e[1].serving, KUBE_TRUE);
	CHECK_INT_EQ(e[1].terminating, KUBE_TRUE);
	CHECK_STR_EQ(e[1].hint_nodes[0], "worker-2");
	CHECK_INT_EQ(e[2].ready, KUBE_UNSET);
	CHECK_INT_EQ(e[2].serving, KUBE_UNSET);
	CHECK(!e[2].has_hints);
	CHECK_NULL(e[2].zone);
	CHECK_INT_EQ(s->n_ports, 2);
	CHECK_STR_EQ(s->ports[0].app_protocol, "http");
	CHECK(s->ports[1].has_port);
	CHECK_INT_EQ(s->ports[1].protocol, KUBE_PROTO_UDP);
	kube_object_unref(o);
}

static void test_lease_decode(void)
{
	struct kube_object *o =
	    decode_file(KUBE_KIND_LEASE, "lease/kube-controller-manager.json");
	const struct kube_lease *l = kube_lease(o);

	CHECK_STR_EQ(o->meta.ns, "kube-system");
	CHECK_STR_EQ(l->holder_identity,
		     "cp-0_5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d");
	CHECK_INT_EQ(l->lease_duration_s, 15);
	CHECK_INT_EQ(l->acquire_ms, ts("2026-03-01T08:00:05.123Z"));
	CHECK_INT_EQ(l->renew_ms, ts("2026-03-02T10:20:01.654Z"));
	CHECK_INT_EQ(l->lease_transitions, 2);
	kube_object_unref(o);
}

static void test_status_decode(void)
{
	struct kube_status st;
	struct errbuf eb = ERRBUF_INIT;
	size_t len;
	char *data = unit_read_data("status/invalid.json", &len);

	CHECK_OK(kube_status_decode(data, len, &st, &eb));
	free(data);
	CHECK_INT_EQ(st.code, 422);
	CHECK_STR_EQ(st.reason, "Invalid");
	CHECK_INT_EQ(st.n_causes, 2);
	CHECK_STR_EQ(st.causes[1].type, "FieldValueInvalid");
	CHECK_STR_EQ(st.causes[1].field, "ports[0].port");
	data = unit_read_data("status/namespace-terminating.json", &len);
	CHECK_OK(kube_status_decode(data, len, &st, &eb));
	free(data);
	CHECK_INT_EQ(st.code, 403);
	CHECK_STR_EQ(st.causes[0].type, "NamespaceTerminating");
	CHECK_CONTAINS(st.message, "being terminated");
	CHECK_ERR(kube_status_decode("{\"kind\":\"Pod\"}", 14, &st, &eb),
		  ERR_DECODE);
	CHECK_CONTAINS(eb.msg, "not a Status");
	CHECK_ERR(kube_status_decode("<html>", 6, &st, &eb), ERR_DECODE);
	CHECK_ERR(kube_status_decode("null", 4, &st, &eb), ERR_DECODE);
}

static void test_quantity(void)
{
	static const struct {
		const char *in;
		long long milli; /* -1: invalid */
	} cases[] = {
	    {"2", 2000},     {"1500m", 1500},
	    {"0.5", 500},    {"0", 0},
	    {"100u", 1},     {"0.0001", 1},
	    {"1k", 1000000}, {"1Ki", 1024000},
	    {"2.25", 2250},  {"", -1},
	    {"m", -1},	     {"1.5.5", -1},
	    {"2x", -1},	     {"-1", -1},
	    {"1e3", -1},     {"99999999999999999999", -1},
	};
	char json[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kube_object *o = NULL;
		struct errbuf eb = ERRBUF_INIT;
		int n = snprintf(json, sizeof(json),
				 "{\"metadata\":{\"name\":\"n\"},\"status\":{"
				 "\"allocatable\":{\"cpu\":\"%s\"}}}",
				 cases[i].in);
		enum err e = kube_object_decode(KUBE_KIND_NODE, json, (size_t)n,
						&o, &eb);

		if (cases[i].milli < 0) {
			CHECK_ERR(e, ERR_DECODE);
			CHECK_CONTAINS(eb.msg,
				       "Node n: status.allocatable.cpu: "
				       "invalid quantity");
			continue;
		}
		CHECK_OK(e);
		CHECK_INT_EQ(kube_node(o)->cpu_milli, cases[i].milli);
		kube_object_unref(o);
	}
}

/* ---- Decoding errors ----------------------------------------------------- */

static const struct {
	enum kube_kind kind;
	const char *json;
	enum err err;
	const char *msg;
} decode_errors[] = {
    {KUBE_KIND_POD,
     "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"default\"},"
     "\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":1},"
     "{\"containerPort\":\"80\"}]}]}}",
     ERR_DECODE,
     "Pod default/web-1: spec.containers[0].ports[1]."
     "containerPort: expected an integer"},
    {KUBE_KIND_POD,
     "{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":"
     "80.5}]}]}}",
     ERR_DECODE,
     "Pod: spec.containers[0].ports[0].containerPort: expected an "
     "integer"},
    {KUBE_KIND_POD,
     "{\"spec\":{\"containers\":[{\"ports\":[{\"containerPort\":"
     "99999999999}]}]}}",
     ERR_DECODE, "out of range"},
    {KUBE_KIND_POD,
     "{\"spec\":{\"initContainers\":[{\"ports\":[{\"protocol\":"
     "\"ICMP\"}]}]}}",
     ERR_DECODE, "spec.initContainers[0].ports[0].protocol: unknown protocol"},
    {KUBE_KIND_POD, "{\"metadata\":{\"creationTimestamp\":\"yesterday\"}}",
     ERR_DECODE, "metadata.creationTimestamp: invalid timestamp"},
    {KUBE_KIND_SERVICE, "{\"spec\":{\"ports\":[{\"targetPort\":true}]}}",
     ERR_DECODE,
     "Service: spec.ports[0].targetPort: expected an integer or a "
     "string"},
    {KUBE_KIND_SERVICE, "{\"metadata\":{\"labels\":[]}}", ERR_DECODE,
     "metadata.labels: expected an object"},
    {KUBE_KIND_SERVICE, "{\"spec\":{\"type\":\"Magic\"}}", ERR_DECODE,
     "spec.type: unknown service type"},
    {KUBE_KIND_NODE, "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"zone\":5}}}",
     ERR_DECODE, "Node n1: metadata.labels.zone: expected a string"},
    {KUBE_KIND_ENDPOINTSLICE,
     "{\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},"
     "\"endpoints\":[{\"conditions\":{\"ready\":\"yes\"}}]}",
     ERR_DECODE,
     "EndpointSlice default/s: endpoints[0].conditions.ready: "
     "expected a boolean"},
    {KUBE_KIND_ENDPOINTSLICE, "{\"addressType\":\"IPX\"}", ERR_DECODE,
     "addressType: unknown address type"},
    {KUBE_KIND_LEASE, "{\"spec\":\"x\"}", ERR_DECODE,
     "Lease: spec: expected an object"},
    {KUBE_KIND_POD, "[]", ERR_DECODE, "expected an object"},
    {KUBE_KIND_POD, "{\"metadata\":{\"name\":\"x\"", ERR_DECODE,
     "premature EOF"},
    {KUBE_KIND_POD, "", ERR_DECODE, "empty document"},
    {KUBE_KIND_POD, "{} {}", ERR_DECODE, "trailing garbage"},
    {KUBE_KIND_POD, "{\"a\":tru}", ERR_DECODE, "(at byte"},
};

static void test_decode_errors(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(decode_errors); i++) {
		struct kube_object *o = NULL;
		struct errbuf eb = ERRBUF_INIT;
		const char *in = decode_errors[i].json;

		CHECK_ERR(kube_object_decode(decode_errors[i].kind, in,
					     strlen(in), &o, &eb),
			  decode_errors[i].err);
		CHECK_CONTAINS(eb.msg, decode_errors[i].msg);
		CHECK_NULL(o);
	}
}

/* ---- Streams ------------------------------------------------------------- */

static void test_watch_events(void)
{
	size_t len;
	char *data = unit_read_data("watch/pods.json", &len);
	struct sink k;
	struct kube_stream *s;
	struct errbuf eb = ERRBUF_INIT;

	sink_init(&k);
	s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_OK(run_stream(s, data, len, 0, 4096, &eb));
	CHECK_INT_EQ(kube_stream_events(s), 6);
	CHECK_CONTAINS(k.sig.data, "ADDED rv=1093344 iee=0 shop/api-");
	CHECK_CONTAINS(k.sig.data, "ADDED rv=48213 iee=0 default/web-1");
	CHECK_CONTAINS(k.sig.data, "BOOKMARK rv=48300 iee=1\n");
	/* "object" before "type" */
	CHECK_CONTAINS(k.sig.data,
		       "MODIFIED rv=48301 iee=0 default/web-1 bytes=");
	CHECK_CONTAINS(k.sig.data, "ready=1 ports=4 ips=2\n");
	CHECK_CONTAINS(k.sig.data, "DELETED rv=48302");
	CHECK_CONTAINS(k.sig.data, "BOOKMARK rv=48400 iee=0\n");
	CHECK_NULL(k.last); /* the last event was a bookmark */
	kube_stream_free(s);
	sink_release(&k);
	free(data);
}

static void test_watch_deleted_record(void)
{
	size_t len;
	char *data = unit_read_data("watch/pods.json", &len);
	char *last_line = strstr(data, "{\"type\":\"DELETED\"");
	struct sink k;
	struct kube_stream *s;

	sink_init(&k);
	s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_NOT_NULL(last_line);
	CHECK_OK(
	    run_stream(s, last_line, strcspn(last_line, "\n"), 0, 0, NULL));
	CHECK_INT_EQ(k.n, 1);
	CHECK_NOT_NULL(k.last);
	CHECK(kube_object_deleting(k.last));
	CHECK_INT_EQ(k.last->meta.deletion_ms, ts("2026-03-02T10:31:00Z"));
	kube_stream_free(s);
	sink_release(&k);
	free(data);
}

/* Every split point and byte-by-byte feeding give identical events. */
static void test_watch_split_everywhere(void)
{
	size_t len;
	char *data = unit_read_data("watch/split.json", &len);
	struct sink ref, k;
	struct kube_stream *s;

	sink_init(&ref);
	s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &ref, no_limits);
	CHECK_OK(run_stream(s, data, len, len, 0, NULL));
	kube_stream_free(s);
	CHECK_INT_EQ(ref.n, 5);
	CHECK_CONTAINS(ref.sig.data, "ERROR rv=- iee=0 code=410");
	for (size_t split = 0; split <= len + 1; split++) {
		sink_init(&k);
		s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &k, no_limits);
		if (split <= len)
			CHECK_OK(run_stream(s, data, len, split, 0, NULL));
		else
			CHECK_OK(run_stream(s, data, len, 0, 1, NULL));
		CHECK_STR_EQ(k.sig.data, ref.sig.data);
		kube_stream_free(s);
		sink_release(&k);
	}
	sink_release(&ref);
	free(data);
}

static void test_watch_many_in_one_chunk(void)
{
	static const char ev[] =
	    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":"
	    "\"p%d\",\"namespace\":\"ns\",\"resourceVersion\":\"%d\"},"
	    "\"status\":{\"podIP\":\"10.0.0.1\"}}}";
	struct buf in;
	struct sink k;
	struct kube_stream *s;

	buf_init(&in, 0);
	for (int i = 0; i < 500; i++)
		CHECK_OK(buf_addf(&in, ev, i, 1000 + i));
	sink_init(&k);
	s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_OK(run_stream(s, in.data, in.len, in.len, 0, NULL));
	CHECK_INT_EQ(k.n, 500);
	CHECK_STR_EQ(k.last->meta.name, "p499");
	CHECK_STR_EQ(k.last->meta.resource_version, "1499");
	CHECK_CONTAINS(k.sig.data, "MODIFIED rv=1000 iee=0 ns/p0");
	kube_stream_free(s);
	sink_release(&k);
	buf_release(&in);
}

static void test_watch_error_410(void)
{
	static const char *const files[] = {"watch/expired.json",
					    "watch/expired-object-first.json"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		size_t len;
		char *data = unit_read_data(files[i], &len);
		struct sink k;
		struct kube_stream *s;

		sink_init(&k);
		s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &k, no_limits);
		CHECK_OK(run_stream(s, data, len, len / 2, 0, NULL));
		CHECK_INT_EQ(k.n, 1);
		CHECK_NULL(k.last);
		CHECK_INT_EQ(k.status.code, 410);
		CHECK_STR_EQ(k.status.reason, "Expired");
		CHECK_STR_EQ(k.status.message,
			     "too old resource version: 1200 (48213)");
		kube_stream_free(s);
		sink_release(&k);
		free(data);
	}
}

static void test_watch_bookmark_initial_events_end(void)
{
	static const char in[] =
	    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\","
	    "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"777\","
	    "\"creationTimestamp\":null,\"annotations\":{"
	    "\"k8s.io/initial-events-end\":\"true\"}},\"spec\":{}}}\n";
	struct sink k;
	struct kube_stream *s;

	sink_init(&k);
	s = new_stream(KUBE_KIND_SERVICE, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_OK(run_stream(s, in, strlen(in), 10, 0, NULL));
	CHECK_STR_EQ(k.sig.data, "BOOKMARK rv=777 iee=1\n");
	kube_stream_free(s);
	sink_release(&k);
}

static void test_list_items_one_by_one(void)
{
	size_t len;
	char *data = unit_read_data("list/pods.json", &len);
	const char *second = strstr(data, "\"name\":\"web-1\"");
	size_t half = (size_t)(second - data);
	struct sink k;
	struct kube_stream *s;
	struct errbuf eb = ERRBUF_INIT;

	sink_init(&k);
	s = new_stream(KUBE_KIND_POD, KUBE_STREAM_LIST, &k, no_limits);
	CHECK_STR_EQ(kube_stream_list_rv(s), "");
	/* The first item arrives before the second has been fed. */
	CHECK_OK(kube_stream_feed(s, data, half, &eb));
	CHECK_INT_EQ(k.n, 1);
	CHECK_STR_EQ(k.last->meta.name, "api-5b8f7c9d6-x2k4q");
	CHECK_STR_EQ(kube_stream_list_rv(s), "48299");
	CHECK_OK(kube_stream_feed(s, data + half, len - half, &eb));
	CHECK_OK(kube_stream_finish(s, &eb));
	CHECK_INT_EQ(k.n, 2);
	CHECK_STR_EQ(k.last->meta.name, "web-1");
	CHECK_CONTAINS(k.sig.data, "ADDED rv=48213 iee=0 default/web-1");
	CHECK_STR_EQ(kube_stream_list_continue(s),
		     "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgyOTksInN0YXJ0Ijoi"
		     "ZGVmYXVsdC93ZWItMVx1MDAwMCJ9");
	CHECK_INT_EQ(kube_stream_events(s), 2);
	kube_stream_free(s);
	sink_release(&k);
	free(data);
}

static const struct {
	enum kube_stream_mode mode;
	const char *in;
	struct kube_limits lim;
	enum err err;
	const char *msg;
} stream_errors[] = {
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"",
     {0, 0, 0},
     ERR_DECODE,
     "premature EOF"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"UPSERT\",\"object\":{}}",
     {0, 0, 0},
     ERR_DECODE,
     "watch event: type: unknown event type \"UPSERT\" (at byte 16)"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p\","
     "\"namespace\":\"d\"},\"spec\":{\"nodeName\":5}}}",
     {0, 0, 0},
     ERR_DECODE,
     "Pod d/p: spec.nodeName: expected a string (at byte"},
    {KUBE_STREAM_WATCH,
     "{\"object\":{\"spec\":{\"nodeName\":5}},\"type\":\"ADDED\"}",
     {0, 0, 0},
     ERR_DECODE,
     "Pod: spec.nodeName: expected a string"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Pod\"}}",
     {0, 0, 0},
     ERR_DECODE,
     "not a Status"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ADDED\"}",
     {0, 0, 0},
     ERR_DECODE,
     "watch event: missing \"object\""},
    {KUBE_STREAM_WATCH,
     "{\"object\":{}}",
     {0, 0, 0},
     ERR_DECODE,
     "watch event: missing \"type\""},
    {KUBE_STREAM_WATCH, "5", {0, 0, 0}, ERR_DECODE, "expected an object"},
    {KUBE_STREAM_WATCH,
     "{\"type\":ADDED}",
     {0, 0, 0},
     ERR_DECODE,
     "lexical error"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":"
     "\"a-name-longer-than-sixteen\"}}}",
     {16, 0, 0},
     ERR_TOO_LARGE,
     "Pod: metadata.name: string of 26 bytes exceeds the limit of 16"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ADDED\",\"object\":{\"x\":[[[[[[[[[[]]]]]]]]]]}}",
     {0, 8, 0},
     ERR_TOO_LARGE,
     "nesting deeper than 8"},
    {KUBE_STREAM_WATCH,
     "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p\"},"
     "\"spec\":{\"x\":\"0123456789012345678901234567890123456789\"}}}",
     {0, 0, 50},
     ERR_TOO_LARGE,
     "object larger than 50 bytes"},
    {KUBE_STREAM_LIST,
     "{\"items\":[{\"spec\":[]}]}",
     {0, 0, 0},
     ERR_DECODE,
     "Pod: spec: expected an object"},
    {KUBE_STREAM_LIST,
     "{\"items\":{}}",
     {0, 0, 0},
     ERR_DECODE,
     "list: items: expected an array"},
    {KUBE_STREAM_LIST, "", {0, 0, 0}, ERR_DECODE, "empty document"},
};

static void test_stream_malformed(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(stream_errors); i++) {
		struct sink k;
		struct kube_stream *s;
		struct errbuf eb = ERRBUF_INIT, eb2 = ERRBUF_INIT;
		size_t len = strlen(stream_errors[i].in);

		sink_init(&k);
		s = new_stream(KUBE_KIND_POD, stream_errors[i].mode, &k,
			       stream_errors[i].lim);
		CHECK_ERR(run_stream(s, stream_errors[i].in, len, len, 0, &eb),
			  stream_errors[i].err);
		CHECK_CONTAINS(eb.msg, stream_errors[i].msg);
		CHECK_CONTAINS(eb.msg, "(at byte ");
		CHECK_INT_EQ(k.n, 0);
		/* The stream is dead: the same error again. */
		CHECK_ERR(kube_stream_feed(s, "{}", 2, &eb2),
			  stream_errors[i].err);
		CHECK_STR_EQ(eb2.msg, eb.msg);
		kube_stream_free(s);
		sink_release(&k);
	}
}

static void test_stream_callback_stops(void)
{
	static const char in[] =
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}"
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"b\"}}}";
	struct sink k;
	struct kube_stream *s;
	struct errbuf eb = ERRBUF_INIT;

	sink_init(&k);
	k.ret = ERR_SHUTDOWN;
	s = new_stream(KUBE_KIND_POD, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_ERR(kube_stream_feed(s, in, strlen(in), &eb), ERR_SHUTDOWN);
	CHECK_INT_EQ(k.n, 1);
	CHECK_CONTAINS(eb.msg, "stopped by the ADDED callback");
	CHECK_ERR(kube_stream_finish(s, NULL), ERR_SHUTDOWN);
	kube_stream_free(s);
	sink_release(&k);
}

static void test_stream_empty_watch(void)
{
	struct sink k;
	struct kube_stream *s;

	sink_init(&k);
	s = new_stream(KUBE_KIND_NODE, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_OK(kube_stream_finish(s, NULL));
	kube_stream_free(s);
	s = new_stream(KUBE_KIND_NODE, KUBE_STREAM_WATCH, &k, no_limits);
	CHECK_OK(kube_stream_feed(s, "\n \r\n", 4, NULL));
	CHECK_OK(kube_stream_finish(s, NULL));
	CHECK_INT_EQ(kube_stream_events(s), 0);
	kube_stream_free(s);
	sink_release(&k);
}

/* ---- Encoding ------------------------------------------------------------ */

/* A desired slice as the controller builds it. */
static struct kube_object *build_slice(void)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_endpointslice *s = (struct kube_endpointslice *)o;
	struct kube_endpoint *e;
	struct kube_label *l;
	const char **addr;

	o->meta.ns = kube_intern(o, "default");
	o->meta.generate_name = kube_set_str(o, "web-");
	l = kube_alloc(o, sizeof(*l));
	l[0].key = kube_intern(o, "kubernetes.io/service-name");
	l[0].value = kube_intern(o, "web");
	o->meta.labels.items = l;
	o->meta.labels.n = 1;
	o->meta.owners = kube_alloc(o, sizeof(*o->meta.owners));
	o->meta.n_owners = 1;
	o->meta.owners[0] = (struct kube_owner_ref){
	    .api_version = "v1",
	    .kind = "Service",
	    .name = "web",
	    .uid = "b7e6",
	    .controller = KUBE_TRUE,
	    .block_owner_deletion = KUBE_TRUE,
	};
	s->n_endpoints = 2;
	s->endpoints = e = kube_alloc(o, 2 * sizeof(*e));
	addr = kube_alloc(o, 2 * sizeof(*addr));
	addr[0] = kube_set_str(o, "10.244.2.9");
	addr[1] = kube_set_str(o, "10.244.3.4");
	e[0] = (struct kube_endpoint){
	    .n_addresses = 1,
	    .addresses = &addr[0],
	    .ready = KUBE_FALSE,
	    .serving = KUBE_TRUE,
	    .terminating = KUBE_TRUE,
	    .node_name = kube_intern(o, "worker-2"),
	    .zone = kube_intern(o, "eu-west-1b"),
	    .target = {"Pod", "default", "web-2", "7a2d"},
	};
	e[1] = (struct kube_endpoint){
	    .n_addresses = 1, .addresses = &addr[1], .hostname = "web-3"};
	s->n_ports = 1;
	s->ports = kube_alloc(o, sizeof(*s->ports));
	s->ports[0] = (struct kube_slice_port){
	    .name = "http", .has_port = true, .port = 8080};
	return o;
}

static void test_slice_encode_roundtrip(void)
{
	struct kube_object *o = build_slice(), *back = NULL;
	const struct kube_endpointslice *s;
	struct buf out;
	struct errbuf eb = ERRBUF_INIT;

	buf_init(&out, 0);
	kube_endpointslice_encode(kube_endpointslice(o), &out);
	CHECK_CONTAINS(out.data, "{\"apiVersion\":\"discovery.k8s.io/v1\","
				 "\"kind\":\"EndpointSlice\",\"metadata\":{"
				 "\"generateName\":\"web-\",\"namespace\":"
				 "\"default\",\"labels\":{");
	CHECK(!strstr(out.data, "resourceVersion"));
	CHECK_CONTAINS(out.data, "\"conditions\":{\"ready\":false,"
				 "\"serving\":true,\"terminating\":true}");
	/* UNSET is written as the API's meaning of absence. */
	CHECK_CONTAINS(out.data, "\"conditions\":{\"ready\":true,"
				 "\"serving\":true,\"terminating\":false}");
	CHECK_CONTAINS(out.data, "\"ports\":[{\"name\":\"http\",\"protocol\":"
				 "\"TCP\",\"port\":8080}]");
	CHECK_OK(kube_object_decode(KUBE_KIND_ENDPOINTSLICE, out.data, out.len,
				    &back, &eb));
	s = kube_endpointslice(back);
	CHECK_INT_EQ(s->n_endpoints, 2);
	CHECK_INT_EQ(s->endpoints[0].ready, KUBE_FALSE);
	CHECK_INT_EQ(s->endpoints[0].terminating, KUBE_TRUE);
	CHECK_INT_EQ(s->endpoints[1].ready, KUBE_TRUE);
	CHECK_INT_EQ(s->endpoints[1].terminating, KUBE_FALSE);
	CHECK_STR_EQ(s->endpoints[0].target.uid, "7a2d");
	CHECK_STR_EQ(s->endpoints[0].zone, "eu-west-1b");
	/* Interned strings are shared between records. */
	CHECK(s->endpoints[0].node_name ==
	      kube_endpointslice(o)->endpoints[0].node_name);
	CHECK_STR_EQ(s->endpoints[1].hostname, "web-3");
	CHECK_STR_EQ(back->meta.generate_name, "web-");
	CHECK_INT_EQ(back->meta.owners[0].block_owner_deletion, KUBE_TRUE);
	CHECK_STR_EQ(
	    kube_labels_get(&back->meta.labels, "kubernetes.io/service-name"),
	    "web");
	kube_object_unref(back);
	kube_object_unref(o);
	buf_release(&out);
}

static void test_slice_encode_decoded(void)
{
	struct kube_object *o = decode_file(KUBE_KIND_ENDPOINTSLICE,
					    "endpointslice/web-abc12.json");
	struct kube_object *empty = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct buf out;

	buf_init(&out, 0);
	kube_endpointslice_encode(kube_endpointslice(o), &out);
	CHECK_CONTAINS(out.data, "\"name\":\"web-abc12\",\"generateName\":"
				 "\"web-\",\"namespace\":\"default\",\"uid\":"
				 "\"c0ffee00-1234-4567-89ab-cdef01234567\","
				 "\"resourceVersion\":\"48250\",\"generation\":3,"
				 "\"creationTimestamp\":\"2026-03-02T10:14:58Z\"");
	CHECK_CONTAINS(out.data, "\"annotations\":{\"endpoints.kubernetes.io/"
				 "last-change-trigger-time\":");
	CHECK_CONTAINS(out.data, "\"hints\":{\"forZones\":[{\"name\":"
				 "\"eu-west-1b\"}],\"forNodes\":[{\"name\":"
				 "\"worker-2\"}]}");
	CHECK_CONTAINS(out.data, "\"appProtocol\":\"http\"");
	buf_reset(&out);
	kube_endpointslice_encode(kube_endpointslice(empty), &out);
	CHECK_CONTAINS(out.data, "\"endpoints\":[],\"ports\":[]");
	CHECK(!strstr(out.data, "null"));
	kube_object_unref(empty);
	kube_object_unref(o);
	buf_release(&out);
}

static void test_lease_encode(void)
{
	struct kube_object *o =
	    decode_file(KUBE_KIND_LEASE, "lease/kube-controller-manager.json");
	struct kube_object *back = NULL;
	struct buf out;

	buf_init(&out, 0);
	kube_lease_encode(kube_lease(o), &out);
	CHECK_CONTAINS(out.data, "\"apiVersion\":\"coordination.k8s.io/v1\","
				 "\"kind\":\"Lease\"");
	CHECK_CONTAINS(out.data, "\"resourceVersion\":\"49002\"");
	CHECK_CONTAINS(out.data,
		       "\"renewTime\":\"2026-03-02T10:20:01.654000Z\"");
	CHECK_OK(kube_object_decode(KUBE_KIND_LEASE, out.data, out.len, &back,
				    NULL));
	CHECK_STR_EQ(kube_lease(back)->holder_identity,
		     kube_lease(o)->holder_identity);
	CHECK_INT_EQ(kube_lease(back)->acquire_ms, kube_lease(o)->acquire_ms);
	CHECK_INT_EQ(kube_lease(back)->lease_duration_s, 15);
	CHECK_INT_EQ(kube_lease(back)->lease_transitions, 2);
	kube_object_unref(back);
	kube_object_unref(o);
	buf_release(&out);
}

static void test_event_encode(void)
{
	char note[1100];
	struct kube_event_record r = {
	    .ns = "default",
	    .name = "web.18a2b3c4d5e6f7a8",
	    .regarding_kind = KUBE_KIND_SERVICE,
	    .regarding_ns = "default",
	    .regarding_name = "web",
	    .regarding_uid = "b7e6",
	    .type = "Warning",
	    .reason = "FailedToUpdateEndpointSlices",
	    .action = "Update",
	    .note = note,
	    .reporting_controller = "svc-controllers/endpointslice",
	    .reporting_instance = "svc-controllers-0",
	    .event_ms = ts("2026-11-22T18:00:00.042Z"),
	};
	struct buf out;
	const char *p;

	memset(note, 'a', 1023);
	memcpy(note + 1023, "\xc3\xa9tail", 7); /* "é" straddles 1024 */
	buf_init(&out, 0);
	kube_event_encode(&r, &out);
	CHECK_CONTAINS(out.data, "{\"apiVersion\":\"events.k8s.io/v1\","
				 "\"kind\":\"Event\",\"metadata\":{\"name\":"
				 "\"web.18a2b3c4d5e6f7a8\",\"namespace\":"
				 "\"default\"},\"eventTime\":"
				 "\"2026-11-22T18:00:00.042000Z\"");
	CHECK_CONTAINS(out.data,
		       "\"regarding\":{\"apiVersion\":\"v1\","
		       "\"kind\":\"Service\",\"namespace\":"
		       "\"default\",\"name\":\"web\",\"uid\":\"b7e6\"}");
	p = strstr(out.data, "\"note\":\"");
	CHECK_NOT_NULL(p);
	p += 8;
	CHECK_INT_EQ(strcspn(p, "\""), 1023);
	buf_release(&out);
}

static void test_json_quote(void)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"", "\"\""},
	    {"plain", "\"plain\""},
	    {"a\"b\\c", "\"a\\\"b\\\\c\""},
	    {"\n\t\r\x01\x1f", "\"\\n\\t\\r\\u0001\\u001f\""},
	    {"h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80",
	     "\"h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80\""},
	    {"bad\xff", "\"bad\\ufffd\""},
	    {"\xc0\x80", "\"\\ufffd\\ufffd\""},		   /* overlong */
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* surrogate */
	    {"cut\xe4\xb8", "\"cut\\ufffd\\ufffd\""},	   /* truncated */
	};
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&b);
		kube_json_quote(&b, cases[i].in);
		CHECK_STR_EQ(b.data, cases[i].out);
	}
	buf_release(&b);
}

/* ---- Records ------------------------------------------------------------- */

static void test_refcount_and_interning(void)
{
	size_t base = kube__intern_count();
	struct kube_object *a, *b;

	a = decode_file(KUBE_KIND_POD, "pod/typical.json");
	b = decode_file(KUBE_KIND_POD, "pod/typical.json");
	CHECK(a != b);
	CHECK(a->meta.ns == b->meta.ns);
	CHECK(a->meta.labels.items[0].key == b->meta.labels.items[0].key);
	CHECK(kube_pod(a)->node_name == kube_pod(b)->node_name);
	/* Label sets and port arrays are interned whole, names included. */
	CHECK(a->meta.labels.items == b->meta.labels.items);
	CHECK(kube_pod(a)->ports == kube_pod(b)->ports);
	CHECK_STR_EQ(kube_pod(a)->ports[1].name, "metrics");
	CHECK(a->meta.name != b->meta.name); /* not interned */
	/* A sealed pod is one block: its own strings lie inside it. */
	CHECK((const char *)a->meta.uid > (const char *)a &&
	      (const char *)a->meta.uid < (const char *)a + a->bytes);
	CHECK((const char *)kube_pod(a)->ips[0] > (const char *)a &&
	      (const char *)kube_pod(a)->ips[0] < (const char *)a + a->bytes);
	CHECK_STR_EQ(kube_pod(a)->ips[0], "10.244.2.31");
	/* It still takes strings afterwards (fixtures do). */
	CHECK_STR_EQ(kube_intern(a, "late-zone"), "late-zone");
	CHECK_STR_EQ(kube_set_str(a, "late"), "late");
	CHECK_STR_EQ(a->meta.ns, "shop");
	CHECK(kube_object_ref(a) == a);
	CHECK_INT_EQ(atomic_load(&a->refs), 2);
	kube_object_unref(a);
	kube_object_unref(a);
	CHECK_STR_EQ(b->meta.ns, "shop"); /* still held by b */
	kube_object_unref(b);
	kube_object_unref(NULL);
	/* Strings of decoded then freed records are all released. */
	a = kube_object_new(KUBE_KIND_NODE);
	CHECK_STR_EQ(kube_intern(a, "zone-q"), "zone-q");
	CHECK(kube_intern(a, "zone-q") == kube_intern(a, "zone-q"));
	CHECK_NULL(kube_intern(a, NULL));
	CHECK_NULL(kube_set_str(a, NULL));
	kube_object_unref(a);
	CHECK_INT_EQ(kube__intern_count(), base);
}

static void test_builder_bytes(void)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_POD);
	size_t before = o->bytes;
	char *p;

	CHECK_STR_EQ(o->meta.ns, "");
	CHECK_STR_EQ(o->meta.resource_version, "");
	CHECK_INT_EQ(atomic_load(&o->refs), 1);
	CHECK(before >= sizeof(struct kube_pod));
	p = kube_alloc(o, 5000);
	for (int i = 0; i < 5000; i++)
		CHECK_INT_EQ(p[i], 0);
	CHECK(o->bytes >= before + 5000);
	CHECK_STR_EQ(kube_set_str(o, "hello"), "hello");
	CHECK(((uintptr_t)kube_alloc(o, 3) & 7) == 0);
	CHECK(((uintptr_t)kube_alloc(o, 8) & 7) == 0);
	kube_object_unref(o);
}

static void test_names(void)
{
	enum kube_protocol p;

	CHECK_STR_EQ(kube_kind_name(KUBE_KIND_ENDPOINTSLICE), "EndpointSlice");
	CHECK_STR_EQ(kube_protocol_name(KUBE_PROTO_SCTP), "SCTP");
	CHECK_OK(kube_protocol_parse("UDP", &p));
	CHECK_INT_EQ(p, KUBE_PROTO_UDP);
	CHECK_ERR(kube_protocol_parse("udp", &p), ERR_INVALID);
	CHECK_STR_EQ(kube_address_type_name(KUBE_ADDR_FQDN), "FQDN");
	CHECK_STR_EQ(kube_event_type_name(KUBE_EVENT_BOOKMARK), "BOOKMARK");
}

/* A clone is spec-equal; changing a hint or a condition is not. */
static void test_slice_spec_equal(void)
{
	struct kube_object *o = decode_file(KUBE_KIND_ENDPOINTSLICE,
					    "endpointslice/web-abc12.json");
	struct kube_object *c = kube_endpointslice_clone(kube_endpointslice(o));
	struct kube_endpointslice *cs = (struct kube_endpointslice *)c;

	CHECK(kube_endpointslice_spec_equal(kube_endpointslice(o), cs));
	cs->endpoints[0].n_hint_zones = 0;
	CHECK(!kube_endpointslice_spec_equal(kube_endpointslice(o), cs));
	kube_object_unref(c);
	c = kube_endpointslice_clone(kube_endpointslice(o));
	cs = (struct kube_endpointslice *)c;
	cs->endpoints[1].ready = KUBE_TRUE;
	CHECK(!kube_endpointslice_spec_equal(kube_endpointslice(o), cs));
	kube_object_unref(c);
	kube_object_unref(o);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_slice_spec_equal),
	    UNIT_CASE(test_pod_decode),
	    UNIT_CASE(test_pod_ports_and_sidecars),
	    UNIT_CASE(test_pod_podip_fallback),
	    UNIT_CASE(test_pod_typical_size),
	    UNIT_CASE(test_service_decode),
	    UNIT_CASE(test_service_lb_and_headless),
	    UNIT_CASE(test_node_decode),
	    UNIT_CASE(test_slice_decode),
	    UNIT_CASE(test_lease_decode),
	    UNIT_CASE(test_status_decode),
	    UNIT_CASE(test_quantity),
	    UNIT_CASE(test_decode_errors),
	    UNIT_CASE(test_watch_events),
	    UNIT_CASE(test_watch_deleted_record),
	    UNIT_CASE(test_watch_split_everywhere),
	    UNIT_CASE(test_watch_many_in_one_chunk),
	    UNIT_CASE(test_watch_error_410),
	    UNIT_CASE(test_watch_bookmark_initial_events_end),
	    UNIT_CASE(test_list_items_one_by_one),
	    UNIT_CASE(test_stream_malformed),
	    UNIT_CASE(test_stream_callback_stops),
	    UNIT_CASE(test_stream_empty_watch),
	    UNIT_CASE(test_slice_encode_roundtrip),
	    UNIT_CASE(test_slice_encode_decoded),
	    UNIT_CASE(test_lease_encode),
	    UNIT_CASE(test_event_encode),
	    UNIT_CASE(test_json_quote),
	    UNIT_CASE(test_refcount_and_interning),
	    UNIT_CASE(test_builder_bytes),
	    UNIT_CASE(test_names),
	};

	return unit_main(argc, argv, "kube", cases, ARRAY_SIZE(cases));
}
