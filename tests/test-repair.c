/*
 * Unit tests of repair: upstream's per-value outcomes and exact event
 * texts (allocator.md §4.3), the "later" Service of a duplicate, node port
 * collection (protocol twins, healthCheckNodePort), values repaired into
 * the record, and the leak counters of §8.6 (third-strike free, reset on
 * use, grace and list time, stale lists, a new state per term).
 */
#include "base.h"
#include "repair.h"
#include "unit.h"

#define T0  1700000000000LL /* list time of the fixtures */
#define OLD (T0 - 3600000)  /* taken an hour before the list */

enum { R_V4 = 0, R_V6, R_PORT };

struct fx {
	struct kube_object *objs[8];
	const struct kube_service *svcs[8];
	size_t n;
	struct repair_range ranges[REPAIR_MAX_RANGES];
	struct allocdb_entry rec[REPAIR_MAX_RANGES][8];
	struct repair_input in;
	struct repair_result res;
};

/* A Service named name, created at second sec, with the given spec. */
static void add_svc(struct fx *f, const char *name, int sec, const char *spec)
{
	char *json = xasprintf(
	    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"%s\","
	    "\"uid\":\"uid-%s\","
	    "\"creationTimestamp\":\"2024-01-01T00:00:%02dZ\"},\"spec\":%s}",
	    name, name, sec, spec);
	struct errbuf eb = ERRBUF_INIT;

	BUG_ON(f->n >= ARRAY_SIZE(f->objs));
	CHECK_OK(kube_object_decode(KUBE_KIND_SERVICE, json, strlen(json),
				    &f->objs[f->n], &eb));
	f->svcs[f->n] = kube_service(f->objs[f->n]);
	f->n++;
	free(json);
}

static void set_range(struct repair_range *r, const char *name,
		      const char *spec)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	if (strchr(spec, '/')) {
		r->kind = REPAIR_RANGE_IP;
		CHECK_OK(cidr_parse(spec, &r->cidr, NULL));
	} else {
		r->kind = REPAIR_RANGE_PORT;
		CHECK_OK(cidr_parse_port_range(spec, &r->ports, NULL));
	}
}

/* ipv4 10.0.0.0/24, ipv6 fd00::/120 (when dual), nodeport 30000-32767. */
static void fx_init(struct fx *f, bool dual)
{
	memset(f, 0, sizeof(*f));
	set_range(&f->ranges[0], "ipv4", "10.0.0.0/24");
	if (dual) {
		set_range(&f->ranges[1], "ipv6", "fd00::/120");
		set_range(&f->ranges[2], "nodeport", "30000-32767");
	} else {
		set_range(&f->ranges[1], "nodeport", "30000-32767");
	}
	f->in.ranges = f->ranges;
	f->in.nranges = dual ? 3 : 2;
	f->in.services = f->svcs;
	f->in.list_ms = T0;
	f->in.fresh = true;
	f->in.now_ms = T0 + 1000;
}

static size_t port_idx(const struct fx *f)
{
	return f->in.nranges - 1;
}

/* A record value of range i, owned by default/owner. */
static void add_rec(struct fx *f, size_t i, uint64_t off, int64_t taken_ms)
{
	struct repair_range *r = &f->ranges[i];
	struct allocdb_entry *e;

	BUG_ON(r->n_record >= ARRAY_SIZE(f->rec[i]));
	e = &f->rec[i][r->n_record++];
	e->offset = off;
	e->ns = (char *)"default";
	e->name = (char *)"owner";
	e->uid = (char *)"";
	e->field = (char *)"spec.clusterIPs[0]";
	e->taken_ms = taken_ms;
	r->record = f->rec[i];
}

static void fx_release(struct fx *f)
{
	repair_result_release(&f->res);
	for (size_t i = 0; i < f->n; i++)
		kube_object_unref(f->objs[i]);
	f->n = 0;
}

static void pass(struct repair *r, struct fx *f)
{
	struct errbuf eb = ERRBUF_INIT;

	repair_result_release(&f->res);
	f->in.n_services = f->n;
	CHECK_OK(repair_pass(r, &f->in, &f->res, &eb));
	CHECK_INT_EQ(f->res.nranges, f->in.nranges);
}

