/*
 * Unit tests of kube against JSON captured from a real kube-apiserver
 * v1.35.4 (tests/data/real/, made by tests/data/real/capture.sh): every
 * object kind, the Status bodies of typical errors, watch-list streams
 * with their initial-events-end BOOKMARK, an ERROR 410 watch, ordinary
 * watch events and a paginated list page. Each file is decoded whole and
 * (streams) one byte at a time, and its key fields are checked. A capture
 * without a check here fails the coverage case.
 */
#include "base.h"
#include "kube.h"
#include "unit.h"

#include <dirent.h>

#define NS "real-capture"

/* ---- Helpers ------------------------------------------------------------- */

static struct kube_object *decode(enum kube_kind kind, const char *file)
{
	char *rel = xasprintf("real/%s", file);
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = NULL;
	size_t len;
	char *data = unit_read_data(rel, &len);
	enum err e = kube_object_decode(kind, data, len, &o, &eb);

	free(data);
	free(rel);
	if (e != ERR_OK)
		unit_fail(__FILE__, __LINE__, "%s: %s: %s", file, err_name(e),
			  eb.msg);
	return o;
}

static void decode_status(const char *file, struct kube_status *st)
{
	char *rel = xasprintf("real/%s", file);
	struct errbuf eb = ERRBUF_INIT;
	size_t len;
	char *data = unit_read_data(rel, &len);
	enum err e = kube_status_decode(data, len, st, &eb);

	free(data);
	free(rel);
	if (e != ERR_OK)
		unit_fail(__FILE__, __LINE__, "%s: %s: %s", file, err_name(e),
			  eb.msg);
}

#define MAX_EVENTS 16

/* What a stream delivered: types, RVs, the objects and the Status. */
struct sink {
	size_t n;
	enum kube_event_type types[MAX_EVENTS];
	char rvs[MAX_EVENTS][32];
	bool end[MAX_EVENTS];
	struct kube_object *objs[MAX_EVENTS];
	struct kube_status status;
	char list_rv[32];
	char list_continue[256];
};

static enum err sink_event(void *ctx, struct kube_event *ev)
{
	struct sink *k = ctx;

	if (k->n == MAX_EVENTS) {
		kube_object_unref(ev->obj);
		return ERR_TOO_LARGE;
	}
	k->types[k->n] = ev->type;
	(void)snprintf(k->rvs[k->n], sizeof(k->rvs[k->n]), "%s",
		       ev->resource_version ? ev->resource_version : "");
	k->end[k->n] = ev->initial_events_end;
	k->objs[k->n] = ev->obj;
	ev->obj = NULL;
	if (ev->type == KUBE_EVENT_ERROR && ev->status)
		k->status = *ev->status;
	k->n++;
	return ERR_OK;
}

static void sink_release(struct sink *k)
{
	for (size_t i = 0; i < k->n; i++)
		kube_object_unref(k->objs[i]);
	memset(k, 0, sizeof(*k));
}

/* Feeds the file in chunks of `step` bytes (0: whole). */
static enum err stream_file(enum kube_kind kind, enum kube_stream_mode mode,
			    const char *file, size_t step, struct sink *k,
			    struct errbuf *eb)
{
	struct kube_stream_options so = {
	    .kind = kind, .mode = mode, .on_event = sink_event, .ctx = k};
	char *rel = xasprintf("real/%s", file);
	size_t len;
	char *data = unit_read_data(rel, &len);
	struct kube_stream *s = kube_stream_new(&so);
	enum err e = ERR_OK;

	memset(k, 0, sizeof(*k));
	if (step == 0)
		step = len;
	for (size_t off = 0; e == ERR_OK && off < len; off += step)
		e = kube_stream_feed(s, data + off, MIN(step, len - off), eb);
	if (e == ERR_OK)
		e = kube_stream_finish(s, eb);
	(void)snprintf(k->list_rv, sizeof(k->list_rv), "%s",
		       kube_stream_list_rv(s));
	(void)snprintf(k->list_continue, sizeof(k->list_continue), "%s",
		       kube_stream_list_continue(s));
	kube_stream_free(s);
	free(data);
	free(rel);
	return e;
}

