/*
 * Unit tests of store: upsert/get/delete with their deltas and references,
 * index maintenance when an object's index key changes, relist (replace)
 * semantics, 100k objects, and a bounded concurrent reader/writer run for
 * TSan. Records are built with kube_object_new and friends.
 */
#include "base.h"
#include "store.h"
#include "unit.h"

#include <pthread.h>

#define SVC_LABEL "kubernetes.io/service-name"

/* ---- Record builders ------------------------------------------------ */

static struct kube_object *mk(enum kube_kind kind, const char *ns,
			      const char *name, const char *rv)
{
	struct kube_object *o = kube_object_new(kind);

	o->meta.ns = kube_intern(o, ns);
	o->meta.name = kube_set_str(o, name);
	o->meta.resource_version = kube_set_str(o, rv);
	return o;
}

/* A pod; node NULL leaves it unscheduled. */
static struct kube_object *mk_pod(const char *ns, const char *name,
				  const char *rv, const char *node)
{
	struct kube_object *o = mk(KUBE_KIND_POD, ns, name, rv);

	if (node)
		((struct kube_pod *)o)->node_name = kube_intern(o, node);
	return o;
}

/* An EndpointSlice; svc NULL leaves out the service-name label. */
static struct kube_object *mk_slice(const char *ns, const char *name,
				    const char *rv, const char *svc)
{
	struct kube_object *o = mk(KUBE_KIND_ENDPOINTSLICE, ns, name, rv);

	if (svc) {
		struct kube_label *l = kube_alloc(o, sizeof(*l));

		l->key = kube_intern(o, SVC_LABEL);
		l->value = kube_intern(o, svc);
		o->meta.labels.items = l;
		o->meta.labels.n = 1;
	}
	return o;
}

static unsigned refs(struct kube_object *o)
{
	return atomic_load(&o->refs);
}

/* The number of records listed under key, and whether want is one. */
static size_t index_has(struct store *s, int ix, const char *key,
			const struct kube_object *want, bool *found)
{
	struct store_list l;
	size_t n;

	store_list_index(s, ix, key, &l);
	*found = false;
	for (size_t i = 0; i < l.n; i++)
		if (l.items[i] == want)
			*found = true;
	n = l.n;
	store_list_release(&l);
	return n;
}

/* The delta for ns/name in d, or NULL. */
static const struct store_delta *find_delta(const struct store_deltas *d,
					    const char *name)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct kube_object *o = d->items[i].new_obj
						  ? d->items[i].new_obj
						  : d->items[i].old_obj;

		if (strcmp(o->meta.name, name) == 0)
			return &d->items[i];
	}
	return NULL;
}

/* ---- Cases ---------------------------------------------------------- */

static void test_upsert_get_delete(void)
{
	struct store *s = store_new(KUBE_KIND_POD);
	struct store_deltas d = STORE_DELTAS_INIT;
	struct kube_object *p1 = mk_pod("default", "web", "1", "n1");
	struct kube_object *p2 = mk_pod("default", "web", "2", "n1");
	struct kube_object *fin = mk_pod("default", "web", "3", "n1");
	struct kube_object *got;

	kube_object_ref(p1); /* the test's own references */
	kube_object_ref(p2);
	kube_object_ref(fin);
	store_upsert(s, p1, &d);
	CHECK_INT_EQ(d.n, 1);
	CHECK_INT_EQ(d.items[0].type, STORE_ADDED);
	CHECK(d.items[0].new_obj == p1 && d.items[0].old_obj == NULL);
	CHECK_INT_EQ(refs(p1), 3); /* test, store, delta */
	got = store_get(s, "default", "web");
	CHECK(got == p1);
	kube_object_unref(got);
	CHECK_NULL(store_get(s, "default", "we"));
	CHECK_NULL(store_get(s, "other", "web"));

	store_upsert(s, p2, &d);
	CHECK_INT_EQ(d.n, 2);
	CHECK_INT_EQ(d.items[1].type, STORE_UPDATED);
	CHECK(d.items[1].old_obj == p1 && d.items[1].new_obj == p2);
	CHECK_INT_EQ(store_count(s), 1);

	store_delete(s, fin, &d);
	CHECK_INT_EQ(d.n, 3);
	CHECK_INT_EQ(d.items[2].type, STORE_DELETED);
	CHECK(d.items[2].old_obj == fin && d.items[2].new_obj == NULL);
	CHECK_NULL(store_get(s, "default", "web"));
	CHECK_INT_EQ(store_count(s), 0);

	/* Deleting an absent key drops the reference and adds no delta. */
	store_delete(s, kube_object_ref(fin), &d);
	CHECK_INT_EQ(d.n, 3);
	store_deltas_release(&d);
	CHECK_INT_EQ(d.n, 0);
	CHECK_INT_EQ(refs(p1), 1);
	CHECK_INT_EQ(refs(p2), 1);
	CHECK_INT_EQ(refs(fin), 1);
	kube_object_unref(p1);
	kube_object_unref(p2);
	kube_object_unref(fin);
	store_free(s);
}

