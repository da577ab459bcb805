/*
 * Unit tests of triggertime, one case per rule of endpointslice.md §7.6:
 * the first sight of a Service gives its creation time; afterwards the
 * earliest changed or new pod Ready transition (and a moved creation
 * time), or 0 when nothing changed; the state is always updated and
 * vanished pods are forgotten; plus the annotation format (Go's
 * 2006-01-02T15:04:05.999999999Z) and a bounded concurrent run for TSan.
 */
#include "base.h"
#include "triggertime.h"
#include "unit.h"

#include <pthread.h>

#define T0 INT64_C(1795370400000) /* 2026-11-22T18:00:00Z */
#define SEC INT64_C(1000)

static struct kube_service *mk_svc(const char *ns, const char *name,
				   int64_t created)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_SERVICE);

	o->meta.ns = kube_intern(o, ns);
	o->meta.name = kube_set_str(o, name);
	o->meta.creation_ms = created;
	return (struct kube_service *)o;
}

/* A pod whose Ready condition last changed at ready_ms (0: none). */
static struct kube_pod *mk_pod(const char *name, int64_t ready_ms)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_POD);
	struct kube_pod *p = (struct kube_pod *)o;

	o->meta.ns = kube_intern(o, "default");
	o->meta.name = kube_set_str(o, name);
	p->ready = ready_ms ? KUBE_TRUE : KUBE_UNSET;
	p->ready_transition_ms = ready_ms;
	return p;
}

/* Up to 8 pods for one sync, released by pods_release. */
struct pods {
	size_t n;
	const struct kube_pod *p[8];
};

static void pods_add(struct pods *ps, const char *name, int64_t ready_ms)
{
	BUG_ON(ps->n >= ARRAY_SIZE(ps->p));
	ps->p[ps->n++] = mk_pod(name, ready_ms);
}

static void pods_release(struct pods *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		kube_object_unref((struct kube_object *)&ps->p[i]->obj);
	ps->n = 0;
}

/* One sync of svc over ps; ps is released. */
static int64_t sync_pods(struct triggertime *t, const struct kube_service *svc,
			 struct pods *ps)
{
	int64_t ms = triggertime_compute(t, svc, ps->p, ps->n);

	pods_release(ps);
	return ms;
}

static void put_svc(struct kube_service *s)
{
	kube_object_unref(&s->obj);
}

static void test_first_sight_is_creation(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct pods ps = {0};

	/* Pods that became ready later or earlier do not matter yet. */
	pods_add(&ps, "a", T0 + 5 * SEC);
	pods_add(&ps, "b", T0 - 5 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	put_svc(svc);
	triggertime_free(t);
	triggertime_free(NULL);
}

static void test_nothing_changed_is_zero(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct pods ps = {0};

	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), 0);
	pods_add(&ps, "a", T0 + SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0 + SEC);
	pods_add(&ps, "a", T0 + SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), 0);
	put_svc(svc);
	triggertime_free(t);
}

static void test_min_of_changed_pods(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct pods ps = {0};

	pods_add(&ps, "a", T0 + 1 * SEC);
	pods_add(&ps, "b", T0 + 2 * SEC);
	pods_add(&ps, "c", T0 + 3 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	/* b and c changed; a (the oldest) did not and does not count. */
	pods_add(&ps, "c", T0 + 30 * SEC);
	pods_add(&ps, "a", T0 + 1 * SEC);
	pods_add(&ps, "b", T0 + 20 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0 + 20 * SEC);
	put_svc(svc);
	triggertime_free(t);
}

static void test_new_pod_counts(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct pods ps = {0};

	pods_add(&ps, "a", T0 + 10 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	/* A newly seen pod counts even if its transition is older. */
	pods_add(&ps, "a", T0 + 10 * SEC);
	pods_add(&ps, "new", T0 + 4 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0 + 4 * SEC);
	/* A pod without a Ready transition time is not a change. */
	pods_add(&ps, "a", T0 + 10 * SEC);
	pods_add(&ps, "new", T0 + 4 * SEC);
	pods_add(&ps, "pending", 0);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), 0);
	put_svc(svc);
	triggertime_free(t);
}

static void test_older_transition_is_not_a_change(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct pods ps = {0};

	pods_add(&ps, "a", T0 + 10 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	/* Only a newer time is a change (upstream's After)... */
	pods_add(&ps, "a", T0 + 9 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), 0);
	/* ... but the state was updated to the older time. */
	pods_add(&ps, "a", T0 + 9500);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0 + 9500);
	put_svc(svc);
	triggertime_free(t);
}

static void test_vanished_pods_forgotten(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct pods ps = {0};

	pods_add(&ps, "a", T0 + 1 * SEC);
	pods_add(&ps, "b", T0 + 2 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	/* b is gone: that alone is not a trigger. */
	pods_add(&ps, "a", T0 + 1 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), 0);
	/* b is back with the same time: new again. */
	pods_add(&ps, "a", T0 + 1 * SEC);
	pods_add(&ps, "b", T0 + 2 * SEC);
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0 + 2 * SEC);
	put_svc(svc);
	triggertime_free(t);
}

