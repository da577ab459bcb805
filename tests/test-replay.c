/*
 * Unit tests of replay (svc-controllers replay), driven in process through
 * replay_run: the traces in tests/data/replay/NAME.jsonl against their
 * hand-checked NAME.expected.json (tests/data/replay/README.md says why each
 * expected output is right), the 100/100/50 split of 250 pods, malformed
 * lines (reported by line number, skipped, exit status 1), adopting a
 * correct pre-existing slice with zero writes (--stats), determinism (same
 * trace → same bytes; another seed → same endpoints, other names) and
 * --sync-every 1 vs 1000 giving the same endpoints per (Service, address
 * type, port set). Services pass through the allocator's admission
 * (issue 4): dynamic values are random, so those traces are checked by
 * property (in range, unique), and by golden files only where the range
 * leaves one choice; denials are checked on stderr.
 */
#include "base.h"
#include "replay.h"
#include "unit.h"

#include <unistd.h>

#include "cidr.h"
#include "kube.h"
#include "../controllers/replay_internal.h"

#define DUAL "10.96.0.0/16,fd00::/108"

struct run {
	int rc;
	char *out; /* the List */
	size_t out_len;
	struct buf err; /* stderr: logs and --stats */
};

/* Path of tests/data/replay/<name>; static storage, one at a time. */
static const char *trace_path(const char *name)
{
	static char path[512];

	(void)snprintf(path, sizeof(path), "%s/replay/%s", unit_data_dir(),
		       name);
	return path;
}

/* Reads what was written to fd since offset 0 into b. */
static void slurp_fd(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n;

	buf_reset(b);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		BUG_ON(buf_add(b, chunk, (size_t)n) != ERR_OK);
}

/* What a run varies; zero fields take the defaults of run_trace. */
struct trace_opts {
	long long sync_every;
	uint64_t seed;
	int max_per_slice;
	const char *print;	     /* NULL: "endpointslices" */
	const char *cidrs;	     /* NULL: trace_cidrs(name) */
	const char *node_ports;	     /* NULL: replay's default */
};

/* The Service range a trace needs: dual stack where it has IPv6 Services. */
static const char *trace_cidrs(const char *name)
{
	if (strcmp(name, "dualstack.jsonl") == 0 ||
	    strcmp(name, "admission.jsonl") == 0)
		return DUAL;
	return NULL;
}

/*
 * Runs replay_run on tests/data/replay/<name> with stderr captured (the
 * logs, denials and --stats go there).
 */
static void run_with(const char *name, const struct trace_opts *t,
		     struct run *r)
{
	FILE *tmp = tmpfile();
	FILE *out;
	int saved;
	struct replay_options o = {
		.trace = trace_path(name),
		.max_per_slice = t->max_per_slice ? t->max_per_slice : 100,
		.managed_by = "endpointslice-controller.k8s.io",
		.print = t->print ? t->print : "endpointslices",
		.stats = true,
		.sync_every = t->sync_every ? t->sync_every : 1,
		.seed = t->seed ? t->seed : 1,
		.service_cidrs = t->cidrs ? t->cidrs : trace_cidrs(name),
		.node_port_range = t->node_ports,
	};

