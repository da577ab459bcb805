/*
 * Unit tests of epslice, the pure EndpointSlice reconcile: one case per
 * rule of endpointslice.md §1-§5 and of the §11 checklist that the
 * reconcile owns. A test builds a world (Service, pods, nodes, existing
 * slices) with small constructors, runs the reconcile and asserts the exact
 * plan; apply() plays the API server (names, uids and resourceVersions for
 * writes) so a second reconcile can check that nothing is rewritten.
 */
#include "base.h"
#include "epslice.h"
#include "hints.h"
#include "unit.h"

#define NS	"default"
#define SVC	"web"
#define SVC_UID "uid-svc-web"
#define MANAGED EPSLICE_MANAGED_BY_DEFAULT

/* ---- World ----------------------------------------------------------------
 */

struct world {
	struct kube_service *svc;
	struct kube_pod **pods;
	size_t n_pods;
	struct kube_node *nodes[4];
	size_t n_nodes;
	struct kube_endpointslice **slices;
	size_t n_slices;
	struct epslice_config cfg;
	int64_t trigger_ms;
	struct hints *hints; /* NULL: strip hints */
	struct epslice_plan plan;
	int serial; /* server-side names */
};

static void *grow(void *p, size_t n, size_t size)
{
	return xrealloc(p, (n + 1) * size);
}

static struct kube_object *obj_new(enum kube_kind kind, const char *name)
{
	struct kube_object *o = kube_object_new(kind);
	char *uid = xasprintf("uid-%s", name);

	o->meta.ns = kube_intern(o, kind == KUBE_KIND_NODE ? "" : NS);
	o->meta.name = kube_set_str(o, name);
	o->meta.uid = kube_set_str(o, uid);
	free(uid);
	return o;
}

/* Sets labels from NULL-terminated key, value pairs (keys sorted). */
static void set_labels(struct kube_object *o, struct kube_labels *l,
		       const char *const *kv)
{
	uint32_t n = 0;

	while (kv[2 * n])
		n++;
	l->items = kube_alloc(o, (n + 1) * sizeof(*l->items));
	for (uint32_t i = 0; i < n; i++) {
		l->items[i].key = kube_intern(o, kv[2 * i]);
		l->items[i].value = kube_intern(o, kv[2 * i + 1]);
	}
	l->n = n;
}

static void svc_ports(struct kube_service *s,
		      const struct kube_service_port *ports, uint32_t n)
{
	s->ports = kube_alloc(&s->obj, (n + 1) * sizeof(*s->ports));
	if (n)
		memcpy(s->ports, ports, n * sizeof(*ports));
	s->n_ports = n;
}

static struct kube_service *svc_new(void)
{
	struct kube_service *s =
	    (struct kube_service *)obj_new(KUBE_KIND_SERVICE, SVC);
	static const struct kube_service_port http = {
	    .name = "http", .port = 80, .target_port_num = 8080};

	s->obj.meta.uid = SVC_UID;
	s->has_selector = true;
	set_labels(&s->obj, &s->selector, (const char *[]){"app", "web", 0});
	s->cluster_ip = "10.96.0.10";
	s->n_families = 1;
	s->families[0] = KUBE_FAMILY_IPV4;
	svc_ports(s, &http, 1);
	return s;
}

static const struct kube_node *lookup(void *ctx, const char *name)
{
	struct world *w = ctx;

	for (size_t i = 0; i < w->n_nodes; i++)
		if (!strcmp(w->nodes[i]->obj.meta.name, name))
			return w->nodes[i];
	return NULL;
}

static void node_add(struct world *w, const char *name, const char *zone)
{
	struct kube_node *n = (struct kube_node *)obj_new(KUBE_KIND_NODE, name);

	n->zone = zone ? kube_intern(&n->obj, zone) : NULL;
	w->nodes[w->n_nodes++] = n;
}

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->svc = svc_new();
	w->cfg.max_per_slice = 100;
	w->cfg.managed_by = MANAGED;
	node_add(w, "n1", "zone-a");
	node_add(w, "n2", "zone-b");
	node_add(w, "n3", NULL);
}

static void world_free(struct world *w)
{
	epslice_plan_release(&w->plan);
	kube_object_unref(&w->svc->obj);
	for (size_t i = 0; i < w->n_pods; i++)
		kube_object_unref(&w->pods[i]->obj);
	for (size_t i = 0; i < w->n_nodes; i++)
		kube_object_unref(&w->nodes[i]->obj);
	for (size_t i = 0; i < w->n_slices; i++)
		kube_object_unref(&w->slices[i]->obj);
	free(w->pods);
	free(w->slices);
}

/* A running pod of the Service with its IPs (comma-separated). */
static struct kube_pod *pod_add(struct world *w, const char *name,
				const char *ips, const char *node, bool ready)
{
	struct kube_pod *p = (struct kube_pod *)obj_new(KUBE_KIND_POD, name);
	char *tmp = xstrdup(ips), *save = tmp;

	set_labels(&p->obj, &p->obj.meta.labels,
		   (const char *[]){"app", "web", 0});
	p->phase = KUBE_POD_RUNNING;
	p->ready = ready ? KUBE_TRUE : KUBE_FALSE;
	p->node_name = node ? kube_intern(&p->obj, node) : NULL;
	p->ips = kube_alloc(&p->obj, 4 * sizeof(*p->ips));
	while (*tmp && p->n_ips < 4) {
		char *comma = strchr(tmp, ',');

		if (comma)
			*comma = '\0';
		p->ips[p->n_ips++] = kube_set_str(&p->obj, tmp);
		tmp = comma ? comma + 1 : tmp + strlen(tmp);
	}
	free(save);
	w->pods = grow(w->pods, w->n_pods, sizeof(*w->pods));
	w->pods[w->n_pods++] = p;
	return p;
}

static void pod_port(struct kube_pod *p, const char *name, int32_t port,
		     enum kube_protocol proto, bool sidecar)
{
	struct kube_container_port *v =
	    kube_alloc(&p->obj, (p->n_ports + 1) * sizeof(*v));

	if (p->n_ports)
		memcpy(v, p->ports, p->n_ports * sizeof(*v));
	v[p->n_ports++] =
	    (struct kube_container_port){name, port, proto, sidecar};
	p->ports = v;
}

static struct kube_pod *pod_find(struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n_pods; i++)
		if (!strcmp(w->pods[i]->obj.meta.name, name))
			return w->pods[i];
	return NULL;
}

static void pod_remove(struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n_pods; i++) {
		if (strcmp(w->pods[i]->obj.meta.name, name))
			continue;
		kube_object_unref(&w->pods[i]->obj);
		w->pods[i] = w->pods[--w->n_pods];
		return;
	}
}

/* An existing slice; owner_uid NULL means no ownerReference. */
static struct kube_endpointslice *slice_add(struct world *w, const char *name,
					    enum kube_address_type t,
					    const char *owner_uid)
{
	struct kube_endpointslice *s =
	    (struct kube_endpointslice *)obj_new(KUBE_KIND_ENDPOINTSLICE, name);
	struct kube_owner_ref *r = kube_alloc(&s->obj, sizeof(*r));
	static const struct kube_slice_port http = {
	    .name = "http", .has_port = true, .port = 8080};

	s->obj.meta.resource_version = "7";
	s->obj.meta.generation = 3;
	set_labels(&s->obj, &s->obj.meta.labels,
		   (const char *[]){EPSLICE_LABEL_MANAGED_BY, MANAGED,
				    EPSLICE_LABEL_SERVICE_NAME, SVC, 0});
	*r = (struct kube_owner_ref){"v1",	"Service", SVC,
				     owner_uid, KUBE_TRUE, KUBE_TRUE};
	s->obj.meta.owners = owner_uid ? r : NULL;
	s->obj.meta.n_owners = owner_uid ? 1 : 0;
	s->address_type = t;
	s->ports = kube_alloc(&s->obj, sizeof(http));
	s->ports[0] = http;
	s->n_ports = 1;
	w->slices = grow(w->slices, w->n_slices, sizeof(*w->slices));
	w->slices[w->n_slices++] = s;
	return s;
}

