/*
 * Integration tests of the ClusterIP / NodePort allocator in the real
 * binary against the real kube-apiserver (issue 4): the binary serves its
 * admission webhook on 127.0.0.1 over HTTPS (the local cluster's
 * apiserver certificate, valid for 127.0.0.1), registered with a
 * MutatingWebhookConfiguration limited to this file's namespace and with
 * failurePolicy Fail, so every Service the cases create passes through
 * it. The sqlite record is read directly (read-only; WAL allows it while
 * the binary writes).
 *
 * The cases share the namespace, the webhook registration and the record
 * file, in order; each starts its own process (so each also checks that a
 * restart keeps state) and waits until it answers admission. The first
 * case leaks one reservation on purpose (a create the apiserver rejects
 * after the webhook answered); the last checks it is freed on the third
 * repair pass that finds it unused, 60 s after it was taken.
 */
#include "base.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include "cidr.h"
#include "ipalloc.h"
#include "itlib.h"

#define V4_CIDR	   "10.96.0.0/16"
#define V6_CIDR	   "fd00:10:96::/112"
#define RANGES	   V4_CIDR "," V6_CIDR
#define PORT_BASE  30000
#define N_SERVICES 500
#define PATCHED	   "svc_controllers_allocator_admission_total{answer=\"patched\"}"

/* State shared by the cases, in order. */
static struct {
	char ns[128];
	char wh_name[128];
	char *dir;	   /* the record's directory, owned */
	char db[600];	   /* the record */
	char ca[600];	   /* the cluster CA, caBundle and our trust */
	char cert[600];	   /* the apiserver's serving pair, reused */
	char key[600];
	char leak[64];	   /* the Service whose create leaked */
	int wh_port;
	int ops_port;
	int64_t leak_ms;   /* when the leak was reserved */
	/* The running binary: static, because a failed case's cleanup runs
	 * after its stack frame is gone. */
	struct it_proc proc;
} g;

/* ---- The binary ----------------------------------------------------------- */

static void url(char *out, size_t n, int port, const char *path)
{
	(void)snprintf(out, n, "https://127.0.0.1:%d%s", port, path);
}

static bool admitting(void *ctx)
{
	struct buf b;
	char u[128];
	long code;

	(void)ctx;
	buf_init(&b, 0);
	url(u, sizeof(u), g.wh_port, "/readyz");
	code = it_http_get(u, g.ca, &b);
	buf_release(&b);
	return code == 200;
}

static void start_bin_with(struct it_proc *p, const char *repair_interval,
			   const char *ranges, const char *db_path);

/* Starts the binary on the shared record and waits until it admits. */
static void start_bin(struct it_proc *p, const char *repair_interval)
{
	start_bin_with(p, repair_interval, RANGES, g.db);
}

static void start_bin_with(struct it_proc *p, const char *repair_interval,
			   const char *ranges, const char *db_path)
{
	const char *bin = it_env("SVC_BIN");
	const char *kc = it_env("KUBECONFIG");
	char whp[16], opsp[16], db[640], ri[64], lease[160];
	const char *argv[] = {
	    bin, "--kubeconfig", kc, "--controllers",
	    "allocator", "--service-cluster-ip-range", ranges,
	    "--allocator-db", db, "--webhook-bind-address", "127.0.0.1",
	    "--webhook-port", whp, "--bind-address", "127.0.0.1",
	    "--secure-port", opsp, "--tls-cert-file", g.cert,
	    "--tls-private-key-file", g.key, "--leader-elect-resource-namespace",
	    g.ns, lease, "--leader-elect-lease-duration=4s",
	    "--leader-elect-renew-deadline=3s",
	    "--leader-elect-retry-period=500ms", ri, "-v", "2", NULL};
	struct errbuf eb = ERRBUF_INIT;

	(void)snprintf(whp, sizeof(whp), "%d", g.wh_port);
	(void)snprintf(opsp, sizeof(opsp), "%d", g.ops_port);
	(void)snprintf(db, sizeof(db), "%s", db_path);
	(void)snprintf(ri, sizeof(ri), "--repair-interval=%s", repair_interval);
	(void)snprintf(lease, sizeof(lease),
		       "--leader-elect-resource-name=alloc");
	memset(p, 0, sizeof(*p));
	IT_CHECK_OK(it_proc_start((char *const *)argv, p, &eb), &eb);
	if (!it_wait_until(admitting, NULL, IT_TIMEOUT_MS)) {
		struct buf log;

		buf_init(&log, 0);
		it_read_file(p->err_path, &log);
		unit_fail(__FILE__, __LINE__, "never admitting; log:\n%s",
			  log.data ? log.data : "");
	}
}

