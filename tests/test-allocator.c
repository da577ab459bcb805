/*
 * Unit tests of allocator (allocator.md §8.4, §8.5): admission against
 * the real bitmaps and a real sqlite record (":memory:" or a temp file),
 * the watch path, restart, and concurrent admissions (run under TSan).
 * Requests are built directly as struct webhook_request with a Service
 * decoded from JSON written with ' for ".
 */
#include "base.h"
#include "allocator.h"

#include <pthread.h>
#include <unistd.h>

#include "allocdb.h"
#include "repair.h"
#include "kube.h"
#include "unit.h"
#include "webhook.h"

#define V4   "10.96.0.0/16"
#define DUAL "10.96.0.0/16,fd00::/108"

/* ---- helpers --------------------------------------------------------- */

static struct allocator *mk(const char *cidrs, const char *path)
{
	struct allocator_options o = {.service_cidrs = cidrs,
				      .db_path = path ? path : ":memory:"};
	struct errbuf eb = ERRBUF_INIT;
	struct allocator *a = NULL;

	if (allocator_new(&o, &a, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "allocator_new: %s", eb.msg);
	return a;
}

static struct kube_object *svc_obj(const char *name, const char *uid,
				   const char *spec)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = NULL;
	char *json = xasprintf("{'metadata':{'name':'%s','namespace':'default',"
			       "'uid':'%s'},'spec':%s}",
			       name, uid, spec);

	for (char *s = json; *s; s++)
		if (*s == '\'')
			*s = '"';
	if (kube_object_decode(KUBE_KIND_SERVICE, json, strlen(json), &o,
			       &eb) != ERR_OK) {
		free(json);
		unit_fail(__FILE__, __LINE__, "decode: %s", eb.msg);
	}
	free(json);
	return o;
}

static void req_init(struct webhook_request *r, enum webhook_operation op,
		     const char *name, const char *spec, const char *old_spec)
{
	memset(r, 0, sizeof(*r));
	r->uid = xstrdup("req-1");
	r->kind_group = xstrdup("");
	r->kind_version = xstrdup("v1");
	r->kind = xstrdup("Service");
	r->resource_group = xstrdup("");
	r->resource_version = xstrdup("v1");
	r->resource = xstrdup("services");
	r->sub_resource = xstrdup("");
	r->name = xstrdup(name);
	r->namespace = xstrdup("default");
	r->operation = op;
	r->object = svc_obj(name, op == WEBHOOK_OP_UPDATE ? "u-1" : "", spec);
	if (old_spec)
		r->old_object = svc_obj(name, "u-1", old_spec);
}

/* Admits and returns the patch operations ("" for none); denial details
 * land in *resp, which the caller releases. */
static void admit(struct allocator *a, enum webhook_operation op,
		  const char *name, const char *spec, const char *old_spec,
		  bool dry_run, struct webhook_response *resp)
{
	struct errbuf eb = ERRBUF_INIT;
	struct webhook_request r;

	req_init(&r, op, name, spec, old_spec);
	r.dry_run = dry_run;
	webhook_response_init(resp);
	if (allocator_admit(a, &r, resp, &eb) != ERR_OK) {
		webhook_request_release(&r);
		unit_fail(__FILE__, __LINE__, "admit: %s", eb.msg);
	}
	webhook_request_release(&r);
}

/* The JSON value the patch writes at path, or NULL; free() it. */
static char *patch_value(const struct webhook_response *r, const char *path)
{
	char *key = xasprintf("\"path\":\"%s\",\"value\":", path);
	const char *s = strstr(r->patch.ops.data, key);
	const char *end;

	s = s ? s + strlen(key) : NULL;
	free(key);
	if (!s)
		return NULL;
	end = strchr(s, '}');
	return xstrndup(s, (size_t)(end - s));
}

static uint64_t used(struct allocator *a, enum allocator_range r)
{
	struct allocator_counts c = {0};

	if (!allocator_counts(a, r, &c))
		return UINT64_MAX;
	return c.used;
}

#define CLUSTER_IP "{'ports':[{'port':80}],'selector':{'app':'x'}}"
#define NODE_PORT                                                              \
	"{'type':'NodePort','selector':{'app':'x'},'ports':["                  \
	"{'name':'dns-tcp','port':53,'protocol':'TCP'},"                       \
	"{'name':'dns-udp','port':53,'protocol':'UDP'}]}"

