/*
 * it-informer: the informer against the real kube-apiserver — a watch
 * that follows 1,000 creates, 500 updates and 333 forced deletes to a
 * store equal to a fresh list; a paginated LIST of 180 pods at 50 per
 * page; and a sync by watch-list (on by default since 1.32). Each case
 * owns a namespace.
 */
#include "base.h"
#include "itlib.h"

#include "store.h"

#define N_PODS	  1000
#define N_UPDATES 500
#define N_DELETES 333
#define THREADS	  4

struct bulk {
	const char *ns;
};

static void pod_name(char out[32], size_t i)
{
	(void)snprintf(out, 32, "pod-%04zu", i);
}

static enum err create_one(void *ctx, size_t i, struct errbuf *eb)
{
	struct bulk *b = ctx;
	char name[32];

	pod_name(name, i);
	return it_pod_create(b->ns, name, i % 2 ? "node-a" : "node-b", "web",
			     NULL, eb);
}

/* Even pods change: every other one as a kubelet would (status), the rest
 * by a label. */
static enum err update_one(void *ctx, size_t i, struct errbuf *eb)
{
	struct bulk *b = ctx;
	size_t idx = 2 * i;
	char name[32];
	char ip[32];

	pod_name(name, idx);
	if (i % 2 == 0) {
		(void)snprintf(ip, sizeof(ip), "10.1.%zu.%zu", idx / 250,
			       idx % 250 + 1);
		return it_pod_set_status(b->ns, name, ip, true, eb);
	}
	return it_pod_set_label(b->ns, name, "version", "v2", eb);
}

static enum err delete_one(void *ctx, size_t i, struct errbuf *eb)
{
	struct bulk *b = ctx;
	char name[32];

	pod_name(name, 3 * i + 1);
	return it_pod_delete(b->ns, name, true, eb);
}

static enum err create_n(const char *ns, size_t n, struct errbuf *eb)
{
	struct bulk b = {ns};

	return it_parallel(THREADS, n, create_one, &b, eb);
}

struct counts_wait {
	struct it_counts *c;
	uint64_t total;
	uint64_t live;
	bool exact;
};

static bool counts_reached(void *arg)
{
	struct counts_wait *w = arg;
	struct it_counts now;

	it_counts_get(w->c, &now);
	if (w->exact)
		return now.adds + now.updates + now.deletes >= w->total;
	return now.adds - now.deletes == w->live;
}

/* ---- Cases ------------------------------------------------------------- */

static void follows_1000_pods(void)
{
	/* Static: the informer's handlers may outlive a failed case's frame
	 * until the next it_begin stops it. */
	static struct it_counts counts;
	struct errbuf eb = ERRBUF_INIT;
	struct it_counts got;
	const char *ns;
	struct informer_handlers h;
	struct informer_stats st;
	struct informer *inf;
	struct counts_wait w;
	struct bulk b;

	it_begin();
	ns = it_ns_create("it-inf1000");
	b.ns = ns;
	it_counts_init(&counts);
	h = it_counting_handlers(&counts);
	inf = it_informer_start(
	    &(struct informer_options){
		.kind = KUBE_KIND_POD,
		.ns = ns,
		.name = "it-pods",
	    },
	    &h);
	CHECK(informer_wait_synced(inf, IT_TIMEOUT_MS));
	CHECK_INT_EQ(store_count(informer_store(inf)), 0);

	IT_CHECK_OK(create_n(ns, N_PODS, &eb), &eb);
	IT_CHECK_OK(it_parallel(THREADS, N_UPDATES, update_one, &b, &eb), &eb);
	IT_CHECK_OK(it_parallel(THREADS, N_DELETES, delete_one, &b, &eb), &eb);

	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);
	CHECK_INT_EQ(store_count(informer_store(inf)), N_PODS - N_DELETES);

	informer_stats(inf, &st);
	/* Without a relist every event reaches the handlers exactly once;
	 * a relist (say the watch cache lost us) may merge some. */
	w = (struct counts_wait){&counts, N_PODS + N_UPDATES + 2 * N_DELETES,
				 N_PODS - N_DELETES, st.relists == 0};
	CHECK(it_wait_until(counts_reached, &w, IT_TIMEOUT_MS));
	it_counts_get(&counts, &got);
	printf("# adds=%llu updates=%llu deletes=%llu relists=%llu "
	       "watches=%llu events=%llu\n",
	       (unsigned long long)got.adds, (unsigned long long)got.updates,
	       (unsigned long long)got.deletes, (unsigned long long)st.relists,
	       (unsigned long long)st.watches, (unsigned long long)st.events);
	CHECK_INT_EQ(got.adds - got.deletes, N_PODS - N_DELETES);
	if (st.relists == 0) {
		CHECK_INT_EQ(got.adds, N_PODS);
		/* Even with gracePeriodSeconds=0 the apiserver first marks
		 * a scheduled pod (deletionTimestamp, a MODIFIED event) and
		 * then removes it (DELETED). */
		CHECK_INT_EQ(got.updates, N_UPDATES + N_DELETES);
		CHECK_INT_EQ(got.deletes, N_DELETES);
		CHECK_INT_EQ(got.tombstones, 0);
		CHECK_INT_EQ(st.events, N_PODS + N_UPDATES + 2 * N_DELETES);
	}
	it_end();
}