	memset(r, 0, sizeof(*r));
	buf_init(&r->err, 0);
	CHECK_NOT_NULL(tmp);
	out = open_memstream(&r->out, &r->out_len);
	CHECK_NOT_NULL(out);
	o.out = out;
	(void)fflush(stderr);
	saved = dup(STDERR_FILENO);
	CHECK(saved >= 0);
	CHECK(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	r->rc = replay_run(&o);
	(void)fflush(stderr);
	CHECK(dup2(saved, STDERR_FILENO) >= 0);
	(void)close(saved);
	CHECK_INT_EQ(fclose(out), 0);
	slurp_fd(fileno(tmp), &r->err);
	(void)fclose(tmp);
}

static void run_trace(const char *name, long long sync_every, uint64_t seed,
		      int max_per_slice, struct run *r)
{
	struct trace_opts t = { sync_every, seed, max_per_slice, NULL, NULL,
				NULL };

	run_with(name, &t, r);
}

static void run_release(struct run *r)
{
	free(r->out);
	buf_release(&r->err);
}

/* A counter from the --stats lines, e.g. "update/EndpointSlice". */
static long long stat_of(const struct run *r, const char *key)
{
	char pat[64];
	const char *p;

	(void)snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(r->err.data, pat);
	CHECK_NOT_NULL(p);
	return strtoll(p + strlen(pat), NULL, 10);
}

/* ---- Canonical endpoints: one line per (Service, type, ports, endpoint) -- */

static const char *nz(const char *s)
{
	return s ? s : "-";
}

static char tri(enum kube_tristate t)
{
	return t == KUBE_TRUE ? 'T' : t == KUBE_FALSE ? 'F' : '-';
}

/* The sorted port set of a slice, e.g. "dns/UDP/5353/-,web/TCP/8080/-". */
static void port_key(const struct kube_endpointslice *s, struct buf *b)
{
	struct unit_lines ps = { 0 };
	char one[256];

	for (uint32_t i = 0; i < s->n_ports; i++) {
		(void)snprintf(one, sizeof(one), "%s/%s/%d/%s",
			       nz(s->ports[i].name),
			       kube_protocol_name(s->ports[i].protocol),
			       s->ports[i].has_port ? s->ports[i].port : -1,
			       nz(s->ports[i].app_protocol));
		unit_lines_add(&ps, one);
	}
	unit_lines_sort(&ps);
	for (size_t i = 0; i < ps.n; i++)
		BUG_ON(buf_addf(b, "%s%s", i ? "," : "", ps.v[i]) != ERR_OK);
	unit_lines_free(&ps);
}

static void endpoint_line(const struct kube_endpointslice *s,
			  const struct kube_endpoint *e, struct buf *b)
{
	buf_reset(b);
	BUG_ON(buf_addf(b, "%s/%s|%s|", s->obj.meta.ns,
			nz(kube_labels_get(&s->obj.meta.labels,
					   "kubernetes.io/service-name")),
			kube_address_type_name(s->address_type)) != ERR_OK);
	port_key(s, b);
	BUG_ON(buf_adds(b, "|") != ERR_OK);
	for (uint32_t i = 0; i < e->n_addresses; i++)
		BUG_ON(buf_addf(b, "%s%s", i ? "," : "", e->addresses[i]) !=
		       ERR_OK);
	BUG_ON(buf_addf(b, "|r%c s%c t%c|h=%s|n=%s|z=%s|ref=%s/%s/%s/%s|",
			tri(e->ready), tri(e->serving), tri(e->terminating),
			nz(e->hostname), nz(e->node_name), nz(e->zone),
			nz(e->target.kind), nz(e->target.ns),
			nz(e->target.name), nz(e->target.uid)) != ERR_OK);
	for (uint32_t i = 0; i < e->n_hint_zones; i++)
		BUG_ON(buf_addf(b, "hz=%s;", e->hint_zones[i]) != ERR_OK);
	for (uint32_t i = 0; i < e->n_hint_nodes; i++)
		BUG_ON(buf_addf(b, "hn=%s;", e->hint_nodes[i]) != ERR_OK);
}

struct collect {
	struct unit_lines *eps;   /* canonical endpoint lines */
	struct unit_lines *names; /* slice names */
	size_t *sizes;	     /* endpoints per slice, in output order */
	size_t n_sizes;
};

static enum err collect_slice(void *ctx, struct kube_event *ev)
{
	struct collect *c = ctx;
	const struct kube_endpointslice *s = kube_endpointslice(ev->obj);
	struct buf b;