/* Appends the endpoint that pod `pod` on n1 (zone-a) would get. */
static struct kube_endpoint *slice_ep(struct kube_endpointslice *s,
				      const char *ip, const char *pod,
				      bool ready)
{
	struct kube_endpoint *v =
	    kube_alloc(&s->obj, (s->n_endpoints + 1) * sizeof(*v));
	struct kube_endpoint *ep = &v[s->n_endpoints];
	char *uid = xasprintf("uid-%s", pod);

	if (s->n_endpoints)
		memcpy(v, s->endpoints, s->n_endpoints * sizeof(*v));
	ep->addresses = kube_alloc(&s->obj, sizeof(char *));
	ep->addresses[0] = kube_set_str(&s->obj, ip);
	ep->n_addresses = 1;
	ep->ready = ep->serving = ready ? KUBE_TRUE : KUBE_FALSE;
	ep->terminating = KUBE_FALSE;
	ep->node_name = kube_intern(&s->obj, "n1");
	ep->zone = kube_intern(&s->obj, "zone-a");
	ep->target = (struct kube_target_ref){
	    "Pod", NS, kube_set_str(&s->obj, pod), kube_set_str(&s->obj, uid)};
	free(uid);
	s->endpoints = v;
	s->n_endpoints++;
	return ep;
}

/* ---- Running and checking -------------------------------------------------
 */

static void run(struct world *w)
{
	struct errbuf eb = ERRBUF_INIT;
	struct epslice_input in = {
	    .svc = w->svc,
	    .pods = (const struct kube_pod *const *)w->pods,
	    .n_pods = w->n_pods,
	    .node = lookup,
	    .node_ctx = w,
	    .slices = (const struct kube_endpointslice *const *)w->slices,
	    .n_slices = w->n_slices,
	    .trigger_ms = w->trigger_ms,
	    .hints = w->hints,
	};

	CHECK_OK(epslice_reconcile(&w->cfg, &in, &w->plan, &eb));
}

static size_t slice_index(struct world *w, const char *name)
{
	for (size_t i = 0; i < w->n_slices; i++)
		if (!strcmp(w->slices[i]->obj.meta.name, name))
			return i;
	return w->n_slices;
}

/* Plays the API server: writes the plan into w->slices and releases it. */
static void apply(struct world *w)
{
	struct epslice_plan *p = &w->plan;

	for (size_t i = 0; i < p->n_creates; i++) {
		struct kube_object *o = kube_object_ref(p->creates[i]);
		char *name =
		    xasprintf("%s%d", o->meta.generate_name, ++w->serial);

		o->meta.name = kube_set_str(o, name);
		o->meta.uid = kube_set_str(o, name);
		o->meta.resource_version = "1";
		o->meta.generation = 1;
		free(name);
		w->slices = grow(w->slices, w->n_slices, sizeof(*w->slices));
		w->slices[w->n_slices++] = (struct kube_endpointslice *)o;
	}
	for (size_t i = 0; i < p->n_updates; i++) {
		struct kube_object *o = kube_object_ref(p->updates[i]);
		size_t j = slice_index(w, o->meta.name);

		BUG_ON(j == w->n_slices);
		o->meta.uid = kube_set_str(o, w->slices[j]->obj.meta.uid);
		o->meta.resource_version = "2";
		kube_object_unref(&w->slices[j]->obj);
		w->slices[j] = (struct kube_endpointslice *)o;
	}
	for (size_t i = 0; i < p->n_deletes; i++) {
		size_t j = slice_index(w, p->deletes[i]->meta.name);

		BUG_ON(j == w->n_slices);
		kube_object_unref(&w->slices[j]->obj);
		w->slices[j] = w->slices[--w->n_slices];
	}
	epslice_plan_release(p);
}

#define CHECK_PLAN(w, c, u, d)                                                 \
	do {                                                                   \
		CHECK_INT_EQ((w)->plan.n_creates, (c));                        \
		CHECK_INT_EQ((w)->plan.n_updates, (u));                        \
		CHECK_INT_EQ((w)->plan.n_deletes, (d));                        \
	} while (0)

static const struct kube_endpointslice *created(struct world *w, size_t i)
{
	return kube_endpointslice(w->plan.creates[i]);
}

static const struct kube_endpointslice *updated(struct world *w, size_t i)
{
	return kube_endpointslice(w->plan.updates[i]);
}

static const struct kube_endpoint *ep_of(const struct kube_endpointslice *s,
					 const char *pod)
{
	for (uint32_t i = 0; i < s->n_endpoints; i++)
		if (str_eq(s->endpoints[i].target.name, pod))
			return &s->endpoints[i];
	return NULL;
}

static const char *label(const struct kube_endpointslice *s, const char *k)
{
	return kube_labels_get(&s->obj.meta.labels, k);
}

static const char *annotation(const struct kube_endpointslice *s, const char *k)
{
	return kube_labels_get(&s->obj.meta.annotations, k);
}

/* n pods p000… on n1, ready, 10.0.x.y. */
static void pods_add(struct world *w, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char name[16], ip[32];

		(void)snprintf(name, sizeof(name), "p%03d", i);
		(void)snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250,
			       i % 250 + 1);
		pod_add(w, name, ip, "n1", true);
	}
}

/* Reconcile, write, reconcile: the second plan must be empty. */
static void check_steady(struct world *w)
{
	apply(w);
	run(w);
	CHECK_PLAN(w, 0, 0, 0);
}

/* ---- §1.1 Services ------------------------------------------------------- */

static void test_managed_services(void)
{
	struct world w;

	world_init(&w);
	CHECK(epslice_service_managed(w.svc));
	w.svc->type = KUBE_SVC_EXTERNAL_NAME;
	CHECK(!epslice_service_managed(w.svc));
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 0, 0, 0);
	w.svc->type = KUBE_SVC_NODE_PORT;
	w.svc->has_selector = false;
	CHECK(!epslice_service_managed(w.svc));
	run(&w);
	CHECK_PLAN(&w, 0, 0, 0);
	world_free(&w);
}