static bool bit(const struct fx *f, size_t i, uint64_t off)
{
	const struct repair_range_result *rr = &f->res.ranges[i];

	return off / 64 < rr->nwords &&
	       ((rr->words[off / 64] >> (off % 64)) & 1);
}

static uint64_t popcount(const struct repair_range_result *rr)
{
	uint64_t n = 0;

	for (size_t i = 0; i < rr->nwords; i++)
		n += (uint64_t)__builtin_popcountll(rr->words[i]);
	return n;
}

static uint64_t errors(const struct repair_range_result *rr)
{
	uint64_t n = 0;

	for (int t = 0; t < REPAIR_ERR__COUNT; t++)
		n += rr->errors[t];
	return n;
}

/* ---- Clean cluster and repairs ------------------------------------------ */

static void test_clean(void)
{
	struct repair *r = repair_new();
	struct allocdb_content c[REPAIR_MAX_RANGES];
	struct fx f;

	fx_init(&f, false);
	add_svc(&f, "a", 1,
		"{\"clusterIP\":\"10.0.0.5\",\"clusterIPs\":[\"10.0.0.5\"]}");
	add_svc(&f, "b", 2,
		"{\"type\":\"NodePort\",\"clusterIP\":\"10.0.0.6\","
		"\"clusterIPs\":[\"10.0.0.6\"],\"ports\":[{\"port\":80,"
		"\"nodePort\":30100}]}");
	add_rec(&f, R_V4, 4, OLD);
	add_rec(&f, R_V4, 5, OLD + 1);
	add_rec(&f, 1, 100, OLD + 2);
	pass(r, &f);
	CHECK_INT_EQ(f.res.n_events, 0);
	CHECK(bit(&f, 0, 4) && bit(&f, 0, 5) && bit(&f, 1, 100));
	CHECK_INT_EQ(popcount(&f.res.ranges[0]), 2);
	CHECK_INT_EQ(popcount(&f.res.ranges[1]), 1);
	CHECK_INT_EQ(f.res.ranges[0].allocated, 2);
	CHECK_INT_EQ(f.res.ranges[0].available, 254 - 2);
	CHECK_INT_EQ(f.res.ranges[1].allocated, 1);
	CHECK_INT_EQ(f.res.ranges[1].available, 2768 - 1);
	CHECK_INT_EQ(errors(&f.res.ranges[0]) + errors(&f.res.ranges[1]), 0);
	CHECK_INT_EQ(f.res.ranges[0].leaks_pending, 0);
	CHECK_INT_EQ(repair_leak_count(r), 0);
	/* The new record names the Services, keeps the record's times. */
	repair_result_contents(&f.res, c);
	CHECK_STR_EQ(c[0].range, "ipv4");
	CHECK_INT_EQ(c[0].n, 2);
	CHECK_INT_EQ(c[0].entries[1].offset, 5);
	CHECK_STR_EQ(c[0].entries[1].name, "b");
	CHECK_STR_EQ(c[0].entries[1].uid, "uid-b");
	CHECK_STR_EQ(c[0].entries[1].field, "spec.clusterIPs[0]");
	CHECK_INT_EQ(c[0].entries[1].taken_ms, OLD + 1);
	CHECK(c[0].entries[1].confirmed);
	CHECK_STR_EQ(c[1].range, "nodeport");
	CHECK_INT_EQ(c[1].n, 1);
	CHECK_STR_EQ(c[1].entries[0].field, "spec.ports[0].nodePort");
	fx_release(&f);
	repair_free(r);
}