	buf_init(&b, 0);
	for (uint32_t i = 0; i < s->n_endpoints; i++) {
		endpoint_line(s, &s->endpoints[i], &b);
		unit_lines_add(c->eps, b.data);
	}
	if (c->names)
		unit_lines_add(c->names, s->obj.meta.name);
	if (c->sizes && c->n_sizes < 16)
		c->sizes[c->n_sizes++] = s->n_endpoints;
	buf_release(&b);
	kube_object_unref(ev->obj); /* the event's reference is ours */
	ev->obj = NULL;
	return ERR_OK;
}

/* Decodes a replay List into sorted canonical endpoint lines (and slice
 * names and sizes when asked). */
static void canon(const struct run *r, struct unit_lines *eps, struct unit_lines *names,
		  size_t sizes[16], size_t *n_sizes)
{
	struct collect c = { eps, names, sizes, 0 };
	struct kube_stream_options so = { .kind = KUBE_KIND_ENDPOINTSLICE,
					  .mode = KUBE_STREAM_LIST,
					  .on_event = collect_slice,
					  .ctx = &c };
	struct kube_stream *s = kube_stream_new(&so);
	struct errbuf eb = ERRBUF_INIT;
	enum err e = kube_stream_feed(s, r->out, r->out_len, &eb);

	if (e == ERR_OK)
		e = kube_stream_finish(s, &eb);
	kube_stream_free(s);
	if (e != ERR_OK)
		unit_fail(__FILE__, __LINE__, "decoding the output: %s", eb.msg);
	unit_lines_sort(eps);
	if (names)
		unit_lines_sort(names);
	if (n_sizes)
		*n_sizes = c.n_sizes;
}

static void check_same_lines(const struct unit_lines *a, const struct unit_lines *b)
{
	CHECK_INT_EQ(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		CHECK_STR_EQ(a->v[i], b->v[i]);
}

/* ---- Cases ---------------------------------------------------------------- */

/* Runs <name>.jsonl with t and compares the output byte for byte with
 * <name>.expected.json; r keeps the run for more checks. */
static void run_golden(const char *name, const struct trace_opts *t,
		       int want_rc, struct run *r)
{
	char trace[128], expected[128];
	size_t len;
	char *want;

	(void)snprintf(trace, sizeof(trace), "%s.jsonl", name);
	(void)snprintf(expected, sizeof(expected), "replay/%s.expected.json",
		       name);
	want = unit_read_data(expected, &len);
	run_with(trace, t, r);
	CHECK_INT_EQ(r->rc, want_rc);
	if (r->out_len != len || memcmp(r->out, want, len) != 0)
		printf("# %s: got\n%s# want\n%s", name, r->out, want);
	CHECK_INT_EQ(r->out_len, len);
	CHECK(memcmp(r->out, want, len) == 0);
	free(want);
}

static void check_expected(const char *name, long long sync_every, int want_rc)
{
	struct trace_opts t = { .sync_every = sync_every };
	struct run r;

	run_golden(name, &t, want_rc, &r);
	CHECK_INT_EQ(stat_of(&r, "malformed"), want_rc ? 3 : 0);
	CHECK_INT_EQ(stat_of(&r, "rejected"), 0);
	/* Every Service of these traces asks for its own free address. */
	CHECK_INT_EQ(stat_of(&r, "denied"), 0);
	run_release(&r);
}

static void basic_ready_flip_terminating(void)
{
	check_expected("basic", 1, 0);
}

static void named_ports_split_slices(void)
{
	check_expected("named-ports", 1, 0);
}

static void dual_stack_and_headless_hostname(void)
{
	check_expected("dualstack", 1, 0);
}

static void relabel_moves_the_endpoint(void)
{
	check_expected("relabel", 1, 0);
}

static void delete_gc_foreign_externalname_unknown(void)
{
	struct run r;

	check_expected("delete", 1, 0);
	/* The garbage collector's delete of web's one slice is the only one;
	 * the foreign slice was never written. */
	run_trace("delete.jsonl", 1, 1, 100, &r);
	CHECK_INT_EQ(stat_of(&r, "delete/EndpointSlice"), 1);
	CHECK(strstr(r.out, "\"name\":\"web-foreign\"") != NULL);
	CHECK(strstr(r.out, "\"kubernetes.io/service-name\":\"ext\"") == NULL);
	run_release(&r);
}

static void adopt_without_a_write(void)
{
	struct run r;

	check_expected("adopt", 1000, 0);
	run_trace("adopt.jsonl", 1000, 1, 100, &r);
	CHECK_INT_EQ(r.rc, 0);
	CHECK_INT_EQ(stat_of(&r, "create/EndpointSlice"), 0);
	CHECK_INT_EQ(stat_of(&r, "update/EndpointSlice"), 0);
	CHECK_INT_EQ(stat_of(&r, "delete/EndpointSlice"), 0);
	CHECK_INT_EQ(stat_of(&r, "success"), 1);
	CHECK(strstr(r.out, "\"name\":\"web-abcde\"") != NULL);
	run_release(&r);
	/* The leading ADDED events are the initial state, so syncing after
	 * every event adopts the slice too. */
	run_trace("adopt.jsonl", 1, 1, 100, &r);
	CHECK_INT_EQ(stat_of(&r, "create/EndpointSlice"), 0);
	CHECK_INT_EQ(stat_of(&r, "update/EndpointSlice"), 0);
	CHECK_INT_EQ(stat_of(&r, "delete/EndpointSlice"), 0);
	run_release(&r);
}

static void malformed_lines_reported_and_skipped(void)
{
	struct run r;

	check_expected("malformed", 1, 1);
	run_trace("malformed.jsonl", 1, 1, 100, &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_CONTAINS(r.err.data, "malformed.jsonl:3: not a JSON document");
	CHECK_CONTAINS(r.err.data, "malformed.jsonl:5: object.kind is missing");
	CHECK_CONTAINS(r.err.data, "malformed.jsonl:6: ");
	CHECK_CONTAINS(r.err.data, "BOOKMARKED");
	CHECK(strstr(r.err.data, "malformed.jsonl:7:") == NULL);
	CHECK_INT_EQ(stat_of(&r, "events"), 4);
	CHECK_INT_EQ(stat_of(&r, "malformed"), 3);
	run_release(&r);
}

static void missing_trace_and_bad_limit(void)
{
	struct run r;

	run_trace("no-such-trace.jsonl", 1, 1, 100, &r);
	CHECK_INT_EQ(r.rc, 1);
	CHECK_CONTAINS(r.err.data, "no-such-trace.jsonl");
	run_release(&r);
	run_trace("basic.jsonl", 1, 1, 1001, &r);
	CHECK_INT_EQ(r.rc, 2);
	CHECK_CONTAINS(r.err.data, "1001");
	run_release(&r);
}

static void big_service_splits_100_100_50(void)
{
	static const long long every[] = { 1, 1000 };

	for (size_t k = 0; k < ARRAY_SIZE(every); k++) {
		struct unit_lines eps = { 0 };
		size_t sizes[16], n = 0, total = 0, hundreds = 0;
		struct run r;

		run_trace("big.jsonl", every[k], 1, 100, &r);
		CHECK_INT_EQ(r.rc, 0);
		canon(&r, &eps, NULL, sizes, &n);
		CHECK_INT_EQ(n, 3);
		for (size_t i = 0; i < n; i++) {
			total += sizes[i];
			hundreds += sizes[i] == 100;
		}
		CHECK_INT_EQ(total, 250);
		CHECK_INT_EQ(hundreds, 2); /* and so one of 50 */
		CHECK_INT_EQ(eps.n, 250);
		for (size_t i = 1; i < eps.n; i++) /* no duplicates */
			CHECK(strcmp(eps.v[i - 1], eps.v[i]) != 0);
		unit_lines_free(&eps);
		run_release(&r);
	}
}

static const char *const all_traces[] = {
	"basic.jsonl",	   "named-ports.jsonl", "dualstack.jsonl",
	"relabel.jsonl",   "delete.jsonl",	"adopt.jsonl",
	"malformed.jsonl", "big.jsonl",
};

static void same_trace_same_bytes(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_traces); i++) {
		struct run a, b;

		run_trace(all_traces[i], 1, 7, 100, &a);
		run_trace(all_traces[i], 1, 7, 100, &b);
		CHECK_INT_EQ(a.rc, b.rc);
		CHECK_INT_EQ(a.out_len, b.out_len);
		CHECK(memcmp(a.out, b.out, a.out_len) == 0);
		run_release(&a);
		run_release(&b);
	}
}

static void other_seed_same_endpoints_other_names(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_traces); i++) {
		struct unit_lines ea = { 0 }, eb = { 0 }, na = { 0 }, nb = { 0 };
		struct run a, b;
		bool names_differ = false;

		run_trace(all_traces[i], 1, 1, 100, &a);
		run_trace(all_traces[i], 1, 424242, 100, &b);
		canon(&a, &ea, &na, NULL, NULL);
		canon(&b, &eb, &nb, NULL, NULL);
		check_same_lines(&ea, &eb);
		CHECK_INT_EQ(na.n, nb.n);
		for (size_t j = 0; j < na.n; j++)
			names_differ |= strcmp(na.v[j], nb.v[j]) != 0;
		/* adopt's only slice is the pre-existing one: same name. */
		CHECK(names_differ || strcmp(all_traces[i], "adopt.jsonl") == 0);
		unit_lines_free(&ea);
		unit_lines_free(&eb);
		unit_lines_free(&na);
		unit_lines_free(&nb);
		run_release(&a);
		run_release(&b);
	}
}

