/*
 * it-watch: the reflector across the events that break a watch on a real
 * server — a kube-apiserver restart (the watch reconnects and the store
 * follows changes made afterwards) and an etcd compaction followed by a
 * restart, which makes the informer's resourceVersion "too old": the
 * watch gets 410, the informer relists and reports the pods deleted
 * meanwhile as tombstones (final state unknown).
 *
 * Both cases restart the shared apiserver; they run one after another.
 */
#include "base.h"
#include "itlib.h"

#include <time.h>

#include "store.h"

#define N_PODS	    20
#define N_CHANGED   5
#define BLOCK_MAX_S 180

static void pod_name(char out[32], const char *prefix, int i)
{
	(void)snprintf(out, 32, "%s-%02d", prefix, i);
}

static void create_pods(const char *ns, const char *prefix, int from, int to)
{
	struct errbuf eb = ERRBUF_INIT;
	char name[32];

	for (int i = from; i < to; i++) {
		pod_name(name, prefix, i);
		IT_CHECK_OK(it_pod_create(ns, name, "node-a", "web", NULL, &eb),
			    &eb);
	}
}

/* A GET first: requests after a restart go out on a fresh connection, and
 * a GET is retried on a transport error where a POST is not. */
static void wait_apiserver(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct it_list l;

	IT_CHECK_OK(it_list(KUBE_KIND_NODE, NULL, NULL, &l, &eb), &eb);
	it_list_release(&l);
}

static void restart_apiserver(void)
{
	CHECK_INT_EQ(it_cluster("restart-apiserver"), 0);
	wait_apiserver();
}

/* ---- Restart ---------------------------------------------------------- */

static void survives_apiserver_restart(void)
{
	static struct it_counts counts;
	struct errbuf eb = ERRBUF_INIT;
	struct informer_stats before, after;
	struct informer_handlers h;
	struct informer *inf;
	struct it_counts got;
	char name[32];
	const char *ns;

	it_begin();
	(void)it_env("IT_LOCAL_CLUSTER");
	(void)it_env("IT_CLUSTER_DIR");
	ns = it_ns_create("it-restart");
	create_pods(ns, "pod", 0, N_PODS);
	it_counts_init(&counts);
	h = it_counting_handlers(&counts);
	inf = it_informer_start(
	    &(struct informer_options){
		.kind = KUBE_KIND_POD,
		.ns = ns,
		.name = "it-restart",
	    },
	    &h);
	CHECK(informer_wait_synced(inf, IT_TIMEOUT_MS));
	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);
	informer_stats(inf, &before);

	restart_apiserver();
	create_pods(ns, "new", 0, N_CHANGED);
	for (int i = 0; i < N_CHANGED; i++) {
		pod_name(name, "pod", i);
		IT_CHECK_OK(it_pod_set_status(ns, name, "10.2.0.1", true, &eb),
			    &eb);
		pod_name(name, "pod", N_PODS - 1 - i);
		IT_CHECK_OK(it_pod_delete(ns, name, true, &eb), &eb);
	}
	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);
	CHECK_INT_EQ(store_count(informer_store(inf)), N_PODS);

	informer_stats(inf, &after);
	it_counts_get(&counts, &got);
	printf("# watches %llu->%llu errors %llu->%llu expired=%llu "
	       "relists=%llu adds=%llu deletes=%llu\n",
	       (unsigned long long)before.watches,
	       (unsigned long long)after.watches,
	       (unsigned long long)before.errors,
	       (unsigned long long)after.errors,
	       (unsigned long long)after.expired,
	       (unsigned long long)after.relists, (unsigned long long)got.adds,
	       (unsigned long long)got.deletes);
	/* The old watch died with the server: a new one had to start (after
	 * a failure, a clean end or a 410, depending on timing). */
	CHECK(after.watches > before.watches);
	CHECK_INT_EQ(got.adds, N_PODS + N_CHANGED);
	CHECK_INT_EQ(got.deletes, N_CHANGED);
	it_end();
}

/* ---- Compaction and 410 ----------------------------------------------- */

/*
 * A handler that stops the informer's thread on the update of one pod
 * until the test opens the gate, so its resourceVersion falls behind.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const char *block_on; /* pod name; guarded by lock */
	bool blocked;	      /* the handler is waiting */
	bool open;
	size_t n_tombstones;
	char tombstones[16][32]; /* names reported with unknown final state */
	uint64_t deletes;
};