static void test_cluster_scoped_and_null_out(void)
{
	struct store *s = store_new(KUBE_KIND_NODE);
	struct kube_object *n = mk(KUBE_KIND_NODE, "", "node-a", "5");
	struct kube_object *got;

	store_upsert(s, n, NULL);
	got = store_get(s, NULL, "node-a");
	CHECK(got == n);
	kube_object_unref(got);
	got = store_get(s, "", "node-a");
	CHECK(got == n);
	CHECK_INT_EQ(refs(n), 2);
	kube_object_unref(got);
	store_free(s);
	store_free(NULL);
}

static void test_index_node_change(void)
{
	struct store *s = store_new(KUBE_KIND_POD);
	int by_node = store_add_index(s, "node", store_index_node_name);
	int by_ns = store_add_index(s, "namespace", store_index_namespace);
	struct kube_object *a1 = mk_pod("ns1", "a", "1", "n1");
	struct kube_object *a2 = mk_pod("ns1", "a", "2", "n2");
	struct kube_object *b = mk_pod("ns1", "b", "1", "n1");
	struct kube_object *u = mk_pod("ns2", "u", "1", NULL);
	bool found;

	CHECK_INT_EQ(by_node, 0);
	CHECK_INT_EQ(by_ns, 1);
	CHECK_INT_EQ(store_index_id(s, "namespace"), 1);
	CHECK_INT_EQ(store_index_id(s, "nope"), -1);
	store_upsert(s, a1, NULL);
	store_upsert(s, b, NULL);
	store_upsert(s, u, NULL);
	CHECK_INT_EQ(index_has(s, by_node, "n1", a1, &found), 2);
	CHECK(found);
	CHECK_INT_EQ(index_has(s, by_node, "n2", a1, &found), 0);
	CHECK_INT_EQ(index_has(s, by_ns, "ns2", u, &found), 1);
	CHECK(found);

	/* The pod moves from n1 to n2. */
	store_upsert(s, a2, NULL);
	CHECK_INT_EQ(index_has(s, by_node, "n1", b, &found), 1);
	CHECK(found);
	CHECK_INT_EQ(index_has(s, by_node, "n2", a2, &found), 1);
	CHECK(found);
	/* Same namespace key: the set now holds the new record only. */
	CHECK_INT_EQ(index_has(s, by_ns, "ns1", a2, &found), 2);
	CHECK(found);

	/* Removing the last pod of a node drops its bucket. */
	store_delete(s, kube_object_ref(b), NULL);
	CHECK_INT_EQ(index_has(s, by_node, "n1", b, &found), 0);
	CHECK_INT_EQ(index_has(s, by_ns, "ns1", a2, &found), 1);
	store_free(s);
}

static void test_index_service_label_change(void)
{
	struct store *s = store_new(KUBE_KIND_ENDPOINTSLICE);
	int ix = store_add_index(s, "service", store_index_service_name);
	struct kube_object *x1 = mk_slice("ns", "web-abc", "1", "web");
	struct kube_object *x2 = mk_slice("ns", "web-abc", "2", "api");
	struct kube_object *x3 = mk_slice("ns", "web-abc", "3", NULL);
	struct kube_object *y = mk_slice("other", "web-xyz", "1", "web");
	bool found;

	store_upsert(s, x1, NULL);
	store_upsert(s, y, NULL);
	CHECK_INT_EQ(index_has(s, ix, "ns/web", x1, &found), 1);
	CHECK(found);
	CHECK_INT_EQ(index_has(s, ix, "other/web", y, &found), 1);
	CHECK(found);

	store_upsert(s, x2, NULL);
	CHECK_INT_EQ(index_has(s, ix, "ns/web", x2, &found), 0);
	CHECK_INT_EQ(index_has(s, ix, "ns/api", x2, &found), 1);
	CHECK(found);

	/* The label goes away: the slice leaves the index. */
	store_upsert(s, x3, NULL);
	CHECK_INT_EQ(index_has(s, ix, "ns/api", x3, &found), 0);
	CHECK_INT_EQ(store_count(s), 2);
	store_free(s);
}