static void sync_every_1_and_1000_same_endpoints(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(all_traces); i++) {
		struct unit_lines ea = { 0 }, eb = { 0 };
		struct run a, b;

		if (strcmp(all_traces[i], "adopt.jsonl") == 0)
			continue; /* see README: slice-before-Service order */
		run_trace(all_traces[i], 1, 1, 100, &a);
		run_trace(all_traces[i], 1000, 1, 100, &b);
		CHECK_INT_EQ(a.rc, b.rc);
		canon(&a, &ea, NULL, NULL, NULL);
		canon(&b, &eb, NULL, NULL, NULL);
		check_same_lines(&ea, &eb);
		unit_lines_free(&ea);
		unit_lines_free(&eb);
		run_release(&a);
		run_release(&b);
	}
}

/* ---- Services through admission (issue 4) ------------------------------ */

struct services {
	size_t n;
	struct kube_object *v[16]; /* one reference each */
};

static enum err collect_service(void *ctx, struct kube_event *ev)
{
	struct services *ss = ctx;

	if (ss->n < ARRAY_SIZE(ss->v))
		ss->v[ss->n++] = ev->obj;
	else
		kube_object_unref(ev->obj);
	ev->obj = NULL;
	return ERR_OK;
}

/* Decodes a --print services List. */
static void decode_services(const struct run *r, struct services *ss)
{
	struct kube_stream_options so = { .kind = KUBE_KIND_SERVICE,
					  .mode = KUBE_STREAM_LIST,
					  .on_event = collect_service,
					  .ctx = ss };
	struct kube_stream *s = kube_stream_new(&so);
	struct errbuf eb = ERRBUF_INIT;
	enum err e = kube_stream_feed(s, r->out, r->out_len, &eb);

	if (e == ERR_OK)
		e = kube_stream_finish(s, &eb);
	kube_stream_free(s);
	if (e != ERR_OK)
		unit_fail(__FILE__, __LINE__, "decoding the output: %s", eb.msg);
}

