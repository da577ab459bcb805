/*
 * Unit tests of tracker, one case per rule of endpointslice.md §7.5: our
 * echo is ignored and a foreign update syncs; stale when a listed slice is
 * older than written, a written one is missing or a deleted one is still
 * listed; an untracked Service is never stale; expected and unexpected
 * deletions; a Service recreated under a new UID leaves no residue
 * (PR #141593); and a bounded concurrent run for TSan.
 */
#include "base.h"
#include "tracker.h"
#include "unit.h"

#include <pthread.h>

#define SVC_LABEL "kubernetes.io/service-name"
#define SVC_UID "svc-uid-1"
#define SVC_UID2 "svc-uid-2"

/* A slice of Service ns/svc; owner NULL leaves out the ownerReference. */
static struct kube_endpointslice *mk(const char *ns, const char *svc,
				     const char *uid, int64_t gen,
				     const char *owner)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_label *l = kube_alloc(o, sizeof(*l));

	o->meta.ns = kube_intern(o, ns);
	o->meta.name = kube_set_str(o, uid);
	o->meta.uid = kube_set_str(o, uid);
	o->meta.generation = gen;
	l->key = kube_intern(o, SVC_LABEL);
	l->value = kube_intern(o, svc);
	o->meta.labels.items = l;
	o->meta.labels.n = 1;
	if (owner) {
		o->meta.owners = kube_alloc(o, sizeof(*o->meta.owners));
		o->meta.n_owners = 1;
		o->meta.owners[0] = (struct kube_owner_ref){
		    .api_version = "v1",
		    .kind = "Service",
		    .name = kube_set_str(o, svc),
		    .uid = kube_set_str(o, owner),
		    .controller = KUBE_TRUE,
		};
	}
	return (struct kube_endpointslice *)o;
}

/* The usual slice: Service default/web, owned by SVC_UID. */
static struct kube_endpointslice *web(const char *uid, int64_t gen)
{
	return mk("default", "web", uid, gen, SVC_UID);
}

static void put(struct kube_endpointslice *s)
{
	kube_object_unref(&s->obj);
}

/* tracker_stale of default/web (SVC_UID) over up to three slices. */
static bool stale3(struct tracker *t, struct kube_endpointslice *a,
		   struct kube_endpointslice *b, struct kube_endpointslice *c)
{
	const struct kube_endpointslice *list[3];
	size_t n = 0;

	if (a)
		list[n++] = a;
	if (b)
		list[n++] = b;
	if (c)
		list[n++] = c;
	return tracker_stale(t, "default", "web", SVC_UID, list, n);
}

static void test_our_echo_does_not_sync(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *w = web("a", 3), *echo = web("a", 3);

	tracker_update(t, w);
	CHECK(!tracker_should_sync(t, echo));
	put(w);
	put(echo);
	tracker_free(t);
	tracker_free(NULL);
}

static void test_foreign_update_syncs(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *w = web("a", 3), *f = web("a", 4);
	struct kube_endpointslice *old = web("a", 2);

	tracker_update(t, w);
	CHECK(tracker_should_sync(t, f));
	/* An older generation (a late event) is not a reason to sync. */
	CHECK(!tracker_should_sync(t, old));
	put(w);
	put(f);
	put(old);
	tracker_free(t);
}

static void test_untracked_syncs(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *w = web("a", 1), *other = web("b", 1);
	struct kube_endpointslice *svc2 = mk("default", "api", "c", 1, NULL);
	struct kube_endpointslice *ns2 = mk("prod", "web", "a", 1, NULL);

	CHECK(tracker_should_sync(t, w));
	tracker_update(t, w);
	/* Untracked UID of a tracked Service, untracked Services. */
	CHECK(tracker_should_sync(t, other));
	CHECK(tracker_should_sync(t, svc2));
	CHECK(tracker_should_sync(t, ns2));
	put(w);
	put(other);
	put(svc2);
	put(ns2);
	tracker_free(t);
}

static void test_readded_after_our_delete_syncs(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *w = web("a", 5);

	tracker_update(t, w);
	tracker_expect_deletion(t, w);
	/* -1 is below every generation: any add of it is foreign. */
	CHECK(tracker_should_sync(t, w));
	put(w);
	tracker_free(t);
}