/* ---- cases ----------------------------------------------------------- */

static void test_flags_named_in_errors(void)
{
	struct allocator_options o = {.service_cidrs = "10.0.0.0/8",
				      .db_path = ":memory:"};
	struct errbuf eb = ERRBUF_INIT;
	struct allocator *a = NULL;

	CHECK_ERR(allocator_new(&o, &a, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--service-cluster-ip-range");
	o.service_cidrs = V4;
	o.node_port_range = "32767-30000";
	CHECK_ERR(allocator_new(&o, &a, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--service-node-port-range");
	CHECK_NULL(a);
}

static void test_single_stack_cluster_ip(void)
{
	char *dir = unit_tmpdir("test-allocator");
	char *path = xasprintf("%s/db", dir);
	struct allocator *a = mk(V4, path);
	struct webhook_response r;
	struct allocdb_range rg[] = {{"ipv4", "10.96.0.0/16", 65534},
				     {"nodeport", "30000-32767", 2768}};
	struct allocdb_options dbo = {.path = path, .ranges = rg, .nranges = 2};
	struct allocdb_entry *e = NULL;
	struct allocdb *db = NULL;
	size_t n = 0;
	char *ip, *ips;

	admit(a, WEBHOOK_OP_CREATE, "web", CLUSTER_IP, NULL, false, &r);
	CHECK(r.allowed);
	ip = patch_value(&r, "/spec/clusterIP");
	ips = patch_value(&r, "/spec/clusterIPs");
	CHECK_NOT_NULL(ip);
	CHECK_NOT_NULL(ips);
	CHECK(str_has_prefix(ip, "\"10.96."));
	CHECK_CONTAINS(ips, ip);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	CHECK_INT_EQ(allocator_tentative(a), 1);
	allocator_free(a);
	CHECK_OK(allocdb_new(&dbo, &db, NULL));
	CHECK_OK(allocdb_list(db, "ipv4", &e, &n, NULL));
	CHECK_INT_EQ(n, 1);
	CHECK_STR_EQ(e[0].name, "web");
	CHECK_STR_EQ(e[0].field, "spec.clusterIPs[0]");
	CHECK(!e[0].confirmed);
	allocdb_entries_free(e, n);
	allocdb_free(db);
	free(ip);
	free(ips);
	webhook_response_release(&r);
	free(path);
	unit_rmtree(dir);
}

static void test_dual_stack(void)
{
	struct allocator *a = mk(DUAL, NULL);
	struct webhook_response r;
	enum kube_ip_family f[2];
	char *ips;

	CHECK_INT_EQ(allocator_families(a, f), 2);
	CHECK_INT_EQ(f[1], KUBE_FAMILY_IPV6);
	admit(a, WEBHOOK_OP_CREATE, "web",
	      "{'ipFamilyPolicy':'RequireDualStack','ports':[{'port':80}],"
	      "'selector':{'app':'x'}}",
	      NULL, false, &r);
	ips = patch_value(&r, "/spec/clusterIPs");
	CHECK_NOT_NULL(ips);
	CHECK_CONTAINS(ips, "[\"10.96.");
	CHECK_CONTAINS(ips, "\"fd00::");
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV6), 1);
	free(ips);
	webhook_response_release(&r);
	allocator_free(a);
}

static void test_node_port_shared_across_protocols(void)
{
	struct allocator *a = mk(V4, NULL);
	struct webhook_response r;
	char *p0, *p1;

	admit(a, WEBHOOK_OP_CREATE, "dns", NODE_PORT, NULL, false, &r);
	p0 = patch_value(&r, "/spec/ports/0/nodePort");
	p1 = patch_value(&r, "/spec/ports/1/nodePort");
	CHECK_NOT_NULL(p0);
	CHECK_NOT_NULL(p1);
	CHECK_STR_EQ(p0, p1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	free(p0);
	free(p1);
	webhook_response_release(&r);
	allocator_free(a);
}

static void test_explicit_taken_denied_without_leak(void)
{
	struct allocator *a = mk(V4, NULL);
	struct webhook_response r;

	admit(a, WEBHOOK_OP_CREATE, "a",
	      "{'type':'NodePort','clusterIP':'10.96.0.10','clusterIPs':["
	      "'10.96.0.10'],'ports':[{'port':80,'nodePort':30100}]}",
	      NULL, false, &r);
	CHECK(r.allowed);
	webhook_response_release(&r);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);

	admit(a, WEBHOOK_OP_CREATE, "b",
	      "{'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10'],"
	      "'ports':[{'port':80}]}",
	      NULL, false, &r);
	CHECK(!r.allowed);
	CHECK_INT_EQ(r.code, 422);
	CHECK_STR_EQ(r.reason, "Invalid");
	CHECK_CONTAINS(r.message, "Service \"b\" is invalid: spec.clusterIPs");
	CHECK_CONTAINS(r.message, "failed to allocate IP 10.96.0.10: "
				  "provided IP is already allocated");
	webhook_response_release(&r);

	/* The free IP reserved first is rolled back when the port fails. */
	admit(a, WEBHOOK_OP_CREATE, "c",
	      "{'type':'NodePort','clusterIP':'10.96.0.11','clusterIPs':["
	      "'10.96.0.11'],'ports':[{'port':80,'nodePort':30100}]}",
	      NULL, false, &r);
	CHECK(!r.allowed);
	CHECK_INT_EQ(r.code, 422);
	CHECK_CONTAINS(r.message, "spec.ports[0].nodePort: Invalid value: "
				  "30100: provided port is already allocated");
	webhook_response_release(&r);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	CHECK_INT_EQ(allocator_tentative(a), 2);
	allocator_free(a);
}

static void test_range_full(void)
{
	struct allocator *a = mk("10.96.0.0/29", NULL);
	struct webhook_response r;
	char name[16];

	for (int i = 0; i < 6; i++) {
		(void)snprintf(name, sizeof(name), "s%d", i);
		admit(a, WEBHOOK_OP_CREATE, name, CLUSTER_IP, NULL, false, &r);
		CHECK(r.allowed);
		CHECK(r.patch.n > 0);
		webhook_response_release(&r);
	}
	admit(a, WEBHOOK_OP_CREATE, "full",
	      "{'type':'NodePort','ports':[{'port':80}]}", NULL, false, &r);
	CHECK(!r.allowed);
	CHECK_INT_EQ(r.code, 500);
	CHECK_STR_EQ(r.reason, "InternalError");
	CHECK_CONTAINS(r.message, ALLOCATOR_MSG_IP_FULL);
	webhook_response_release(&r);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 6);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	CHECK_INT_EQ(allocator_tentative(a), 6);
	allocator_free(a);
}

static void test_dry_run_persists_nothing(void)
{
	char *dir = unit_tmpdir("test-allocator");
	char *path = xasprintf("%s/db", dir);
	struct allocator *a = mk(V4, path);
	struct webhook_response r;

	admit(a, WEBHOOK_OP_CREATE, "dns", NODE_PORT, NULL, true, &r);
	CHECK(r.allowed);
	CHECK(r.patch.n >= 4);
	webhook_response_release(&r);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 0);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	CHECK_INT_EQ(allocator_tentative(a), 0);
	allocator_free(a);
	a = mk(V4, path);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 0);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	allocator_free(a);
	free(path);
	unit_rmtree(dir);
}