static void services_release(struct services *ss)
{
	for (size_t i = 0; i < ss->n; i++)
		kube_object_unref(ss->v[i]);
	ss->n = 0;
}

static const struct kube_service *find_service(const struct services *ss,
					       const char *name)
{
	for (size_t i = 0; i < ss->n; i++)
		if (strcmp(ss->v[i]->meta.name, name) == 0)
			return kube_service(ss->v[i]);
	return NULL;
}

static bool ip_in(const char *ip, const char *prefix)
{
	struct cidr c;
	struct cidr_addr a;

	return cidr_parse(prefix, &c, NULL) == ERR_OK &&
	       cidr_addr_parse(ip, &a, NULL) == ERR_OK && cidr_contains(&c, &a);
}

/* s has n clusterIPs of families fam (clusterIP the first), each in the
 * family's half of DUAL; they are added to ips. */
static void check_ips(const struct kube_service *s, uint32_t n,
		      const enum kube_ip_family *fam, struct unit_lines *ips)
{
	CHECK_NOT_NULL(s);
	CHECK_INT_EQ(s->n_cluster_ips, n);
	CHECK_INT_EQ(s->n_families, n);
	CHECK_STR_EQ(s->cluster_ip, s->cluster_ips[0]);
	for (uint32_t i = 0; i < n; i++) {
		CHECK_INT_EQ(s->families[i], fam[i]);
		CHECK(ip_in(s->cluster_ips[i], fam[i] == KUBE_FAMILY_IPV4
						       ? "10.96.0.0/16"
						       : "fd00::/108"));
		unit_lines_add(ips, s->cluster_ips[i]);
	}
}

/* s has n_np node ports (and a health check port when hc), all in the
 * default range; they are added to ports. */
static void check_node_ports(const struct kube_service *s, uint32_t n_np,
			     bool hc, struct unit_lines *ports)
{
	uint32_t seen = 0;
	char one[16];

	CHECK_NOT_NULL(s);
	for (uint32_t i = 0; i < s->n_ports; i++) {
		int32_t p = s->ports[i].node_port;

		if (!p)
			continue;
		seen++;
		CHECK(p >= 30000 && p <= 32767);
		(void)snprintf(one, sizeof(one), "%d", p);
		unit_lines_add(ports, one);
	}
	CHECK_INT_EQ(seen, n_np);
	CHECK_INT_EQ(s->health_check_node_port != 0, hc);
	if (hc) {
		CHECK(s->health_check_node_port >= 30000 &&
		      s->health_check_node_port <= 32767);
		(void)snprintf(one, sizeof(one), "%d", s->health_check_node_port);
		unit_lines_add(ports, one);
	}
}

static void check_unique(struct unit_lines *l, size_t n)
{
	unit_lines_sort(l);
	CHECK_INT_EQ(l->n, n);
	for (size_t i = 1; i < l->n; i++)
		CHECK(strcmp(l->v[i - 1], l->v[i]) != 0);
}

