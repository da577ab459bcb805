/*
 * Unit tests of hints (endpointslice.md §6): the §6.2 topology-mode Auto
 * allocation (the spec's worked example, the overload failures and their
 * exact events, node bookkeeping, unchanged slices kept or promoted, tie
 * breaks, the Enabled/Disabled events over several syncs, re-queueing of
 * overloaded Services), the §6.1 annotation precedence, §6.3
 * trafficDistribution and its gauge, and §6.4 removal.
 *
 * Slices and endpoints are written in a small notation, one token per
 * endpoint: zone[@node][!][>forZones[@forNodes]], where "-" is no zone,
 * "!" not ready and ">" a hints object (comma-separated names, possibly
 * none). render() prints the work in the same notation:
 * "c: <create slices>; u: <update slices>; k: <unchanged slices>", slices
 * separated by " | ".
 */
#include "base.h"
#include "hints.h"
#include "unit.h"
/* hints__zone_minimum and the event reasons. */
#include "../controllers/hints_internal.h"
/* struct epslice__type, which the real epslice_work_promote expects. */
#include "../controllers/epslice_internal.h"

#include <pthread.h>

struct fx {
	struct hints *h;
	struct kube_object *svc;
	struct epslice_plan plan;
	/* The work as epslice builds it: the real hooks promote into t. */
	struct epslice__type t;
	struct epslice_work w;
	size_t n_owned;
	struct kube_object *owned[64]; /* unchanged slices of this sync */
};

static void own(struct fx *f, struct kube_object *o)
{
	BUG_ON(f->n_owned == ARRAY_SIZE(f->owned));
	f->owned[f->n_owned++] = o;
}

static const char **copy_names(struct kube_object *o, const char *const *v,
			       size_t n)
{
	const char **out = kube_alloc(o, (n ? n : 1) * sizeof(*out));

	for (size_t i = 0; i < n; i++)
		out[i] = kube_intern(o, v[i]);
	return out;
}

/* ---- Building records ------------------------------------------------- */

/* Splits "a,b" into interned names; n = 0 for "". */
static const char **parse_names(struct kube_object *o, const char *s,
				uint32_t *n)
{
	const char *v[8];
	char tmp[512];
	char *p = tmp;

	*n = 0;
	(void)snprintf(tmp, sizeof(tmp), "%s", s);
	while (*p && *n < ARRAY_SIZE(v)) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		v[(*n)++] = p;
		p = comma ? comma + 1 : p + strlen(p);
	}
	return copy_names(o, v, *n);
}

/* One endpoint from zone[@node][!][>forZones[@forNodes]]. */
static void parse_ep(struct kube_object *o, struct kube_endpoint *ep,
		     const char *tok, size_t idx)
{
	char t[512], addr[32];
	char *hints, *at, *bang;

	(void)snprintf(t, sizeof(t), "%s", tok);
	(void)snprintf(addr, sizeof(addr), "10.0.0.%zu", idx + 1);
	ep->n_addresses = 1;
	ep->addresses = copy_names(o, (const char *[]){addr}, 1);
	ep->ready = KUBE_TRUE;
	hints = strchr(t, '>');
	if (hints) {
		*hints++ = '\0';
		ep->has_hints = true;
		at = strchr(hints, '@');
		if (at) {
			*at++ = '\0';
			ep->hint_nodes = parse_names(o, at, &ep->n_hint_nodes);
		}
		ep->hint_zones = parse_names(o, hints, &ep->n_hint_zones);
	}
	bang = strchr(t, '!');
	if (bang) {
		*bang = '\0';
		ep->ready = KUBE_FALSE;
	}
	at = strchr(t, '@');
	if (at) {
		*at++ = '\0';
		ep->node_name = kube_intern(o, at);
	}
	if (strcmp(t, "-") != 0)
		ep->zone = kube_intern(o, t);
}

static struct kube_endpointslice *mk_slice(struct fx *f, const char *name,
					   const char *eps)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_endpointslice *s = (struct kube_endpointslice *)o;
	char t[512];
	char *p = t;

	o->meta.ns = kube_intern(o, "default");
	o->meta.name = kube_set_str(o, name);
	s->address_type = f->t.type;
	s->endpoints = kube_alloc(o, 64 * sizeof(*s->endpoints));
	(void)snprintf(t, sizeof(t), "%s", eps);
	while (*p) {
		char *sp = strchr(p, ' ');

		if (sp)
			*sp = '\0';
		if (*p) {
			BUG_ON(s->n_endpoints == 64);
			parse_ep(o, &s->endpoints[s->n_endpoints], p,
				 s->n_endpoints);
			s->n_endpoints++;
		}
		p = sp ? sp + 1 : p + strlen(p);
	}
	return s;
}