/*
 * Streams the file whole, then byte by byte, and checks both deliver the
 * same events; leaves the whole-file result in k.
 */
static void stream_both(enum kube_kind kind, enum kube_stream_mode mode,
			const char *file, struct sink *k)
{
	struct errbuf eb = ERRBUF_INIT;
	struct sink bytes;

	if (stream_file(kind, mode, file, 1, &bytes, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "%s byte by byte: %s", file,
			  eb.msg);
	if (stream_file(kind, mode, file, 0, k, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "%s: %s", file, eb.msg);
	CHECK_INT_EQ(bytes.n, k->n);
	for (size_t i = 0; i < k->n; i++) {
		CHECK_INT_EQ(bytes.types[i], k->types[i]);
		CHECK_STR_EQ(bytes.rvs[i], k->rvs[i]);
	}
	sink_release(&bytes);
}

static int64_t ms(const char *rfc3339)
{
	int64_t v = 0;

	CHECK_OK(clock_parse_rfc3339(rfc3339, &v));
	return v;
}

/* ---- Objects ---------------------------------------------------------------
 */

static void node_ready(void)
{
	struct kube_object *o = decode(KUBE_KIND_NODE, "node-ready.json");
	const struct kube_node *n = kube_node(o);

	CHECK_STR_EQ(o->meta.name, "real-node-1");
	CHECK_STR_EQ(o->meta.ns, "");
	CHECK(o->meta.resource_version[0] != '\0');
	CHECK_STR_EQ(n->zone, "zone-a");
	CHECK(n->control_plane);
	CHECK_INT_EQ(n->ready, KUBE_TRUE);
	CHECK_INT_EQ(n->cpu_milli, 3500);
	kube_object_unref(o);
}

static void pod_running(void)
{
	struct kube_object *o = decode(KUBE_KIND_POD, "pod-running.json");
	const struct kube_pod *p = kube_pod(o);

	CHECK_STR_EQ(o->meta.ns, NS);
	CHECK_STR_EQ(o->meta.name, "web-0");
	CHECK(o->meta.uid[0] != '\0');
	CHECK(o->meta.creation_ms > 0);
	CHECK_INT_EQ(o->meta.deletion_ms, 0);
	CHECK_STR_EQ(kube_labels_get(&o->meta.labels, "app"), "web");
	CHECK_STR_EQ(kube_labels_get(&o->meta.labels, "tier"), "frontend");
	CHECK_STR_EQ(p->node_name, "real-node-1");
	CHECK_STR_EQ(p->hostname, "web-0");
	CHECK_STR_EQ(p->subdomain, "web");
	CHECK_INT_EQ(p->phase, KUBE_POD_RUNNING);
	CHECK_INT_EQ(p->ready, KUBE_TRUE);
	CHECK_INT_EQ(p->ready_transition_ms, ms("2026-11-22T19:01:02Z"));
	CHECK_INT_EQ(p->n_ips, 2);
	CHECK_STR_EQ(p->ips[0], "10.244.1.5");
	CHECK_STR_EQ(p->ips[1], "fd00:10:244:1::5");
	/* Containers in order, then the restartable init container. */
	CHECK_INT_EQ(p->n_ports, 4);
	CHECK_STR_EQ(p->ports[0].name, "http");
	CHECK_INT_EQ(p->ports[0].port, 8080);
	CHECK_INT_EQ(p->ports[0].protocol, KUBE_PROTO_TCP);
	CHECK_STR_EQ(p->ports[1].name, "dns");
	CHECK_INT_EQ(p->ports[1].protocol, KUBE_PROTO_UDP);
	CHECK_NULL(p->ports[2].name);
	CHECK_INT_EQ(p->ports[2].port, 9090);
	CHECK_STR_EQ(p->ports[3].name, "proxy");
	CHECK_INT_EQ(p->ports[3].port, 15001);
	CHECK(p->ports[3].sidecar);
	CHECK(!p->ports[0].sidecar);
	kube_object_unref(o);
}

static void pod_pending(void)
{
	struct kube_object *o = decode(KUBE_KIND_POD, "pod-pending.json");
	const struct kube_pod *p = kube_pod(o);

	CHECK_STR_EQ(o->meta.name, "pending-0");
	CHECK_NULL(p->node_name);
	CHECK_INT_EQ(p->phase, KUBE_POD_PENDING);
	CHECK(p->ready != KUBE_TRUE);
	CHECK_INT_EQ(p->n_ips, 0);
	CHECK_INT_EQ(p->n_ports, 0);
	kube_object_unref(o);
}

static void service_clusterip(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_SERVICE, "service-clusterip.json");
	const struct kube_service *s = kube_service(o);

	CHECK_STR_EQ(o->meta.name, "web");
	CHECK_INT_EQ(s->type, KUBE_SVC_CLUSTER_IP);
	CHECK(s->has_selector);
	CHECK_STR_EQ(kube_labels_get(&s->selector, "app"), "web");
	CHECK(str_has_prefix(s->cluster_ip, "10.96."));
	CHECK_INT_EQ(s->n_cluster_ips, 1);
	CHECK_INT_EQ(s->n_families, 1);
	CHECK_INT_EQ(s->families[0], KUBE_FAMILY_IPV4);
	CHECK_INT_EQ(s->family_policy, KUBE_POLICY_SINGLE_STACK);
	CHECK_STR_EQ(s->traffic_distribution, "PreferClose");
	CHECK_STR_EQ(kube_labels_get(&o->meta.annotations,
				     "service.kubernetes.io/topology-mode"),
		     "Auto");
	CHECK_STR_EQ(s->internal_traffic_policy, "Cluster");
	CHECK_INT_EQ(s->n_ports, 2);
	CHECK_STR_EQ(s->ports[0].name, "http");
	CHECK_INT_EQ(s->ports[0].port, 80);
	CHECK_STR_EQ(s->ports[0].target_port_name, "http");
	CHECK_INT_EQ(s->ports[0].target_port_num, 0);
	CHECK_INT_EQ(s->ports[1].protocol, KUBE_PROTO_UDP);
	CHECK_INT_EQ(s->ports[1].target_port_num, 5353);
	CHECK_NULL(s->ports[1].target_port_name);
	kube_object_unref(o);
}

static void service_headless(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_SERVICE, "service-headless.json");
	const struct kube_service *s = kube_service(o);

	CHECK_STR_EQ(s->cluster_ip, "None");
	CHECK(s->publish_not_ready);
	CHECK(s->has_selector);
	/* Defaulted targetPort: the port number. */
	CHECK_INT_EQ(s->ports[0].target_port_num, 80);
	kube_object_unref(o);
}