#define DENIED(line, svc) "svc-controllers replay: line " line ": service default/" svc " denied: "

static void check_admission_denials(const struct run *r)
{
	CHECK_INT_EQ(stat_of(r, "denied"), 2);
	CHECK_CONTAINS(r->err.data,
		       DENIED("8", "dup") "422 Invalid: Service \"dup\" is invalid: spec.clusterIPs: Invalid value: [\"10.96.5.5\"]: failed to allocate IP 10.96.5.5: provided IP is already allocated\n");
	CHECK_CONTAINS(r->err.data,
		       DENIED("9", "badport") "422 Invalid: Service \"badport\" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767\n");
}

/* Every kind of Service, checked by property: dynamic picks are random. */
static void admission_allocates_every_kind(void)
{
	static const enum kube_ip_family v4[] = { KUBE_FAMILY_IPV4 };
	static const enum kube_ip_family v6[] = { KUBE_FAMILY_IPV6 };
	static const enum kube_ip_family dual[] = { KUBE_FAMILY_IPV4,
						    KUBE_FAMILY_IPV6 };
	struct trace_opts t = { .print = "services" };
	struct unit_lines ips = { 0 }, ports = { 0 };
	struct services ss = { 0 };
	const struct kube_service *s;
	struct run r;

	run_with("admission.jsonl", &t, &r);
	CHECK_INT_EQ(r.rc, 0);
	check_admission_denials(&r);
	decode_services(&r, &ss);
	CHECK_INT_EQ(ss.n, 8);
	CHECK_NULL(find_service(&ss, "dup"));
	CHECK_NULL(find_service(&ss, "badport"));
	check_ips(find_service(&ss, "cip"), 1, v4, &ips);
	check_node_ports(find_service(&ss, "cip"), 0, false, &ports);
	check_ips(find_service(&ss, "np"), 1, v4, &ips);
	check_node_ports(find_service(&ss, "np"), 2, false, &ports);
	check_ips(find_service(&ss, "lb"), 1, v4, &ips);
	check_node_ports(find_service(&ss, "lb"), 1, true, &ports);
	check_ips(find_service(&ss, "ds"), 2, dual, &ips);
	check_ips(find_service(&ss, "v6"), 1, v6, &ips);
	s = find_service(&ss, "fixed");
	CHECK_NOT_NULL(s);
	CHECK_STR_EQ(s->cluster_ip, "10.96.5.5");
	unit_lines_add(&ips, s->cluster_ip);
	s = find_service(&ss, "hl");
	CHECK_NOT_NULL(s);
	CHECK_STR_EQ(s->cluster_ip, "None");
	check_node_ports(s, 0, false, &ports);
	s = find_service(&ss, "ext");
	CHECK_NOT_NULL(s);
	CHECK_NULL(s->cluster_ip);
	CHECK_INT_EQ(s->n_cluster_ips, 0);
	check_unique(&ips, 7);
	check_unique(&ports, 4);
	unit_lines_free(&ips);
	unit_lines_free(&ports);
	services_release(&ss);
	run_release(&r);
}

/* A /29 has 6 usable addresses: six Services get all of them. */
static void full_range_denies_the_seventh(void)
{
	struct trace_opts t = { .print = "services", .cidrs = "10.0.0.0/29" };
	struct unit_lines ips = { 0 };
	struct services ss = { 0 };
	char want[32];
	struct run r;

	run_with("full.jsonl", &t, &r);
	CHECK_INT_EQ(r.rc, 0);
	CHECK_INT_EQ(stat_of(&r, "denied"), 1);
	CHECK_CONTAINS(r.err.data,
		       DENIED("7", "s7") "500 InternalError: Internal error occurred: failed to allocate a serviceIP: range is full\n");
	decode_services(&r, &ss);
	CHECK_INT_EQ(ss.n, 6);
	CHECK_NULL(find_service(&ss, "s7"));
	for (size_t i = 0; i < ss.n; i++)
		unit_lines_add(&ips, kube_service(ss.v[i])->cluster_ip);
	unit_lines_sort(&ips);
	CHECK_INT_EQ(ips.n, 6);
	for (size_t i = 0; i < ips.n; i++) {
		(void)snprintf(want, sizeof(want), "10.0.0.%zu", i + 1);
		CHECK_STR_EQ(ips.v[i], want);
	}
	unit_lines_free(&ips);
	services_release(&ss);
	run_release(&r);
}