static void stop_bin(struct it_proc *p)
{
	int status = 0;

	CHECK(it_proc_stop(p, 20000, &status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		struct buf log;

		buf_init(&log, 0);
		it_read_file(p->err_path, &log);
		unit_fail(__FILE__, __LINE__, "exit status %d; log tail:\n%s",
			  status,
			  log.len > 3000 ? log.data + log.len - 3000
					 : log.data ? log.data : "");
	}
}

static double metric(const char *series)
{
	struct buf b;
	char u[128];
	double v = -1;

	buf_init(&b, 0);
	url(u, sizeof(u), g.ops_port, "/metrics");
	if (it_http_get(u, g.ca, &b) == 200 && b.data)
		(void)it_metric_value(b.data, series, &v);
	buf_release(&b);
	return v;
}

/* ---- The record ------------------------------------------------------------ */

struct row {
	char range[16];
	uint64_t bit;
	char ns[128];
	char name[128];
};

struct record {
	struct row *v;
	size_t n;
};

static void record_read(struct record *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	memset(r, 0, sizeof(*r));
	if (sqlite3_open_v2(g.db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT range_name, bit, namespace, name FROM allocations",
			       -1, &st, NULL) != SQLITE_OK)
		unit_fail(__FILE__, __LINE__, "reading %s: %s", g.db,
			  sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct row *w;

		r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
		w = &r->v[r->n++];
		(void)snprintf(w->range, sizeof(w->range), "%s",
			       (const char *)sqlite3_column_text(st, 0));
		w->bit = (uint64_t)sqlite3_column_int64(st, 1);
		(void)snprintf(w->ns, sizeof(w->ns), "%s",
			       (const char *)sqlite3_column_text(st, 2));
		(void)snprintf(w->name, sizeof(w->name), "%s",
			       (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static const struct row *record_find(const struct record *r, const char *range,
				     uint64_t bit)
{
	for (size_t i = 0; i < r->n; i++)
		if (str_eq(r->v[i].range, range) && r->v[i].bit == bit)
			return &r->v[i];
	return NULL;
}

static size_t record_count_ns(const struct record *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += str_eq(r->v[i].ns, g.ns);
	return n;
}

/* The record's range and bit of a ClusterIP (bit i is network + 1 + i). */
static bool ip_bit(const char *ip, const char **range, uint64_t *bit)
{
	struct cidr_addr a;
	struct cidr c;
	struct ipalloc *ia = NULL;
	bool v6 = strchr(ip, ':') != NULL, ok;

	if (cidr_addr_parse(ip, &a, NULL) != ERR_OK ||
	    cidr_parse(v6 ? V6_CIDR : V4_CIDR, &c, NULL) != ERR_OK ||
	    ipalloc_new(&c, &ia, NULL) != ERR_OK)
		return false;
	ok = ipalloc_index(ia, &a, bit);
	ipalloc_free(ia);
	*range = v6 ? "ipv6" : "ipv4";
	return ok;
}

/* ---- Agreement of the API and the record ----------------------------------- */

struct seen {
	char (*keys)[48];
	size_t n;
};

/* Adds "range/bit"; false when another Service already used it. */
static bool seen_add(struct seen *s, const char *range, uint64_t bit,
		     bool same_service)
{
	char k[48];

	(void)snprintf(k, sizeof(k), "%s/%llu", range, (unsigned long long)bit);
	for (size_t i = 0; i < s->n; i++)
		if (str_eq(s->keys[i], k))
			return same_service;
	s->keys = xrealloc(s->keys, (s->n + 1) * sizeof(*s->keys));
	memcpy(s->keys[s->n++], k, sizeof(k));
	return true;
}

static void check_value(const struct record *r, struct seen *s,
			const struct kube_service *svc, const char *range,
			uint64_t bit, bool twin, const char *what)
{
	const struct row *w = record_find(r, range, bit);

	if (!seen_add(s, range, bit, twin))
		unit_fail(__FILE__, __LINE__, "%s of %s duplicated", what,
			  svc->obj.meta.name);
	if (!w || !str_eq(w->ns, g.ns) || !str_eq(w->name, svc->obj.meta.name))
		unit_fail(__FILE__, __LINE__,
			  "%s of %s: record has %s/%s", what,
			  svc->obj.meta.name, w ? w->ns : "nothing",
			  w ? w->name : "");
}

static void check_service(const struct record *r, struct seen *s,
			  const struct kube_service *svc)
{
	for (uint32_t i = 0; i < svc->n_cluster_ips; i++) {
		const char *range;
		uint64_t bit;

		if (str_eq(svc->cluster_ips[i], "None"))
			continue;
		if (!ip_bit(svc->cluster_ips[i], &range, &bit))
			unit_fail(__FILE__, __LINE__, "%s: %s out of range",
				  svc->obj.meta.name, svc->cluster_ips[i]);
		check_value(r, s, svc, range, bit, false, svc->cluster_ips[i]);
	}
	for (uint32_t i = 0; i < svc->n_ports; i++) {
		int32_t np = svc->ports[i].node_port;
		bool twin = false;

		for (uint32_t j = 0; j < i; j++)
			twin |= svc->ports[j].node_port == np;
		if (np)
			check_value(r, s, svc, "nodeport",
				    (uint64_t)(np - PORT_BASE), twin, "nodePort");
	}
	if (svc->health_check_node_port)
		check_value(r, s, svc, "nodeport",
			    (uint64_t)(svc->health_check_node_port - PORT_BASE),
			    false, "healthCheckNodePort");
}

/* Every value of every Service in the namespace is in the record, owned by
 * that Service, used once; the record holds nothing else for the
 * namespace but the leak (when still there). Returns the number of
 * Services. */
static size_t check_agreement(bool leak_present)
{
	struct errbuf eb = ERRBUF_INIT;
	struct seen s = {0};
	struct record r;
	struct it_list l;
	size_t leaked = 0, n;

	record_read(&r);
	IT_CHECK_OK(it_list(KUBE_KIND_SERVICE, g.ns, NULL, &l, &eb), &eb);
	for (size_t i = 0; i < l.n; i++)
		check_service(&r, &s, kube_service(l.items[i]));
	for (size_t i = 0; i < r.n; i++)
		leaked += str_eq(r.v[i].ns, g.ns) && str_eq(r.v[i].name, g.leak);
	CHECK_INT_EQ(leaked, leak_present ? 2 : 0);
	CHECK_INT_EQ(record_count_ns(&r), s.n + leaked);
	free(s.keys);
	free(r.v);
	n = l.n;
	it_list_release(&l);
	return n;
}

/* ---- Services ------------------------------------------------------------- */

static enum err create(const char *json, struct buf *resp,
		       struct apiclient_result *res, struct errbuf *eb)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services",
		       g.ns);
	return it_post(path, json, resp, res, eb);
}

/* The spec of Service i of the mixed set: single and dual stack, node
 * ports shared across protocols, health checks, headless, ExternalName. */
static const char *mixed_spec(size_t i)
{
	static const char *const specs[10] = {
	    "{\"ports\":[{\"port\":80}],\"selector\":{\"a\":\"b\"}}",
	    "{\"ports\":[{\"name\":\"a\",\"port\":80},{\"name\":\"b\",\"port\":81}]}",
	    "{\"ipFamilies\":[\"IPv6\"],\"ports\":[{\"port\":80}]}",
	    "{\"ipFamilyPolicy\":\"PreferDualStack\",\"ports\":[{\"port\":80}]}",
	    "{\"ipFamilyPolicy\":\"RequireDualStack\",\"ipFamilies\":[\"IPv6\",\"IPv4\"],\"ports\":[{\"port\":80}]}",
	    "{\"type\":\"NodePort\",\"ports\":[{\"name\":\"t\",\"port\":53,\"protocol\":\"TCP\"},{\"name\":\"u\",\"port\":53,\"protocol\":\"UDP\"}]}",
	    "{\"type\":\"NodePort\",\"ipFamilyPolicy\":\"RequireDualStack\",\"ports\":[{\"port\":80}]}",
	    "{\"type\":\"LoadBalancer\",\"externalTrafficPolicy\":\"Local\",\"ports\":[{\"port\":443}]}",
	    "{\"type\":\"LoadBalancer\",\"allocateLoadBalancerNodePorts\":false,\"ports\":[{\"port\":443}]}",
	    NULL,
	};

	if (specs[i % 10])
		return specs[i % 10];
	return (i / 10) % 2 ? "{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}"
			    : "{\"type\":\"ExternalName\",\"externalName\":\"example.com\"}";
}

static enum err create_mixed(void *ctx, size_t i, struct errbuf *eb)
{
	char *json = xasprintf("{\"metadata\":{\"name\":\"m-%zu\"},\"spec\":%s}",
			       i, mixed_spec(i));
	enum err e = create(json, NULL, NULL, eb);

	(void)ctx;
	free(json);
	return e;
}

/* Creates name with spec; returns the HTTP code. */
static long create_named(const char *name, const char *spec, struct buf *resp)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res = {0};
	char *json = xasprintf("{\"metadata\":{\"name\":\"%s\"},\"spec\":%s}",
			       name, spec);

	if (create(json, resp, &res, &eb) != ERR_OK && resp)
		BUG_ON(buf_adds(resp, eb.msg) != ERR_OK);
	free(json);
	return res.http_code;
}

static struct kube_service *get_service(const char *name)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	struct kube_object *o = NULL;

	IT_CHECK_OK(apiclient_get(it_api, KUBE_KIND_SERVICE, g.ns, name, &o,
				  &res, &eb),
		    &eb);
	return (struct kube_service *)o;
}

/* ---- Cases ---------------------------------------------------------------- */

static void register_webhook(void)
{
	const char *bin = it_env("SVC_BIN");
	char u[128], sel[200];
	const char *argv[] = {bin, "webhook-config", "--ca-file", g.ca,
			"--url", u, "--name", g.wh_name, "--failure-policy",
			"Fail", "--namespace-selector", sel, NULL};
	struct errbuf eb = ERRBUF_INIT;
	struct buf out, err;

	url(u, sizeof(u), g.wh_port, "/mutate");
	(void)snprintf(sel, sizeof(sel), "kubernetes.io/metadata.name=%s",
		       g.ns);
	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK_INT_EQ(it_run((char *const *)argv, 10000, &out, &err), 0);
	IT_CHECK_OK(it_request(APICLIENT_POST,
			       "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
			       NULL, out.data, "application/yaml", NULL, NULL,
			       &eb),
		    &eb);
	buf_release(&out);
	buf_release(&err);
}

static void setup(void)
{
	const char *dir = it_env("IT_CLUSTER_DIR");
	struct errbuf eb = ERRBUF_INIT;
	char *name = it_unique_name("it-alloc");
	char *body;

	(void)snprintf(g.ns, sizeof(g.ns), "%s", name);
	(void)snprintf(g.wh_name, sizeof(g.wh_name), "%s", name);
	free(name);
	(void)snprintf(g.ca, sizeof(g.ca), "%s/pki/ca.crt", dir);
	(void)snprintf(g.cert, sizeof(g.cert), "%s/pki/apiserver.crt", dir);
	(void)snprintf(g.key, sizeof(g.key), "%s/pki/apiserver.key", dir);
	g.dir = unit_tmpdir("it-alloc");
	(void)snprintf(g.db, sizeof(g.db), "%s/alloc.db", g.dir);
	g.wh_port = it_free_port();
	g.ops_port = it_free_port();
	body = xasprintf("{\"metadata\":{\"name\":\"%s\"}}", g.ns);
	IT_CHECK_OK(it_post("/api/v1/namespaces", body, NULL, NULL, &eb), &eb);
	free(body);
	register_webhook();
}

/* A NodePort create the apiserver rejects after our webhook reserved its
 * values (a bad port name): the reservation is a leak. */
static void make_leak(void)
{
	struct buf resp;
	struct record r;
	size_t held = 0;

	(void)snprintf(g.leak, sizeof(g.leak), "leak");
	buf_init(&resp, 0);
	g.leak_ms = clock_now_ms();
	CHECK_INT_EQ(create_named(g.leak,
				  "{\"type\":\"NodePort\",\"ports\":[{\"name\":\"NOT_A_DNS_LABEL\",\"port\":80}]}",
				  &resp),
		     422);
	buf_release(&resp);
	record_read(&r);
	for (size_t i = 0; i < r.n; i++)
		held += str_eq(r.v[i].name, g.leak);
	free(r.v);
	CHECK_INT_EQ(held, 2); /* one ClusterIP, one node port */
}

static void webhook_allocates_500_mixed_services(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct it_proc *p = &g.proc;

	it_begin();
	setup();
	start_bin(p, "3m");
	make_leak();
	IT_CHECK_OK(it_parallel(8, N_SERVICES, create_mixed, NULL, &eb), &eb);
	CHECK_INT_EQ(check_agreement(true), N_SERVICES);
	/* Every create but the 50 headless or ExternalName ones (and the
	 * leak's) was filled by our webhook. */
	CHECK_INT_EQ((long long)metric(PATCHED), N_SERVICES - 50 + 1);
	stop_bin(p);
	it_end();
}

static void explicit_requests_honoured_or_denied(void)
{
	struct buf resp;
	struct kube_service *s;
	struct it_proc *p = &g.proc;

	it_begin();
	start_bin(p, "3m");
	buf_init(&resp, 0);
	CHECK_INT_EQ(create_named("ip-77", "{\"clusterIP\":\"10.96.0.77\",\"ports\":[{\"port\":80}]}", &resp), 201);
	CHECK_INT_EQ(create_named("ip-77-again", "{\"clusterIP\":\"10.96.0.77\",\"ports\":[{\"port\":80}]}", &resp), 422);
	CHECK_CONTAINS(resp.data, "failed to allocate IP 10.96.0.77");
	buf_reset(&resp);
	CHECK_INT_EQ(create_named("np-77", "{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30077}]}", &resp), 201);
	CHECK_INT_EQ(create_named("np-77-again", "{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30077}]}", &resp), 422);
	CHECK_CONTAINS(resp.data, "provided port is already allocated");
	buf_reset(&resp);
	CHECK_INT_EQ(create_named("np-far", "{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":40000}]}", &resp), 422);
	CHECK_CONTAINS(resp.data, "40000");
	buf_release(&resp);
	s = get_service("ip-77");
	CHECK_STR_EQ(s->cluster_ip, "10.96.0.77");
	kube_object_unref(&s->obj);
	s = get_service("np-77");
	CHECK_INT_EQ(s->ports[0].node_port, 30077);
	kube_object_unref(&s->obj);
	check_agreement(true);
	stop_bin(p);
	it_end();
}