/* Drops the slices of the last sync and starts a fresh plan. */
static void fx_sync(struct fx *f)
{
	struct epslice__type *t = &f->t;

	for (size_t i = 0; i < t->create.n; i++)
		kube_object_unref(t->create.p[i]);
	for (size_t i = 0; i < t->update.n; i++)
		kube_object_unref(t->update.p[i]);
	for (size_t i = 0; i < f->n_owned; i++)
		kube_object_unref(f->owned[i]);
	f->n_owned = 0;
	epslice__vec_release(&t->create);
	epslice__vec_release(&t->update);
	epslice__vec_release(&t->unchanged);
	memset(&f->plan, 0, sizeof(f->plan));
	memset(&f->w, 0, sizeof(f->w));
}

/*
 * Sets the slices of the work from NULL-terminated token lists, the way
 * epslice's apply_hints does: to-create and to-update records owned by
 * the type's vectors, unchanged ones borrowed (here owned by the fixture).
 */
static void set_work(struct fx *f, enum kube_address_type type,
		     const char *const *create, const char *const *update,
		     const char *const *unchanged)
{
	struct epslice__type *t = &f->t;

	fx_sync(f);
	t->type = type;
	for (size_t i = 0; create && create[i]; i++)
		epslice__vec_push(&t->create, mk_slice(f, "", create[i]));
	for (size_t i = 0; update && update[i]; i++)
		epslice__vec_push(&t->update, mk_slice(f, "svc-u", update[i]));
	for (size_t i = 0; unchanged && unchanged[i]; i++) {
		struct kube_endpointslice *s =
		    mk_slice(f, "svc-k", unchanged[i]);

		own(f, &s->obj);
		epslice__vec_push(&t->unchanged, s);
	}
	f->w = (struct epslice_work){
	    .type = type,
	    .n_create = t->create.n,
	    .create = (struct kube_endpointslice **)t->create.p,
	    .n_update = t->update.n,
	    .update = (struct kube_endpointslice **)t->update.p,
	    .n_unchanged = t->unchanged.n,
	    .unchanged = (const struct kube_endpointslice **)t->unchanged.p,
	    .plan = &f->plan,
	    .priv = t,
	};
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->h = hints_new();
}

static void fx_release(struct fx *f)
{
	fx_sync(f);
	kube_object_unref(f->svc);
	hints_free(f->h);
}

/* A Service default/<name>; hints_ann and mode_ann NULL when absent. */
static const struct kube_service *mk_svc(struct fx *f, const char *name,
					 const char *hints_ann,
					 const char *mode_ann,
					 const char *traffic)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_SERVICE);
	struct kube_service *s = (struct kube_service *)o;
	struct kube_labels *a = &o->meta.annotations;

	kube_object_unref(f->svc);
	f->svc = o;
	o->meta.ns = kube_intern(o, "default");
	o->meta.name = kube_set_str(o, name);
	a->items = kube_alloc(o, 2 * sizeof(*a->items));
	/* Sorted by key: topology-aware-hints < topology-mode. */
	if (hints_ann) {
		a->items[a->n].key = kube_intern(
		    o, "service.kubernetes.io/topology-aware-hints");
		a->items[a->n++].value = kube_intern(o, hints_ann);
	}
	if (mode_ann) {
		a->items[a->n].key =
		    kube_intern(o, "service.kubernetes.io/topology-mode");
		a->items[a->n++].value = kube_intern(o, mode_ann);
	}
	s->traffic_distribution = kube_set_str(o, traffic);
	return s;
}

/* Nodes from "zone=milliCPU[+cp][-] ...": "+cp" control plane, "-" not
 * Ready, an empty zone for none. */
static void set_nodes(struct fx *f, const char *spec)
{
	struct kube_object *objs[16];
	const struct kube_node *nodes[16];
	char t[256];
	char *p = t;
	size_t n = 0;

	(void)snprintf(t, sizeof(t), "%s", spec);
	while (*p) {
		char *sp = strchr(p, ' '), *eq;
		struct kube_node *node;
		long long milli;
		size_t len;

		if (sp)
			*sp = '\0';
		BUG_ON(n == ARRAY_SIZE(objs));
		objs[n] = kube_object_new(KUBE_KIND_NODE);
		node = (struct kube_node *)objs[n];
		node->ready = KUBE_TRUE;
		len = strlen(p);
		if (len && p[len - 1] == '-') {
			node->ready = KUBE_FALSE;
			p[--len] = '\0';
		}
		if (len > 3 && strcmp(p + len - 3, "+cp") == 0) {
			node->control_plane = true;
			p[len - 3] = '\0';
		}
		eq = strchr(p, '=');
		BUG_ON(!eq);
		*eq = '\0';
		if (*p)
			node->zone = kube_intern(objs[n], p);
		BUG_ON(str_to_ll(eq + 1, 0, LLONG_MAX, &milli) != ERR_OK);
		node->cpu_milli = milli;
		nodes[n] = node;
		n++;
		p = sp ? sp + 1 : p + strlen(p);
	}
	hints_set_nodes(f->h, nodes, n);
	for (size_t i = 0; i < n; i++)
		kube_object_unref(objs[i]);
}