/* A /30 forces every pick, so the output is golden: the address a's
 * DELETED frees is the one c gets. */
static void deleted_service_ip_is_reused(void)
{
	struct trace_opts t = { .print = "services", .cidrs = "10.0.0.0/30" };
	struct run r;

	run_golden("reuse-ip", &t, 0, &r);
	CHECK_INT_EQ(stat_of(&r, "denied"), 1);
	CHECK_CONTAINS(r.err.data,
		       DENIED("3", "c") "500 InternalError: Internal error occurred: failed to allocate a serviceIP: range is full\n");
	CHECK(strstr(r.err.data, "line 5:") == NULL);
	run_release(&r);
}

/* Two node ports force every pick: a type change to NodePort gets the
 * free one, a change back to ClusterIP and a DELETED free theirs. */
static void type_change_and_delete_release_node_ports(void)
{
	struct trace_opts t = { .print = "services",
				.node_ports = "30000-30001" };
	struct run r;

	run_golden("reuse-port", &t, 0, &r);
	CHECK_INT_EQ(stat_of(&r, "denied"), 2);
	CHECK_CONTAINS(r.err.data,
		       DENIED("4", "np2") "500 InternalError: Internal error occurred: failed to allocate a nodePort: range is full\n");
	CHECK_CONTAINS(r.err.data,
		       DENIED("5", "np3") "422 Invalid: Service \"np3\" is invalid: spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated\n");
	CHECK_INT_EQ(stat_of(&r, "services"), 3);
	run_release(&r);
}

/* The forced traces print the same bytes every time. */
static void forced_services_same_bytes(void)
{
	static const struct {
		const char *trace;
		struct trace_opts t;
	} runs[] = {
		{ "reuse-ip.jsonl", { .print = "all", .cidrs = "10.0.0.0/30" } },
		{ "reuse-port.jsonl",
		  { .print = "all", .node_ports = "30000-30001" } },
	};

	for (size_t i = 0; i < ARRAY_SIZE(runs); i++) {
		struct run a, b;

		run_with(runs[i].trace, &runs[i].t, &a);
		run_with(runs[i].trace, &runs[i].t, &b);
		CHECK_INT_EQ(a.rc, 0);
		CHECK_INT_EQ(a.out_len, b.out_len);
		CHECK(memcmp(a.out, b.out, a.out_len) == 0);
		run_release(&a);
		run_release(&b);
	}
}

static void bad_ranges_exit_2(void)
{
	struct trace_opts t = { .cidrs = "10.96.0.0/33" };
	struct run r;

	run_with("basic.jsonl", &t, &r);
	CHECK_INT_EQ(r.rc, 2);
	CHECK_CONTAINS(r.err.data,
		       "--service-cluster-ip-range \"10.96.0.0/33\"");
	run_release(&r);
	t = (struct trace_opts){ .node_ports = "32767-30000" };
	run_with("basic.jsonl", &t, &r);
	CHECK_INT_EQ(r.rc, 2);
	CHECK_CONTAINS(r.err.data, "--service-node-port-range \"32767-30000\"");
	run_release(&r);
}

/* ---- The admission patch applier ------------------------------------------ */

/* Decodes a Service written with ' for ". */
static struct kube_object *service_from(const char *text)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = NULL;
	char *json = xstrdup(text);

	for (char *p = json; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (kube_object_decode(KUBE_KIND_SERVICE, json, strlen(json), &o,
			       &eb) != ERR_OK) {
		free(json);
		unit_fail(__FILE__, __LINE__, "decode: %s", eb.msg);
	}
	free(json);
	return o;
}

/* replay__patch_apply with ops written with ' for ". */
static enum err patch(struct kube_object *o, const char *text,
		      struct errbuf *eb)
{
	char *ops = xstrdup(text);
	enum err e;

	for (char *p = ops; *p; p++)
		if (*p == '\'')
			*p = '"';
	*eb = (struct errbuf)ERRBUF_INIT;
	e = replay__patch_apply(o, ops, eb);
	free(ops);
	return e;
}

#define PATCH_SVC                                                             \
	"{'metadata':{'name':'p','namespace':'default'},'spec':{"            \
	"'type':'LoadBalancer','ports':[{'port':80},{'port':53,"             \
	"'protocol':'UDP','nodePort':30001}]}}"

