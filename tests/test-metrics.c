/*
 * Unit tests of metrics: the writer's exact bytes (escaping, numbers,
 * histograms), and the whole page rendered from synthetic snapshots and
 * from a live EndpointSlice controller, read back by a strict parser of
 * the text exposition format: every line is HELP, TYPE, a comment or a
 * valid sample of the family just declared; label values use only the
 * three escapes; each family appears once; histogram buckets have rising
 * le, never decrease, end in +Inf and _count equals it.
 */
#include "base.h"
#include "unit.h"

#include <math.h>

#include "epsctl.h"
#include "informer.h"
#include "memapi.h"
#include "metrics.h"

/* ---- A strict parser of the exposition format ------------------------- */

#define MAX_SAMPLES 1024
#define MAX_FAMILIES 128

struct sample {
	char series[512]; /* name{labels} exactly as written */
	double value;
};

struct page {
	size_t n;
	struct sample s[MAX_SAMPLES];
	size_t n_fam;
	char fam[MAX_FAMILIES][128];
	char why[256]; /* first problem found */
	/* the family being read */
	char cur[128];
	char type[16];
	bool help_seen;
	/* the histogram series being read */
	char hkey[512];
	bool hdone;
	double prev_le;
	double prev_count;
	double inf_count;
	int stage; /* 0 buckets, 1 after +Inf, 2 after _sum */
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || (!first && c >= '0' && c <= '9');
}

static const char *parse_name(const char *s, char *out, size_t n)
{
	size_t i = 0;

	if (!name_char(*s, true))
		return NULL;
	while (name_char(s[i], i == 0) && i + 1 < n) {
		out[i] = s[i];
		i++;
	}
	out[i] = '\0';
	return s + i;
}

static bool parse_value(const char *s, double *v)
{
	char *end;

	if (!strcmp(s, "+Inf")) {
		*v = INFINITY;
		return true;
	}
	if (!strcmp(s, "-Inf")) {
		*v = -INFINITY;
		return true;
	}
	if (!strcmp(s, "NaN")) {
		*v = NAN;
		return true;
	}
	if (!*s)
		return false;
	*v = strtod(s, &end);
	return *end == '\0';
}

static bool fail_page(struct page *p, const char *why, const char *line)
{
	if (!p->why[0])
		(void)snprintf(p->why, sizeof(p->why), "%s: %.200s", why, line);
	return false;
}

/* Labels from s (after '{') to '}'; writes the labels without le into key
 * (with name), le's value into *le (or NAN if none). */