static void test_invalid_max_per_slice(void)
{
	struct world w;
	struct errbuf eb = ERRBUF_INIT;
	struct epslice_input in = {0};

	world_init(&w);
	in.svc = w.svc;
	w.cfg.max_per_slice = 0;
	CHECK_ERR(epslice_reconcile(&w.cfg, &in, &w.plan, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "max-endpoints-per-slice");
	w.cfg.max_per_slice = 1001;
	CHECK_ERR(epslice_reconcile(&w.cfg, &in, &w.plan, &eb), ERR_INVALID);
	w.cfg.max_per_slice = 1000;
	CHECK_OK(epslice_reconcile(&w.cfg, &in, &w.plan, &eb));
	world_free(&w);
}

static void test_terminating_service_creates_nothing(void)
{
	struct world w;

	world_init(&w);
	w.cfg.max_per_slice = 1;
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	apply(&w);
	w.svc->obj.meta.deletion_ms = 1000;
	pod_find(&w, "a")->ready = KUBE_FALSE;
	pod_add(&w, "b", "10.1.0.2", "n1", true); /* would need a new slice */
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_INT_EQ(updated(&w, 0)->endpoints[0].ready, KUBE_FALSE);
	world_free(&w);
}

/* ---- §1.2 Pods ------------------------------------------------------------
 */

static void test_basic_slice(void)
{
	struct world w;
	const struct kube_endpointslice *s;
	const struct kube_owner_ref *r;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	s = created(&w, 0);
	CHECK_INT_EQ(s->address_type, KUBE_ADDR_IPV4);
	CHECK_STR_EQ(s->obj.meta.generate_name, "web-");
	CHECK_STR_EQ(s->obj.meta.name, "");
	CHECK_STR_EQ(s->obj.meta.resource_version, "");
	CHECK_STR_EQ(s->obj.meta.ns, NS);
	CHECK_INT_EQ(s->obj.meta.labels.n, 2);
	CHECK_STR_EQ(label(s, EPSLICE_LABEL_SERVICE_NAME), SVC);
	CHECK_STR_EQ(label(s, EPSLICE_LABEL_MANAGED_BY), MANAGED);
	CHECK_INT_EQ(s->obj.meta.annotations.n, 0);
	CHECK_INT_EQ(s->obj.meta.n_owners, 1);
	r = &s->obj.meta.owners[0];
	CHECK_STR_EQ(r->api_version, "v1");
	CHECK_STR_EQ(r->kind, "Service");
	CHECK_STR_EQ(r->name, SVC);
	CHECK_STR_EQ(r->uid, SVC_UID);
	CHECK_INT_EQ(r->controller, KUBE_TRUE);
	CHECK_INT_EQ(r->block_owner_deletion, KUBE_TRUE);
	CHECK_INT_EQ(s->n_ports, 1);
	CHECK_STR_EQ(s->ports[0].name, "http");
	CHECK_INT_EQ(s->ports[0].protocol, KUBE_PROTO_TCP);
	CHECK(s->ports[0].has_port);
	CHECK_INT_EQ(s->ports[0].port, 8080);
	CHECK_NULL(s->ports[0].app_protocol);
	CHECK_INT_EQ(s->n_endpoints, 1);
	world_free(&w);
}

static void test_endpoint_fields(void)
{
	struct world w;
	const struct kube_endpoint *ep;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	ep = ep_of(created(&w, 0), "a");
	CHECK_NOT_NULL(ep);
	CHECK_INT_EQ(ep->n_addresses, 1);
	CHECK_STR_EQ(ep->addresses[0], "10.1.0.1");
	CHECK_INT_EQ(ep->ready, KUBE_TRUE);
	CHECK_INT_EQ(ep->serving, KUBE_TRUE);
	CHECK_INT_EQ(ep->terminating, KUBE_FALSE);
	CHECK_NULL(ep->hostname);
	CHECK_STR_EQ(ep->node_name, "n1");
	CHECK_STR_EQ(ep->zone, "zone-a");
	CHECK_STR_EQ(ep->target.kind, "Pod");
	CHECK_STR_EQ(ep->target.ns, NS);
	CHECK_STR_EQ(ep->target.name, "a");
	CHECK_STR_EQ(ep->target.uid, "uid-a");
	CHECK(!ep->has_hints);
	CHECK_INT_EQ(ep->n_hint_zones, 0);
	world_free(&w);
}

static void test_terminal_pods_excluded(void)
{
	struct world w;
	const struct kube_endpointslice *s;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	pod_add(&w, "b", "10.1.0.2", "n1", true)->phase = KUBE_POD_SUCCEEDED;
	pod_add(&w, "c", "10.1.0.3", "n1", true)->phase = KUBE_POD_FAILED;
	pod_add(&w, "d", "10.1.0.4", "n1", false)->phase = KUBE_POD_PENDING;
	pod_add(&w, "e", "10.1.0.5", "n1", false)->phase = KUBE_POD_UNKNOWN;
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	s = created(&w, 0);
	CHECK_INT_EQ(s->n_endpoints, 3);
	CHECK_NOT_NULL(ep_of(s, "a"));
	CHECK_NOT_NULL(ep_of(s, "d"));
	CHECK_NOT_NULL(ep_of(s, "e"));
	world_free(&w);
}

static void test_pod_without_ip_excluded(void)
{
	struct world w;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	pod_add(&w, "b", "", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 1);
	CHECK_NULL(ep_of(created(&w, 0), "b"));
	world_free(&w);
}

static void test_terminating_pod_included(void)
{
	struct world w;
	const struct kube_endpoint *ep;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true)->obj.meta.deletion_ms = 5;
	run(&w);
	ep = ep_of(created(&w, 0), "a");
	CHECK_NOT_NULL(ep);
	CHECK_INT_EQ(ep->serving, KUBE_TRUE);
	CHECK_INT_EQ(ep->terminating, KUBE_TRUE);
	CHECK_INT_EQ(ep->ready, KUBE_FALSE);
	w.svc->publish_not_ready = true;
	run(&w);
	ep = ep_of(created(&w, 0), "a");
	CHECK_INT_EQ(ep->ready, KUBE_TRUE);
	CHECK_INT_EQ(ep->terminating, KUBE_TRUE);
	world_free(&w);
}

static void test_not_ready_pod(void)
{
	struct world w;
	const struct kube_endpoint *ep;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", false);
	pod_add(&w, "b", "10.1.0.2", "n1", true)->ready = KUBE_UNSET;
	run(&w);
	ep = ep_of(created(&w, 0), "a");
	CHECK_INT_EQ(ep->ready, KUBE_FALSE);
	CHECK_INT_EQ(ep->serving, KUBE_FALSE);
	CHECK_INT_EQ(ep->terminating, KUBE_FALSE);
	/* An absent Ready condition means not ready. */
	CHECK_INT_EQ(ep_of(created(&w, 0), "b")->serving, KUBE_FALSE);
	w.svc->publish_not_ready = true;
	run(&w);
	ep = ep_of(created(&w, 0), "a");
	CHECK_INT_EQ(ep->ready, KUBE_TRUE);
	CHECK_INT_EQ(ep->serving, KUBE_FALSE);
	world_free(&w);
}

static void test_missing_node_skips_pod(void)
{
	struct world w;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	pod_add(&w, "b", "10.1.0.2", "gone", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 1);
	CHECK_NOT_NULL(ep_of(created(&w, 0), "a"));
	CHECK(w.plan.missing_node);
	CHECK_CONTAINS(w.plan.missing_node_detail,
		       "skipping Pod b for Service default/web: Node gone "
		       "Not Found");
	world_free(&w);
}

static void test_missing_node_publish_not_ready(void)
{
	struct world w;
	const struct kube_endpoint *ep;

	world_init(&w);
	w.svc->publish_not_ready = true;
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	pod_add(&w, "b", "10.1.0.2", "gone", true);
	run(&w);
	CHECK(!w.plan.missing_node);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 2);
	ep = ep_of(created(&w, 0), "b");
	CHECK_NOT_NULL(ep);
	CHECK_STR_EQ(ep->node_name, "gone");
	CHECK_NULL(ep->zone);
	world_free(&w);
}

static void test_unparsable_ip_skipped(void)
{
	struct world w;
	const struct kube_endpoint *ep;

	world_init(&w);
	pod_add(&w, "a", "bogus,10.1.0.1", "n1", true);
	pod_add(&w, "b", "nonsense", "n1", true);
	pod_add(&w, "c", "010.1.0.3", "n1", true);
	run(&w);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 1);
	ep = ep_of(created(&w, 0), "a");
	CHECK_INT_EQ(ep->n_addresses, 1);
	CHECK_STR_EQ(ep->addresses[0], "10.1.0.1");
	world_free(&w);
}

/* ---- §1.3 Address families ----------------------------------------------- */

static void test_canonical_addresses(void)
{
	struct world w;

	world_init(&w);
	w.svc->n_families = 2;
	w.svc->families[1] = KUBE_FAMILY_IPV6;
	pod_add(&w, "a", "::ffff:10.1.0.9", "n1", true);
	pod_add(&w, "b", "2001:DB8:0:0::0001", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 2, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->address_type, KUBE_ADDR_IPV4);
	CHECK_STR_EQ(ep_of(created(&w, 0), "a")->addresses[0], "10.1.0.9");
	CHECK_NULL(ep_of(created(&w, 0), "b"));
	CHECK_INT_EQ(created(&w, 1)->address_type, KUBE_ADDR_IPV6);
	CHECK_STR_EQ(ep_of(created(&w, 1), "b")->addresses[0], "2001:db8::1");
	world_free(&w);
}

static void test_dual_stack(void)
{
	struct world w;
	const struct kube_endpointslice *v4, *v6;

	world_init(&w);
	w.svc->n_families = 2;
	w.svc->families[0] = KUBE_FAMILY_IPV6;
	w.svc->families[1] = KUBE_FAMILY_IPV4;
	pod_add(&w, "a", "10.1.0.1,fd00::1", "n1", true);
	pod_add(&w, "b", "fd00::2,10.1.0.2", "n2", true);
	run(&w);
	CHECK_PLAN(&w, 2, 0, 0);
	v4 = created(&w, 0);
	v6 = created(&w, 1);
	CHECK_INT_EQ(v4->address_type, KUBE_ADDR_IPV4);
	CHECK_INT_EQ(v6->address_type, KUBE_ADDR_IPV6);
	CHECK_STR_EQ(ep_of(v4, "b")->addresses[0], "10.1.0.2");
	CHECK_STR_EQ(ep_of(v6, "a")->addresses[0], "fd00::1");
	CHECK_INT_EQ(ep_of(v6, "b")->n_addresses, 1);
	check_steady(&w);
	world_free(&w);
}