static void test_repeated_create_same_values(void)
{
	struct allocator *a = mk(DUAL, NULL);
	struct webhook_response r1, r2, r3;
	char *spec;

	admit(a, WEBHOOK_OP_CREATE, "dns", NODE_PORT, NULL, false, &r1);
	admit(a, WEBHOOK_OP_CREATE, "dns", NODE_PORT, NULL, false, &r2);
	CHECK(r1.patch.n > 0);
	CHECK_STR_EQ(r1.patch.ops.data, r2.patch.ops.data);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);

	/* Re-invocation with our values now explicit: nothing new. */
	{
		char *ip = patch_value(&r1, "/spec/clusterIP");
		char *np = patch_value(&r1, "/spec/ports/0/nodePort");

		spec = xasprintf("{'type':'NodePort','clusterIP':%s,"
				 "'clusterIPs':[%s],'ports':["
				 "{'port':53,'protocol':'TCP','nodePort':%s},"
				 "{'port':53,'protocol':'UDP','nodePort':%s}]}",
				 ip, ip, np, np);
		for (char *s = spec; *s; s++)
			if (*s == '"')
				*s = '\'';
		free(ip);
		free(np);
	}
	admit(a, WEBHOOK_OP_CREATE, "dns", spec, NULL, false, &r3);
	CHECK(r3.allowed);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	free(spec);
	webhook_response_release(&r1);
	webhook_response_release(&r2);
	webhook_response_release(&r3);
	allocator_free(a);
}