struct gone {
	const char *range;
	uint64_t bit;
};

static bool value_gone(void *ctx)
{
	const struct gone *v = ctx;
	struct record r;
	bool gone;

	record_read(&r);
	gone = record_find(&r, v->range, v->bit) == NULL;
	free(r.v);
	return gone;
}

static void type_change_and_delete_release(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_service *s;
	struct gone port, ip;
	struct it_proc *p = &g.proc;
	char path[256];

	it_begin();
	start_bin(p, "3m");
	CHECK_INT_EQ(create_named("flip", "{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}", NULL), 201);
	s = get_service("flip");
	port = (struct gone){"nodeport", (uint64_t)(s->ports[0].node_port - PORT_BASE)};
	ip.range = NULL;
	CHECK(ip_bit(s->cluster_ip, &ip.range, &ip.bit));
	kube_object_unref(&s->obj);
	CHECK(!value_gone(&port));
	(void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services/flip", g.ns);
	IT_CHECK_OK(it_merge_patch(path, "{\"spec\":{\"type\":\"ClusterIP\"}}", &eb), &eb);
	CHECK(it_wait_until(value_gone, &port, IT_TIMEOUT_MS));
	CHECK(!value_gone(&ip));
	/* And back: the UPDATE gets a node port from the webhook. */
	IT_CHECK_OK(it_merge_patch(path, "{\"spec\":{\"type\":\"NodePort\"}}", &eb), &eb);
	s = get_service("flip");
	CHECK(s->ports[0].node_port >= PORT_BASE);
	kube_object_unref(&s->obj);
	IT_CHECK_OK(it_request(APICLIENT_DELETE, path, NULL, NULL, NULL, NULL, NULL, &eb), &eb);
	CHECK(it_wait_until(value_gone, &ip, IT_TIMEOUT_MS));
	check_agreement(true);
	stop_bin(p);
	it_end();
}

static void deleted_record_rebuilt_from_api(void)
{
	char wal[640], shm[640];
	struct it_proc *p = &g.proc;

	it_begin();
	(void)snprintf(wal, sizeof(wal), "%s-wal", g.db);
	(void)snprintf(shm, sizeof(shm), "%s-shm", g.db);
	CHECK_INT_EQ(unlink(g.db), 0);
	(void)unlink(wal);
	(void)unlink(shm);
	start_bin(p, "3m");
	/* The leak lived only in the deleted record; everything else comes
	 * back from the Services. */
	check_agreement(false);
	CHECK_INT_EQ(create_named("after-rebuild", "{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}", NULL), 201);
	check_agreement(false);
	stop_bin(p);
	it_end();
}

/* Occurrences of needle in text. */
static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *s = text; s && (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

struct log_wait {
	struct it_proc *p;
	const char *needle;
};

static bool log_has(void *ctx)
{
	const struct log_wait *w = ctx;
	struct buf b;
	bool has;

	buf_init(&b, 0);
	it_read_file(w->p->err_path, &b);
	has = b.data && strstr(b.data, w->needle);
	buf_release(&b);
	return has;
}

static void leak_freed_on_third_pass(void)
{
	char flag[128], clean[128];
	const char *f, *c;
	struct gone port = {"nodeport", 0};
	struct log_wait w;
	struct record r;
	struct it_proc *p = &g.proc;
	struct buf log;
	char *between;
	int64_t bit = -1;

	it_begin();
	record_read(&r);
	for (size_t i = 0; i < r.n; i++)
		if (str_eq(r.v[i].name, g.leak) &&
		    str_eq(r.v[i].range, "nodeport"))
			bit = (int64_t)r.v[i].bit;
	free(r.v);
	CHECK(bit >= 0);
	(void)snprintf(flag, sizeof(flag),
		       "repair: nodeport %lld may have leaked", (long long)bit);
	(void)snprintf(clean, sizeof(clean),
		       "repair: nodeport %lld appears to have leaked",
		       (long long)bit);
	start_bin(p, "1s");
	w = (struct log_wait){p, clean};
	/* 60 s grace after the reservation, then three passes. */
	buf_init(&log, 0);
	if (!it_wait_until(log_has, &w,
			   MAX(0, g.leak_ms + 60000 - clock_now_ms()) +
			       IT_TIMEOUT_MS)) {
		it_read_file(p->err_path, &log);
		unit_fail(__FILE__, __LINE__, "no \"%s\" in the log:\n%s",
			  clean,
			  log.len > 4000 ? log.data + log.len - 4000
					 : log.data ? log.data : "");
	}
	it_read_file(p->err_path, &log);
	f = strstr(log.data, flag);
	c = strstr(log.data, clean);
	CHECK(f && c && f < c);
	CHECK_INT_EQ(count_of(log.data, flag), 1);
	/* Flagged on pass 1 (kept), kept on pass 2, freed on pass 3. */
	between = xstrndup(f, (size_t)(c - f));
	CHECK_INT_EQ(count_of(between, "allocator repair: pass done"), 2);
	free(between);
	buf_release(&log);
	/* The line is logged while the pass computes; its result is written
	 * just after. */
	port.bit = (uint64_t)bit;
	CHECK(it_wait_until(value_gone, &port, IT_TIMEOUT_MS));
	check_agreement(false);
	stop_bin(p);
	it_end();
}

/* Whether ns holds an Event with reason about Service name. */
struct event_want {
	const char *ns, *name, *reason;
};

static bool has_event(void *ctx)
{
	const struct event_want *w = ctx;
	struct errbuf eb = ERRBUF_INIT;
	struct buf body;
	char path[256], name[160], reason[96];
	bool found;

	buf_init(&body, 0);
	(void)snprintf(path, sizeof(path),
		       "/apis/events.k8s.io/v1/namespaces/%s/events", w->ns);
	(void)snprintf(name, sizeof(name), "\"name\":\"%s\"", w->name);
	(void)snprintf(reason, sizeof(reason), "\"reason\":\"%s\"", w->reason);
	found = it_request(APICLIENT_GET, path, NULL, NULL, NULL, &body, NULL,
			   &eb) == ERR_OK &&
		body.data && strstr(body.data, name) &&
		strstr(body.data, reason);
	buf_release(&body);
	return found;
}

/* A Service the apiserver let through with a ClusterIP outside our
 * (narrower) range: the repair pass reports it as a Warning Event with
 * upstream's reason, counts it, and changes nothing. */
static void repair_reports_out_of_range_as_event(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct event_want want = {NULL, "far", "ClusterIPOutOfRange"};
	struct it_proc *p = &g.proc;
	char path[256], *db;
	struct kube_service *s;
	struct kube_object *o = NULL;
	struct apiclient_result res;
	const char *ns;

	it_begin();
	ns = it_ns_create("it-alloc-far");
	want.ns = ns;
	db = xasprintf("%s/narrow.db", g.dir);
	it_defer(free, db);
	/* Outside the webhook's namespace selector: the apiserver alone. */
	(void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services", ns);
	IT_CHECK_OK(it_post(path, "{\"metadata\":{\"name\":\"far\"},\"spec\":{\"clusterIP\":\"10.96.200.7\",\"ports\":[{\"port\":80}]}}", NULL, NULL, &eb), &eb);
	start_bin_with(p, "3m", "10.96.0.0/17," V6_CIDR, db);
	CHECK(it_wait_until(has_event, &want, IT_TIMEOUT_MS));
	CHECK(metric("svc_controllers_clusterip_repair_ip_errors_total{type=\"outOfRange\"}") >= 1);
	IT_CHECK_OK(apiclient_get(it_api, KUBE_KIND_SERVICE, ns, "far", &o, &res, &eb), &eb);
	s = (struct kube_service *)o;
	CHECK_STR_EQ(s->cluster_ip, "10.96.200.7");
	kube_object_unref(o);
	stop_bin(p);
	it_end();
}

static void teardown(void)
{
	struct errbuf eb = ERRBUF_INIT;
	char path[256];

	it_begin();
	(void)snprintf(path, sizeof(path),
		       "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/%s",
		       g.wh_name);
	IT_CHECK_OK(it_request(APICLIENT_DELETE, path, NULL, NULL, NULL, NULL,
			       NULL, &eb),
		    &eb);
	IT_CHECK_OK(it_ns_delete(g.ns, false, &eb), &eb);
	unit_rmtree(g.dir);
	g.dir = NULL;
	it_end();
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(webhook_allocates_500_mixed_services),
	    UNIT_CASE(explicit_requests_honoured_or_denied),
	    UNIT_CASE(type_change_and_delete_release),
	    UNIT_CASE(leak_freed_on_third_pass),
	    UNIT_CASE(deleted_record_rebuilt_from_api),
	    UNIT_CASE(repair_reports_out_of_range_as_event),
	    UNIT_CASE(teardown),
	};

	return it_main(argc, argv, "it-alloc", cases, ARRAY_SIZE(cases));
}