static void test_families_ipv6_only(void)
{
	struct world w;

	world_init(&w);
	w.svc->families[0] = KUBE_FAMILY_IPV6;
	pod_add(&w, "a", "10.1.0.1,fd00::1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->address_type, KUBE_ADDR_IPV6);
	world_free(&w);
}

static void test_family_from_cluster_ip(void)
{
	struct world w;

	world_init(&w);
	w.svc->n_families = 0;
	w.svc->cluster_ip = "fd00::10";
	pod_add(&w, "a", "10.1.0.1,fd00::1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->address_type, KUBE_ADDR_IPV6);
	w.svc->cluster_ip = "10.96.0.1";
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->address_type, KUBE_ADDR_IPV4);
	world_free(&w);
}

static void test_headless_without_families_both(void)
{
	struct world w;

	world_init(&w);
	w.svc->n_families = 0;
	w.svc->cluster_ip = "None";
	run(&w);
	CHECK_PLAN(&w, 2, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->address_type, KUBE_ADDR_IPV4);
	CHECK_INT_EQ(created(&w, 1)->address_type, KUBE_ADDR_IPV6);
	CHECK_STR_EQ(label(created(&w, 1), EPSLICE_LABEL_HEADLESS), "");
	check_steady(&w);
	world_free(&w);
}

static void test_pod_without_family_address(void)
{
	struct world w;

	world_init(&w);
	w.svc->families[0] = KUBE_FAMILY_IPV6;
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	/* The pod's group is empty, so only the placeholder is written. */
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 0);
	CHECK_INT_EQ(created(&w, 0)->n_ports, 0);
	world_free(&w);
}

static void test_unsupported_types_deleted(void)
{
	struct world w;

	world_init(&w);
	slice_add(&w, "v6", KUBE_ADDR_IPV6, SVC_UID);
	slice_add(&w, "fqdn", KUBE_ADDR_FQDN, SVC_UID);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 2);
	CHECK_STR_EQ(w.plan.deletes[0]->meta.name, "fqdn");
	CHECK_STR_EQ(w.plan.deletes[1]->meta.name, "v6");
	world_free(&w);
}

/* ---- §2 Endpoint fields ----------------------------------------------------
 */

static void test_hostname_rule(void)
{
	struct world w;
	struct kube_pod *p;
	const struct kube_endpointslice *s;

	world_init(&w);
	p = pod_add(&w, "a", "10.1.0.1", "n1", true);
	p->hostname = "h1";
	p->subdomain = SVC;
	p = pod_add(&w, "b", "10.1.0.2", "n1", true);
	p->hostname = "h2";
	p->subdomain = "other";
	pod_add(&w, "c", "10.1.0.3", "n1", true)->subdomain = SVC;
	p = pod_add(&w, "d", "10.1.0.4", "n1", true);
	p->hostname = "";
	p->subdomain = SVC;
	run(&w);
	s = created(&w, 0);
	CHECK_STR_EQ(ep_of(s, "a")->hostname, "h1");
	CHECK_NULL(ep_of(s, "b")->hostname);
	CHECK_NULL(ep_of(s, "c")->hostname);
	CHECK_NULL(ep_of(s, "d")->hostname);
	world_free(&w);
}

static void test_zone_from_node(void)
{
	struct world w;
	const struct kube_endpointslice *s;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n2", true);
	pod_add(&w, "b", "10.1.0.2", "n3", true);
	run(&w);
	s = created(&w, 0);
	CHECK_STR_EQ(ep_of(s, "a")->zone, "zone-b");
	CHECK_NULL(ep_of(s, "b")->zone);
	CHECK_STR_EQ(ep_of(s, "b")->node_name, "n3");
	world_free(&w);
}

/* ---- §3.1 Ports
 * -------------------------------------------------------------- */

static void set_one_port(struct world *w, const struct kube_service_port *sp)
{
	svc_ports(w->svc, sp, 1);
}

static void test_target_port_defaults_to_port(void)
{
	struct world w;

	world_init(&w);
	set_one_port(&w,
		     &(struct kube_service_port){.name = "http", .port = 80});
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_INT_EQ(created(&w, 0)->ports[0].port, 80);
	world_free(&w);
}

static void test_named_port(void)
{
	struct world w;
	const struct kube_endpointslice *s;

	world_init(&w);
	set_one_port(&w, &(struct kube_service_port){
			     .name = "http",
			     .port = 80,
			     .target_port_name = "web-port",
			     .app_protocol = "kubernetes.io/h2c"});
	pod_port(pod_add(&w, "a", "10.1.0.1", "n1", true), "web-port", 9090,
		 KUBE_PROTO_TCP, false);
	run(&w);
	s = created(&w, 0);
	CHECK_INT_EQ(s->n_ports, 1);
	CHECK_INT_EQ(s->ports[0].port, 9090);
	CHECK_STR_EQ(s->ports[0].app_protocol, "kubernetes.io/h2c");
	world_free(&w);
}

static void test_named_port_protocol_mismatch(void)
{
	struct world w;
	const struct kube_endpointslice *s;

	world_init(&w);
	set_one_port(&w,
		     &(struct kube_service_port){.name = "dns",
						 .port = 53,
						 .protocol = KUBE_PROTO_UDP,
						 .target_port_name = "dns"});
	pod_port(pod_add(&w, "a", "10.1.0.1", "n1", true), "dns", 5353,
		 KUBE_PROTO_TCP, false);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	s = created(&w, 0);
	/* The port is omitted for this pod: a slice without ports. */
	CHECK_INT_EQ(s->n_ports, 0);
	CHECK_INT_EQ(s->n_endpoints, 1);
	world_free(&w);
}

static void test_named_port_sidecar(void)
{
	struct world w;
	struct kube_pod *b;

	world_init(&w);
	set_one_port(
	    &w, &(struct kube_service_port){.name = "http",
					    .port = 80,
					    .target_port_name = "web-port"});
	pod_port(pod_add(&w, "a", "10.1.0.1", "n1", true), "web-port", 7070,
		 KUBE_PROTO_TCP, true);
	b = pod_add(&w, "b", "10.1.0.2", "n1", true);
	pod_port(b, "web-port", 7070, KUBE_PROTO_TCP, true);
	pod_port(b, "web-port", 9090, KUBE_PROTO_TCP, false);
	run(&w);
	/* Resolved differently per pod: two port groups, two slices. */
	CHECK_PLAN(&w, 2, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->ports[0].port, 7070);
	CHECK_NOT_NULL(ep_of(created(&w, 0), "a"));
	CHECK_INT_EQ(created(&w, 1)->ports[0].port, 9090);
	CHECK_NOT_NULL(ep_of(created(&w, 1), "b"));
	world_free(&w);
}

static void test_headless_zero_ports(void)
{
	struct world w;

	world_init(&w);
	w.svc->cluster_ip = "None";
	svc_ports(w.svc, NULL, 0);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->n_ports, 0);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 1);
	check_steady(&w);
	world_free(&w);
}

static void test_new_slice_ports_sorted(void)
{
	static const struct kube_service_port ports[] = {
	    {.name = "z", .port = 81, .target_port_num = 8081},
	    {.name = "a", .port = 80, .target_port_num = 8080},
	};
	struct world w;

	world_init(&w);
	svc_ports(w.svc, ports, 2);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	CHECK_INT_EQ(created(&w, 0)->n_ports, 2);
	CHECK_STR_EQ(created(&w, 0)->ports[0].name, "a");
	CHECK_STR_EQ(created(&w, 0)->ports[1].name, "z");
	world_free(&w);
}