static void service_nodeport(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_SERVICE, "service-nodeport.json");
	const struct kube_service *s = kube_service(o);

	CHECK_INT_EQ(s->type, KUBE_SVC_NODE_PORT);
	CHECK_STR_EQ(s->external_traffic_policy, "Local");
	CHECK(s->ports[0].node_port >= 30000 && s->ports[0].node_port <= 32767);
	CHECK_INT_EQ(s->ports[0].target_port_num, 8080);
	kube_object_unref(o);
}

static void service_loadbalancer(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_SERVICE, "service-loadbalancer.json");
	const struct kube_service *s = kube_service(o);

	CHECK_INT_EQ(s->type, KUBE_SVC_LOAD_BALANCER);
	CHECK_INT_EQ(s->allocate_lb_node_ports, KUBE_FALSE);
	CHECK_INT_EQ(s->ports[0].node_port, 0);
	CHECK(s->health_check_node_port >= 30000);
	CHECK_STR_EQ(s->ports[0].app_protocol, "https");
	kube_object_unref(o);
}

static void service_externalname(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_SERVICE, "service-externalname.json");
	const struct kube_service *s = kube_service(o);

	CHECK_INT_EQ(s->type, KUBE_SVC_EXTERNAL_NAME);
	CHECK_STR_EQ(s->external_name, "db.example.com");
	CHECK(!s->has_selector);
	CHECK_INT_EQ(s->n_ports, 0);
	CHECK_INT_EQ(s->n_cluster_ips, 0);
	kube_object_unref(o);
}