static void test_replace(void)
{
	struct store *s = store_new(KUBE_KIND_POD);
	int ix = store_add_index(s, "node", store_index_node_name);
	struct store_deltas d = STORE_DELTAS_INIT;
	struct kube_object *a = mk_pod("ns", "a", "1", "n1");
	struct kube_object *c = mk_pod("ns", "c", "1", "n2");
	struct kube_object *b1 = mk_pod("ns", "b", "1", "n1");
	struct kube_object *list[3];
	const struct store_delta *x;
	struct kube_object *got;
	size_t bytes;
	bool found;

	store_upsert(s, a, NULL);
	store_upsert(s, kube_object_ref(b1), NULL);
	store_upsert(s, kube_object_ref(c), NULL);
	bytes = store_bytes(s);
	list[0] = kube_object_ref(mk_pod("ns", "a", "1", "n1")); /* unchanged */
	list[1] = mk_pod("ns", "b", "2", "n2");			 /* updated */
	list[2] = mk_pod("ns", "d", "1", "n1");			 /* added */
	store_replace(s, list, 3, &d);

	CHECK_INT_EQ(d.n, 3);
	x = find_delta(&d, "b");
	CHECK(x && x->type == STORE_UPDATED && x->old_obj == b1 &&
	      x->new_obj == list[1]);
	x = find_delta(&d, "d");
	CHECK(x && x->type == STORE_ADDED && !x->old_obj &&
	      x->new_obj == list[2]);
	x = find_delta(&d, "c");
	CHECK(x && x->type == STORE_DELETED_UNKNOWN && x->old_obj == c &&
	      !x->new_obj);
	CHECK_NULL(find_delta(&d, "a"));

	/* The cached record of a is kept and the listed duplicate dropped. */
	got = store_get(s, "ns", "a");
	CHECK(got == a);
	kube_object_unref(got);
	CHECK_INT_EQ(refs(list[0]), 1);
	kube_object_unref(list[0]);

	CHECK_INT_EQ(store_count(s), 3);
	CHECK_NULL(store_get(s, "ns", "c"));
	CHECK_INT_EQ(index_has(s, ix, "n2", list[1], &found), 1);
	CHECK(found);
	CHECK_INT_EQ(index_has(s, ix, "n1", a, &found), 2);
	CHECK(found);
	CHECK(store_bytes(s) > bytes - c->bytes - b1->bytes);

	store_deltas_release(&d);
	CHECK_INT_EQ(refs(b1), 1);
	CHECK_INT_EQ(refs(c), 1);
	kube_object_unref(b1);
	kube_object_unref(c);

	/* An empty relist deletes everything. */
	store_replace(s, NULL, 0, &d);
	CHECK_INT_EQ(d.n, 3);
	CHECK_INT_EQ(store_count(s), 0);
	CHECK_INT_EQ(index_has(s, ix, "n1", a, &found), 0);
	store_deltas_release(&d);
	store_free(s);
}

/* A relist of identical records neither doubles memory nor yields deltas. */
static void test_replace_unchanged_bytes(void)
{
	struct store *s = store_new(KUBE_KIND_POD);
	struct store_deltas d = STORE_DELTAS_INIT;
	struct kube_object *list[100];
	char name[32];
	size_t before;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100; i++) {
			(void)snprintf(name, sizeof(name), "p%d", i);
			list[i] = mk_pod("ns", name, "7", "n1");
		}
		if (round == 1)
			before = store_bytes(s);
		store_replace(s, list, 100, &d);
	}
	CHECK_INT_EQ(d.n, 100); /* the first round's ADDED only */
	CHECK_INT_EQ(store_bytes(s), before);
	store_deltas_release(&d);
	store_free(s);
}