/* ---- §3.2 Port-map key
 * ------------------------------------------------------- */

static void test_port_key_order_insensitive(void)
{
	static const struct kube_service_port ports[] = {
	    {.name = "a", .port = 80, .target_port_num = 8080},
	    {.name = "b", .port = 81, .target_port_num = 8081},
	};
	struct world w;
	struct kube_endpointslice *s;

	world_init(&w);
	svc_ports(w.svc, ports, 2);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	s->ports = kube_alloc(&s->obj, 2 * sizeof(*s->ports));
	s->ports[0] = (struct kube_slice_port){"b", 0, true, 8081, NULL};
	s->ports[1] = (struct kube_slice_port){"a", 0, true, 8080, NULL};
	s->n_ports = 2;
	slice_ep(s, "10.1.0.1", "a", true);
	run(&w);
	CHECK_PLAN(&w, 0, 0, 0);
	world_free(&w);
}

static void test_nil_ports_equal_empty(void)
{
	struct world w;
	struct kube_endpointslice *s;

	world_init(&w);
	w.svc->cluster_ip = "None";
	svc_ports(w.svc, NULL, 0);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	s->ports = NULL; /* "ports": null from the API */
	s->n_ports = 0;
	slice_ep(s, "10.1.0.1", "a", true);
	run(&w);
	CHECK_PLAN(&w, 0, 0, 0);
	world_free(&w);
}

static void test_app_protocol_in_key(void)
{
	struct world w;
	struct kube_endpointslice *s;

	world_init(&w);
	w.svc->ports[0].app_protocol = "http2";
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s, "10.1.0.1", "a", true);
	run(&w);
	/* A new key: the old slice is recycled, not deleted. */
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "s1");
	CHECK_STR_EQ(updated(&w, 0)->ports[0].app_protocol, "http2");
	world_free(&w);
}

static void test_target_port_change_recycles(void)
{
	struct world w;
	const struct kube_endpointslice *s;
	char name[64];

	world_init(&w);
	pods_add(&w, 0, 3);
	run(&w);
	apply(&w);
	(void)snprintf(name, sizeof(name), "%s", w.slices[0]->obj.meta.name);
	w.svc->ports[0].target_port_num = 9090;
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	s = updated(&w, 0);
	CHECK_STR_EQ(s->obj.meta.name, name);
	CHECK_STR_EQ(s->obj.meta.resource_version, "");
	CHECK_INT_EQ(s->ports[0].port, 9090);
	CHECK_INT_EQ(s->n_endpoints, 3);
	check_steady(&w);
	world_free(&w);
}

/* ---- §3.3 Identity and equality
 * ---------------------------------------------- */

static void test_uid_change_updates_in_place(void)
{
	struct world w;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	apply(&w);
	pod_find(&w, "a")->obj.meta.uid = "uid-a-2";
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.resource_version, "1");
	CHECK_STR_EQ(updated(&w, 0)->endpoints[0].target.uid, "uid-a-2");
	CHECK_INT_EQ(w.plan.endpoints_added, 0);
	CHECK_INT_EQ(w.plan.endpoints_removed, 0);
	world_free(&w);
}

static void test_same_ip_two_pods(void)
{
	struct world w;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	pod_add(&w, "b", "10.1.0.1", "n1", false);
	run(&w);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 2);
	world_free(&w);
}

static void test_duplicate_identity_first_wins(void)
{
	struct world w;
	struct kube_endpointslice *s1, *s2;

	world_init(&w);
	pods_add(&w, 0, 3);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.0.0.1", "p000", true);
	slice_ep(s1, "10.0.0.2", "p001", true);
	s2 = slice_add(&w, "s2", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s2, "10.0.0.1", "p000", true);
	slice_ep(s2, "10.0.0.3", "p002", true);
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "s2");
	CHECK_INT_EQ(updated(&w, 0)->n_endpoints, 1);
	CHECK_NOT_NULL(ep_of(updated(&w, 0), "p002"));
	CHECK_INT_EQ(w.plan.endpoints_removed, 1);
	world_free(&w);
}

static void test_duplicate_identity_in_one_slice(void)
{
	struct world w;
	struct kube_endpointslice *s1;

	world_init(&w);
	pods_add(&w, 0, 2);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.0.0.1", "p000", true);
	slice_ep(s1, "10.0.0.1", "p000", true);
	slice_ep(s1, "10.0.0.2", "p001", true);
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_INT_EQ(updated(&w, 0)->n_endpoints, 2);
	world_free(&w);
}

static void test_existing_order_kept(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	pods_add(&w, 0, 3);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.0.0.3", "p002", true);
	slice_ep(s1, "10.0.0.1", "p000", true);
	slice_ep(s1, "10.0.0.2", "p001", true);
	pod_find(&w, "p000")->ready = KUBE_FALSE;
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(u->endpoints[0].target.name, "p002");
	CHECK_STR_EQ(u->endpoints[1].target.name, "p000");
	CHECK_STR_EQ(u->endpoints[2].target.name, "p001");
	CHECK_INT_EQ(u->endpoints[1].ready, KUBE_FALSE);
	world_free(&w);
}

static void add_zone_hint(struct kube_endpointslice *s,
			  struct kube_endpoint *ep)
{
	ep->hint_zones = kube_alloc(&s->obj, sizeof(char *));
	ep->hint_zones[0] = kube_intern(&s->obj, "zone-a");
	ep->n_hint_zones = 1;
	ep->has_hints = true;
}

static void test_hints_not_compared(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	w.svc->cluster_ip = "None";
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	add_zone_hint(s1, slice_ep(s1, "10.1.0.1", "a", true));
	run(&w);
	/* Equal beyond hints: unchanged, then promoted by hint removal,
	 * which keeps the labels as they were (no headless label). */
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_NULL(label(u, EPSLICE_LABEL_HEADLESS));
	CHECK_STR_EQ(u->obj.meta.resource_version, "7");
	CHECK(!u->endpoints[0].has_hints);
	CHECK_INT_EQ(u->endpoints[0].n_hint_zones, 0);
	CHECK_INT_EQ(w.plan.endpoints_added + w.plan.endpoints_removed, 0);
	world_free(&w);
}

/* ---- §4 Slice metadata
 * ------------------------------------------------------- */

static void test_labels_reserved_dropped(void)
{
	struct world w;
	const struct kube_endpointslice *s;

	world_init(&w);
	set_labels(&w.svc->obj, &w.svc->obj.meta.labels,
		   (const char *[]){EPSLICE_LABEL_MANAGED_BY, "evil",
				    EPSLICE_LABEL_SERVICE_NAME, "evil",
				    EPSLICE_LABEL_HEADLESS, "evil", "team",
				    "blue", 0});
	w.cfg.managed_by = "svc-controllers";
	run(&w);
	s = created(&w, 0);
	CHECK_INT_EQ(s->obj.meta.labels.n, 3);
	CHECK_STR_EQ(label(s, "team"), "blue");
	CHECK_STR_EQ(label(s, EPSLICE_LABEL_SERVICE_NAME), SVC);
	CHECK_STR_EQ(label(s, EPSLICE_LABEL_MANAGED_BY), "svc-controllers");
	CHECK_NULL(label(s, EPSLICE_LABEL_HEADLESS));
	world_free(&w);
}

static void test_headless_label(void)
{
	struct world w;

	world_init(&w);
	w.svc->cluster_ip = "";
	run(&w);
	CHECK_STR_EQ(label(created(&w, 0), EPSLICE_LABEL_HEADLESS), "");
	w.svc->cluster_ip = "None";
	run(&w);
	CHECK_STR_EQ(label(created(&w, 0), EPSLICE_LABEL_HEADLESS), "");
	world_free(&w);
}

static void test_headless_label_alone_not_a_change(void)
{
	struct world w;
	struct kube_endpointslice *s1;

	world_init(&w);
	w.svc->cluster_ip = "None";
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.1.0.1", "a", true);
	run(&w);
	CHECK_PLAN(&w, 0, 0, 0);
	world_free(&w);
}