static void test_service_recreated(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *v1 = mk_svc("default", "web", T0);
	struct kube_service *v2 = mk_svc("default", "web", T0 + 60 * SEC);
	struct pods ps = {0};

	pods_add(&ps, "a", T0 + 1 * SEC);
	CHECK_INT_EQ(sync_pods(t, v1, &ps), T0);
	/* Recreated without a delete event: the new creation time counts,
	 * with the changed pods. */
	pods_add(&ps, "a", T0 + 1 * SEC);
	CHECK_INT_EQ(sync_pods(t, v2, &ps), T0 + 60 * SEC);
	pods_add(&ps, "a", T0 + 70 * SEC);
	CHECK_INT_EQ(sync_pods(t, v2, &ps), T0 + 70 * SEC);
	pods_add(&ps, "a", T0 + 80 * SEC);
	CHECK_INT_EQ(sync_pods(t, v2, &ps), T0 + 80 * SEC);
	/* Both changed: the earlier wins. */
	put_svc(v1);
	v1 = mk_svc("default", "web", T0 + 90 * SEC);
	pods_add(&ps, "a", T0 + 85 * SEC);
	CHECK_INT_EQ(sync_pods(t, v1, &ps), T0 + 85 * SEC);
	put_svc(v1);
	put_svc(v2);
	triggertime_free(t);
}

static void test_delete_service(void)
{
	struct triggertime *t = triggertime_new();
	struct kube_service *svc = mk_svc("default", "web", T0);
	struct kube_service *other = mk_svc("prod", "web", T0 + SEC);
	struct pods ps = {0};

	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	CHECK_INT_EQ(sync_pods(t, other, &ps), T0 + SEC);
	triggertime_delete_service(t, "default", "web");
	triggertime_delete_service(t, "default", "unknown");
	/* Seen for the first time again; prod/web is unaffected. */
	CHECK_INT_EQ(sync_pods(t, svc, &ps), T0);
	CHECK_INT_EQ(sync_pods(t, other, &ps), 0);
	put_svc(svc);
	put_svc(other);
	triggertime_free(t);
}

static void test_many_services(void)
{
	struct triggertime *t = triggertime_new();
	char name[16];

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 300; i++) {
			struct kube_service *svc;
			struct pods ps = {0};

			(void)snprintf(name, sizeof(name), "svc%d", i);
			svc = mk_svc("default", name, T0 + i);
			pods_add(&ps, name, T0 + i * SEC);
			CHECK_INT_EQ(sync_pods(t, svc, &ps),
				     round == 0 ? T0 + i : 0);
			put_svc(svc);
		}
	}
	triggertime_free(t);
}

static void check_format(int64_t ms, const char *want)
{
	char out[CLOCK_RFC3339_LEN];

	triggertime_format(ms, out);
	CHECK_STR_EQ(out, want);
}

static void test_format(void)
{
	int64_t ms = 0;

	CHECK_OK(clock_parse_rfc3339("2026-11-22T18:00:00Z", &ms));
	CHECK_INT_EQ(ms, T0);
	check_format(T0, "2026-11-22T18:00:00Z");
	check_format(T0 + 500, "2026-11-22T18:00:00.5Z");
	check_format(T0 + 123, "2026-11-22T18:00:00.123Z");
	check_format(T0 + 100, "2026-11-22T18:00:00.1Z");
	check_format(T0 + 120, "2026-11-22T18:00:00.12Z");
	check_format(T0 + 1, "2026-11-22T18:00:00.001Z");
	check_format(T0 + 10, "2026-11-22T18:00:00.01Z");
	check_format(T0 + 59 * SEC + 999, "2026-11-22T18:00:59.999Z");
	check_format(T0 + 10 * SEC, "2026-11-22T18:00:10Z");
	check_format(0, "1970-01-01T00:00:00Z");
	/* It parses back to the same instant. */
	CHECK_OK(clock_parse_rfc3339("2026-11-22T18:00:00.12Z", &ms));
	CHECK_INT_EQ(ms, T0 + 120);
}

/* ---- Threads: one Service per thread, as the work queue guarantees -- */

#define NTHREADS 4

struct hammer_arg {
	struct triggertime *t;
	int id;
	int failures;
};

static void *hammer(void *arg)
{
	struct hammer_arg *h = arg;
	char name[16];
	struct kube_service *svc;

	(void)snprintf(name, sizeof(name), "svc%d", h->id);
	svc = mk_svc("default", name, T0);
	for (int i = 0; i < 500; i++) {
		struct pods ps = {0};
		int64_t want = i == 0 ? T0 : T0 + i * SEC;

		pods_add(&ps, "a", T0 + i * SEC);
		pods_add(&ps, "b", T0);
		if (sync_pods(h->t, svc, &ps) != want)
			h->failures++;
	}
	triggertime_delete_service(h->t, "default", name);
	put_svc(svc);
	return NULL;
}

static void test_concurrent(void)
{
	struct triggertime *t = triggertime_new();
	struct hammer_arg args[NTHREADS];
	pthread_t th[NTHREADS];

	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (struct hammer_arg){.t = t, .id = i};
		CHECK_INT_EQ(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		CHECK_INT_EQ(pthread_join(th[i], NULL), 0);
		CHECK_INT_EQ(args[i].failures, 0);
	}
	triggertime_free(t);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_first_sight_is_creation),
	    UNIT_CASE(test_nothing_changed_is_zero),
	    UNIT_CASE(test_min_of_changed_pods),
	    UNIT_CASE(test_new_pod_counts),
	    UNIT_CASE(test_older_transition_is_not_a_change),
	    UNIT_CASE(test_vanished_pods_forgotten),
	    UNIT_CASE(test_service_recreated),
	    UNIT_CASE(test_delete_service),
	    UNIT_CASE(test_many_services),
	    UNIT_CASE(test_format),
	    UNIT_CASE(test_concurrent),
	};

	return unit_main(argc, argv, "triggertime", cases, ARRAY_SIZE(cases));
}
