/*
 * Unit tests of the EndpointSlice controller runtime (epsctl): which pod,
 * Service, slice and node changes queue which Services (endpointslice.md
 * §7.3), the write phase with write-through, cleanup of slices whose
 * Service is gone or unmanaged, and worker threads racing over one
 * in-memory API (for ThreadSanitizer). The in-memory API stands in for the
 * server; it is single-threaded, so a lock guards it here.
 */
#include "base.h"
#include "unit.h"

#include <pthread.h>

#include "epsctl.h"
#include "informer.h"
#include "memapi.h"

struct fixture {
	struct memapi *api;
	struct epsctl *ctl;
	pthread_mutex_t lock; /* guards api */
	struct epsctl_writer inner;
};

static struct fixture fx;

static enum err locked_create(void *ctx, const struct kube_endpointslice *s,
			      struct kube_object **out, struct kube_status *st,
			      struct errbuf *eb)
{
	struct fixture *f = ctx;
	enum err e;

	pthread_mutex_lock(&f->lock);
	e = f->inner.create(f->inner.ctx, s, out, st, eb);
	pthread_mutex_unlock(&f->lock);
	return e;
}

static enum err locked_update(void *ctx, const struct kube_endpointslice *s,
			      struct kube_object **out, struct kube_status *st,
			      struct errbuf *eb)
{
	struct fixture *f = ctx;
	enum err e;

	pthread_mutex_lock(&f->lock);
	e = f->inner.update(f->inner.ctx, s, out, st, eb);
	pthread_mutex_unlock(&f->lock);
	return e;
}

static enum err locked_remove(void *ctx, const struct kube_endpointslice *s,
			      struct kube_status *st, struct errbuf *eb)
{
	struct fixture *f = ctx;
	enum err e;

	pthread_mutex_lock(&f->lock);
	e = f->inner.remove(f->inner.ctx, s, st, eb);
	pthread_mutex_unlock(&f->lock);
	return e;
}

static void locked_event(void *ctx, const struct kube_service *svc,
			 const char *type, const char *reason, const char *msg)
{
	struct fixture *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->inner.event(f->inner.ctx, svc, type, reason, msg);
	pthread_mutex_unlock(&f->lock);
}

static void setup(bool immediate, int workers)
{
	struct epsctl_options o = {
		.cfg = { 100, EPSLICE_MANAGED_BY_DEFAULT },
		.workers = workers,
		.immediate = immediate,
	};
	struct epsctl_writer w = { locked_create, locked_update, locked_remove,
				   locked_event, &fx };
	struct epsctl_sources src;
	static const enum kube_kind kinds[] = { KUBE_KIND_POD, KUBE_KIND_SERVICE,
						KUBE_KIND_ENDPOINTSLICE,
						KUBE_KIND_NODE };
	void (*const fns[])(struct epsctl *, struct informer_handlers *) = {
		epsctl_pod_handlers, epsctl_service_handlers,
		epsctl_slice_handlers, epsctl_node_handlers
	};

	memset(&fx, 0, sizeof(fx));
	pthread_mutex_init(&fx.lock, NULL);
	fx.api = memapi_new(7);
	memapi_writer(fx.api, &fx.inner);
	src = (struct epsctl_sources){ memapi_store(fx.api, KUBE_KIND_POD),
				       memapi_store(fx.api, KUBE_KIND_SERVICE),
				       memapi_store(fx.api, KUBE_KIND_NODE),
				       memapi_store(fx.api, KUBE_KIND_ENDPOINTSLICE) };
	CHECK_OK(epsctl_new(&o, &src, &w, &fx.ctl));
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct informer_handlers h;

		fns[i](fx.ctl, &h);
		memapi_add_handlers(fx.api, kinds[i], &h);
	}
}

static void teardown(void)
{
	epsctl_free(fx.ctl);
	memapi_free(fx.api);
	pthread_mutex_destroy(&fx.lock);
}

/* Applies one JSON watch event of the given kind to the in-memory API. */
static void apply(enum kube_kind kind, enum kube_event_type type,
		  const char *json)
{
	struct kube_object *o = NULL;
	struct errbuf eb = ERRBUF_INIT;

	CHECK_OK(kube_object_decode(kind, json, strlen(json), &o, &eb));
	pthread_mutex_lock(&fx.lock);
	CHECK_OK(memapi_apply(fx.api, type, o, &eb));
	pthread_mutex_unlock(&fx.lock);
}