static void test_not_allocated_repaired(void)
{
	struct repair *r = repair_new();
	struct fx f;

	fx_init(&f, false);
	add_svc(&f, "a", 1,
		"{\"type\":\"NodePort\",\"clusterIP\":\"10.0.0.5\","
		"\"clusterIPs\":[\"10.0.0.5\"],\"ports\":[{\"port\":80,"
		"\"nodePort\":30100}]}");
	pass(r, &f);
	CHECK_INT_EQ(f.res.n_events, 2);
	CHECK_STR_EQ(f.res.events[0].reason, "ClusterIPNotAllocated");
	CHECK_STR_EQ(f.res.events[0].action, "ClusterIPAllocation");
	CHECK_STR_EQ(f.res.events[0].message,
		     "Cluster IP [IPv4]:10.0.0.5 is not allocated; repairing");
	CHECK_STR_EQ(f.res.events[1].reason, "PortNotAllocated");
	CHECK_STR_EQ(f.res.events[1].action, "PortAllocation");
	CHECK_STR_EQ(f.res.events[1].message,
		     "Port 30100 is not allocated; repairing");
	CHECK_STR_EQ(f.res.events[1].name, "a");
	CHECK_STR_EQ(f.res.events[1].uid, "uid-a");
	CHECK(bit(&f, 0, 4) && bit(&f, 1, 100));
	CHECK_INT_EQ(f.res.ranges[0].errors[REPAIR_ERR_REPAIR], 1);
	CHECK_INT_EQ(f.res.ranges[1].errors[REPAIR_ERR_REPAIR], 1);
	CHECK_INT_EQ(f.res.ranges[0].n_entries, 1);
	CHECK_INT_EQ(f.res.ranges[0].entries[0].taken_ms, T0 + 1000);
	fx_release(&f);
	repair_free(r);
}

/* ---- Per-value outcomes, table-driven --------------------------------- */

struct outcome_case {
	const char *what;
	bool dual;
	const char *spec_a; /* created at second 1 */
	const char *spec_b; /* created at second 2, or NULL */
	const char *reason; /* the one event expected (NotAllocated aside) */
	const char *action;
	const char *message;
	const char *on; /* the Service it regards */
	size_t range;	/* where the error is counted (R_PORT = last) */
	enum repair_error_type type;
};

#define IP4(ip) "{\"clusterIP\":\"" ip "\",\"clusterIPs\":[\"" ip "\"]}"
#define NP(ports)                                                              \
	"{\"type\":\"NodePort\",\"clusterIP\":\"10.0.0.9\","                   \
	"\"clusterIPs\":[\"10.0.0.9\"],\"ports\":[" ports "]}"
#define LB(ports, hc)                                                          \
	"{\"type\":\"LoadBalancer\",\"clusterIP\":\"None\","                   \
	"\"externalTrafficPolicy\":\"Local\","                                 \
	"\"healthCheckNodePort\":" hc ",\"ports\":[" ports "]}"