static const char *parse_labels(struct page *p, const char *s,
				const char *line, struct buf *nole, double *le)
{
	*le = NAN;
	while (*s != '}') {
		char lname[128];
		struct buf val;
		bool is_le;

		s = parse_name(s, lname, sizeof(lname));
		if (!s || strchr(lname, ':') || s[0] != '=' || s[1] != '"')
			return fail_page(p, "bad label name", line), NULL;
		s += 2;
		buf_init(&val, 4096);
		for (; *s && *s != '"'; s++) {
			char c = *s;

			if (c == '\n')
				break;
			if (c == '\\') {
				s++;
				if (*s != '\\' && *s != '"' && *s != 'n') {
					buf_release(&val);
					return fail_page(p, "bad escape", line), NULL;
				}
				c = *s == 'n' ? '\n' : *s;
			}
			BUG_ON(buf_add(&val, &c, 1) != ERR_OK);
		}
		if (*s != '"') {
			buf_release(&val);
			return fail_page(p, "unterminated label value", line), NULL;
		}
		s++;
		is_le = !strcmp(lname, "le");
		if (is_le && !parse_value(val.data, le)) {
			buf_release(&val);
			return fail_page(p, "bad le", line), NULL;
		}
		if (!is_le)
			BUG_ON(buf_addf(nole, "%s=%s;", lname, val.data) != ERR_OK);
		buf_release(&val);
		if (*s == ',')
			s++;
		else if (*s != '}')
			return fail_page(p, "expected , or }", line), NULL;
	}
	return s + 1;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static bool hist_sample(struct page *p, const char *name, const char *key,
			double le, double v, const char *line)
{
	bool bucket = has_suffix(name, "_bucket");

	if (bucket && strcmp(key, p->hkey) != 0) {
		if (p->hkey[0] && !p->hdone)
			return fail_page(p, "histogram not finished", line);
		(void)snprintf(p->hkey, sizeof(p->hkey), "%s", key);
		p->hdone = false;
		p->stage = 0;
		p->prev_le = -INFINITY;
		p->prev_count = 0;
	} else if (strcmp(key, p->hkey) != 0 || p->hdone) {
		return fail_page(p, "histogram sample out of order", line);
	}
	if (bucket) {
		if (p->stage != 0 || isnan(le) || le <= p->prev_le ||
		    v < p->prev_count)
			return fail_page(p, "bucket not rising", line);
		p->prev_le = le;
		p->prev_count = v;
		if (isinf(le)) {
			p->stage = 1;
			p->inf_count = v;
		}
		return true;
	}
	if (has_suffix(name, "_sum")) {
		if (p->stage != 1)
			return fail_page(p, "_sum before +Inf", line);
		p->stage = 2;
		return true;
	}
	if (p->stage != 2 || v != p->inf_count)
		return fail_page(p, "_count differs from +Inf", line);
	p->hdone = true;
	return true;
}

static bool sample_line(struct page *p, const char *line)
{
	char name[256];
	struct buf key;
	const char *s = parse_name(line, name, sizeof(name));
	double le = NAN, v;
	bool ok = true;

	if (!s || !p->cur[0])
		return fail_page(p, "sample outside a family", line);
	buf_init(&key, 8192);
	BUG_ON(buf_addf(&key, "%s|", p->cur) != ERR_OK);
	if (*s == '{' && !(s = parse_labels(p, s + 1, line, &key, &le))) {
		buf_release(&key);
		return false;
	}
	if (*s != ' ' || !parse_value(s + 1, &v))
		ok = fail_page(p, "bad value", line);
	else if (!strcmp(p->type, "histogram"))
		ok = (has_suffix(name, "_bucket") || has_suffix(name, "_sum") ||
		      has_suffix(name, "_count")) &&
			     !strncmp(name, p->cur, strlen(p->cur)) &&
			     strlen(name) - strlen(p->cur) <= 7
			 ? hist_sample(p, name, key.data, le, v, line)
			 : fail_page(p, "not a histogram sample", line);
	else if (strcmp(name, p->cur) != 0 || !isnan(le))
		ok = fail_page(p, "sample of another family", line);
	else if (!strcmp(p->type, "counter") && !(v >= 0))
		ok = fail_page(p, "negative counter", line);
	if (ok && p->n < MAX_SAMPLES) {
		(void)snprintf(p->s[p->n].series, sizeof(p->s[p->n].series),
			       "%.*s", (int)(s - line), line);
		p->s[p->n++].value = v;
	}
	buf_release(&key);
	return ok;
}

static bool end_family(struct page *p, const char *line)
{
	if (!strcmp(p->type, "histogram") && p->hkey[0] && !p->hdone)
		return fail_page(p, "histogram not finished", line);
	p->hkey[0] = '\0';
	p->hdone = true;
	return true;
}

static bool meta_line(struct page *p, const char *line)
{
	char name[128];
	const char *s;

	if (strncmp(line, "# HELP ", 7) && strncmp(line, "# TYPE ", 7))
		return true; /* a comment */
	s = parse_name(line + 7, name, sizeof(name));
	if (!s || (*s != ' '))
		return fail_page(p, "bad HELP/TYPE", line);
	if (!strncmp(line, "# HELP ", 7)) {
		for (const char *c = s; *c; c++) {
			if (*c != '\\')
				continue;
			if (c[1] != '\\' && c[1] != 'n')
				return fail_page(p, "bad HELP escape", line);
			c++;
		}
		if (!end_family(p, line))
			return false;
		for (size_t i = 0; i < p->n_fam; i++)
			if (!strcmp(p->fam[i], name))
				return fail_page(p, "family repeated", line);
		BUG_ON(p->n_fam >= MAX_FAMILIES);
		(void)snprintf(p->fam[p->n_fam++], 128, "%s", name);
		(void)snprintf(p->cur, sizeof(p->cur), "%s", name);
		p->type[0] = '\0';
		return true;
	}
	if (strcmp(name, p->cur) != 0 || p->type[0])
		return fail_page(p, "TYPE without its HELP", line);
	s++;
	if (strcmp(s, "counter") && strcmp(s, "gauge") && strcmp(s, "histogram"))
		return fail_page(p, "unknown type", line);
	(void)snprintf(p->type, sizeof(p->type), "%s", s);
	return true;
}

/* Parses text into p (zeroed here); false with p->why on the first
 * violation. */
static bool parse_page(struct page *p, const char *text)
{
	const char *line = text;

	memset(p, 0, sizeof(*p));
	p->hdone = true;
	while (*line) {
		const char *nl = strchr(line, '\n');
		char buf[2048];
		bool ok;

		if (!nl)
			return fail_page(p, "no final newline", line);
		(void)snprintf(buf, sizeof(buf), "%.*s", (int)(nl - line), line);
		ok = buf[0] == '#' ? meta_line(p, buf) : sample_line(p, buf);
		if (!ok)
			return false;
		line = nl + 1;
	}
	return end_family(p, "end");
}

/* The value of one series; fails the case when absent. */
static double value_of(const struct page *p, const char *series)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->s[i].series, series))
			return p->s[i].value;
	unit_fail(__FILE__, __LINE__, "series %s not on the page", series);
}