static void test_stale_listed_older(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *w = web("a", 3);
	struct kube_endpointslice *l2 = web("a", 2), *l3 = web("a", 3);
	struct kube_endpointslice *l4 = web("a", 4);

	tracker_update(t, w);
	CHECK(stale3(t, l2, NULL, NULL));
	CHECK(!stale3(t, l3, NULL, NULL));
	CHECK(!stale3(t, l4, NULL, NULL));
	put(w);
	put(l2);
	put(l3);
	put(l4);
	tracker_free(t);
}

static void test_stale_written_missing(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 1), *b = web("b", 1);
	struct kube_endpointslice *x = web("x", 7);

	tracker_update(t, a);
	tracker_update(t, b);
	CHECK(stale3(t, a, NULL, NULL));
	CHECK(stale3(t, NULL, NULL, NULL));
	CHECK(!stale3(t, a, b, NULL));
	/* A listed slice we never wrote does not matter. */
	CHECK(!stale3(t, b, x, a));
	put(a);
	put(b);
	put(x);
	tracker_free(t);
}

static void test_stale_deleted_still_listed(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 1), *b = web("b", 2);

	tracker_update(t, a);
	tracker_update(t, b);
	tracker_expect_deletion(t, b);
	CHECK(stale3(t, a, b, NULL));
	/* Deleted and gone from the list: not missing, not stale. */
	CHECK(!stale3(t, a, NULL, NULL));
	put(a);
	put(b);
	tracker_free(t);
}

static void test_untracked_service_not_stale(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 1);
	struct kube_endpointslice *api = mk("default", "api", "c", 4, NULL);

	CHECK(!stale3(t, a, NULL, NULL));
	CHECK(!stale3(t, NULL, NULL, NULL));
	/* Another Service's writes do not make default/web stale. */
	tracker_update(t, api);
	CHECK(!stale3(t, NULL, NULL, NULL));
	put(a);
	put(api);
	tracker_free(t);
}

static void test_unexpected_deletion(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 1), *b = web("b", 1);

	tracker_update(t, a);
	tracker_update(t, b);
	CHECK(!tracker_handle_deletion(t, a));
	/* Forgotten: no longer expected in the list. */
	CHECK(!stale3(t, b, NULL, NULL));
	CHECK(tracker_should_sync(t, a));
	put(a);
	put(b);
	tracker_free(t);
}

static void test_expected_deletion(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 1), *b = web("b", 1);

	tracker_update(t, a);
	tracker_expect_deletion(t, a);
	CHECK(tracker_handle_deletion(t, a));
	CHECK(!stale3(t, NULL, NULL, NULL));
	/* Unknown slices and Services: nothing to resync for. */
	CHECK(tracker_handle_deletion(t, b));
	CHECK(tracker_handle_deletion(t, a));
	put(a);
	put(b);
	tracker_free(t);
}

static void test_delete_service(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 1);
	struct kube_endpointslice *p = mk("prod", "web", "p", 1, SVC_UID);

	tracker_update(t, a);
	tracker_update(t, p);
	tracker_delete_service(t, "default", "web");
	tracker_delete_service(t, "default", "nothing");
	CHECK(!stale3(t, NULL, NULL, NULL));
	CHECK(tracker_should_sync(t, a));
	/* Only that Service: prod/web still tracks its slice. */
	CHECK(!tracker_should_sync(t, p));
	CHECK(tracker_stale(t, "prod", "web", SVC_UID, NULL, 0));
	put(a);
	put(p);
	tracker_free(t);
}

static void test_recreated_service_clears_residue(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = web("a", 2), *b = web("b", 1);
	const struct kube_endpointslice *none[1];

	tracker_update(t, a);
	tracker_expect_deletion(t, b);
	CHECK(tracker_stale(t, "default", "web", SVC_UID, none, 0));
	/* Deleted and recreated before its slices' events arrived: the old
	 * state would keep it stale forever. */
	CHECK(!tracker_stale(t, "default", "web", SVC_UID2, none, 0));
	CHECK(!tracker_stale(t, "default", "web", SVC_UID2, none, 0));
	CHECK(tracker_should_sync(t, a));
	/* Late events for the old slices change nothing. */
	CHECK(tracker_handle_deletion(t, a));
	CHECK(!tracker_stale(t, "default", "web", SVC_UID2, none, 0));
	put(a);
	put(b);
	tracker_free(t);
}