/* The stored object after a CREATE answered with a NodePort patch. */
#define STORED                                                                 \
	"{'type':'NodePort','clusterIP':'10.96.5.5','clusterIPs':["            \
	"'10.96.5.5'],'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack',"   \
	"'selector':{'app':'x'},'ports':["                                     \
	"{'name':'dns-tcp','port':53,'protocol':'TCP','nodePort':30500},"      \
	"{'name':'dns-udp','port':53,'protocol':'UDP','nodePort':30500}]}"
/* The same Service with two port numbers (see test_update_…). */
#define STORED2                                                                \
	"{'type':'NodePort','clusterIP':'10.96.5.5','clusterIPs':["            \
	"'10.96.5.5'],'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack',"   \
	"'selector':{'app':'x'},'ports':["                                     \
	"{'name':'http','port':80,'protocol':'TCP','nodePort':30500},"         \
	"{'name':'dns','port':53,'protocol':'UDP','nodePort':30501}]}"
#define APPLIED2                                                               \
	"{'type':'NodePort','selector':{'app':'x'},'ports':["                  \
	"{'name':'http','port':80,'protocol':'TCP'},"                          \
	"{'name':'dns','port':53,'protocol':'UDP'}]}"

static struct kube_service *stored(const char *spec)
{
	return (struct kube_service *)svc_obj("dns", "u-1", spec);
}

static void test_update_apply_style_allocates_nothing(void)
{
	struct allocator *a = mk(V4, NULL);
	struct kube_service *s = stored(STORED2);
	struct webhook_response r;
	char *v;

	CHECK_OK(allocator_observe(a, NULL, s));
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 2);
	admit(a, WEBHOOK_OP_UPDATE, "dns", APPLIED2, STORED2, false, &r);
	CHECK(r.allowed);
	v = patch_value(&r, "/spec/ports/1/nodePort");
	CHECK_NOT_NULL(v);
	CHECK_STR_EQ(v, "30501");
	free(v);
	v = patch_value(&r, "/spec/clusterIP");
	CHECK_NOT_NULL(v);
	CHECK_STR_EQ(v, "\"10.96.5.5\"");
	free(v);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 2);
	CHECK_INT_EQ(allocator_tentative(a), 0);
	webhook_response_release(&r);
	kube_object_unref(&s->obj);
	allocator_free(a);
}

static void test_observe_confirms_and_delete_releases(void)
{
	struct allocator *a = mk(V4, NULL);
	struct webhook_response r;
	struct kube_service *s;
	char *ip, *np, *spec;

	admit(a, WEBHOOK_OP_CREATE, "dns", NODE_PORT, NULL, false, &r);
	CHECK_INT_EQ(allocator_tentative(a), 2);
	ip = patch_value(&r, "/spec/clusterIP");
	np = patch_value(&r, "/spec/ports/0/nodePort");
	spec = xasprintf("{'type':'NodePort','clusterIP':%s,'clusterIPs':[%s],"
			 "'ports':[{'port':53,'protocol':'TCP','nodePort':%s},"
			 "{'port':53,'protocol':'UDP','nodePort':%s}]}",
			 ip, ip, np, np);
	for (char *c = spec; *c; c++)
		if (*c == '"')
			*c = '\'';
	s = stored(spec);
	CHECK_OK(allocator_observe(a, NULL, s));
	CHECK_INT_EQ(allocator_tentative(a), 0);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	CHECK_OK(allocator_observe(a, s, NULL));
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 0);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	kube_object_unref(&s->obj);
	free(spec);
	free(ip);
	free(np);
	webhook_response_release(&r);
	allocator_free(a);
}

static void test_observe_type_change_releases_ports(void)
{
	struct allocator *a = mk(V4, NULL);
	struct kube_service *old = stored(STORED);
	struct kube_service *new =
	    stored("{'clusterIP':'10.96.5.5','clusterIPs':['10.96.5.5'],"
		   "'ports':[{'port':53,'protocol':'TCP'}]}");
	struct kube_service *other = (struct kube_service *)svc_obj(
	    "other", "u-2",
	    "{'type':'NodePort','clusterIP':'10.96.5.6','clusterIPs':["
	    "'10.96.5.6'],'ports':[{'port':80,'nodePort':30500}]}");

	CHECK_OK(allocator_observe(a, NULL, old));
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	CHECK_OK(allocator_observe(a, old, new));
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	/* A duplicate held by another Service is not released by this one. */
	CHECK_OK(allocator_observe(a, NULL, other));
	CHECK_OK(allocator_observe(a, old, new));
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	kube_object_unref(&old->obj);
	kube_object_unref(&new->obj);
	kube_object_unref(&other->obj);
	allocator_free(a);
}