static size_t deliver(void)
{
	size_t n;

	pthread_mutex_lock(&fx.lock);
	n = memapi_deliver(fx.api);
	pthread_mutex_unlock(&fx.lock);
	return n;
}

/* Single-threaded quiescence: notifications, then syncs, until quiet. */
static size_t settle(void)
{
	size_t syncs = 0;

	for (int i = 0; i < 100; i++) {
		size_t d = deliver();
		size_t s = epsctl_run_until_idle(fx.ctl);

		syncs += s;
		if (!d && !s)
			break;
	}
	return syncs;
}

static void add_node(const char *name, const char *zone)
{
	char j[512];

	(void)snprintf(j, sizeof(j),
		       "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"uid\":\"u-%s\",\"labels\":{\"topology.kubernetes.io/zone\":\"%s\"}},"
		       "\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
		       name, name, zone);
	apply(KUBE_KIND_NODE, KUBE_EVENT_ADDED, j);
}

static void add_service(const char *name, const char *selector_json)
{
	char j[1024];

	(void)snprintf(j, sizeof(j),
		       "{\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"svc-%s\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},"
		       "\"spec\":{%s%s%s\"clusterIP\":\"10.96.0.5\",\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080}]}}",
		       name, name, selector_json ? "\"selector\":" : "",
		       selector_json ? selector_json : "",
		       selector_json ? "," : "");
	apply(KUBE_KIND_SERVICE, KUBE_EVENT_ADDED, j);
}

static void pod_event(enum kube_event_type type, const char *name,
		      const char *app, const char *ip, bool ready)
{
	char j[1024];

	(void)snprintf(j, sizeof(j),
		       "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"p-%s\",\"labels\":{\"app\":\"%s\"}},"
		       "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\"}]},"
		       "\"status\":{\"phase\":\"Running\",\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}],"
		       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":\"2026-01-01T00:00:0%dZ\"}]}}",
		       name, name, app, ip, ip, ready ? "True" : "False",
		       ready ? 2 : 1);
	apply(KUBE_KIND_POD, type, j);
}

static size_t count_slices(const char *svc, size_t *endpoints)
{
	struct store *s = memapi_store(fx.api, KUBE_KIND_ENDPOINTSLICE);
	struct store_list l;
	size_t n = 0;

	*endpoints = 0;
	store_list_all(s, &l);
	for (size_t i = 0; i < l.n; i++) {
		const char *name = kube_labels_get(&l.items[i]->meta.labels,
						   EPSLICE_LABEL_SERVICE_NAME);

		if (str_eq(name, svc)) {
			n++;
			*endpoints += kube_endpointslice(l.items[i])->n_endpoints;
		}
	}
	store_list_release(&l);
	return n;
}

static void test_pod_changes_reach_their_service_only(void)
{
	struct epsctl_stats st;
	size_t eps = 0;

	setup(true, 1);
	add_node("n1", "z1");
	add_service("web", "{\"app\":\"web\"}");
	add_service("db", "{\"app\":\"db\"}");
	(void)settle();
	pod_event(KUBE_EVENT_ADDED, "w1", "web", "10.0.0.1", true);
	CHECK_INT_EQ(settle(), 1); /* web only */
	CHECK_INT_EQ(count_slices("web", &eps), 1);
	CHECK_INT_EQ(eps, 1);
	CHECK_INT_EQ(count_slices("db", &eps), 1); /* its placeholder */
	CHECK_INT_EQ(eps, 0);
	/* A relabel web → db: both Services (the symmetric difference). */
	pod_event(KUBE_EVENT_MODIFIED, "w1", "db", "10.0.0.1", true);
	CHECK_INT_EQ(settle(), 2);
	CHECK_INT_EQ(count_slices("db", &eps), 1);
	CHECK_INT_EQ(eps, 1);
	epsctl_stats(fx.ctl, &st);
	CHECK_INT_EQ(st.syncs_error, 0);
	teardown();
}