/* ---- Rendering -------------------------------------------------------- */

static void put(struct buf *b, const char *s)
{
	BUG_ON(buf_adds(b, s) != ERR_OK);
}

static void put_names(struct buf *b, const char *const *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			put(b, ",");
		put(b, v[i]);
	}
}

static void render_ep(struct buf *b, const struct kube_endpoint *ep)
{
	put(b, ep->zone ? ep->zone : "-");
	if (ep->ready != KUBE_TRUE)
		put(b, "!");
	if (!ep->has_hints)
		return;
	put(b, ">");
	put_names(b, ep->hint_zones, ep->n_hint_zones);
	if (ep->n_hint_nodes) {
		put(b, "@");
		put_names(b, ep->hint_nodes, ep->n_hint_nodes);
	}
}

static void render_list(struct buf *b, const char *tag,
			const struct kube_endpointslice *const *s, size_t n)
{
	if (!n)
		return;
	if (b->len)
		put(b, "; ");
	put(b, tag);
	for (size_t i = 0; i < n; i++) {
		put(b, i ? " |" : ":");
		for (uint32_t e = 0; e < s[i]->n_endpoints; e++) {
			put(b, " ");
			render_ep(b, &s[i]->endpoints[e]);
		}
	}
}

/* The work in the token notation; static storage, valid until next call. */
static const char *render(const struct fx *f)
{
	static char out[2048];
	struct buf b;

	buf_init(&b, sizeof(out) - 1);
	render_list(&b, "c",
		    (const struct kube_endpointslice *const *)f->w.create,
		    f->w.n_create);
	render_list(&b, "u",
		    (const struct kube_endpointslice *const *)f->w.update,
		    f->w.n_update);
	render_list(&b, "k", f->w.unchanged, f->w.n_unchanged);
	(void)snprintf(out, sizeof(out), "%s", b.data);
	buf_release(&b);
	return out;
}

/* The plan's events as "N|W Reason: message", joined by " / ". */
static const char *events(const struct fx *f)
{
	static char out[2048];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < f->plan.n_events; i++) {
		const struct epslice_event *ev = &f->plan.events[i];

		len += (size_t)snprintf(
		    out + len, sizeof(out) - len, "%s%s %s: %s", i ? " / " : "",
		    ev->type == EPSLICE_EVENT_WARNING ? "W" : "N", ev->reason,
		    ev->message);
		BUG_ON(len >= sizeof(out));
	}
	return out;
}

#define CHECK_CASE(name, got, want)                                            \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		unit_checks++;                                                 \
		if (!str_eq(g_, w_))                                           \
			unit_fail(__FILE__, __LINE__,                          \
				  "case %s: %s:\n#     got  \"%s\"\n#     "    \
				  "want \"%s\"",                               \
				  (name), #got, g_, w_);                       \
	} while (0)

/* ---- topology-mode Auto, one sync each (§6.2) ------------------------- */

/* clang-format off */
#define ENABLED "N " HINTS_REASON_ENABLED ": Topology Aware Hints has been enabled, addressType: IPv4"
#define DISABLED(msg) "W " HINTS_REASON_DISABLED ": " msg ", addressType: IPv4"
/* clang-format on */

struct auto_case {
	const char *name;
	const char *nodes;
	const char *create[6]; /* NULL-terminated */
	const char *update[6];
	const char *unchanged[6];
	const char *want;
	const char *events;
};