static void patch_sets_every_allocator_path(void)
{
	struct kube_object *o = service_from(PATCH_SVC);
	const struct kube_service *s = kube_service(o);
	struct errbuf eb;

	CHECK_OK(patch(o, "", &eb));
	CHECK_OK(replay__patch_apply(o, NULL, &eb));
	CHECK_OK(patch(o,
		       "{'op':'add','path':'/spec/clusterIP','value':'10.96.0.9'},"
		       "{'op':'add','path':'/spec/clusterIPs','value':['10.96.0.9','fd00::9']},"
		       "{'op':'add','path':'/spec/ipFamilies','value':['IPv4','IPv6']},"
		       "{'op':'add','path':'/spec/ports/0/nodePort','value':30000},"
		       "{'op':'replace','path':'/spec/ports/1/nodePort','value':30053},"
		       "{'op':'add','path':'/spec/healthCheckNodePort','value':30099}",
		       &eb));
	CHECK_STR_EQ(s->cluster_ip, "10.96.0.9");
	CHECK_INT_EQ(s->n_cluster_ips, 2);
	CHECK_STR_EQ(s->cluster_ips[1], "fd00::9");
	CHECK_INT_EQ(s->n_families, 2);
	CHECK_INT_EQ(s->families[1], KUBE_FAMILY_IPV6);
	CHECK_INT_EQ(s->ports[0].node_port, 30000);
	CHECK_INT_EQ(s->ports[1].node_port, 30053);
	CHECK_INT_EQ(s->health_check_node_port, 30099);
	kube_object_unref(o);
}

static void patch_refuses_what_it_does_not_know(void)
{
	static const struct {
		const char *ops;
		const char *msg;
	} bad[] = {
		{ "{'op':'remove','path':'/spec/clusterIP'}", "op \"remove\" not supported" },
		{ "{'op':'add','path':'/spec/type','value':'NodePort'}", "/spec/type: path not supported" },
		{ "{'op':'add','path':'/spec/ports/2/nodePort','value':30002}", "has 2 ports" },
		{ "{'op':'add','path':'/spec/ports/01/nodePort','value':30002}", "path not supported" },
		{ "{'op':'add','path':'/spec/ports/0/port','value':81}", "path not supported" },
		{ "{'op':'add','path':'/spec/ports/0/nodePort','value':'x'}", "expected an integer" },
		{ "{'op':'add','path':'/spec/ports/0/nodePort','value':70000}", "1..65535" },
		{ "{'op':'add','path':'/spec/ipFamilies','value':['IPv5']}", "IPv4 or IPv6" },
		{ "{'op':'add','path':'/spec/clusterIPs','value':[]}", "1 or 2 strings" },
		{ "{'op':'add','path':'/spec/clusterIP'}", "value is missing" },
		{ "{'path':'/spec/clusterIP','value':'x'}", "op and path" },
		{ "{'op':'add'", "not a JSON array" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct kube_object *o = service_from(PATCH_SVC);
		struct errbuf eb;

		CHECK_ERR(patch(o, bad[i].ops, &eb), ERR_INVALID);
		CHECK_CONTAINS(eb.msg, bad[i].msg);
		kube_object_unref(o);
	}
}

static const struct unit_case cases[] = {
	UNIT_CASE(basic_ready_flip_terminating),
	UNIT_CASE(named_ports_split_slices),
	UNIT_CASE(dual_stack_and_headless_hostname),
	UNIT_CASE(relabel_moves_the_endpoint),
	UNIT_CASE(delete_gc_foreign_externalname_unknown),
	UNIT_CASE(adopt_without_a_write),
	UNIT_CASE(malformed_lines_reported_and_skipped),
	UNIT_CASE(missing_trace_and_bad_limit),
	UNIT_CASE(big_service_splits_100_100_50),
	UNIT_CASE(same_trace_same_bytes),
	UNIT_CASE(other_seed_same_endpoints_other_names),
	UNIT_CASE(sync_every_1_and_1000_same_endpoints),
	UNIT_CASE(admission_allocates_every_kind),
	UNIT_CASE(full_range_denies_the_seventh),
	UNIT_CASE(deleted_service_ip_is_reused),
	UNIT_CASE(type_change_and_delete_release_node_ports),
	UNIT_CASE(forced_services_same_bytes),
	UNIT_CASE(bad_ranges_exit_2),
	UNIT_CASE(patch_sets_every_allocator_path),
	UNIT_CASE(patch_refuses_what_it_does_not_know),
};

int main(int argc, char **argv)
{
	return unit_main(argc, argv, "replay", cases, ARRAY_SIZE(cases));
}