static void test_many(void)
{
	struct store *s = store_new(KUBE_KIND_POD);
	int by_node = store_add_index(s, "node", store_index_node_name);
	int by_ns = store_add_index(s, "namespace", store_index_namespace);
	enum { N = 100000 };
	char ns[16], name[32], node[16];
	struct store_list l;
	size_t rec = 0, bad = 0;

	for (int i = 0; i < N; i++) {
		struct kube_object *o;

		(void)snprintf(ns, sizeof(ns), "ns%d", i % 100);
		(void)snprintf(name, sizeof(name), "pod-%d", i);
		(void)snprintf(node, sizeof(node), "node%d", i % 1000);
		o = mk_pod(ns, name, "1", node);
		rec += o->bytes;
		store_upsert(s, o, NULL);
	}
	CHECK_INT_EQ(store_count(s), N);
	CHECK(store_bytes(s) > rec);
	CHECK(store_bytes(s) < rec + (size_t)N * 128);
	/* Delete the odd ones; every even one must still be found. */
	for (int i = 1; i < N; i += 2) {
		(void)snprintf(ns, sizeof(ns), "ns%d", i % 100);
		(void)snprintf(name, sizeof(name), "pod-%d", i);
		store_delete(s, mk_pod(ns, name, "2", NULL), NULL);
	}
	for (int i = 0; i < N; i++) {
		struct kube_object *o;

		(void)snprintf(ns, sizeof(ns), "ns%d", i % 100);
		(void)snprintf(name, sizeof(name), "pod-%d", i);
		o = store_get(s, ns, name);
		bad += (o != NULL) != (i % 2 == 0);
		kube_object_unref(o);
	}
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(store_count(s), N / 2);
	store_list_index(s, by_ns, "ns0", &l);
	CHECK_INT_EQ(l.n, N / 100);
	store_list_release(&l);
	store_list_index(s, by_node, "node1", &l);
	CHECK_INT_EQ(l.n, 0);
	store_list_release(&l);
	store_list_index(s, by_node, "node2", &l);
	CHECK_INT_EQ(l.n, N / 1000);
	store_list_release(&l);
	store_list_all(s, &l);
	CHECK_INT_EQ(l.n, N / 2);
	store_list_release(&l);
	store_free(s);
}

/* ---- Concurrency (bounded, for TSan) -------------------------------- */

struct reader_ctx {
	struct store *s;
	int ix;
	_Atomic bool *stop;
	unsigned long bad; /* out: inconsistent records seen */
};

static void *reader(void *arg)
{
	struct reader_ctx *c = arg;

	while (!atomic_load(c->stop)) {
		struct store_list l;
		struct kube_object *o = store_get(c->s, "ns", "p3");

		if (o && strcmp(o->meta.name, "p3") != 0)
			c->bad++;
		kube_object_unref(o);
		store_list_index(c->s, c->ix, "n1", &l);
		for (size_t i = 0; i < l.n; i++)
			if (!str_eq(kube_pod(l.items[i])->node_name, "n1"))
				c->bad++;
		store_list_release(&l);
		(void)store_bytes(c->s);
	}
	return NULL;
}

static void write_rounds(struct store *s, int rounds)
{
	char name[16], rv[16];

	for (int r = 0; r < rounds; r++) {
		struct kube_object *list[8];
		size_t n = (size_t)(r % 8) + 1;

		(void)snprintf(rv, sizeof(rv), "%d", r);
		for (int i = 0; i < 8; i++) {
			(void)snprintf(name, sizeof(name), "p%d", i);
			store_upsert(
			    s,
			    mk_pod("ns", name, rv, (r + i) % 2 ? "n1" : "n2"),
			    NULL);
		}
		store_delete(s, mk_pod("ns", "p5", rv, NULL), NULL);
		for (int i = 0; i < 8; i++) {
			(void)snprintf(name, sizeof(name), "p%d", i);
			list[i] = mk_pod("ns", name, i < 4 ? rv : "x", "n1");
		}
		/* A relist of the first n, so the rest vanish. */
		store_replace(s, list, n, NULL);
		for (size_t i = n; i < 8; i++)
			kube_object_unref(list[i]);
	}
}

static void test_concurrent(void)
{
	struct store *s = store_new(KUBE_KIND_POD);
	_Atomic bool stop = false;
	int ix = store_add_index(s, "node", store_index_node_name);
	struct reader_ctx ctx[2];
	pthread_t t[2];

	for (int i = 0; i < 2; i++) {
		ctx[i] = (struct reader_ctx){s, ix, &stop, 0};
		CHECK_INT_EQ(pthread_create(&t[i], NULL, reader, &ctx[i]), 0);
	}
	write_rounds(s, 2000);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		CHECK_INT_EQ(pthread_join(t[i], NULL), 0);
	CHECK_INT_EQ(ctx[0].bad + ctx[1].bad, 0);
	store_free(s);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_upsert_get_delete),
	    UNIT_CASE(test_cluster_scoped_and_null_out),
	    UNIT_CASE(test_index_node_change),
	    UNIT_CASE(test_index_service_label_change),
	    UNIT_CASE(test_replace),
	    UNIT_CASE(test_replace_unchanged_bytes),
	    UNIT_CASE(test_many),
	    UNIT_CASE(test_concurrent),
	};

	return unit_main(argc, argv, "store", cases, ARRAY_SIZE(cases));
}