static void test_labels_changed_update(void)
{
	struct world w;
	const struct kube_endpointslice *u;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	apply(&w);
	set_labels(&w.slices[0]->obj, &w.slices[0]->obj.meta.annotations,
		   (const char *[]){"keep", "me", 0});
	set_labels(&w.svc->obj, &w.svc->obj.meta.labels,
		   (const char *[]){"team", "red", 0});
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(label(u, "team"), "red");
	CHECK_STR_EQ(annotation(u, "keep"), "me");
	CHECK_INT_EQ(u->n_endpoints, 1);
	CHECK_STR_EQ(u->obj.meta.resource_version, "1");
	check_steady(&w);
	world_free(&w);
}

static void test_user_labels_replaced(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.1.0.1", "a", true);
	set_labels(&s1->obj, &s1->obj.meta.labels,
		   (const char *[]){EPSLICE_LABEL_MANAGED_BY, MANAGED, "foo",
				    "bar", EPSLICE_LABEL_SERVICE_NAME, SVC, 0});
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_NULL(label(u, "foo"));
	CHECK_INT_EQ(u->obj.meta.labels.n, 2);
	world_free(&w);
}

static void test_generate_name(void)
{
	struct world w;

	world_init(&w);
	w.svc->obj.meta.name = "Bad_Name";
	run(&w);
	/* Not a valid name prefix: the bare Service name is used. */
	CHECK_STR_EQ(created(&w, 0)->obj.meta.generate_name, "Bad_Name");
	world_free(&w);
}

static void test_owned_by(void)
{
	struct world w;
	struct kube_endpointslice *s;

	world_init(&w);
	s = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	CHECK(epslice_owned_by(s, w.svc));
	s->obj.meta.owners[0].kind = "Deployment";
	CHECK(!epslice_owned_by(s, w.svc));
	s->obj.meta.owners[0].kind = "Service";
	s->obj.meta.owners[0].api_version = "apps/v1";
	CHECK(!epslice_owned_by(s, w.svc));
	s->obj.meta.owners[0].api_version = "v1";
	s->obj.meta.owners[0].uid = "uid-old";
	CHECK(!epslice_owned_by(s, w.svc));
	CHECK(!epslice_owned_by(slice_add(&w, "s2", KUBE_ADDR_IPV4, NULL),
				w.svc));
	world_free(&w);
}

static void test_foreign_slice_deleted_not_recycled(void)
{
	struct world w;
	struct kube_endpointslice *old;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	old = slice_add(&w, "old", KUBE_ADDR_IPV4, "uid-previous-web");
	slice_ep(old, "10.1.0.1", "a", true);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 1);
	CHECK_STR_EQ(w.plan.deletes[0]->meta.name, "old");
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 1);
	world_free(&w);
}

static void test_trigger_time_format(void)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
	    {1700000000123, "2023-11-14T22:13:20.123Z"},
	    {1700000000100, "2023-11-14T22:13:20.1Z"},
	    {1700000000020, "2023-11-14T22:13:20.02Z"},
	    {1700000000000, "2023-11-14T22:13:20Z"},
	};
	struct world w;

	world_init(&w);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		w.trigger_ms = cases[i].ms;
		run(&w);
		CHECK_STR_EQ(
		    annotation(created(&w, 0), EPSLICE_ANN_TRIGGER_TIME),
		    cases[i].want);
	}
	world_free(&w);
}

static void test_trigger_time_removed_others_kept(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", false);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.1.0.1", "a", true);
	set_labels(&s1->obj, &s1->obj.meta.annotations,
		   (const char *[]){EPSLICE_ANN_TRIGGER_TIME,
				    "2020-01-01T00:00:00Z", "keep", "me", 0});
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_NULL(annotation(u, EPSLICE_ANN_TRIGGER_TIME));
	CHECK_STR_EQ(annotation(u, "keep"), "me");
	w.trigger_ms = 1700000000000;
	run(&w);
	u = updated(&w, 0);
	CHECK_STR_EQ(annotation(u, EPSLICE_ANN_TRIGGER_TIME),
		     "2023-11-14T22:13:20Z");
	CHECK_STR_EQ(annotation(u, "keep"), "me");
	world_free(&w);
}

static void test_update_carries_cached_metadata(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", false);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.1.0.1", "a", true);
	s1->obj.meta.owners[0].block_owner_deletion = KUBE_UNSET;
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(u->obj.meta.name, "s1");
	CHECK_STR_EQ(u->obj.meta.uid, "uid-s1");
	CHECK_STR_EQ(u->obj.meta.resource_version, "7");
	CHECK_INT_EQ(u->obj.meta.generation, 3);
	CHECK_INT_EQ(u->obj.meta.n_owners, 1);
	CHECK_INT_EQ(u->obj.meta.owners[0].block_owner_deletion, KUBE_UNSET);
	world_free(&w);
}

static void test_recycled_is_fresh_object(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	pod_add(&w, "b", "10.1.0.2", "n1", true);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.1.0.1", "a", true);
	set_labels(&s1->obj, &s1->obj.meta.annotations,
		   (const char *[]){"keep", "me", 0});
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(u->obj.meta.name, "s1");
	CHECK_STR_EQ(u->obj.meta.resource_version, "");
	CHECK_STR_EQ(u->obj.meta.uid, "");
	CHECK_INT_EQ(u->obj.meta.generation, 0);
	CHECK_NULL(annotation(u, "keep"));
	CHECK_INT_EQ(u->obj.meta.owners[0].block_owner_deletion, KUBE_TRUE);
	CHECK_NOT_NULL(ep_of(u, "b"));
	world_free(&w);
}

/* ---- §5 Reconciler algorithm
 * -------------------------------------------------- */

static void test_250_pods_three_slices(void)
{
	struct world w;

	world_init(&w);
	pods_add(&w, 0, 250);
	run(&w);
	CHECK_PLAN(&w, 3, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 100);
	CHECK_INT_EQ(created(&w, 1)->n_endpoints, 100);
	CHECK_INT_EQ(created(&w, 2)->n_endpoints, 50);
	CHECK_STR_EQ(created(&w, 0)->endpoints[0].target.name, "p000");
	CHECK_STR_EQ(created(&w, 2)->endpoints[49].target.name, "p249");
	CHECK_INT_EQ(w.plan.endpoints_added, 250);
	CHECK_INT_EQ(w.plan.endpoints_desired, 250);
	CHECK_INT_EQ(w.plan.slices_desired, 3);
	check_steady(&w);
	world_free(&w);
}

static void test_single_pod_change_single_write(void)
{
	struct world w;
	const struct kube_endpointslice *u;

	world_init(&w);
	pods_add(&w, 0, 250);
	run(&w);
	apply(&w);
	pod_find(&w, "p120")->ready = KUBE_FALSE;
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_INT_EQ(u->n_endpoints, 100);
	CHECK_INT_EQ(ep_of(u, "p120")->ready, KUBE_FALSE);
	CHECK_INT_EQ(w.plan.endpoints_added + w.plan.endpoints_removed, 0);
	check_steady(&w);
	world_free(&w);
}

static void test_max_one_per_slice(void)
{
	struct world w;

	world_init(&w);
	w.cfg.max_per_slice = 1;
	pods_add(&w, 0, 3);
	run(&w);
	CHECK_PLAN(&w, 3, 0, 0);
	for (size_t i = 0; i < 3; i++)
		CHECK_INT_EQ(created(&w, i)->n_endpoints, 1);
	CHECK_INT_EQ(w.plan.slices_desired, 3);
	check_steady(&w);
	world_free(&w);
}

static void test_pod_order_deterministic(void)
{
	struct world w;

	world_init(&w);
	pod_add(&w, "c", "10.1.0.3", "n1", true);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	pod_add(&w, "b", "10.1.0.2", "n1", true);
	run(&w);
	CHECK_STR_EQ(created(&w, 0)->endpoints[0].target.name, "a");
	CHECK_STR_EQ(created(&w, 0)->endpoints[1].target.name, "b");
	CHECK_STR_EQ(created(&w, 0)->endpoints[2].target.name, "c");
	world_free(&w);
}