static void test_write_for_new_uid_clears_residue(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *old = web("a", 2);
	struct kube_endpointslice *nw = mk("default", "web", "n", 1, SVC_UID2);
	const struct kube_endpointslice *list[1] = {nw};

	tracker_update(t, old);
	/* The first write for the new Service drops the old one's state. */
	tracker_update(t, nw);
	CHECK(!tracker_stale(t, "default", "web", SVC_UID2, list, 1));
	CHECK(tracker_stale(t, "default", "web", SVC_UID2, NULL, 0));
	/* Deleting an old-incarnation slice is recorded, not a reset. */
	tracker_expect_deletion(t, old);
	list[0] = old;
	CHECK(tracker_stale(t, "default", "web", SVC_UID2, list, 1));
	put(old);
	put(nw);
	tracker_free(t);
}

static void test_uid_learned_from_stale(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *a = mk("default", "web", "a", 1, NULL);

	/* No ownerReference: the UID is learnt from the first sync. */
	tracker_update(t, a);
	CHECK(tracker_stale(t, "default", "web", SVC_UID, NULL, 0));
	CHECK(tracker_stale(t, "default", "web", "", NULL, 0));
	CHECK(!tracker_stale(t, "default", "web", SVC_UID2, NULL, 0));
	put(a);
	tracker_free(t);
}

static void test_many_services(void)
{
	struct tracker *t = tracker_new();
	struct kube_endpointslice *s[500];
	char name[16];

	for (int i = 0; i < 500; i++) {
		(void)snprintf(name, sizeof(name), "svc%d", i);
		s[i] = mk("default", name, name, i + 1, SVC_UID);
		tracker_update(t, s[i]);
	}
	for (int i = 0; i < 500; i++) {
		const struct kube_endpointslice *list[1] = {s[i]};

		(void)snprintf(name, sizeof(name), "svc%d", i);
		CHECK(!tracker_should_sync(t, s[i]));
		CHECK(!tracker_stale(t, "default", name, SVC_UID, list, 1));
		CHECK(tracker_stale(t, "default", name, SVC_UID, NULL, 0));
	}
	for (int i = 0; i < 500; i += 2)
		CHECK(!tracker_handle_deletion(t, s[i]));
	for (int i = 0; i < 500; i++) {
		CHECK(tracker_should_sync(t, s[i]) == (i % 2 == 0));
		put(s[i]);
	}
	tracker_free(t);
}

/* ---- Threads -------------------------------------------------------- */

#define NTHREADS 4
#define ROUNDS 2000

static void *hammer(void *arg)
{
	struct tracker *t = arg;
	char uid[16];

	for (int i = 0; i < ROUNDS; i++) {
		struct kube_endpointslice *s;

		(void)snprintf(uid, sizeof(uid), "u%d", i % 16);
		s = mk("default", i % 2 ? "web" : "api", uid, i, SVC_UID);
		tracker_update(t, s);
		(void)tracker_should_sync(t, s);
		(void)tracker_stale(t, "default", "web", SVC_UID, NULL, 0);
		if (i % 3 == 0)
			tracker_expect_deletion(t, s);
		(void)tracker_handle_deletion(t, s);
		if (i % 100 == 0)
			tracker_delete_service(t, "default", "api");
		put(s);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct tracker *t = tracker_new();
	pthread_t th[NTHREADS];

	for (int i = 0; i < NTHREADS; i++)
		CHECK_INT_EQ(pthread_create(&th[i], NULL, hammer, t), 0);
	for (int i = 0; i < NTHREADS; i++)
		CHECK_INT_EQ(pthread_join(th[i], NULL), 0);
	tracker_free(t);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_our_echo_does_not_sync),
	    UNIT_CASE(test_foreign_update_syncs),
	    UNIT_CASE(test_untracked_syncs),
	    UNIT_CASE(test_readded_after_our_delete_syncs),
	    UNIT_CASE(test_stale_listed_older),
	    UNIT_CASE(test_stale_written_missing),
	    UNIT_CASE(test_stale_deleted_still_listed),
	    UNIT_CASE(test_untracked_service_not_stale),
	    UNIT_CASE(test_unexpected_deletion),
	    UNIT_CASE(test_expected_deletion),
	    UNIT_CASE(test_delete_service),
	    UNIT_CASE(test_recreated_service_clears_residue),
	    UNIT_CASE(test_write_for_new_uid_clears_residue),
	    UNIT_CASE(test_uid_learned_from_stale),
	    UNIT_CASE(test_many_services),
	    UNIT_CASE(test_concurrent),
	};

	return unit_main(argc, argv, "tracker", cases, ARRAY_SIZE(cases));
}
