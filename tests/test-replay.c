/*
 * Unit tests of replay (svc-controllers replay), driven in process through
 * replay_run: the traces in tests/data/replay/NAME.jsonl against their
 * hand-checked NAME.expected.json (tests/data/replay/README.md says why each
 * expected output is right), the 100/100/50 split of 250 pods, malformed
 * lines (reported by line number, skipped, exit status 1), adopting a
 * correct pre-existing slice with zero writes (--stats), determinism (same
 * trace → same bytes; another seed → same endpoints, other names) and
 * --sync-every 1 vs 1000 giving the same endpoints per (Service, address
 * type, port set).
 */
#include "base.h"
#include "replay.h"
#include "unit.h"

#include <unistd.h>

#include "kube.h"

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

/*
 * Runs replay_run on tests/data/replay/<name> with stderr captured (the
 * logs and --stats go there).
 */
static void run_trace(const char *name, long long sync_every, uint64_t seed,
		      int max_per_slice, struct run *r)
{
	FILE *tmp = tmpfile();
	FILE *out;
	int saved;
	struct replay_options o = {
		.trace = trace_path(name),
		.max_per_slice = max_per_slice,
		.managed_by = "endpointslice-controller.k8s.io",
		.print = "endpointslices",
		.stats = true,
		.sync_every = sync_every,
		.seed = seed,
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

/* Runs <name>.jsonl and compares the output byte for byte with
 * <name>.expected.json. */
static void check_expected(const char *name, long long sync_every, int want_rc)
{
	char trace[128], expected[128];
	struct run r;
	size_t len;
	char *want;

	(void)snprintf(trace, sizeof(trace), "%s.jsonl", name);
	(void)snprintf(expected, sizeof(expected), "replay/%s.expected.json",
		       name);
	want = unit_read_data(expected, &len);
	run_trace(trace, sync_every, 1, 100, &r);
	CHECK_INT_EQ(r.rc, want_rc);
	if (r.out_len != len || memcmp(r.out, want, len) != 0)
		printf("# %s: got\n%s# want\n%s", name, r.out, want);
	CHECK_INT_EQ(r.out_len, len);
	CHECK(memcmp(r.out, want, len) == 0);
	CHECK_INT_EQ(stat_of(&r, "malformed"), want_rc ? 3 : 0);
	CHECK_INT_EQ(stat_of(&r, "rejected"), 0);
	free(want);
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
};

int main(int argc, char **argv)
{
	return unit_main(argc, argv, "replay", cases, ARRAY_SIZE(cases));
}