/* clang-format off */
static const struct auto_case auto_cases[] = {
	{ "worked example: 20/16/14 cores, 6/3/1 endpoints -> 4/3/3",
	  "a=20000 b=16000 c=14000",
	  { "a a a a a a b b b c" }, { NULL }, { NULL },
	  "c: a>c a>c a>a a>a a>a a>a b>b b>b b>b c>c", ENABLED },
	{ "worked example over a create and an update slice",
	  "a=20000 b=16000 c=14000",
	  { "b a b a b" }, { "a a a a c" }, { NULL },
	  "c: b>b a>c b>b a>c b>b; u: a>a a>a a>a a>a c>c", ENABLED },
	{ "4 endpoints in 3 equal zones: minimum 2 each exceeds 4",
	  "a=4000 b=4000 c=4000",
	  { "a b c a" }, { NULL }, { NULL },
	  "c: a b c a",
	  DISABLED("Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (4 endpoints, 3 zones)") },
	{ "ratio 0.4 with N 3 has minimum 2 in floating point",
	  "a=4000 b=3000 c=3000",
	  { "a b c" }, { NULL }, { NULL },
	  "c: a b c",
	  DISABLED("Unable to allocate minimum required endpoints to each zone without exceeding overload threshold (3 endpoints, 3 zones)") },
	{ "fewer endpoints than zones",
	  "a=4000 b=4000 c=4000",
	  { "a b" }, { NULL }, { NULL },
	  "c: a b",
	  DISABLED("Insufficient number of endpoints (2 endpoints, 3 zones)") },
	{ "not-ready endpoints are not counted in N",
	  "a=4000 b=4000 c=4000",
	  { "a b c! c!" }, { NULL }, { NULL },
	  "c: a b c! c!",
	  DISABLED("Insufficient number of endpoints (2 endpoints, 3 zones)") },
	{ "a node without a zone: insufficient node information",
	  "a=4000 b=4000 =4000",
	  { "a b a b" }, { NULL }, { NULL },
	  "c: a b a b",
	  DISABLED("Insufficient Node information: allocatable CPU or zone not specified on one or more nodes") },
	{ "a node without CPU: insufficient node information",
	  "a=4000 b=0",
	  { "a b a b" }, { NULL }, { NULL },
	  "c: a b a b",
	  DISABLED("Insufficient Node information: allocatable CPU or zone not specified on one or more nodes") },
	{ "one zone only reports insufficient node information (quirk)",
	  "a=4000 a=8000",
	  { "a a a a" }, { NULL }, { NULL },
	  "c: a a a a",
	  DISABLED("Insufficient Node information: allocatable CPU or zone not specified on one or more nodes") },
	{ "control-plane and not-Ready nodes are ignored",
	  "a=4000 b=4000 c=90000+cp d=90000- =0+cp =0-",
	  { "a b a b" }, { NULL }, { NULL },
	  "c: a>a b>b a>a b>b", ENABLED },
	{ "an endpoint without a zone removes every hint",
	  "a=4000 b=4000",
	  { "a b - b a" }, { NULL }, { "a>a b>b" },
	  "c: a b - b a; u: a b",
	  DISABLED("One or more endpoints do not have a zone specified") },
	{ "a not-ready endpoint keeps its hint (upstream quirk)",
	  "a=4000 b=4000",
	  { NULL }, { "a b a!>b -!" }, { NULL },
	  "u: a>a b>b a!>b -!", ENABLED },
	{ "valid unchanged slices are kept and counted",
	  "a=4000 b=4000",
	  { "a b" }, { NULL }, { "a>a b>b" },
	  "c: a>a b>b; k: a>a b>b", ENABLED },
	{ "an unchanged slice with a ready endpoint without hints is promoted",
	  "a=4000 b=4000",
	  { "a b" }, { NULL }, { "a b>b" },
	  "c: a>a b>b; u: a>a b>b", ENABLED },
	{ "an unchanged slice with an empty hints object is promoted",
	  "a=4000 b=4000",
	  { "a b" }, { NULL }, { "a> b>b" },
	  "c: a>a b>b; u: a>a b>b", ENABLED },
	{ "an unchanged slice hinting an unallocated zone is promoted",
	  "a=4000 b=4000",
	  { "a b" }, { NULL }, { "a>z b>b" },
	  "c: a>a b>b; u: a>a b>b", ENABLED },
	{ "an unchanged slice over a zone's maximum is promoted",
	  "a=4000 b=4000",
	  { NULL }, { NULL }, { "a>a b>b", "a>a a>a" },
	  "u: a>b a>a; k: a>a b>b", ENABLED },
	{ "not-ready endpoints of unchanged slices need no hints",
	  "a=4000 b=4000",
	  { "a b" }, { NULL }, { "a>a b! b>b" },
	  "c: a>a b>b; k: a>a b! b>b", ENABLED },
	{ "surplus and deficit ties go to the smaller zone name",
	  "a=4000 b=4000 c=4000",
	  { "a a a a a a" }, { NULL }, { NULL },
	  "c: a>b a>b a>c a>c a>a a>a", ENABLED },
	{ "a tie between receivers goes to the smaller zone name",
	  "a=2000 b=1000 c=1000",
	  { "a a a a a a a a b b b c c c" }, { NULL }, { NULL },
	  "c: a>b a>a a>a a>a a>a a>a a>a a>a b>b b>b b>b c>c c>c c>c",
	  ENABLED },
	{ "deficits below one half are not filled",
	  "a=20000 b=16000 c=14000",
	  { "a a a a b b b c c c" }, { NULL }, { NULL },
	  "c: a>a a>a a>a a>a b>b b>b b>b c>c c>c c>c", ENABLED },
};
/* clang-format on */