static void paginates_past_the_limit(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct informer_stats st;
	struct informer *inf;
	const char *ns;

	it_begin();
	ns = it_ns_create("it-pages");
	IT_CHECK_OK(create_n(ns, 180, &eb), &eb);
	inf = it_informer_start(
	    &(struct informer_options){
		.kind = KUBE_KIND_POD,
		.ns = ns,
		.page_size = 50,
		.no_watch_list = true,
		.name = "it-pages",
	    },
	    NULL);
	CHECK(informer_wait_synced(inf, IT_TIMEOUT_MS));
	CHECK_INT_EQ(store_count(informer_store(inf)), 180);
	informer_stats(inf, &st);
	CHECK(st.lists >= 4);
	CHECK_INT_EQ(st.watch_lists, 0);
	CHECK(!st.using_watch_list);
	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);
	it_end();
}

static void syncs_by_watch_list(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct informer_stats st;
	struct kube_object *o;
	struct informer *inf;
	const char *ns;

	it_begin();
	ns = it_ns_create("it-wlist");
	IT_CHECK_OK(create_n(ns, 30, &eb), &eb);
	inf = it_informer_start(
	    &(struct informer_options){
		.kind = KUBE_KIND_POD,
		.ns = ns,
		.name = "it-wlist",
	    },
	    NULL);
	CHECK(informer_wait_synced(inf, IT_TIMEOUT_MS));
	CHECK_INT_EQ(store_count(informer_store(inf)), 30);
	informer_stats(inf, &st);
	CHECK(st.watch_lists >= 1);
	CHECK_INT_EQ(st.lists, 0);
	CHECK(st.using_watch_list);
	CHECK(st.resource_version[0] != '\0');
	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);

	/* The same stream goes on as a watch. */
	IT_CHECK_OK(it_pod_create(ns, "late", "node-a", "web", NULL, &eb), &eb);
	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);
	o = store_get(informer_store(inf), ns, "late");
	CHECK_NOT_NULL(o);
	CHECK_INT_EQ(kube_pod(o)->n_ports, 2);
	CHECK_STR_EQ(kube_pod(o)->ports[0].name, "http");
	CHECK_STR_EQ(kube_pod(o)->node_name, "node-a");
	kube_object_unref(o);
	informer_stats(inf, &st);
	CHECK_INT_EQ(st.lists, 0);
	it_end();
}

/* The manager's slice informer: a label selector and watch-list. Every
 * kind's BOOKMARK is an empty object of that kind, which the decoder must
 * take (an empty EndpointSlice has "addressType":""). */
static void slices_sync_by_watch_list(void)
{
	static const char sel[] = "endpointslice.kubernetes.io/managed-by=it";
	struct errbuf eb = ERRBUF_INIT;
	struct informer_stats st;
	struct informer *inf;
	char *path, *body;
	const char *ns;

	it_begin();
	ns = it_ns_create("it-slices");
	path = xasprintf(
	    "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
	it_defer(free, path);
	for (int i = 0; i < 3; i++) {
		body = xasprintf(
		    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
		    "\"EndpointSlice\",\"metadata\":{\"name\":\"web-%d\","
		    "\"labels\":{\"kubernetes.io/service-name\":\"web\","
		    "\"endpointslice.kubernetes.io/managed-by\":\"%s\"}},"
		    "\"addressType\":\"IPv4\",\"endpoints\":[{"
		    "\"addresses\":[\"10.5.0.%d\"]}],\"ports\":[]}",
		    i, i == 2 ? "someone-else" : "it", i + 1);
		it_defer(free, body);
		IT_CHECK_OK(it_post(path, body, NULL, NULL, &eb), &eb);
	}
	inf = it_informer_start(
	    &(struct informer_options){
		.kind = KUBE_KIND_ENDPOINTSLICE,
		.ns = ns,
		.label_selector = sel,
		.name = "it-slices",
	    },
	    NULL);
	CHECK(informer_wait_synced(inf, IT_TIMEOUT_MS));
	it_wait_store_matches(inf, KUBE_KIND_ENDPOINTSLICE, ns, sel);
	CHECK_INT_EQ(store_count(informer_store(inf)), 2);
	informer_stats(inf, &st);
	CHECK(st.watch_lists >= 1);
	CHECK_INT_EQ(st.lists, 0);
	CHECK_INT_EQ(st.errors, 0);
	it_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(follows_1000_pods),
    UNIT_CASE(paginates_past_the_limit),
    UNIT_CASE(syncs_by_watch_list),
    UNIT_CASE(slices_sync_by_watch_list),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-informer", cases, ARRAY_SIZE(cases));
}