static const struct outcome_case outcome_cases[] = {
    {"duplicate ip", false, IP4("10.0.0.5"), IP4("10.0.0.5"),
     "ClusterIPAlreadyAllocated", "ClusterIPAllocation",
     "Cluster IP [IPv4]:10.0.0.5 was assigned to multiple services; please "
     "recreate service",
     "b", R_V4, REPAIR_ERR_DUPLICATE},
    {"out of range ip", false, IP4("10.0.1.5"), NULL, "ClusterIPOutOfRange",
     "ClusterIPAllocation",
     "Cluster IP [IPv4]:10.0.1.5 is not within the service CIDR "
     "10.0.0.0/24; please recreate service",
     "a", R_V4, REPAIR_ERR_OUT_OF_RANGE},
    {"network address", false, IP4("10.0.0.0"), NULL, "ClusterIPOutOfRange",
     "ClusterIPAllocation",
     "Cluster IP [IPv4]:10.0.0.0 is not within the service CIDR "
     "10.0.0.0/24; please recreate service",
     "a", R_V4, REPAIR_ERR_OUT_OF_RANGE},
    {"not valid ip", false, IP4("10.0.0.x"), NULL, "ClusterIPNotValid",
     "ClusterIPValidation",
     "Cluster IP 10.0.0.x is not a valid IP; please recreate service", "a",
     R_V4, REPAIR_ERR_INVALID},
    {"family not configured", false, IP4("fd00::5"), NULL, "ClusterIPNotValid",
     "ClusterIPValidation",
     "Cluster IP fd00::5(IPv6) is of ip family that is no longer configured "
     "on cluster; please recreate service",
     "a", R_V4, REPAIR_ERR_INVALID},
    {"out of range port", false, NP("{\"port\":80,\"nodePort\":8080}"), NULL,
     "PortOutOfRange", "PortAllocation",
     "Port 8080 is not within the port range 30000-32767; please recreate "
     "service",
     "a", R_PORT, REPAIR_ERR_OUT_OF_RANGE},
    {"duplicate port", false, LB("{\"port\":80,\"nodePort\":30100}", "0"),
     LB("{\"port\":81,\"nodePort\":30100}", "0"), "PortAlreadyAllocated",
     "PortAllocation",
     "Port 30100 was assigned to multiple services; please recreate service",
     "b", R_PORT, REPAIR_ERR_DUPLICATE},
    {"tcp and udp twins", false,
     LB("{\"port\":53,\"protocol\":\"TCP\",\"nodePort\":30053},"
	"{\"port\":53,\"protocol\":\"UDP\",\"nodePort\":30053}",
	"0"),
     NULL, NULL, NULL, NULL, NULL, R_PORT, REPAIR_ERR__COUNT},
    {"same protocol twice", false,
     LB("{\"port\":53,\"nodePort\":30053},{\"port\":54,\"nodePort\":30053}",
	"0"),
     NULL, "PortAlreadyAllocated", "PortAllocation",
     "Port 30053 was assigned to multiple services; please recreate service",
     "a", R_PORT, REPAIR_ERR_DUPLICATE},
    {"health check port", false,
     LB("{\"port\":80,\"nodePort\":30100}", "30200"),
     LB("{\"port\":80,\"nodePort\":30101}", "30200"), "PortAlreadyAllocated",
     "PortAllocation",
     "Port 30200 was assigned to multiple services; please recreate service",
     "b", R_PORT, REPAIR_ERR_DUPLICATE},
    {"health check on a udp port", false,
     LB("{\"port\":53,\"protocol\":\"UDP\",\"nodePort\":30053}", "30053"), NULL,
     NULL, NULL, NULL, NULL, R_PORT, REPAIR_ERR__COUNT},
    {"health check on a tcp port", false,
     LB("{\"port\":53,\"nodePort\":30053}", "30053"), NULL,
     "PortAlreadyAllocated", "PortAllocation",
     "Port 30053 was assigned to multiple services; please recreate service",
     "a", R_PORT, REPAIR_ERR_DUPLICATE},
    {"duplicate ipv6 in dual stack", true,
     "{\"clusterIP\":\"10.0.0.5\",\"clusterIPs\":[\"10.0.0.5\",\"fd00::5\"]}",
     "{\"clusterIP\":\"fd00::5\",\"clusterIPs\":[\"fd00::5\"]}",
     "ClusterIPAlreadyAllocated", "ClusterIPAllocation",
     "Cluster IP [IPv6]:fd00::5 was assigned to multiple services; please "
     "recreate service",
     "b", R_V6, REPAIR_ERR_DUPLICATE},
    {"headless and external name", false, "{\"clusterIP\":\"None\"}",
     "{\"type\":\"ExternalName\",\"externalName\":\"example.com\"}", NULL, NULL,
     NULL, NULL, R_V4, REPAIR_ERR__COUNT},
};

static bool is_not_allocated(const struct repair_event *e)
{
	return strstr(e->reason, "NotAllocated") != NULL;
}

static void check_outcome(const struct outcome_case *c)
{
	struct repair *r = repair_new();
	const struct repair_event *got = NULL;
	size_t nother = 0;
	struct fx f;
	size_t ri;

	fx_init(&f, c->dual);
	/* b first: the order of the list must not matter. */
	if (c->spec_b)
		add_svc(&f, "b", 2, c->spec_b);
	add_svc(&f, "a", 1, c->spec_a);
	pass(r, &f);
	for (size_t i = 0; i < f.res.n_events; i++) {
		if (is_not_allocated(&f.res.events[i]))
			continue;
		nother++;
		got = &f.res.events[i];
	}
	ri = c->range == R_PORT ? port_idx(&f) : c->range;
	if (!c->reason) {
		CHECK_INT_EQ(nother, 0);
		fx_release(&f);
		repair_free(r);
		return;
	}
	CHECK_INT_EQ(nother, 1);
	CHECK_STR_EQ(got->reason, c->reason);
	CHECK_STR_EQ(got->action, c->action);
	CHECK_STR_EQ(got->message, c->message);
	CHECK_STR_EQ(got->ns, "default");
	CHECK_STR_EQ(got->name, c->on);
	CHECK_INT_EQ(f.res.ranges[ri].errors[c->type], 1);
	CHECK_INT_EQ(errors(&f.res.ranges[ri]) -
			 f.res.ranges[ri].errors[REPAIR_ERR_REPAIR],
		     1);
	fx_release(&f);
	repair_free(r);
}