static void test_auto_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(auto_cases); i++) {
		const struct auto_case *c = &auto_cases[i];
		struct fx f;

		fx_init(&f);
		set_nodes(&f, c->nodes);
		set_work(&f, KUBE_ADDR_IPV4, c->create, c->update,
			 c->unchanged);
		hints_apply(f.h, mk_svc(&f, "web", NULL, "Auto", NULL), &f.w);
		CHECK_CASE(c->name, render(&f), c->want);
		CHECK_CASE(c->name, events(&f), c->events);
		fx_release(&f);
	}
}

static void test_zone_minimum_floating_point(void)
{
	double n = 3.0;

	/* 0.4 * 3 = 1.2000000000000002; exact arithmetic would give 1. */
	CHECK_INT_EQ(hints__zone_minimum(0.4 * n), 2);
	CHECK_INT_EQ(hints__zone_minimum(0.3 * n), 1);
	CHECK_INT_EQ(hints__zone_minimum(4.0), 4);
	CHECK_INT_EQ(hints__zone_minimum(3.2), 3);
	CHECK_INT_EQ(hints__zone_minimum((4.0 / 12.0) * 4.0), 2);
}

static void test_no_nodes_yet(void)
{
	struct fx f;
	const char *create[] = {"a b", NULL};

	/* Before the first hints_set_nodes: no ratios. */
	fx_init(&f);
	set_work(&f, KUBE_ADDR_IPV6, create, NULL, NULL);
	hints_apply(f.h, mk_svc(&f, "web", NULL, "auto", NULL), &f.w);
	CHECK_STR_EQ(render(&f), "c: a b");
	CHECK_STR_EQ(events(&f),
		     "W TopologyAwareHintsDisabled: Insufficient Node "
		     "information: allocatable CPU or zone not specified on "
		     "one or more nodes, addressType: IPv6");
	fx_release(&f);
}

/* ---- Several syncs (§6.1, §6.2 step 7) --------------------------------- */

static void sync_auto(struct fx *f, const char *ann, const char *unchanged)
{
	const char *k[] = {unchanged, NULL};
	const char *c[] = {"a b", NULL};

	fx_sync(f);
	set_work(f, KUBE_ADDR_IPV4, unchanged ? NULL : c, NULL,
		 unchanged ? k : NULL);
	hints_apply(f->h, mk_svc(f, "web", NULL, ann, NULL), &f->w);
}

static void test_enabled_event_only_once(void)
{
	struct fx f;

	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	CHECK_STR_EQ(render(&f), "c: a>a b>b");
	CHECK_STR_EQ(events(&f), ENABLED);
	sync_auto(&f, "Auto", "a>a b>b");
	CHECK_STR_EQ(render(&f), "k: a>a b>b");
	CHECK_STR_EQ(events(&f), "");
	/* The mark is per Service: the other family adds no event either. */
	fx_sync(&f);
	set_work(&f, KUBE_ADDR_IPV6, (const char *[]){"a b", NULL}, NULL, NULL);
	hints_apply(f.h, mk_svc(&f, "web", NULL, "Auto", NULL), &f.w);
	CHECK_STR_EQ(events(&f), "");
	/* A failure drops the mark, so the next success announces again. */
	set_nodes(&f, "a=4000");
	sync_auto(&f, "Auto", "a>a b>b");
	CHECK_STR_EQ(render(&f), "u: a b");
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	CHECK_STR_EQ(events(&f), ENABLED);
	fx_release(&f);
}

static void test_disabled_when_annotation_removed(void)
{
	struct fx f;

	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	CHECK_STR_EQ(events(&f), ENABLED);
	sync_auto(&f, NULL, "a>a b>b");
	CHECK_STR_EQ(render(&f), "u: a b");
	CHECK_STR_EQ(events(&f),
		     DISABLED("Topology Aware Hints has been disabled"));
	sync_auto(&f, "Disabled", "a b");
	CHECK_STR_EQ(render(&f), "k: a b");
	CHECK_STR_EQ(events(&f), "");
	fx_release(&f);
}