static bool has_family(const struct page *p, const char *name)
{
	for (size_t i = 0; i < p->n_fam; i++)
		if (!strcmp(p->fam[i], name))
			return true;
	return false;
}

static struct page pg;

static void render_ok(const struct metrics_snapshot *snap, struct page *p)
{
	struct buf b;

	buf_init(&b, BUF_MAX_DEFAULT);
	CHECK_OK(metrics_render_snapshot(snap, &b));
	if (!parse_page(p, b.data))
		unit_fail(__FILE__, __LINE__, "page rejected: %s", p->why);
	buf_release(&b);
}

/* ---- The writer --------------------------------------------------------- */

static void test_escaping(void)
{
	struct buf b;
	struct metrics_writer w = METRICS_WRITER_INIT(&b);
	struct metrics_label l[2] = { { "a", "q\"b\\s\nn" }, { "b", "" } };

	buf_init(&b, 4096);
	metrics_family(&w, "x_total", METRICS_COUNTER, "help \\ with\nnewline \"q\"");
	metrics_sample_u64(&w, "x_total", l, 2, 3);
	CHECK_OK(w.err);
	CHECK_STR_EQ(b.data, "# HELP x_total help \\\\ with\\nnewline \"q\"\n"
			     "# TYPE x_total counter\n"
			     "x_total{a=\"q\\\"b\\\\s\\nn\",b=\"\"} 3\n");
	CHECK(parse_page(&pg, b.data));
	CHECK_INT_EQ(pg.n, 1);
	buf_release(&b);
}

static void test_numbers(void)
{
	struct buf b;
	struct metrics_writer w = METRICS_WRITER_INIT(&b);

	buf_init(&b, 4096);
	metrics_sample(&w, "a", NULL, 0, 0.1 + 0.2);
	metrics_sample(&w, "b", NULL, 0, 2.5e-9);
	metrics_sample(&w, "c", NULL, 0, 12345);
	metrics_sample(&w, "d", NULL, 0, INFINITY);
	metrics_sample(&w, "e", NULL, 0, NAN);
	metrics_sample_u64(&w, "f", NULL, 0, UINT64_MAX);
	CHECK_OK(w.err);
	CHECK_STR_EQ(b.data, "a 0.30000000000000004\nb 2.5e-09\nc 12345\n"
			     "d +Inf\ne NaN\nf 18446744073709551615\n");
	buf_release(&b);
}

static void test_histogram_bytes(void)
{
	static const double bounds[] = { 0.005, 1, 32768 };
	static const uint64_t cum[] = { 1, 2, 2, 5 };
	struct metrics_histogram h = { bounds, 3, cum, 7.25 };
	struct metrics_label l = { "verb", "GET" };
	struct buf b;
	struct metrics_writer w = METRICS_WRITER_INIT(&b);

	buf_init(&b, 4096);
	metrics_family(&w, "h_seconds", METRICS_HISTOGRAM, "h");
	metrics_histogram(&w, "h_seconds", &l, 1, &h);
	CHECK_OK(w.err);
	CHECK_STR_EQ(b.data, "# HELP h_seconds h\n# TYPE h_seconds histogram\n"
			     "h_seconds_bucket{verb=\"GET\",le=\"0.005\"} 1\n"
			     "h_seconds_bucket{verb=\"GET\",le=\"1\"} 2\n"
			     "h_seconds_bucket{verb=\"GET\",le=\"32768\"} 2\n"
			     "h_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 5\n"
			     "h_seconds_sum{verb=\"GET\"} 7.25\n"
			     "h_seconds_count{verb=\"GET\"} 5\n");
	CHECK(parse_page(&pg, b.data));
	buf_release(&b);
}