static void test_outcomes(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(outcome_cases); i++) {
		fprintf(stderr, "# case %s\n", outcome_cases[i].what);
		check_outcome(&outcome_cases[i]);
	}
}

/* Same creation time: namespace then name decide who is "later". */
static void test_duplicate_tie_break(void)
{
	struct repair *r = repair_new();
	struct fx f;

	fx_init(&f, false);
	add_svc(&f, "z", 1, IP4("10.0.0.5"));
	add_svc(&f, "m", 1, IP4("10.0.0.5"));
	add_rec(&f, R_V4, 4, OLD);
	pass(r, &f);
	CHECK_INT_EQ(f.res.n_events, 1);
	CHECK_STR_EQ(f.res.events[0].name, "z");
	CHECK_STR_EQ(f.res.ranges[0].entries[0].name, "m");
	fx_release(&f);
	repair_free(r);
}

static void test_dual_stack(void)
{
	struct repair *r = repair_new();
	struct fx f;

	fx_init(&f, true);
	add_svc(&f, "a", 1,
		"{\"clusterIP\":\"10.0.0.5\","
		"\"clusterIPs\":[\"10.0.0.5\",\"fd00::5\"]}");
	add_rec(&f, R_V4, 4, OLD);
	add_rec(&f, R_V6, 4, OLD);
	pass(r, &f);
	CHECK_INT_EQ(f.res.n_events, 0);
	CHECK(bit(&f, R_V4, 4));
	CHECK(bit(&f, R_V6, 4));
	CHECK_INT_EQ(f.res.ranges[R_V4].allocated, 1);
	CHECK_INT_EQ(f.res.ranges[R_V6].allocated, 1);
	CHECK_STR_EQ(f.res.ranges[R_V6].name, "ipv6");
	CHECK_STR_EQ(f.res.ranges[R_V6].entries[0].field, "spec.clusterIPs[1]");
	fx_release(&f);
	repair_free(r);
}

static void test_headless_external_name(void)
{
	struct repair *r = repair_new();
	struct fx f;

	fx_init(&f, false);
	add_svc(&f, "h", 1,
		"{\"clusterIP\":\"None\",\"clusterIPs\":[\"None\"]}");
	add_svc(&f, "e", 2,
		"{\"type\":\"ExternalName\",\"externalName\":\"x.example\"}");
	pass(r, &f);
	CHECK_INT_EQ(f.res.n_events, 0);
	CHECK_INT_EQ(f.res.ranges[0].allocated, 0);
	CHECK_INT_EQ(f.res.ranges[1].allocated, 0);
	CHECK_INT_EQ(f.res.ranges[0].n_entries, 0);
	fx_release(&f);
	repair_free(r);
}

/* ---- Leaks --------------------------------------------------------------- */

struct leak_step {
	bool in_use; /* a Service uses 10.0.0.9 in this pass */
	bool fresh;
	bool kept;    /* the bit is set after the pass */
	int counter;  /* after the pass, -1 = none */
	size_t freed; /* values freed by this pass */
};