static void test_rolling_replace_all_recycles(void)
{
	struct world w;
	char name[64];

	world_init(&w);
	pods_add(&w, 0, 3);
	run(&w);
	apply(&w);
	(void)snprintf(name, sizeof(name), "%s", w.slices[0]->obj.meta.name);
	for (int i = 0; i < 3; i++) {
		char pod[16];

		(void)snprintf(pod, sizeof(pod), "p%03d", i);
		pod_remove(&w, pod);
	}
	pods_add(&w, 3, 3);
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, name);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.resource_version, "");
	CHECK_INT_EQ(updated(&w, 0)->n_endpoints, 3);
	CHECK_INT_EQ(w.plan.endpoints_added, 3);
	CHECK_INT_EQ(w.plan.endpoints_removed, 3);
	check_steady(&w);
	world_free(&w);
}

static void test_rolling_replace_one_in_place(void)
{
	struct world w;
	const struct kube_endpointslice *u;

	world_init(&w);
	pods_add(&w, 0, 3);
	run(&w);
	apply(&w);
	pod_remove(&w, "p000");
	pods_add(&w, 3, 1);
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(u->obj.meta.resource_version, "1");
	CHECK_INT_EQ(u->n_endpoints, 3);
	CHECK_STR_EQ(u->endpoints[2].target.name, "p003");
	world_free(&w);
}

static void test_recycle_takes_last_create(void)
{
	struct world w;

	world_init(&w);
	w.cfg.max_per_slice = 1;
	pods_add(&w, 0, 2);
	run(&w);
	apply(&w); /* web-1 holds p000, web-2 holds p001 */
	pod_remove(&w, "p000");
	pod_remove(&w, "p001");
	pods_add(&w, 2, 2);
	run(&w);
	CHECK_PLAN(&w, 0, 2, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "web-1");
	CHECK_STR_EQ(updated(&w, 0)->endpoints[0].target.name, "p003");
	CHECK_STR_EQ(updated(&w, 1)->obj.meta.name, "web-2");
	CHECK_STR_EQ(updated(&w, 1)->endpoints[0].target.name, "p002");
	world_free(&w);
}

/* An existing slice holding pods [from, from + n). */
static struct kube_endpointslice *slice_with(struct world *w, const char *name,
					     int from, int n)
{
	struct kube_endpointslice *s =
	    slice_add(w, name, KUBE_ADDR_IPV4, SVC_UID);

	for (int i = from; i < from + n; i++) {
		char pod[16], ip[32];

		(void)snprintf(pod, sizeof(pod), "p%03d", i);
		(void)snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250,
			       i % 250 + 1);
		slice_ep(s, ip, pod, true);
	}
	return s;
}

static void test_documented_example_new_slice(void)
{
	struct world w;

	world_init(&w);
	pods_add(&w, 0, 200);
	slice_with(&w, "s1", 0, 95);
	slice_with(&w, "s2", 95, 95);
	run(&w);
	/* 10 new endpoints, two slices with room for 5: no split. */
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 10);
	CHECK_INT_EQ(w.plan.endpoints_added, 10);
	world_free(&w);
}

static void test_remainder_best_fit(void)
{
	struct world w;

	world_init(&w);
	pods_add(&w, 0, 188);
	slice_with(&w, "s1", 0, 90);
	slice_with(&w, "s2", 90, 95);
	run(&w);
	/* 3 new: s2 ends closest to full (98). */
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "s2");
	CHECK_INT_EQ(updated(&w, 0)->n_endpoints, 98);
	CHECK_STR_EQ(updated(&w, 0)->endpoints[95].target.name, "p185");
	world_free(&w);
}

static void test_remainder_exact_fit_first(void)
{
	struct world w;

	world_init(&w);
	pods_add(&w, 0, 195);
	slice_with(&w, "s1", 0, 95);
	slice_with(&w, "s2", 95, 95);
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "s1");
	CHECK_INT_EQ(updated(&w, 0)->n_endpoints, 100);
	world_free(&w);
}

static void test_top_up_fullest_first(void)
{
	struct world w;

	world_init(&w);
	pods_add(&w, 0, 160);
	slice_with(&w, "s1", 0, 50);
	slice_with(&w, "s2", 50, 80);
	pod_remove(&w, "p000");
	pod_remove(&w, "p050");
	run(&w);
	/* 30 new endpoints: s2 (79) is filled to 100 first, s1 takes 9. */
	CHECK_PLAN(&w, 0, 2, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "s2");
	CHECK_INT_EQ(updated(&w, 0)->n_endpoints, 100);
	CHECK_STR_EQ(updated(&w, 1)->obj.meta.name, "s1");
	CHECK_INT_EQ(updated(&w, 1)->n_endpoints, 58);
	CHECK_INT_EQ(w.plan.endpoints_added, 30);
	CHECK_INT_EQ(w.plan.endpoints_removed, 2);
	world_free(&w);
}

static void test_overfull_slice_not_split(void)
{
	struct world w;

	world_init(&w);
	w.cfg.max_per_slice = 3;
	pods_add(&w, 0, 5);
	slice_with(&w, "s1", 0, 5);
	run(&w);
	CHECK_PLAN(&w, 0, 0, 0);
	pods_add(&w, 5, 1);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	CHECK_INT_EQ(created(&w, 0)->n_endpoints, 1);
	world_free(&w);
}

static void test_placeholder_created_and_kept(void)
{
	struct world w;
	const struct kube_endpointslice *s;

	world_init(&w);
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	s = created(&w, 0);
	CHECK_INT_EQ(s->n_ports, 0);
	CHECK_INT_EQ(s->n_endpoints, 0);
	CHECK_STR_EQ(label(s, EPSLICE_LABEL_SERVICE_NAME), SVC);
	CHECK_INT_EQ(s->obj.meta.n_owners, 1);
	CHECK_INT_EQ(w.plan.slices_desired, 1);
	/* An equal placeholder is not rewritten, trigger time or not. */
	w.trigger_ms = 1700000000000;
	check_steady(&w);
	world_free(&w);
}

static void test_placeholder_differs_rewritten(void)
{
	struct world w;
	struct kube_endpointslice *ph;

	world_init(&w);
	ph = slice_add(&w, "ph", KUBE_ADDR_IPV4, SVC_UID);
	ph->n_ports = 0;
	set_labels(&ph->obj, &ph->obj.meta.labels,
		   (const char *[]){EPSLICE_LABEL_MANAGED_BY, MANAGED, "foo",
				    "bar", EPSLICE_LABEL_SERVICE_NAME, SVC, 0});
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_STR_EQ(updated(&w, 0)->obj.meta.name, "ph");
	CHECK_NULL(label(updated(&w, 0), "foo"));
	world_free(&w);
}

static void test_last_pod_gone_placeholder(void)
{
	struct world w;
	const struct kube_endpointslice *u;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	run(&w);
	apply(&w);
	pod_remove(&w, "a");
	run(&w);
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(u->obj.meta.name, "web-1");
	CHECK_INT_EQ(u->n_endpoints, 0);
	CHECK_INT_EQ(u->n_ports, 0);
	/* No group is desired: the slice is dropped whole (§5.2 step 4),
	 * which upstream does not count as removed endpoints. */
	CHECK_INT_EQ(w.plan.endpoints_removed, 0);
	check_steady(&w);
	world_free(&w);
}

static void test_deleted_slices_ignored(void)
{
	struct world w;
	struct kube_endpointslice *s1;

	world_init(&w);
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s1, "10.1.0.1", "a", true);
	s1->obj.meta.deletion_ms = 99;
	run(&w);
	CHECK_PLAN(&w, 1, 0, 0);
	world_free(&w);
}

static void test_group_registered_for_skipped_pod(void)
{
	struct world w;

	world_init(&w);
	set_one_port(
	    &w, &(struct kube_service_port){.name = "http",
					    .port = 80,
					    .target_port_name = "web-port"});
	pod_port(pod_add(&w, "a", "10.1.0.1", "n1", true), "web-port", 9090,
		 KUBE_PROTO_TCP, false);
	run(&w);
	apply(&w);
	pod_find(&w, "a")->node_name = "gone";
	run(&w);
	CHECK(w.plan.missing_node);
	/* The 9090 group is desired but empty: its slice is walked (1
	 * removed), deleted, and recycled as the placeholder. */
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK_INT_EQ(updated(&w, 0)->n_ports, 0);
	CHECK_INT_EQ(w.plan.endpoints_removed, 1);
	world_free(&w);
}