static void test_restart_keeps_values(void)
{
	char *dir = unit_tmpdir("test-allocator");
	char *path = xasprintf("%s/db", dir);
	struct allocator *a = mk(DUAL, path);
	struct webhook_response r;
	uint64_t *w1, *w2;
	size_t n1, n2;

	admit(a, WEBHOOK_OP_CREATE, "dns", NODE_PORT, NULL, false, &r);
	webhook_response_release(&r);
	admit(a, WEBHOOK_OP_CREATE, "web",
	      "{'ipFamilyPolicy':'PreferDualStack','ports':[{'port':80}]}",
	      NULL, false, &r);
	webhook_response_release(&r);
	w1 = allocator_snapshot(a, ALLOCATOR_IPV4, &n1);
	allocator_free(a);
	a = mk(DUAL, path);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 2);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV6), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	w2 = allocator_snapshot(a, ALLOCATOR_IPV4, &n2);
	CHECK_INT_EQ(n1, n2);
	CHECK(memcmp(w1, w2, n1 * sizeof(*w1)) == 0);
	free(w1);
	free(w2);
	allocator_free(a);
	free(path);
	unit_rmtree(dir);
}

#define THREADS	   4
#define PER_THREAD 125

struct worker {
	struct allocator *a;
	int id;
	char ips[PER_THREAD][64];
	char ports[PER_THREAD][16];
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		struct webhook_response r;
		char name[32];
		char *v;

		(void)snprintf(name, sizeof(name), "s-%d-%d", w->id, i);
		admit(w->a, WEBHOOK_OP_CREATE, name,
		      "{'type':'NodePort','ports':[{'port':80}]}", NULL, false,
		      &r);
		v = patch_value(&r, "/spec/clusterIP");
		(void)snprintf(w->ips[i], sizeof(w->ips[i]), "%s", v ? v : "");
		free(v);
		v = patch_value(&r, "/spec/ports/0/nodePort");
		(void)snprintf(w->ports[i], sizeof(w->ports[i]), "%s",
			       v ? v : "");
		free(v);
		w->failures += !r.allowed || !w->ips[i][0] || !w->ports[i][0];
		webhook_response_release(&r);
	}
	return NULL;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void test_concurrent_admissions_unique(void)
{
	static struct worker ws[THREADS];
	static char all[THREADS * PER_THREAD][64];
	static char ports[THREADS * PER_THREAD][64];
	struct allocator *a = mk(V4, NULL);
	pthread_t th[THREADS];
	size_t n = 0;

	for (int i = 0; i < THREADS; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].a = a;
		ws[i].id = i;
		CHECK_INT_EQ(pthread_create(&th[i], NULL, work, &ws[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		CHECK_INT_EQ(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		CHECK_INT_EQ(ws[i].failures, 0);
		for (int j = 0; j < PER_THREAD; j++, n++) {
			memcpy(all[n], ws[i].ips[j], 64);
			(void)snprintf(ports[n], 64, "%s", ws[i].ports[j]);
		}
	}
	qsort(all, n, sizeof(all[0]), cmp_str);
	qsort(ports, n, sizeof(ports[0]), cmp_str);
	for (size_t i = 1; i < n; i++) {
		CHECK(strcmp(all[i - 1], all[i]) != 0);
		CHECK(strcmp(ports[i - 1], ports[i]) != 0);
	}
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), THREADS * PER_THREAD);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), THREADS * PER_THREAD);
	allocator_free(a);
}

/* ---- Repair passes over the allocator (allocator_repair) ---------------- */

#define HOUR_MS (3600 * 1000LL)

/* One pass over the n Services; returns the events' reasons joined by ",". */
static char *repair_once(struct allocator *a, struct repair *r,
			 struct kube_service **svcs, size_t n, int64_t list_ms)
{
	struct errbuf eb = ERRBUF_INIT;
	struct repair_result res = {0};
	struct buf reasons;
	char *out;