struct ann_case {
	const char *hints_ann; /* deprecated key, NULL when absent */
	const char *mode_ann;
	bool active;
};

/* clang-format off */
static const struct ann_case ann_cases[] = {
	{ NULL, "Auto", true },	      { NULL, "auto", true },
	{ NULL, "AUTO", false },      { NULL, "PreferZone", false },
	{ NULL, "", false },	      { NULL, NULL, false },
	{ "Auto", NULL, true },	      { "auto", "Disabled", true },
	{ "Disabled", "Auto", false }, { "", "Auto", false },
	{ "true", "auto", false },
};
/* clang-format on */

static void test_annotation_precedence(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(ann_cases); i++) {
		const struct ann_case *c = &ann_cases[i];
		char name[64];
		struct fx f;

		(void)snprintf(name, sizeof(name), "%zu (%s, %s)", i,
			       c->hints_ann ? c->hints_ann : "-",
			       c->mode_ann ? c->mode_ann : "-");
		fx_init(&f);
		set_nodes(&f, "a=4000 b=4000");
		set_work(&f, KUBE_ADDR_IPV4, (const char *[]){"a b", NULL},
			 NULL, NULL);
		hints_apply(
		    f.h,
		    mk_svc(&f, "web", c->hints_ann, c->mode_ann, "PreferClose"),
		    &f.w);
		CHECK_CASE(name, events(&f), c->active ? ENABLED : "");
		/* trafficDistribution only without the annotation. */
		CHECK_CASE(name, render(&f), "c: a>a b>b");
		CHECK_INT_EQ(
		    hints_count_traffic_distribution(f.h, "PreferClose"),
		    c->active ? 0 : 1);
		fx_release(&f);
	}
}

/* ---- Re-queueing (upstream GetOverloadedServices) ---------------------- */

struct seen {
	size_t n;
	char names[4][64];
};

static void collect(void *ctx, const char *ns, const char *name)
{
	struct seen *s = ctx;

	BUG_ON(s->n == ARRAY_SIZE(s->names));
	(void)snprintf(s->names[s->n++], sizeof(s->names[0]), "%s/%s", ns,
		       name);
}

static size_t overloaded(struct fx *f, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	hints_overloaded(f->h, collect, s);
	return s->n;
}

static void test_overloaded_after_node_change(void)
{
	struct fx f;
	struct seen s;

	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL); /* stores a=1 b=1 */
	CHECK_INT_EQ(overloaded(&f, &s), 0);
	/* A new zone without hints for it. */
	set_nodes(&f, "a=4000 b=4000 c=4000");
	CHECK_INT_EQ(overloaded(&f, &s), 1);
	CHECK_STR_EQ(s.names[0], "default/web");
	/* A zone now needs more than its share: 2*0.9/1.2 -> 2 > 1. */
	set_nodes(&f, "a=1000 b=9000");
	CHECK_INT_EQ(overloaded(&f, &s), 1);
	/* Back to equal zones: fine again. */
	set_nodes(&f, "a=4000 b=4000 z=4000+cp");
	CHECK_INT_EQ(overloaded(&f, &s), 0);
	/* No ratios at all: every stored Service is re-queued. */
	set_nodes(&f, "a=4000");
	CHECK_INT_EQ(overloaded(&f, &s), 1);
	/* Its sync removes the hints and the Service from the cache, so it
	 * is not re-queued when the nodes recover (§6.2 quirk). */
	sync_auto(&f, "Auto", "a>a b>b");
	set_nodes(&f, "a=4000 b=4000 c=4000");
	CHECK_INT_EQ(overloaded(&f, &s), 0);
	fx_release(&f);
}

static void test_forget(void)
{
	struct fx f;
	struct seen s;

	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	set_nodes(&f, "a=4000 b=4000 c=4000");
	CHECK_INT_EQ(overloaded(&f, &s), 1);
	hints_forget(f.h, "default", "web");
	hints_forget(f.h, "default", "absent");
	CHECK_INT_EQ(overloaded(&f, &s), 0);
	/* Forgotten: enabling again is announced again. */
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	CHECK_STR_EQ(events(&f), ENABLED);
	fx_release(&f);
}

/* An address type the Service no longer has loses its stored counts
 * (upstream RemoveHints): it is no longer re-queued for them. */