static void service_dualstack(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_SERVICE, "service-dualstack.json");
	const struct kube_service *s = kube_service(o);

	CHECK_INT_EQ(s->family_policy, KUBE_POLICY_REQUIRE_DUAL_STACK);
	CHECK_INT_EQ(s->n_families, 2);
	CHECK_INT_EQ(s->families[0], KUBE_FAMILY_IPV6);
	CHECK_INT_EQ(s->families[1], KUBE_FAMILY_IPV4);
	CHECK_INT_EQ(s->n_cluster_ips, 2);
	CHECK(str_has_prefix(s->cluster_ips[0], "fd00:10:96::"));
	CHECK(str_has_prefix(s->cluster_ips[1], "10.96."));
	CHECK_STR_EQ(s->cluster_ip, s->cluster_ips[0]);
	kube_object_unref(o);
}

static void endpointslice_web(void)
{
	struct kube_object *o =
	    decode(KUBE_KIND_ENDPOINTSLICE, "endpointslice-web.json");
	const struct kube_endpointslice *s = kube_endpointslice(o);
	const struct kube_endpoint *e0, *e1;

	CHECK(str_has_prefix(o->meta.name, "web-"));
	CHECK_STR_EQ(o->meta.generate_name, "web-");
	CHECK_STR_EQ(
	    kube_labels_get(&o->meta.labels, "kubernetes.io/service-name"),
	    "web");
	CHECK_INT_EQ(o->meta.n_owners, 1);
	CHECK_STR_EQ(o->meta.owners[0].kind, "Service");
	CHECK_INT_EQ(o->meta.owners[0].controller, KUBE_TRUE);
	CHECK_INT_EQ(s->address_type, KUBE_ADDR_IPV4);
	CHECK_INT_EQ(s->n_endpoints, 2);
	e0 = &s->endpoints[0];
	e1 = &s->endpoints[1];
	CHECK_STR_EQ(e0->addresses[0], "10.244.1.5");
	CHECK_INT_EQ(e0->ready, KUBE_TRUE);
	CHECK_INT_EQ(e0->serving, KUBE_TRUE);
	CHECK_INT_EQ(e0->terminating, KUBE_FALSE);
	CHECK_STR_EQ(e0->zone, "zone-a");
	CHECK_STR_EQ(e0->node_name, "real-node-1");
	CHECK(e0->has_hints);
	CHECK_INT_EQ(e0->n_hint_zones, 1);
	CHECK_STR_EQ(e0->hint_zones[0], "zone-a");
	CHECK_STR_EQ(e0->target.kind, "Pod");
	CHECK_STR_EQ(e0->target.name, "web-0");
	CHECK_INT_EQ(e1->ready, KUBE_FALSE);
	CHECK_INT_EQ(e1->serving, KUBE_FALSE);
	CHECK_INT_EQ(e1->terminating, KUBE_TRUE);
	CHECK_NULL(e1->target.kind);
	CHECK_INT_EQ(s->n_ports, 2);
	CHECK_STR_EQ(s->ports[0].app_protocol, "http");
	CHECK_INT_EQ(s->ports[0].port, 8080);
	CHECK_INT_EQ(s->ports[1].protocol, KUBE_PROTO_UDP);
	kube_object_unref(o);
}

static void lease_apiserver(void)
{
	struct kube_object *o = decode(KUBE_KIND_LEASE, "lease-apiserver.json");
	const struct kube_lease *l = kube_lease(o);

	CHECK_STR_EQ(o->meta.ns, "kube-system");
	CHECK(str_has_prefix(o->meta.name, "apiserver-"));
	CHECK(str_has_prefix(l->holder_identity, o->meta.name));
	CHECK_INT_EQ(l->lease_duration_s, 3600);
	CHECK(l->renew_ms > o->meta.creation_ms - 1000);
	kube_object_unref(o);
}

/* ---- Status bodies
 * ----------------------------------------------------------- */