	buf_init(&reasons, 4096);
	if (allocator_repair(a, r, (const struct kube_service *const *)svcs, n,
			     list_ms, &res, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "allocator_repair: %s", eb.msg);
	for (size_t i = 0; i < res.n_events; i++)
		BUG_ON(buf_addf(&reasons, "%s%s", i ? "," : "",
				res.events[i].reason) != ERR_OK);
	out = xstrdup(reasons.data ? reasons.data : "");
	buf_release(&reasons);
	repair_result_release(&res);
	return out;
}

static void test_repair_frees_unconfirmed_on_third_pass(void)
{
	int64_t later = clock_now_ms() + HOUR_MS; /* past the grace period */
	struct allocator *a = mk(V4, NULL);
	struct repair *r = repair_new();
	struct webhook_response resp;
	char *ev;

	/* Reserved by admission; the create never reaches the API. */
	admit(a, WEBHOOK_OP_CREATE, "lost", NODE_PORT, NULL, false, &resp);
	webhook_response_release(&resp);
	CHECK_INT_EQ(allocator_tentative(a), 2);
	for (int pass = 1; pass <= 2; pass++) {
		ev = repair_once(a, r, NULL, 0, later);
		CHECK_STR_EQ(ev, "");
		free(ev);
		CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
		CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	}
	ev = repair_once(a, r, NULL, 0, later);
	free(ev);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 0);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	CHECK_INT_EQ(allocator_tentative(a), 0);
	CHECK_INT_EQ(repair_leak_count(r), 0);
	repair_free(r);
	allocator_free(a);
}

static void test_repair_young_reservation_kept(void)
{
	struct allocator *a = mk(V4, NULL);
	struct repair *r = repair_new();
	struct webhook_response resp;

	admit(a, WEBHOOK_OP_CREATE, "new", CLUSTER_IP, NULL, false, &resp);
	webhook_response_release(&resp);
	for (int pass = 0; pass < 4; pass++)
		free(repair_once(a, r, NULL, 0, clock_now_ms()));
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(repair_leak_count(r), 0);
	repair_free(r);
	allocator_free(a);
}

static void test_repair_imports_and_reports(void)
{
	struct allocator *a = mk(V4, NULL);
	struct repair *r = repair_new();
	struct kube_service *s[3] = {
	    stored(STORED),
	    (struct kube_service *)svc_obj(
		"dup", "u-2",
		"{'clusterIP':'10.96.5.5','clusterIPs':['10.96.5.5'],"
		"'ports':[{'port':80}]}"),
	    (struct kube_service *)svc_obj(
		"far", "u-3",
		"{'clusterIP':'10.1.0.1','clusterIPs':['10.1.0.1'],"
		"'ports':[{'port':80}]}"),
	};
	char *ev;

	/* "dup" sorts after "dns" (same creation time, then by name). */
	ev = repair_once(a, r, s, 3, clock_now_ms());
	CHECK_STR_EQ(ev, "ClusterIPNotAllocated,PortNotAllocated,"
			 "ClusterIPAlreadyAllocated,ClusterIPOutOfRange");
	free(ev);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	/* Now in the record: a second pass repairs nothing. */
	ev = repair_once(a, r, s, 3, clock_now_ms());
	CHECK_STR_EQ(ev, "ClusterIPAlreadyAllocated,ClusterIPOutOfRange");
	free(ev);
	for (int i = 0; i < 3; i++)
		kube_object_unref(&s[i]->obj);
	repair_free(r);
	allocator_free(a);
}

static void test_repair_journal_keeps_newer_changes(void)
{
	struct allocator *a = mk(V4, NULL);
	struct repair *r = repair_new();
	struct kube_service *s = stored(STORED);
	struct webhook_response resp;
	char *ev;

	CHECK_OK(allocator_observe(a, NULL, s));
	allocator_repair_begin(a);
	/* After the list was taken: the Service is deleted and another
	 * value is reserved. */
	CHECK_OK(allocator_observe(a, s, NULL));
	admit(a, WEBHOOK_OP_CREATE, "after", CLUSTER_IP, NULL, false, &resp);
	webhook_response_release(&resp);
	/* The list (still holding the deleted Service) is an hour old, so
	 * without the journal the new value would be a leak candidate and
	 * the deleted one "not allocated; repairing". */
	ev = repair_once(a, r, &s, 1, clock_now_ms() + HOUR_MS);
	CHECK_STR_EQ(ev, "");
	free(ev);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 0);
	CHECK_INT_EQ(repair_leak_count(r), 0);
	/* Without the journal the same list repairs the deleted values. */
	ev = repair_once(a, r, &s, 1, clock_now_ms());
	CHECK_STR_EQ(ev, "ClusterIPNotAllocated,PortNotAllocated");
	free(ev);
	kube_object_unref(&s->obj);
	repair_free(r);
	allocator_free(a);
}