static void test_unchanged_pod_update_syncs_nothing(void)
{
	setup(true, 1);
	add_node("n1", "z1");
	add_service("web", "{\"app\":\"web\"}");
	pod_event(KUBE_EVENT_ADDED, "w1", "web", "10.0.0.1", true);
	(void)settle();
	/* Same readiness, IPs, labels: only the resourceVersion moves. */
	pod_event(KUBE_EVENT_MODIFIED, "w1", "web", "10.0.0.1", true);
	CHECK_INT_EQ(settle(), 0);
	teardown();
}

static void test_own_echo_does_not_resync(void)
{
	struct memapi_stats before, after;

	setup(true, 1);
	add_node("n1", "z1");
	add_service("web", "{\"app\":\"web\"}");
	pod_event(KUBE_EVENT_ADDED, "w1", "web", "10.0.0.1", false);
	(void)settle();
	memapi_stats(fx.api, &before);
	pod_event(KUBE_EVENT_MODIFIED, "w1", "web", "10.0.0.1", true);
	/* One sync for the flip; the echo of its write queues nothing. */
	CHECK_INT_EQ(settle(), 1);
	memapi_stats(fx.api, &after);
	CHECK_INT_EQ(after.updates[KUBE_KIND_ENDPOINTSLICE] -
			     before.updates[KUBE_KIND_ENDPOINTSLICE],
		     1);
	teardown();
}

static void test_deleted_service_slices_removed(void)
{
	struct epsctl_stats st;
	size_t eps;

	setup(true, 1);
	add_node("n1", "z1");
	add_service("web", "{\"app\":\"web\"}");
	pod_event(KUBE_EVENT_ADDED, "w1", "web", "10.0.0.1", true);
	(void)settle();
	CHECK_INT_EQ(count_slices("web", &eps), 1);
	epsctl_stats(fx.ctl, &st);
	CHECK_INT_EQ(st.endpoints_desired, 1);
	CHECK_INT_EQ(st.desired_slices, 1);
	CHECK_INT_EQ(st.num_slices, 1);
	/* Losing the selector: we delete our slices (issue #3). */
	add_service("web", NULL);
	(void)settle();
	CHECK_INT_EQ(count_slices("web", &eps), 0);
	epsctl_stats(fx.ctl, &st);
	CHECK_INT_EQ(st.endpoints_desired, 0);
	CHECK_INT_EQ(st.num_slices, 0);
	CHECK_INT_EQ(st.deletes, 1);
	teardown();
}

/* Worker threads race over many Services; ThreadSanitizer watches. */
static void test_workers_converge(void)
{
	char name[32], sel[64], ip[32];
	size_t eps, total = 0;

	setup(false, 4);
	add_node("n1", "z1");
	(void)deliver();
	CHECK_OK(epsctl_start(fx.ctl));
	for (int s = 0; s < 20; s++) {
		(void)snprintf(name, sizeof(name), "svc%d", s);
		(void)snprintf(sel, sizeof(sel), "{\"app\":\"a%d\"}", s);
		add_service(name, sel);
		for (int p = 0; p < 10; p++) {
			char pod[32], app[16];

			(void)snprintf(pod, sizeof(pod), "p%d-%d", s, p);
			(void)snprintf(app, sizeof(app), "a%d", s);
			(void)snprintf(ip, sizeof(ip), "10.1.%d.%d", s, p + 1);
			pod_event(KUBE_EVENT_ADDED, pod, app, ip, p % 2 == 0);
		}
		(void)deliver();
	}
	/* Bounded: deliver echoes until every Service has its 10 endpoints. */
	for (int round = 0; round < 600 && total != 200; round++) {
		(void)deliver();
		clock_sleep_ms(50);
		total = 0;
		for (int s = 0; s < 20; s++) {
			(void)snprintf(name, sizeof(name), "svc%d", s);
			if (count_slices(name, &eps) == 1)
				total += eps;
		}
	}
	CHECK_INT_EQ(total, 200);
	epsctl_stop(fx.ctl);
	teardown();
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_pod_changes_reach_their_service_only),
		UNIT_CASE(test_unchanged_pod_update_syncs_nothing),
		UNIT_CASE(test_own_echo_does_not_resync),
		UNIT_CASE(test_deleted_service_slices_removed),
		UNIT_CASE(test_workers_converge),
	};

	return unit_main(argc, argv, "epsctl", cases, ARRAY_SIZE(cases));
}