static void test_hints_stripped_from_unchanged(void)
{
	struct world w;
	struct kube_endpointslice *s1;
	const struct kube_endpointslice *u;

	world_init(&w);
	pods_add(&w, 0, 2);
	s1 = slice_with(&w, "s1", 0, 2);
	add_zone_hint(s1, &s1->endpoints[1]);
	slice_with(&w, "s2", 0, 0);
	run(&w);
	/* s1 is unchanged but hinted: promoted and stripped. s2 was already
	 * empty and lost nothing, so it stays unchanged (upstream deletes
	 * only slices that became empty). */
	CHECK_PLAN(&w, 0, 1, 0);
	u = updated(&w, 0);
	CHECK_STR_EQ(u->obj.meta.name, "s1");
	CHECK(!u->endpoints[1].has_hints);
	CHECK_INT_EQ(u->endpoints[1].n_hint_zones, 0);
	world_free(&w);
}

static void test_selector_matches(void)
{
	struct world w;
	struct kube_pod *p;
	struct kube_labels empty = {0};

	world_init(&w);
	p = pod_add(&w, "a", "10.1.0.1", "n1", true);
	set_labels(&p->obj, &p->obj.meta.labels,
		   (const char *[]){"app", "web", "tier", "front", 0});
	CHECK(epslice_selector_matches(&w.svc->selector, &p->obj.meta.labels));
	set_labels(&p->obj, &p->obj.meta.labels,
		   (const char *[]){"app", "db", 0});
	CHECK(!epslice_selector_matches(&w.svc->selector, &p->obj.meta.labels));
	CHECK(!epslice_selector_matches(&w.svc->selector, &empty));
	CHECK(epslice_selector_matches(&empty, &p->obj.meta.labels));
	world_free(&w);
}

static void test_plan_events_and_set_hints(void)
{
	struct world w;
	struct kube_endpointslice *s;
	const char *zones[] = {"zone-a", "zone-b"};

	world_init(&w);
	for (int i = 0; i < 10; i++)
		epslice_plan_event(&w.plan, EPSLICE_EVENT_WARNING,
				   "TopologyAwareHintsDisabled", "n=%d", i);
	CHECK_INT_EQ(w.plan.n_events, ARRAY_SIZE(w.plan.events));
	CHECK_STR_EQ(w.plan.events[7].message, "n=7");
	s = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	slice_ep(s, "10.1.0.1", "a", true);
	epslice_set_hints(s, 0, zones, 2, NULL, 0);
	CHECK(s->endpoints[0].has_hints);
	CHECK_INT_EQ(s->endpoints[0].n_hint_zones, 2);
	CHECK_STR_EQ(s->endpoints[0].hint_zones[1], "zone-b");
	epslice_set_hints(s, 0, NULL, 0, NULL, 0);
	CHECK(!s->endpoints[0].has_hints);
	CHECK_INT_EQ(s->endpoints[0].n_hint_zones, 0);
	world_free(&w);
}

static void test_hints_module_hook(void)
{
	struct world w;
	struct kube_endpointslice *s1;

	world_init(&w);
	w.hints = hints_new();
	pod_add(&w, "a", "10.1.0.1", "n1", true);
	s1 = slice_add(&w, "s1", KUBE_ADDR_IPV4, SVC_UID);
	add_zone_hint(s1, slice_ep(s1, "10.1.0.1", "a", true));
	run(&w);
	/* No topology mode, no trafficDistribution: hints_apply strips. */
	CHECK_PLAN(&w, 0, 1, 0);
	CHECK(!updated(&w, 0)->endpoints[0].has_hints);
	hints_free(w.hints);
	world_free(&w);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_managed_services),
	    UNIT_CASE(test_invalid_max_per_slice),
	    UNIT_CASE(test_terminating_service_creates_nothing),
	    UNIT_CASE(test_basic_slice),
	    UNIT_CASE(test_endpoint_fields),
	    UNIT_CASE(test_terminal_pods_excluded),
	    UNIT_CASE(test_pod_without_ip_excluded),
	    UNIT_CASE(test_terminating_pod_included),
	    UNIT_CASE(test_not_ready_pod),
	    UNIT_CASE(test_missing_node_skips_pod),
	    UNIT_CASE(test_missing_node_publish_not_ready),
	    UNIT_CASE(test_unparsable_ip_skipped),
	    UNIT_CASE(test_canonical_addresses),
	    UNIT_CASE(test_dual_stack),
	    UNIT_CASE(test_families_ipv6_only),
	    UNIT_CASE(test_family_from_cluster_ip),
	    UNIT_CASE(test_headless_without_families_both),
	    UNIT_CASE(test_pod_without_family_address),
	    UNIT_CASE(test_unsupported_types_deleted),
	    UNIT_CASE(test_hostname_rule),
	    UNIT_CASE(test_zone_from_node),
	    UNIT_CASE(test_target_port_defaults_to_port),
	    UNIT_CASE(test_named_port),
	    UNIT_CASE(test_named_port_protocol_mismatch),
	    UNIT_CASE(test_named_port_sidecar),
	    UNIT_CASE(test_headless_zero_ports),
	    UNIT_CASE(test_new_slice_ports_sorted),
	    UNIT_CASE(test_port_key_order_insensitive),
	    UNIT_CASE(test_nil_ports_equal_empty),
	    UNIT_CASE(test_app_protocol_in_key),
	    UNIT_CASE(test_target_port_change_recycles),
	    UNIT_CASE(test_uid_change_updates_in_place),
	    UNIT_CASE(test_same_ip_two_pods),
	    UNIT_CASE(test_duplicate_identity_first_wins),
	    UNIT_CASE(test_duplicate_identity_in_one_slice),
	    UNIT_CASE(test_existing_order_kept),
	    UNIT_CASE(test_hints_not_compared),
	    UNIT_CASE(test_labels_reserved_dropped),
	    UNIT_CASE(test_headless_label),
	    UNIT_CASE(test_headless_label_alone_not_a_change),
	    UNIT_CASE(test_labels_changed_update),
	    UNIT_CASE(test_user_labels_replaced),
	    UNIT_CASE(test_generate_name),
	    UNIT_CASE(test_owned_by),
	    UNIT_CASE(test_foreign_slice_deleted_not_recycled),
	    UNIT_CASE(test_trigger_time_format),
	    UNIT_CASE(test_trigger_time_removed_others_kept),
	    UNIT_CASE(test_update_carries_cached_metadata),
	    UNIT_CASE(test_recycled_is_fresh_object),
	    UNIT_CASE(test_250_pods_three_slices),
	    UNIT_CASE(test_single_pod_change_single_write),
	    UNIT_CASE(test_max_one_per_slice),
	    UNIT_CASE(test_pod_order_deterministic),
	    UNIT_CASE(test_rolling_replace_all_recycles),
	    UNIT_CASE(test_rolling_replace_one_in_place),
	    UNIT_CASE(test_recycle_takes_last_create),
	    UNIT_CASE(test_documented_example_new_slice),
	    UNIT_CASE(test_remainder_best_fit),
	    UNIT_CASE(test_remainder_exact_fit_first),
	    UNIT_CASE(test_top_up_fullest_first),
	    UNIT_CASE(test_overfull_slice_not_split),
	    UNIT_CASE(test_placeholder_created_and_kept),
	    UNIT_CASE(test_placeholder_differs_rewritten),
	    UNIT_CASE(test_last_pod_gone_placeholder),
	    UNIT_CASE(test_deleted_slices_ignored),
	    UNIT_CASE(test_group_registered_for_skipped_pod),
	    UNIT_CASE(test_hints_stripped_from_unchanged),
	    UNIT_CASE(test_selector_matches),
	    UNIT_CASE(test_plan_events_and_set_hints),
	    UNIT_CASE(test_hints_module_hook),
	};

	return unit_main(argc, argv, "epslice", cases, ARRAY_SIZE(cases));
}