static void test_repair_journal_value_touched_repeatedly(void)
{
	struct allocator *a = mk(V4, NULL);
	struct repair *r = repair_new();
	struct kube_service *s = stored(STORED);
	char *ev;

	allocator_repair_begin(a);
	/* Set, cleared, set again after the (empty) list was taken. */
	CHECK_OK(allocator_observe(a, NULL, s));
	CHECK_OK(allocator_observe(a, s, NULL));
	CHECK_OK(allocator_observe(a, NULL, s));
	ev = repair_once(a, r, NULL, 0, clock_now_ms() + HOUR_MS);
	CHECK_STR_EQ(ev, "");
	free(ev);
	CHECK_INT_EQ(used(a, ALLOCATOR_IPV4), 1);
	CHECK_INT_EQ(used(a, ALLOCATOR_NODEPORT), 1);
	kube_object_unref(&s->obj);
	repair_free(r);
	allocator_free(a);
}

static void test_allocation_metrics_by_scope(void)
{
	struct allocator *a = mk(V4, NULL);
	struct allocator_stats st;
	struct webhook_response resp;

	memset(&st, 0, sizeof(st));
	admit(a, WEBHOOK_OP_CREATE, "dyn", NODE_PORT, NULL, false, &resp);
	webhook_response_release(&resp);
	admit(a, WEBHOOK_OP_CREATE, "dry", NODE_PORT, NULL, true, &resp);
	webhook_response_release(&resp);
	admit(a, WEBHOOK_OP_CREATE, "req",
	      "{'clusterIP':'10.96.0.9','ports':[{'port':80}]}", NULL, false,
	      &resp);
	webhook_response_release(&resp);
	admit(a, WEBHOOK_OP_CREATE, "taken",
	      "{'clusterIP':'10.96.0.9','ports':[{'port':80}]}", NULL, false,
	      &resp);
	CHECK(!resp.allowed);
	webhook_response_release(&resp);
	CHECK(allocator_stats(a, ALLOCATOR_IPV4, &st));
	CHECK_INT_EQ(st.allocations[ALLOCATOR_DYNAMIC], 1);
	CHECK_INT_EQ(st.allocations[ALLOCATOR_STATIC], 1);
	CHECK_INT_EQ(st.errors[ALLOCATOR_STATIC], 1);
	CHECK_INT_EQ(st.errors[ALLOCATOR_DYNAMIC], 0);
	CHECK(allocator_stats(a, ALLOCATOR_NODEPORT, &st));
	CHECK_INT_EQ(st.allocations[ALLOCATOR_DYNAMIC], 1);
	CHECK(!allocator_stats(a, ALLOCATOR_IPV6, &st));
	allocator_free(a);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_flags_named_in_errors),
	    UNIT_CASE(test_single_stack_cluster_ip),
	    UNIT_CASE(test_dual_stack),
	    UNIT_CASE(test_node_port_shared_across_protocols),
	    UNIT_CASE(test_explicit_taken_denied_without_leak),
	    UNIT_CASE(test_range_full),
	    UNIT_CASE(test_dry_run_persists_nothing),
	    UNIT_CASE(test_repeated_create_same_values),
	    UNIT_CASE(test_update_apply_style_allocates_nothing),
	    UNIT_CASE(test_observe_confirms_and_delete_releases),
	    UNIT_CASE(test_observe_type_change_releases_ports),
	    UNIT_CASE(test_restart_keeps_values),
	    UNIT_CASE(test_concurrent_admissions_unique),
	    UNIT_CASE(test_repair_frees_unconfirmed_on_third_pass),
	    UNIT_CASE(test_repair_young_reservation_kept),
	    UNIT_CASE(test_repair_imports_and_reports),
	    UNIT_CASE(test_repair_journal_keeps_newer_changes),
	    UNIT_CASE(test_repair_journal_value_touched_repeatedly),
	    UNIT_CASE(test_allocation_metrics_by_scope),
	};

	return unit_main(argc, argv, "allocator", cases, ARRAY_SIZE(cases));
}