static void test_buffer_limit(void)
{
	struct metrics_snapshot *snap = xcalloc(1, sizeof(*snap));
	struct buf b;

	snap->has_epsctl = true;
	buf_init(&b, 100);
	CHECK_ERR(metrics_render_snapshot(snap, &b), ERR_TOO_LARGE);
	CHECK(b.len <= 100);
	buf_release(&b);
	free(snap);
}

/* The parser itself must refuse what Prometheus would refuse. */
static void test_parser_is_strict(void)
{
	static const char *const bad[] = {
		"x 1", /* no newline */
		"x 1\n", /* no family */
		"# HELP x h\n# TYPE x gauge\ny 1\n",
		"# HELP x h\n# TYPE x gauge\nx{a=\"\\t\"} 1\n",
		"# HELP x h\n# TYPE x gauge\nx{a=\"b} 1\n",
		"# HELP x h\n# TYPE x gauge\nx one\n",
		"# HELP x h\n# TYPE x counter\nx -1\n",
		"# HELP x h\n# TYPE x gauge\n# HELP x h\n# TYPE x gauge\n",
		("# HELP x h\n# TYPE x histogram\nx_bucket{le=\"1\"} 2\n"
		 "x_bucket{le=\"2\"} 1\nx_bucket{le=\"+Inf\"} 2\nx_sum 1\nx_count 2\n"),
		"# HELP x h\n# TYPE x gauge\nx 1\n# HELP y a\\tb\n",
		"# HELP x h\n# TYPE x histogram\nx_bucket{le=\"1\"} 2\nx_sum 1\nx_count 2\n",
		"# HELP x h\n# TYPE x histogram\nx_bucket{le=\"+Inf\"} 2\nx_sum 1\nx_count 3\n",
		"# HELP x h\n# TYPE x histogram\nx_bucket{le=\"+Inf\"} 2\nx_sum 1\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (parse_page(&pg, bad[i]))
			unit_fail(__FILE__, __LINE__, "accepted bad page %zu", i);
	CHECK(parse_page(&pg, "# HELP x h\n# TYPE x histogram\n"
			      "x_bucket{a=\"1\",le=\"1\"} 1\nx_bucket{a=\"1\",le=\"+Inf\"} 2\n"
			      "x_sum{a=\"1\"} 1\nx_count{a=\"1\"} 2\n# a comment\n"));
}

/* ---- The page from synthetic snapshots ------------------------------------ */

static void fill(struct metrics_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->has_epsctl = true;
	s->eps.syncs_success = 10;
	s->eps.syncs_stale = 1;
	s->eps.syncs_error = 2;
	s->eps.creates = 4;
	s->eps.updates = 5;
	s->eps.deletes = 6;
	s->eps.endpoints_desired = 300;
	s->eps.desired_slices = 3;
	s->eps.num_slices = 4;
	for (int i = 0; i < 16; i++) {
		s->eps.added_hist[i] = 7 + (uint64_t)(i >= 2);
		s->eps.removed_hist[i] = 8;
		s->eps.changed_hist[i] = 8;
	}
	s->eps.hist_count = 8;
	s->eps.added_sum = 20;
	for (int i = 0; i < 9; i++)
		s->eps.latency_buckets[i] = (uint64_t)i + 1;
	s->eps.latency_count = 9;
	s->eps.latency_sum_ms = 2500;
	for (int i = 0; i < 11; i++)
		s->eps.sync_buckets[i] = 3;
	s->eps.sync_count = 3;
	s->eps.sync_sum_ms = 1.5;
	s->eps.queue_depth = 2;
	s->eps.queue_adds = 40;
	s->eps.queue_retries = 3;
	s->eps.traffic_distribution[0] = 1;
	s->eps.traffic_distribution[2] = 2;
	s->has_leader = true;
	s->le.leader = true;
	s->le.slowpath = 1;
	s->lease_name = "svc-controllers";
	s->n_informers = 2;
	s->informers[0].kind = "Pod";
	s->informers[0].synced = true;
	s->informers[0].stats.objects = 12;
	s->informers[0].stats.bytes = 4096;
	s->informers[0].stats.events = 99;
	s->informers[1].kind = "Weird\"kind\\";
	s->has_api = true;
	s->api.by_method_class[APICLIENT_GET][2] = 5;
	s->api.by_method_class[APICLIENT_PUT][4] = 1;
	s->api.by_method_class[APICLIENT_POST][0] = 2;
	for (int b = 0; b <= APICLIENT_LATENCY_BUCKETS; b++)
		s->api.latency[APICLIENT_GET][2][b] = b < 2 ? 3 : 5;
	s->api.latency_sum_ns[APICLIENT_GET][2] = 1500000000;
	s->api.throttled_ns = 250000000;
	s->api.retries = 4;
}

static void test_page_synthetic(void)
{
	struct metrics_snapshot *s = xmalloc(sizeof(*s));
	static const char *const families[] = {
		"endpoint_slice_controller_endpoints_added_per_sync",
		"endpoint_slice_controller_endpoints_removed_per_sync",
		"endpoint_slice_controller_endpoints_desired",
		"endpoint_slice_controller_num_endpoint_slices",
		"endpoint_slice_controller_desired_endpoint_slices",
		"endpoint_slice_controller_changes",
		"endpoint_slice_controller_endpointslices_changed_per_sync",
		"endpoint_slice_controller_syncs",
		"endpoint_slice_controller_services_count_by_traffic_distribution",
		"workqueue_depth", "workqueue_adds_total", "workqueue_retries_total",
		"svc_controllers_endpointslice_event_to_write_latency_seconds",
		"svc_controllers_endpointslice_sync_duration_seconds",
		"leader_election_master_status", "leader_election_slowpath_total",
		"svc_controllers_informer_objects", "svc_controllers_informer_bytes",
		"svc_controllers_informer_relists_total",
		"svc_controllers_informer_watches_total",
		"svc_controllers_informer_events_total",
		"svc_controllers_api_requests_total",
		"svc_controllers_api_request_duration_seconds",
		"svc_controllers_api_throttled_seconds_total",
	};

	fill(s);
	render_ok(s, &pg);
	for (size_t i = 0; i < ARRAY_SIZE(families); i++)
		if (!has_family(&pg, families[i]))
			unit_fail(__FILE__, __LINE__, "family %s missing", families[i]);
	CHECK(value_of(&pg, "endpoint_slice_controller_syncs{result=\"success\"}") == 10);
	CHECK(value_of(&pg, "endpoint_slice_controller_syncs{result=\"stale\"}") == 1);
	CHECK(value_of(&pg, "endpoint_slice_controller_changes{operation=\"delete\"}") == 6);
	CHECK(value_of(&pg, "endpoint_slice_controller_endpoints_added_per_sync_bucket{le=\"2\"}") == 7);
	CHECK(value_of(&pg, "endpoint_slice_controller_endpoints_added_per_sync_bucket{le=\"8\"}") == 8);
	CHECK(value_of(&pg, "endpoint_slice_controller_endpoints_added_per_sync_bucket{le=\"32768\"}") == 8);
	CHECK(value_of(&pg, "endpoint_slice_controller_endpoints_added_per_sync_sum") == 20);
	CHECK(value_of(&pg, "endpoint_slice_controller_services_count_by_traffic_distribution{traffic_distribution=\"PreferSameNode\"}") == 2);
	CHECK(value_of(&pg, "workqueue_adds_total{name=\"endpoint_slice\"}") == 40);
	CHECK(value_of(&pg, "workqueue_depth{name=\"endpoint_slice\"}") == 2);
	/* 1 ms becomes 0.001 s, and the sum follows. */
	CHECK(value_of(&pg, "svc_controllers_endpointslice_event_to_write_latency_seconds_bucket{le=\"0.001\"}") == 1);
	CHECK(value_of(&pg, "svc_controllers_endpointslice_event_to_write_latency_seconds_bucket{le=\"5\"}") == 8);
	CHECK(value_of(&pg, "svc_controllers_endpointslice_event_to_write_latency_seconds_sum") == 2.5);
	CHECK(value_of(&pg, "svc_controllers_endpointslice_sync_duration_seconds_bucket{le=\"0.0001\"}") == 3);
	CHECK(value_of(&pg, "leader_election_master_status{name=\"svc-controllers\"}") == 1);
	CHECK(value_of(&pg, "svc_controllers_informer_objects{kind=\"Pod\"}") == 12);
	CHECK(value_of(&pg, "svc_controllers_informer_objects{kind=\"Weird\\\"kind\\\\\"}") == 0);
	CHECK(value_of(&pg, "svc_controllers_api_requests_total{verb=\"GET\",code=\"2xx\"}") == 5);
	CHECK(value_of(&pg, "svc_controllers_api_requests_total{verb=\"POST\",code=\"<error>\"}") == 2);
	CHECK(value_of(&pg, "svc_controllers_api_request_duration_seconds_bucket{verb=\"GET\",code=\"2xx\",le=\"0.025\"}") == 3);
	CHECK(value_of(&pg, "svc_controllers_api_request_duration_seconds_count{verb=\"GET\",code=\"2xx\"}") == 5);
	CHECK(value_of(&pg, "svc_controllers_api_request_duration_seconds_sum{verb=\"GET\",code=\"2xx\"}") == 1.5);
	CHECK(value_of(&pg, "svc_controllers_api_throttled_seconds_total") == 0.25);
	free(s);
}

static void test_page_is_deterministic(void)
{
	struct metrics_snapshot *s = xmalloc(sizeof(*s));
	struct buf a, b;

	fill(s);
	buf_init(&a, BUF_MAX_DEFAULT);
	buf_init(&b, BUF_MAX_DEFAULT);
	CHECK_OK(metrics_render_snapshot(s, &a));
	CHECK_OK(metrics_render_snapshot(s, &b));
	CHECK_STR_EQ(a.data, b.data);
	buf_release(&a);
	buf_release(&b);
	free(s);
}

static void test_absent_sources(void)
{
	struct metrics_snapshot *s = xcalloc(1, sizeof(*s));
	struct metrics_sources src = { 0 };
	struct buf b;

	buf_init(&b, BUF_MAX_DEFAULT);
	CHECK_OK(metrics_render(&src, &b));
	CHECK_INT_EQ(b.len, 0);
	s->n_informers = 1;
	s->informers[0].kind = "Node";
	render_ok(s, &pg);
	CHECK(!has_family(&pg, "endpoint_slice_controller_syncs"));
	CHECK(!has_family(&pg, "leader_election_master_status"));
	CHECK(value_of(&pg, "svc_controllers_informer_synced{kind=\"Node\"}") == 0);
	buf_release(&b);
	free(s);
}

static void test_counters_move(void)
{
	struct metrics_snapshot *s = xmalloc(sizeof(*s));
	double before[3];

	fill(s);
	render_ok(s, &pg);
	before[0] = value_of(&pg, "endpoint_slice_controller_syncs{result=\"error\"}");
	before[1] = value_of(&pg, "leader_election_slowpath_total{name=\"svc-controllers\"}");
	before[2] = value_of(&pg, "svc_controllers_api_requests_total{verb=\"GET\",code=\"2xx\"}");
	s->eps.syncs_error++;
	s->le.slowpath += 2;
	s->le.leader = false;
	s->api.by_method_class[APICLIENT_GET][2] += 3;
	render_ok(s, &pg);
	CHECK(value_of(&pg, "endpoint_slice_controller_syncs{result=\"error\"}") == before[0] + 1);
	CHECK(value_of(&pg, "leader_election_slowpath_total{name=\"svc-controllers\"}") == before[1] + 2);
	CHECK(value_of(&pg, "leader_election_master_status{name=\"svc-controllers\"}") == 0);
	CHECK(value_of(&pg, "svc_controllers_api_requests_total{verb=\"GET\",code=\"2xx\"}") == before[2] + 3);
	free(s);
}

/* ---- The page of a live controller ------------------------------------------ */

static void apply_json(struct memapi *api, enum kube_kind kind, const char *j)
{
	struct kube_object *o = NULL;
	struct errbuf eb = ERRBUF_INIT;

	CHECK_OK(kube_object_decode(kind, j, strlen(j), &o, &eb));
	CHECK_OK(memapi_apply(api, KUBE_EVENT_ADDED, o, &eb));
}

static void settle(struct memapi *api, struct epsctl *ctl)
{
	for (int i = 0; i < 50; i++)
		if (!memapi_deliver(api) && !epsctl_run_until_idle(ctl))
			break;
}

static void render_live(const struct metrics_sources *src, struct page *p)
{
	struct buf b;

	buf_init(&b, BUF_MAX_DEFAULT);
	CHECK_OK(metrics_render(src, &b));
	if (!parse_page(p, b.data))
		unit_fail(__FILE__, __LINE__, "page rejected: %s", p->why);
	buf_release(&b);
}

static void test_live_controller(void)
{
	static const enum kube_kind kinds[] = { KUBE_KIND_POD, KUBE_KIND_SERVICE,
						KUBE_KIND_ENDPOINTSLICE,
						KUBE_KIND_NODE };
	void (*const fns[])(struct epsctl *, struct informer_handlers *) = {
		epsctl_pod_handlers, epsctl_service_handlers,
		epsctl_slice_handlers, epsctl_node_handlers
	};
	struct epsctl_options o = {
		.cfg = { 100, EPSLICE_MANAGED_BY_DEFAULT },
		.workers = 1,
		.immediate = true,
	};
	struct memapi *api = memapi_new(3);
	struct metrics_sources src = { 0 };
	struct epsctl_sources es = {
		memapi_store(api, KUBE_KIND_POD), memapi_store(api, KUBE_KIND_SERVICE),
		memapi_store(api, KUBE_KIND_NODE),
		memapi_store(api, KUBE_KIND_ENDPOINTSLICE),
	};
	struct epsctl_writer w;
	struct epsctl *ctl = NULL;
	double syncs, creates, adds, durations;

	memapi_writer(api, &w);
	CHECK_OK(epsctl_new(&o, &es, &w, &ctl));
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct informer_handlers h;

		fns[i](ctl, &h);
		memapi_add_handlers(api, kinds[i], &h);
	}
	src.epsctl = ctl;
	render_live(&src, &pg);
	syncs = value_of(&pg, "endpoint_slice_controller_syncs{result=\"success\"}");
	creates = value_of(&pg, "endpoint_slice_controller_changes{operation=\"create\"}");
	adds = value_of(&pg, "workqueue_adds_total{name=\"endpoint_slice\"}");
	durations = value_of(&pg, "svc_controllers_endpointslice_sync_duration_seconds_count");
	apply_json(api, KUBE_KIND_NODE,
		   "{\"metadata\":{\"name\":\"n1\",\"uid\":\"n\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	apply_json(api, KUBE_KIND_SERVICE,
		   "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"s\"},\"spec\":{\"selector\":{\"app\":\"web\"},\"clusterIP\":\"10.96.0.1\",\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"port\":80}]}}");
	apply_json(api, KUBE_KIND_POD,
		   "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"uid\":\"p\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"10.0.0.1\"}]}}");
	settle(api, ctl);
	render_live(&src, &pg);
	CHECK(value_of(&pg, "endpoint_slice_controller_syncs{result=\"success\"}") > syncs);
	CHECK(value_of(&pg, "endpoint_slice_controller_changes{operation=\"create\"}") == creates + 1);
	CHECK(value_of(&pg, "workqueue_adds_total{name=\"endpoint_slice\"}") > adds);
	CHECK(value_of(&pg, "svc_controllers_endpointslice_sync_duration_seconds_count") > durations);
	CHECK(value_of(&pg, "endpoint_slice_controller_endpoints_desired") == 1);
	CHECK(value_of(&pg, "endpoint_slice_controller_num_endpoint_slices") == 1);
	epsctl_free(ctl);
	memapi_free(api);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_escaping),
		UNIT_CASE(test_numbers),
		UNIT_CASE(test_histogram_bytes),
		UNIT_CASE(test_buffer_limit),
		UNIT_CASE(test_parser_is_strict),
		UNIT_CASE(test_page_synthetic),
		UNIT_CASE(test_page_is_deterministic),
		UNIT_CASE(test_absent_sources),
		UNIT_CASE(test_counters_move),
		UNIT_CASE(test_live_controller),
	};

	return unit_main(argc, argv, "metrics", cases, ARRAY_SIZE(cases));
}