static void run_leak_steps(const struct leak_step *s, size_t n,
			   int64_t taken_ms, int64_t grace_ms)
{
	struct repair *r = repair_new();
	struct fx f;

	for (size_t i = 0; i < n; i++) {
		fprintf(stderr, "# pass %zu\n", i + 1);
		fx_init(&f, false);
		f.in.fresh = s[i].fresh;
		f.in.grace_ms = grace_ms;
		add_rec(&f, R_V4, 8, taken_ms);
		if (s[i].in_use)
			add_svc(&f, "a", 1, IP4("10.0.0.9"));
		pass(r, &f);
		CHECK_INT_EQ(bit(&f, 0, 8), s[i].kept);
		CHECK_INT_EQ(f.res.ranges[0].n_entries, s[i].kept ? 1 : 0);
		CHECK_INT_EQ(repair_leak_counter(r, "ipv4", 8), s[i].counter);
		CHECK_INT_EQ(f.res.ranges[0].n_freed, s[i].freed);
		CHECK_INT_EQ(f.res.ranges[0].errors[REPAIR_ERR_LEAK],
			     s[i].freed);
		if (s[i].freed)
			CHECK_INT_EQ(f.res.ranges[0].freed[0], 8);
		CHECK_INT_EQ(f.res.n_events, 0);
		fx_release(&f);
	}
	repair_free(r);
}

static void test_leak_third_pass(void)
{
	static const struct leak_step s[] = {
	    {false, true, true, 1, 0},
	    {false, true, true, 0, 0},
	    {false, true, false, -1, 1},
	};

	/* The record no longer holds a freed value, so three passes. */
	run_leak_steps(s, ARRAY_SIZE(s), OLD, 0);
}

static void test_leak_reset_by_use(void)
{
	static const struct leak_step s[] = {
	    {false, true, true, 1, 0}, {false, true, true, 0, 0},
	    {true, true, true, -1, 0}, {false, true, true, 1, 0},
	    {false, true, true, 0, 0}, {false, true, false, -1, 1},
	};

	run_leak_steps(s, ARRAY_SIZE(s), OLD, 0);
}

static void test_leak_stale_list(void)
{
	static const struct leak_step s[] = {
	    {false, false, true, -1, 0}, {false, true, true, 1, 0},
	    {false, false, true, 1, 0},	 {false, false, true, 1, 0},
	    {false, true, true, 0, 0},	 {false, false, true, 0, 0},
	    {false, true, false, -1, 1},
	};
	struct repair *r = repair_new();
	struct fx f;

	run_leak_steps(s, ARRAY_SIZE(s), OLD, 0);
	fx_init(&f, false);
	f.in.fresh = false;
	add_rec(&f, R_V4, 8, OLD);
	pass(r, &f);
	CHECK_INT_EQ(f.res.ranges[0].deferred, 1);
	CHECK_INT_EQ(f.res.ranges[0].leaks_pending, 1);
	fx_release(&f);
	repair_free(r);
}

static void test_leak_not_candidate(void)
{
	static const struct leak_step never[] = {
	    {false, true, true, -1, 0},
	    {false, true, true, -1, 0},
	    {false, true, true, -1, 0},
	    {false, true, true, -1, 0},
	};
	static const struct leak_step first[] = {
	    {false, true, true, 1, 0},
	};
	static const struct {
		int64_t taken_ms;
		int64_t grace_ms;
		bool candidate;
	} cases[] = {
	    {T0 + 5, 0, false},		  /* taken after the list */
	    {T0, 0, false},		  /* at the list time */
	    {T0 - 30000, 0, false},	  /* inside the grace period */
	    {T0 - 60000, 0, false},	  /* exactly the grace period */
	    {T0 - 60001, 0, true},	  /* just older */
	    {T0 - 30000, 1000, false},	  /* grace below the minimum */
	    {T0 - 100000, 120000, false}, /* a longer grace period */
	    {T0 - 120001, 120000, true},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fprintf(stderr, "# case %zu\n", i);
		if (cases[i].candidate)
			run_leak_steps(first, 1, cases[i].taken_ms,
				       cases[i].grace_ms);
		else
			run_leak_steps(never, ARRAY_SIZE(never),
				       cases[i].taken_ms, cases[i].grace_ms);
	}
}