static void statuses(void)
{
	static const struct {
		const char *file;
		int code;
		const char *reason;
		const char *cause;
	} want[] = {
	    {"status-notfound.json", 404, "NotFound", NULL},
	    {"status-namespace-notfound.json", 404, "NotFound", NULL},
	    {"status-alreadyexists.json", 409, "AlreadyExists", NULL},
	    {"status-conflict.json", 409, "Conflict", NULL},
	    {"status-invalid.json", 422, "Invalid", "FieldValueRequired"},
	    {"status-namespace-terminating.json", 403, "Forbidden",
	     "NamespaceTerminating"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct kube_status st;

		decode_status(want[i].file, &st);
		CHECK_INT_EQ(st.code, want[i].code);
		CHECK_STR_EQ(st.reason, want[i].reason);
		CHECK(st.message[0] != '\0');
		if (want[i].cause) {
			CHECK(st.n_causes >= 1);
			CHECK_STR_EQ(st.causes[0].type, want[i].cause);
			CHECK(st.causes[0].field[0] != '\0');
		} else {
			CHECK_INT_EQ(st.n_causes, 0);
		}
	}
}

/* ---- Streams
 * ----------------------------------------------------------------- */

static void list_page(void)
{
	struct sink k;

	stream_both(KUBE_KIND_POD, KUBE_STREAM_LIST, "list-pods-page.json", &k);
	CHECK_INT_EQ(k.n, 1);
	CHECK_INT_EQ(k.types[0], KUBE_EVENT_ADDED);
	CHECK(k.list_rv[0] != '\0');
	CHECK(k.list_continue[0] != '\0');
	CHECK_STR_EQ(k.objs[0]->meta.ns, NS);
	sink_release(&k);
}

static void list_services(void)
{
	struct sink k;
	bool dual = false;

	stream_both(KUBE_KIND_SERVICE, KUBE_STREAM_LIST, "list-services.json",
		    &k);
	CHECK_INT_EQ(k.n, 6);
	CHECK(k.list_rv[0] != '\0');
	CHECK_STR_EQ(k.list_continue, "");
	for (size_t i = 0; i < k.n; i++)
		dual |= kube_service(k.objs[i])->n_cluster_ips == 2;
	CHECK(dual);
	sink_release(&k);
}

static void watch_list_pods(void)
{
	struct sink k;

	stream_both(KUBE_KIND_POD, KUBE_STREAM_WATCH,
		    "watch-pods-watchlist.json", &k);
	CHECK_INT_EQ(k.n, 3);
	CHECK_INT_EQ(k.types[0], KUBE_EVENT_ADDED);
	CHECK_INT_EQ(k.types[1], KUBE_EVENT_ADDED);
	CHECK_INT_EQ(k.types[2], KUBE_EVENT_BOOKMARK);
	CHECK(k.end[2]);
	CHECK(!k.end[0]);
	CHECK_NULL(k.objs[2]);
	CHECK(k.rvs[2][0] != '\0');
	CHECK_STR_EQ(k.rvs[0], k.objs[0]->meta.resource_version);
	sink_release(&k);
}

static void watch_list_slices(void)
{
	struct sink k;

	stream_both(KUBE_KIND_ENDPOINTSLICE, KUBE_STREAM_WATCH,
		    "watch-endpointslices-watchlist.json", &k);
	CHECK_INT_EQ(k.n, 2);
	CHECK_INT_EQ(k.types[0], KUBE_EVENT_ADDED);
	CHECK_INT_EQ(kube_endpointslice(k.objs[0])->endpoints[1].ready,
		     KUBE_FALSE);
	CHECK_INT_EQ(k.types[1], KUBE_EVENT_BOOKMARK);
	CHECK(k.end[1]);
	sink_release(&k);
}

/* The other kinds' BOOKMARKs are empty objects of the kind, zero values
 * included ("spec":{}, a Node's "Port":0, empty nodeInfo strings). */
static void watch_list_bookmarks(void)
{
	static const struct {
		const char *file;
		enum kube_kind kind;
	} files[] = {
	    {"watch-services-watchlist.json", KUBE_KIND_SERVICE},
	    {"watch-nodes-watchlist.json", KUBE_KIND_NODE},
	    {"watch-leases-watchlist.json", KUBE_KIND_LEASE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct sink k;

		stream_both(files[i].kind, KUBE_STREAM_WATCH, files[i].file,
			    &k);
		CHECK(k.n >= 2);
		for (size_t j = 0; j + 1 < k.n; j++) {
			CHECK_INT_EQ(k.types[j], KUBE_EVENT_ADDED);
			CHECK_INT_EQ(k.objs[j]->kind, files[i].kind);
		}
		CHECK_INT_EQ(k.types[k.n - 1], KUBE_EVENT_BOOKMARK);
		CHECK(k.end[k.n - 1]);
		CHECK(k.rvs[k.n - 1][0] != '\0');
		sink_release(&k);
	}
}

static void watch_expired(void)
{
	struct sink k;

	stream_both(KUBE_KIND_POD, KUBE_STREAM_WATCH, "watch-pods-expired.json",
		    &k);
	CHECK_INT_EQ(k.n, 1);
	CHECK_INT_EQ(k.types[0], KUBE_EVENT_ERROR);
	CHECK_NULL(k.objs[0]);
	CHECK_INT_EQ(k.status.code, 410);
	CHECK_STR_EQ(k.status.reason, "Expired");
	CHECK_CONTAINS(k.status.message, "too old resource version");
	sink_release(&k);
}

static void watch_changes(void)
{
	struct sink k;

	stream_both(KUBE_KIND_POD, KUBE_STREAM_WATCH, "watch-pods-changes.json",
		    &k);
	CHECK_INT_EQ(k.n, 3);
	CHECK_INT_EQ(k.types[0], KUBE_EVENT_MODIFIED);
	CHECK_STR_EQ(kube_labels_get(&k.objs[0]->meta.labels, "version"), "v2");
	CHECK_INT_EQ(k.types[1], KUBE_EVENT_MODIFIED);
	CHECK(k.objs[1]->meta.deletion_ms > 0);
	CHECK_INT_EQ(k.types[2], KUBE_EVENT_DELETED);
	CHECK_STR_EQ(k.objs[2]->meta.name, "pending-0");
	CHECK(kube_object_deleting(k.objs[2]));
	sink_release(&k);
}

/* Every capture has its case: new files need checks here. */
static void every_capture_is_checked(void)
{
	static const char *const known[] = {
	    "node-ready.json",
	    "pod-running.json",
	    "pod-pending.json",
	    "service-clusterip.json",
	    "service-headless.json",
	    "service-nodeport.json",
	    "service-loadbalancer.json",
	    "service-externalname.json",
	    "service-dualstack.json",
	    "endpointslice-web.json",
	    "lease-apiserver.json",
	    "status-notfound.json",
	    "status-namespace-notfound.json",
	    "status-alreadyexists.json",
	    "status-conflict.json",
	    "status-invalid.json",
	    "status-namespace-terminating.json",
	    "list-pods-page.json",
	    "list-services.json",
	    "watch-pods-watchlist.json",
	    "watch-endpointslices-watchlist.json",
	    "watch-services-watchlist.json",
	    "watch-nodes-watchlist.json",
	    "watch-leases-watchlist.json",
	    "watch-pods-expired.json",
	    "watch-pods-changes.json",
	};
	char *dir = xasprintf("%s/real", unit_data_dir());
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n_json = 0;

	free(dir);
	CHECK_NOT_NULL(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		bool found = false;

		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		n_json++;
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			found |= strcmp(known[i], de->d_name) == 0;
		if (!found)
			printf("#   %s has no checks\n", de->d_name);
		CHECK(found);
	}
	closedir(d);
	CHECK_INT_EQ(n_json, ARRAY_SIZE(known));
}

static const struct unit_case cases[] = {
    UNIT_CASE(node_ready),
    UNIT_CASE(pod_running),
    UNIT_CASE(pod_pending),
    UNIT_CASE(service_clusterip),
    UNIT_CASE(service_headless),
    UNIT_CASE(service_nodeport),
    UNIT_CASE(service_loadbalancer),
    UNIT_CASE(service_externalname),
    UNIT_CASE(service_dualstack),
    UNIT_CASE(endpointslice_web),
    UNIT_CASE(lease_apiserver),
    UNIT_CASE(statuses),
    UNIT_CASE(list_page),
    UNIT_CASE(list_services),
    UNIT_CASE(watch_list_pods),
    UNIT_CASE(watch_list_slices),
    UNIT_CASE(watch_list_bookmarks),
    UNIT_CASE(watch_expired),
    UNIT_CASE(watch_changes),
    UNIT_CASE(every_capture_is_checked),
};

int main(int argc, char **argv)
{
	return unit_main(argc, argv, "kube-real", cases, ARRAY_SIZE(cases));
}