static void gate_update(void *ctx, const struct kube_object *o,
			const struct kube_object *n)
{
	struct gate *g = ctx;
	struct timespec ts;

	(void)o;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += BLOCK_MAX_S;
	pthread_mutex_lock(&g->lock);
	if (g->block_on && strcmp(n->meta.name, g->block_on) == 0) {
		g->blocked = true;
		pthread_cond_broadcast(&g->cond);
		while (!g->open)
			if (pthread_cond_timedwait(&g->cond, &g->lock, &ts) !=
			    0)
				break;
		g->blocked = false;
	}
	pthread_mutex_unlock(&g->lock);
}

static void gate_delete(void *ctx, const struct kube_object *o, bool unknown)
{
	struct gate *g = ctx;

	pthread_mutex_lock(&g->lock);
	g->deletes++;
	if (unknown && g->n_tombstones < ARRAY_SIZE(g->tombstones))
		(void)snprintf(g->tombstones[g->n_tombstones++], 32, "%s",
			       o->meta.name);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(void *arg)
{
	struct gate *g = arg;

	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

static bool gate_blocked(void *arg)
{
	struct gate *g = arg;
	bool b;

	pthread_mutex_lock(&g->lock);
	b = g->blocked;
	pthread_mutex_unlock(&g->lock);
	return b;
}

static bool gate_has_tombstone(struct gate *g, const char *name)
{
	bool found = false;

	pthread_mutex_lock(&g->lock);
	for (size_t i = 0; i < g->n_tombstones; i++)
		found |= strcmp(g->tombstones[i], name) == 0;
	pthread_mutex_unlock(&g->lock);
	return found;
}

static struct informer *start_gated(struct gate *g, const char *ns)
{
	struct informer_handlers h = {
	    .on_update = gate_update, .on_delete = gate_delete, .ctx = g};
	struct informer *inf;

	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	inf = it_informer_start(
	    &(struct informer_options){
		.kind = KUBE_KIND_POD,
		.ns = ns,
		.no_watch_list = true,
		.name = "it-expired",
	    },
	    &h);
	/* Runs before informer_free (LIFO): a stuck handler would hang the
	 * join otherwise. */
	it_defer(gate_open, g);
	return inf;
}

static void relists_after_compaction(void)
{
	static struct gate g;
	struct errbuf eb = ERRBUF_INIT;
	struct informer_stats st;
	struct informer *inf;
	char name[32];
	const char *ns;

	it_begin();
	(void)it_env("IT_LOCAL_CLUSTER");
	(void)it_env("IT_CLUSTER_DIR");
	ns = it_ns_create("it-expired");
	create_pods(ns, "pod", 0, N_PODS);
	inf = start_gated(&g, ns);
	CHECK(informer_wait_synced(inf, IT_TIMEOUT_MS));
	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);

	/* Stop the informer inside the handler of pod-00's update. */
	pthread_mutex_lock(&g.lock);
	g.block_on = "pod-00";
	pthread_mutex_unlock(&g.lock);
	IT_CHECK_OK(it_pod_set_label(ns, "pod-00", "step", "blocked", &eb),
		    &eb);
	CHECK(it_wait_until(gate_blocked, &g, IT_TIMEOUT_MS));

	/* First restart: the stuck watch's connection dies, so nothing of
	 * what follows can be buffered for it. */
	restart_apiserver();
	for (int i = 1; i <= N_CHANGED; i++) {
		pod_name(name, "pod", i);
		IT_CHECK_OK(it_pod_delete(ns, name, true, &eb), &eb);
	}
	create_pods(ns, "new", 0, N_CHANGED);
	/* Compaction, then a restart: the new watch cache starts at the
	 * current revision and etcd has forgotten older ones. */
	CHECK_INT_EQ(it_cluster("compact"), 0);
	restart_apiserver();
	gate_open(&g);

	it_wait_store_matches(inf, KUBE_KIND_POD, ns, NULL);
	CHECK_INT_EQ(store_count(informer_store(inf)), N_PODS);
	informer_stats(inf, &st);
	printf("# expired=%llu relists=%llu lists=%llu watches=%llu "
	       "errors=%llu tombstones=%zu\n",
	       (unsigned long long)st.expired, (unsigned long long)st.relists,
	       (unsigned long long)st.lists, (unsigned long long)st.watches,
	       (unsigned long long)st.errors, g.n_tombstones);
	CHECK(st.expired >= 1);
	CHECK(st.relists >= 1);
	for (int i = 1; i <= N_CHANGED; i++) {
		pod_name(name, "pod", i);
		if (!gate_has_tombstone(&g, name))
			printf("#   no tombstone for %s\n", name);
		CHECK(gate_has_tombstone(&g, name));
	}
	CHECK(!gate_has_tombstone(&g, "pod-00"));
	it_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(survives_apiserver_restart),
    UNIT_CASE(relists_after_compaction),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-watch", cases, ARRAY_SIZE(cases));
}