static void test_forget_type(void)
{
	struct fx f;
	struct seen s;

	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	set_nodes(&f, "a=4000 b=4000 c=4000");
	hints_forget_type(f.h, "default", "web", KUBE_ADDR_IPV6);
	CHECK_INT_EQ(overloaded(&f, &s), 1);
	hints_forget_type(f.h, "default", "web", KUBE_ADDR_IPV4);
	CHECK_INT_EQ(overloaded(&f, &s), 0);
	set_nodes(&f, "a=4000 b=4000");
	sync_auto(&f, "Auto", NULL);
	CHECK_STR_EQ(events(&f), ENABLED);
	fx_release(&f);
}

/* ---- trafficDistribution (§6.3) and removal (§6.4) -------------------- */

struct td_case {
	const char *name;
	const char *traffic;
	const char *create[6]; /* NULL-terminated */
	const char *update[6];
	const char *unchanged[6];
	const char *want;
};

/* clang-format off */
static const struct td_case td_cases[] = {
	{ "PreferClose: own zone, not-ready untouched, zone-less none",
	  "PreferClose",
	  { "a@n1 b@n2 a@n3! -@n4" }, { "c@n5 a@n6!>b" }, { NULL },
	  "c: a>a b>b a! -; u: c>c a!>b" },
	{ "PreferSameZone behaves as PreferClose",
	  "PreferSameZone",
	  { "a@n1 b@n2 a@n3! -@n4" }, { NULL }, { NULL },
	  "c: a>a b>b a! -" },
	{ "PreferSameNode adds node hints",
	  "PreferSameNode",
	  { "a@n1 b@n2 a@n3! -@n4 -" }, { NULL }, { NULL },
	  "c: a>a@n1 b>b@n2 a! ->@n4 -" },
	{ "an unchanged slice with correct hints is not promoted",
	  "PreferClose",
	  { NULL }, { NULL }, { "a@n1>a - b@n2! c>c" },
	  "k: a>a - b! c>c" },
	{ "an unchanged slice with correct node hints is not promoted",
	  "PreferSameNode",
	  { NULL }, { NULL }, { "a@n1>a@n1 -@n2>@n2 b! -" },
	  "k: a>a@n1 ->@n2 b! -" },
	{ "unchanged slices with wrong hints are promoted",
	  "PreferClose",
	  { NULL }, { NULL },
	  { "a@n1>a@n1", "a>b", "a>a,b", "a", "->a" },
	  "u: a>a | a>a | a>a | a>a | -" },
	{ "PreferSameNode promotes a slice without node hints",
	  "PreferSameNode",
	  { NULL }, { NULL }, { "a@n1>a", "b>b" },
	  "u: a>a@n1; k: b>b" },
	{ "an unknown value removes hints",
	  "Foo",
	  { "a>a" }, { "b>b" }, { "c>c", "d" },
	  "c: a; u: b | c; k: d" },
	{ "unset removes hints",
	  NULL,
	  { "a" }, { NULL }, { "a!>a" },
	  "c: a; u: a!" },
};
/* clang-format on */

static void test_traffic_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(td_cases); i++) {
		const struct td_case *c = &td_cases[i];
		bool in_effect = c->traffic && strcmp(c->traffic, "Foo") != 0;
		struct fx f;

		fx_init(&f);
		set_work(&f, KUBE_ADDR_IPV4, c->create, c->update,
			 c->unchanged);
		hints_apply(f.h, mk_svc(&f, "web", NULL, NULL, c->traffic),
			    &f.w);
		CHECK_CASE(c->name, render(&f), c->want);
		CHECK_CASE(c->name, events(&f), "");
		CHECK_INT_EQ(hints_count_traffic_distribution(
				 f.h, c->traffic ? c->traffic : ""),
			     in_effect ? 1 : 0);
		fx_release(&f);
	}
}

static void apply_td(struct fx *f, const char *name, const char *ann,
		     const char *traffic)
{
	fx_sync(f);
	set_work(f, KUBE_ADDR_IPV4, (const char *[]){"a b", NULL}, NULL, NULL);
	hints_apply(f->h, mk_svc(f, name, NULL, ann, traffic), &f->w);
}