static void test_new_term_starts_empty(void)
{
	struct repair *r = repair_new();
	struct fx f;

	for (int i = 0; i < 2; i++) {
		fx_init(&f, false);
		add_rec(&f, R_V4, 8, OLD);
		pass(r, &f);
		fx_release(&f);
	}
	CHECK_INT_EQ(repair_leak_counter(r, "ipv4", 8), 0);
	repair_free(r);
	r = repair_new();
	CHECK_INT_EQ(repair_leak_count(r), 0);
	CHECK_INT_EQ(repair_leak_counter(r, "ipv4", 8), -1);
	fx_init(&f, false);
	add_rec(&f, R_V4, 8, OLD);
	pass(r, &f);
	CHECK(bit(&f, 0, 8));
	CHECK_INT_EQ(repair_leak_counter(r, "ipv4", 8), 1);
	fx_release(&f);
	repair_free(r);
	repair_free(NULL);
}

/* Leaks of node ports, and a young value kept beside them. */
static void test_port_leak(void)
{
	struct repair *r = repair_new();
	struct fx f;

	for (int i = 1; i <= 3; i++) {
		fx_init(&f, false);
		add_rec(&f, 1, 200, OLD);
		add_rec(&f, 1, 201, T0 - 1000);
		pass(r, &f);
		CHECK_INT_EQ(bit(&f, 1, 200), i < 3);
		CHECK(bit(&f, 1, 201));
		CHECK_INT_EQ(f.res.ranges[1].leaks_pending, i < 3 ? 1 : 0);
		CHECK_INT_EQ(f.res.ranges[1].n_freed, i == 3 ? 1 : 0);
		CHECK_INT_EQ(f.res.ranges[1].allocated, i < 3 ? 2 : 1);
		fx_release(&f);
	}
	repair_free(r);
}

/* ---- Bad input ----------------------------------------------------------- */

static void test_bad_input(void)
{
	struct repair *r = repair_new();
	struct errbuf eb = ERRBUF_INIT;
	struct fx f;

	/* Two passes give a counter that a failed pass must not touch. */
	for (int i = 0; i < 2; i++) {
		fx_init(&f, false);
		add_rec(&f, R_V4, 8, OLD);
		pass(r, &f);
		fx_release(&f);
	}
	fx_init(&f, false);
	add_rec(&f, R_V4, 8, OLD);
	add_rec(&f, R_V4, 254, OLD);
	CHECK_ERR(repair_pass(r, &f.in, &f.res, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "repair: range ipv4: offset 254 >= 254");
	CHECK_INT_EQ(f.res.nranges, 0);
	CHECK_INT_EQ(repair_leak_counter(r, "ipv4", 8), 0);
	f.ranges[0].n_record = 1;
	set_range(&f.ranges[0], "nodeport2", "1000-2000");
	CHECK_ERR(repair_pass(r, &f.in, &f.res, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "second port range");
	f.in.nranges = 0;
	CHECK_ERR(repair_pass(r, &f.in, &f.res, &eb), ERR_INVALID);
	fx_init(&f, true);
	set_range(&f.ranges[1], "ipv4b", "10.1.0.0/24");
	CHECK_ERR(repair_pass(r, &f.in, &f.res, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "repair: range ipv4b: name or family of ipv4");
	CHECK_INT_EQ(repair_leak_counter(r, "ipv4", 8), 0);
	CHECK_STR_EQ(repair_error_type_name(REPAIR_ERR_OUT_OF_RANGE),
		     "outOfRange");
	fx_release(&f);
	repair_free(r);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_clean),
	    UNIT_CASE(test_not_allocated_repaired),
	    UNIT_CASE(test_outcomes),
	    UNIT_CASE(test_duplicate_tie_break),
	    UNIT_CASE(test_dual_stack),
	    UNIT_CASE(test_headless_external_name),
	    UNIT_CASE(test_leak_third_pass),
	    UNIT_CASE(test_leak_reset_by_use),
	    UNIT_CASE(test_leak_stale_list),
	    UNIT_CASE(test_leak_not_candidate),
	    UNIT_CASE(test_new_term_starts_empty),
	    UNIT_CASE(test_port_leak),
	    UNIT_CASE(test_bad_input),
	};

	return unit_main(argc, argv, "repair", cases, ARRAY_SIZE(cases));
}