static void test_traffic_gauge(void)
{
	struct fx f;

	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	apply_td(&f, "s1", NULL, "PreferClose");
	apply_td(&f, "s1", NULL, "PreferClose"); /* counted once */
	apply_td(&f, "s2", NULL, "PreferClose");
	apply_td(&f, "s3", NULL, "PreferSameNode");
	apply_td(&f, "s4", NULL, "Foo");
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferClose"), 2);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameNode"),
		     1);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameZone"),
		     0);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "Foo"), 0);
	apply_td(&f, "s1", NULL, "PreferSameZone");
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferClose"), 1);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameZone"),
		     1);
	apply_td(&f, "s1", NULL, NULL);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameZone"),
		     0);
	/* The annotation takes precedence: no longer in effect. */
	apply_td(&f, "s3", "Auto", "PreferSameNode");
	CHECK_STR_EQ(events(&f), ENABLED);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameNode"),
		     0);
	/* Dropping the annotation: Disabled once, then trafficDistribution
	 * writes its hints without stripping first. */
	apply_td(&f, "s3", NULL, "PreferSameNode");
	CHECK_STR_EQ(events(&f),
		     DISABLED("Topology Aware Hints has been disabled"));
	CHECK_STR_EQ(render(&f), "c: a>a b>b");
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameNode"),
		     1);
	hints_forget(f.h, "default", "s2");
	hints_forget(f.h, "default", "s3");
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferClose"), 0);
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferSameNode"),
		     0);
	fx_release(&f);
}

static void test_strip(void)
{
	struct fx f;
	const char *c[] = {"a>a@n1 b", NULL};
	const char *u[] = {"c!>c", NULL};
	const char *k[] = {"a", "b>", "c!>c", NULL};

	fx_init(&f);
	set_work(&f, KUBE_ADDR_FQDN, c, u, k);
	hints_strip(&f.w);
	CHECK_STR_EQ(render(&f), "c: a b; u: c! | b | c!; k: a");
	CHECK_STR_EQ(events(&f), "");
	fx_release(&f);
}

static void test_many_services(void)
{
	struct fx f;
	struct seen s;
	char name[32];

	/* Enough Services to grow the table; all stay reachable. */
	fx_init(&f);
	set_nodes(&f, "a=4000 b=4000");
	for (int i = 0; i < 300; i++) {
		(void)snprintf(name, sizeof(name), "svc-%d", i);
		apply_td(&f, name, i % 3 ? NULL : "Auto", "PreferClose");
	}
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferClose"), 200);
	CHECK_INT_EQ(overloaded(&f, &s), 0);
	for (int i = 0; i < 300; i += 2) {
		(void)snprintf(name, sizeof(name), "svc-%d", i);
		hints_forget(f.h, "default", name);
	}
	CHECK_INT_EQ(hints_count_traffic_distribution(f.h, "PreferClose"), 100);
	fx_release(&f);
}

/* Threads syncing their own Services while nodes change and the topology
 * worker asks for overloaded Services: run under TSan for the locking. */
struct racer {
	struct hints *h;
	int id;
};

static void ignore(void *ctx, const char *ns, const char *name)
{
	(void)ctx;
	(void)ns;
	(void)name;
}

static void *race(void *arg)
{
	struct racer *r = arg;
	struct fx f;
	char name[32];

	memset(&f, 0, sizeof(f));
	f.h = r->h;
	for (int i = 0; i < 200; i++) {
		(void)snprintf(name, sizeof(name), "svc-%d-%d", r->id, i % 7);
		if (r->id == 0) {
			set_nodes(&f, i % 2 ? "a=4000 b=4000" : "a=4000 c=1");
			hints_overloaded(f.h, ignore, NULL);
			continue;
		}
		apply_td(&f, name, i % 3 ? "Auto" : NULL, "PreferClose");
		if (i % 5 == 0)
			hints_forget(f.h, "default", name);
		(void)hints_count_traffic_distribution(f.h, "PreferClose");
	}
	fx_sync(&f);
	kube_object_unref(f.svc);
	return NULL;
}

static void test_threads(void)
{
	struct hints *h = hints_new();
	struct racer r[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){h, i};
		CHECK_INT_EQ(pthread_create(&th[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		CHECK_INT_EQ(pthread_join(th[i], NULL), 0);
	hints_free(h);
}

static const struct unit_case cases[] = {
    UNIT_CASE(test_auto_table),
    UNIT_CASE(test_zone_minimum_floating_point),
    UNIT_CASE(test_no_nodes_yet),
    UNIT_CASE(test_enabled_event_only_once),
    UNIT_CASE(test_disabled_when_annotation_removed),
    UNIT_CASE(test_annotation_precedence),
    UNIT_CASE(test_overloaded_after_node_change),
    UNIT_CASE(test_forget),
    UNIT_CASE(test_forget_type),
    UNIT_CASE(test_traffic_table),
    UNIT_CASE(test_traffic_gauge),
    UNIT_CASE(test_strip),
    UNIT_CASE(test_many_services),
    UNIT_CASE(test_threads),
};

int main(int argc, char **argv)
{
	return unit_main(argc, argv, "hints", cases, ARRAY_SIZE(cases));
}
