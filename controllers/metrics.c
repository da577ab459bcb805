/*
 * metrics: a Prometheus text-format writer and the page of the whole
 * process. The writer keeps the first buffer error and then does nothing,
 * so the render functions stay straight-line. The page is rendered from a
 * snapshot of plain stats in one fixed order of families (each family's
 * samples together, under its HELP and TYPE), which keeps it
 * deterministic and lets the tests render synthetic states.
 *
 * Thread safety: no state of its own; metrics_snapshot_take uses the
 * components' thread-safe stats getters.
 */
#include "base.h"
#include "metrics.h"

#include <math.h>

/* ---- The writer ------------------------------------------------------- */

static void put(struct metrics_writer *w, const char *s, size_t n)
{
	if (w->err == ERR_OK)
		w->err = buf_add(w->out, s, n);
}

static void puts_(struct metrics_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* The shortest of %.15g/%.17g that reads back as v; +Inf, -Inf, NaN as
 * the format spells them. */
static void format_double(char out[64], double v)
{
	if (isnan(v)) {
		(void)snprintf(out, 64, "NaN");
		return;
	}
	if (isinf(v)) {
		(void)snprintf(out, 64, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	(void)snprintf(out, 64, "%.15g", v);
	if (strtod(out, NULL) != v)
		(void)snprintf(out, 64, "%.17g", v);
}

static void put_double(struct metrics_writer *w, double v)
{
	char tmp[64];

	format_double(tmp, v);
	puts_(w, tmp);
}

static void put_u64(struct metrics_writer *w, uint64_t v)
{
	char tmp[32];

	(void)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	puts_(w, tmp);
}

/* Escapes backslash and newline, and the double quote when quote is set
 * (label values; HELP text leaves quotes alone). */
static void put_escaped(struct metrics_writer *w, const char *v, bool quote)
{
	const char *run = v;

	for (const char *s = v; *s; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		if (!esc)
			continue;
		put(w, run, (size_t)(s - run));
		puts_(w, esc);
		run = s + 1;
	}
	puts_(w, run);
}

void metrics_escape_label(struct metrics_writer *w, const char *v)
{
	put_escaped(w, v ? v : "", true);
}

void metrics_family(struct metrics_writer *w, const char *name,
		    enum metrics_type type, const char *help)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	puts_(w, "# HELP ");
	puts_(w, name);
	puts_(w, " ");
	put_escaped(w, help, false);
	puts_(w, "\n# TYPE ");
	puts_(w, name);
	puts_(w, " ");
	puts_(w, types[type]);
	puts_(w, "\n");
}

/* name{a="x",…,le="…"} — le is NULL for plain samples. */
static void put_series(struct metrics_writer *w, const char *name,
		       const char *suffix, const struct metrics_label *labels,
		       size_t n, const char *le)
{
	puts_(w, name);
	puts_(w, suffix);
	if (n == 0 && !le)
		return;
	puts_(w, "{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			puts_(w, ",");
		puts_(w, labels[i].name);
		puts_(w, "=\"");
		metrics_escape_label(w, labels[i].value);
		puts_(w, "\"");
	}
	if (le) {
		puts_(w, n ? ",le=\"" : "le=\"");
		puts_(w, le);
		puts_(w, "\"");
	}
	puts_(w, "}");
}

void metrics_sample(struct metrics_writer *w, const char *name,
		    const struct metrics_label *labels, size_t n, double value)
{
	put_series(w, name, "", labels, n, NULL);
	puts_(w, " ");
	put_double(w, value);
	puts_(w, "\n");
}

void metrics_sample_u64(struct metrics_writer *w, const char *name,
			const struct metrics_label *labels, size_t n,
			uint64_t value)
{
	put_series(w, name, "", labels, n, NULL);
	puts_(w, " ");
	put_u64(w, value);
	puts_(w, "\n");
}

void metrics_histogram(struct metrics_writer *w, const char *name,
		       const struct metrics_label *labels, size_t n,
		       const struct metrics_histogram *h)
{
	for (size_t i = 0; i <= h->n_bounds; i++) {
		char le[64];

		format_double(le, i < h->n_bounds ? h->bounds[i] : INFINITY);
		put_series(w, name, "_bucket", labels, n, le);
		puts_(w, " ");
		put_u64(w, h->cumulative[i]);
		puts_(w, "\n");
	}
	put_series(w, name, "_sum", labels, n, NULL);
	puts_(w, " ");
	put_double(w, h->sum);
	puts_(w, "\n");
	put_series(w, name, "_count", labels, n, NULL);
	puts_(w, " ");
	put_u64(w, h->cumulative[h->n_bounds]);
	puts_(w, "\n");
}

/* ---- Snapshot --------------------------------------------------------- */

void metrics_snapshot_take(const struct metrics_sources *src,
			   struct metrics_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	if (src->api) {
		out->has_api = true;
		apiclient_stats(src->api, &out->api);
	}
	if (src->epsctl) {
		out->has_epsctl = true;
		epsctl_stats(src->epsctl, &out->eps);
	}
	if (src->le) {
		out->has_leader = true;
		leaderelect_stats(src->le, &out->le);
	}
	out->lease_name = src->lease_name;
	for (size_t i = 0; i < src->n_informers && i < METRICS_MAX_INFORMERS;
	     i++) {
		struct informer *inf = src->informers[i];

		if (!inf)
			continue;
		out->informers[out->n_informers].kind =
		    kube_kind_name(informer_kind(inf));
		out->informers[out->n_informers].synced =
		    informer_has_synced(inf);
		informer_stats(inf, &out->informers[out->n_informers].stats);
		out->n_informers++;
	}
}

/* ---- The EndpointSlice controller (endpointslice.md §7.8) -------------- */

#define EPS "endpoint_slice_controller_"

/* Upstream's buckets for the per-sync histograms: 2, 4, …, 2^15. */
static const double per_sync_bounds[15] = {
	2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
	32768,
};

static void per_sync(struct metrics_writer *w, const char *name,
		     const char *help, const uint64_t hist[16], uint64_t sum)
{
	struct metrics_histogram h = { per_sync_bounds, 15, hist, (double)sum };

	metrics_family(w, name, METRICS_HISTOGRAM, help);
	metrics_histogram(w, name, NULL, 0, &h);
}

static void gauge1(struct metrics_writer *w, const char *name,
		   const char *help, uint64_t v)
{
	metrics_family(w, name, METRICS_GAUGE, help);
	metrics_sample_u64(w, name, NULL, 0, v);
}

static void eps_counters(struct metrics_writer *w,
			 const struct epsctl_stats *s)
{
	static const char *const ops[] = { "create", "update", "delete" };
	static const char *const results[] = { "success", "stale", "error" };
	const uint64_t nops[] = { s->creates, s->updates, s->deletes };
	const uint64_t nres[] = { s->syncs_success, s->syncs_stale,
				  s->syncs_error };

	metrics_family(w, EPS "changes", METRICS_COUNTER,
		       "Number of EndpointSlice changes");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct metrics_label l = { "operation", ops[i] };

		metrics_sample_u64(w, EPS "changes", &l, 1, nops[i]);
	}
	metrics_family(w, EPS "syncs", METRICS_COUNTER,
		       "Number of EndpointSlice syncs");
	for (size_t i = 0; i < ARRAY_SIZE(results); i++) {
		struct metrics_label l = { "result", results[i] };

		metrics_sample_u64(w, EPS "syncs", &l, 1, nres[i]);
	}
}

static void eps_traffic(struct metrics_writer *w,
			const struct epsctl_stats *s)
{
	static const char *const values[] = EPSCTL_TRAFFIC_DISTRIBUTIONS;
	const char *name = EPS "services_count_by_traffic_distribution";

	metrics_family(w, name, METRICS_GAUGE,
		       "Number of Services using some specific trafficDistribution");
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		struct metrics_label l = { "traffic_distribution", values[i] };

		metrics_sample_u64(w, name, &l, 1, s->traffic_distribution[i]);
	}
}

/*
 * NEEDSWORK: upstream labels endpointslices_changed_per_sync with
 * topology and traffic_distribution; the controller keeps one histogram
 * over all Services, so the series has no labels yet.
 */
static void render_epsctl(struct metrics_writer *w,
			  const struct epsctl_stats *s)
{
	per_sync(w, EPS "endpoints_added_per_sync",
		 "Number of endpoints added on each Service sync",
		 s->added_hist, s->added_sum);
	per_sync(w, EPS "endpoints_removed_per_sync",
		 "Number of endpoints removed on each Service sync",
		 s->removed_hist, s->removed_sum);
	gauge1(w, EPS "endpoints_desired",
	       "Number of endpoints desired", s->endpoints_desired);
	gauge1(w, EPS "num_endpoint_slices",
	       "Number of EndpointSlices", s->num_slices);
	gauge1(w, EPS "desired_endpoint_slices",
	       "Number of EndpointSlices that would exist with perfect endpoint allocation",
	       s->desired_slices);
	eps_counters(w, s);
	per_sync(w, EPS "endpointslices_changed_per_sync",
		 "Number of EndpointSlices changed on each Service sync",
		 s->changed_hist, s->changed_sum);
	eps_traffic(w, s);
}

static void render_workqueue(struct metrics_writer *w,
			     const struct epsctl_stats *s)
{
	struct metrics_label l = { "name", "endpoint_slice" };

	metrics_family(w, "workqueue_depth", METRICS_GAUGE,
		       "Current depth of workqueue");
	metrics_sample_u64(w, "workqueue_depth", &l, 1, s->queue_depth);
	metrics_family(w, "workqueue_adds_total", METRICS_COUNTER,
		       "Total number of adds handled by workqueue");
	metrics_sample_u64(w, "workqueue_adds_total", &l, 1, s->queue_adds);
	metrics_family(w, "workqueue_retries_total", METRICS_COUNTER,
		       "Total number of retries handled by workqueue");
	metrics_sample_u64(w, "workqueue_retries_total", &l, 1,
			   s->queue_retries);
}

/* A histogram kept in ms, exported in seconds. */
static void ms_histogram(struct metrics_writer *w, const char *name,
			 const char *help, const double *bounds_ms,
			 size_t n_bounds, const uint64_t *cumulative,
			 double sum_ms)
{
	double bounds_s[16];
	struct metrics_histogram h;

	BUG_ON(n_bounds > ARRAY_SIZE(bounds_s));
	for (size_t i = 0; i < n_bounds; i++)
		bounds_s[i] = bounds_ms[i] / 1000.0;
	h = (struct metrics_histogram){ bounds_s, n_bounds, cumulative,
					sum_ms / 1000.0 };
	metrics_family(w, name, METRICS_HISTOGRAM, help);
	metrics_histogram(w, name, NULL, 0, &h);
}

static void render_latencies(struct metrics_writer *w,
			     const struct epsctl_stats *s)
{
	static const double latency_ms[] = EPSCTL_LATENCY_BOUNDS_MS;
	static const double sync_ms[] = EPSCTL_SYNC_BOUNDS_MS;

	_Static_assert(ARRAY_SIZE(latency_ms) + 1 ==
			   ARRAY_SIZE(((struct epsctl_stats *)0)->latency_buckets),
		       "latency buckets");
	_Static_assert(ARRAY_SIZE(sync_ms) + 1 ==
			   ARRAY_SIZE(((struct epsctl_stats *)0)->sync_buckets),
		       "sync buckets");
	ms_histogram(w, "svc_controllers_endpointslice_event_to_write_latency_seconds",
		     "Time from the first Pod, Service or Node event of a Service to the EndpointSlice write it caused",
		     latency_ms, ARRAY_SIZE(latency_ms), s->latency_buckets,
		     s->latency_sum_ms);
	ms_histogram(w, "svc_controllers_endpointslice_sync_duration_seconds",
		     "Duration of one Service sync of the EndpointSlice controller",
		     sync_ms, ARRAY_SIZE(sync_ms), s->sync_buckets,
		     s->sync_sum_ms);
}

/* ---- Leader election (allocator.md §6.7) -------------------------------- */

static void render_leader(struct metrics_writer *w,
			  const struct metrics_snapshot *snap)
{
	struct metrics_label l = { "name",
				   snap->lease_name ? snap->lease_name : "" };

	metrics_family(w, "leader_election_master_status", METRICS_GAUGE,
		       "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.");
	metrics_sample_u64(w, "leader_election_master_status", &l, 1,
			   snap->le.leader ? 1 : 0);
	metrics_family(w, "leader_election_slowpath_total", METRICS_COUNTER,
		       "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease. Please make sure to group by name.");
	metrics_sample_u64(w, "leader_election_slowpath_total", &l, 1,
			   snap->le.slowpath);
}

/* ---- Informer caches ---------------------------------------------------- */

enum inf_field {
	INF_OBJECTS = 0,
	INF_BYTES,
	INF_SYNCED,
	INF_LISTS,
	INF_RELISTS,
	INF_WATCHES,
	INF_EVENTS,
	INF_EXPIRED,
	INF_ERRORS,
};

static uint64_t inf_value(const struct metrics_snapshot *snap, size_t i,
			  enum inf_field f)
{
	const struct informer_stats *s = &snap->informers[i].stats;

	switch (f) {
	case INF_OBJECTS:
		return s->objects;
	case INF_BYTES:
		return s->bytes;
	case INF_SYNCED:
		return snap->informers[i].synced ? 1 : 0;
	case INF_LISTS:
		return s->lists;
	case INF_RELISTS:
		return s->relists;
	case INF_WATCHES:
		return s->watches;
	case INF_EVENTS:
		return s->events;
	case INF_EXPIRED:
		return s->expired;
	case INF_ERRORS:
		return s->errors;
	}
	return 0;
}

static void render_informers(struct metrics_writer *w,
			     const struct metrics_snapshot *snap)
{
	static const struct {
		const char *name;
		enum metrics_type type;
		const char *help;
	} fams[] = {
		{ "svc_controllers_informer_objects", METRICS_GAUGE,
		  "Objects in the informer's cache" },
		{ "svc_controllers_informer_bytes", METRICS_GAUGE,
		  "Heap bytes of the informer's cached records" },
		{ "svc_controllers_informer_synced", METRICS_GAUGE,
		  "1 once the informer's first list has been applied" },
		{ "svc_controllers_informer_lists_total", METRICS_COUNTER,
		  "LIST requests (pages) of the informer" },
		{ "svc_controllers_informer_relists_total", METRICS_COUNTER,
		  "Full resyncs of the informer after the first" },
		{ "svc_controllers_informer_watches_total", METRICS_COUNTER,
		  "WATCH requests started by the informer" },
		{ "svc_controllers_informer_events_total", METRICS_COUNTER,
		  "Watch events applied to the informer's cache" },
		{ "svc_controllers_informer_expired_total", METRICS_COUNTER,
		  "410 Gone answers seen by the informer" },
		{ "svc_controllers_informer_errors_total", METRICS_COUNTER,
		  "Informer failures that caused a backoff" },
	};

	if (snap->n_informers == 0)
		return;
	for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
		metrics_family(w, fams[f].name, fams[f].type, fams[f].help);
		for (size_t i = 0; i < snap->n_informers; i++) {
			struct metrics_label l = { "kind",
						   snap->informers[i].kind };

			metrics_sample_u64(w, fams[f].name, &l, 1,
					   inf_value(snap, i, (enum inf_field)f));
		}
	}
}

/* ---- API client ----------------------------------------------------------- */

/* client-go's rest_client_requests_total says "<error>" for no answer. */
static const char *const classes[6] = { "<error>", "1xx", "2xx",
					"3xx", "4xx", "5xx" };

static void api_requests(struct metrics_writer *w,
			 const struct apiclient_stats *s)
{
	const char *name = "svc_controllers_api_requests_total";

	metrics_family(w, name, METRICS_COUNTER,
		       "API request attempts by verb and HTTP status class, watches included");
	for (int m = APICLIENT_GET; m <= APICLIENT_DELETE; m++) {
		for (size_t k = 0; k < ARRAY_SIZE(classes); k++) {
			struct metrics_label l[2] = { { "verb", apiclient_method_name((enum apiclient_method)m) },
						      { "code", classes[k] } };

			if (s->by_method_class[m][k])
				metrics_sample_u64(w, name, l, 2,
						   s->by_method_class[m][k]);
		}
	}
}

static void api_latency(struct metrics_writer *w,
			const struct apiclient_stats *s)
{
	static const double bounds_ms[] = APICLIENT_LATENCY_BOUNDS_MS;
	const char *name = "svc_controllers_api_request_duration_seconds";
	double bounds_s[ARRAY_SIZE(bounds_ms)];

	for (size_t i = 0; i < ARRAY_SIZE(bounds_ms); i++)
		bounds_s[i] = bounds_ms[i] / 1000.0;
	metrics_family(w, name, METRICS_HISTOGRAM,
		       "Duration of API request attempts (watches excluded) by verb and HTTP status class");
	for (int m = APICLIENT_GET; m <= APICLIENT_DELETE; m++) {
		for (size_t k = 0; k < ARRAY_SIZE(classes); k++) {
			struct metrics_label l[2] = { { "verb", apiclient_method_name((enum apiclient_method)m) },
						      { "code", classes[k] } };
			struct metrics_histogram h = {
				bounds_s, ARRAY_SIZE(bounds_s), s->latency[m][k],
				(double)s->latency_sum_ns[m][k] / 1e9,
			};

			if (s->latency[m][k][APICLIENT_LATENCY_BUCKETS])
				metrics_histogram(w, name, l, 2, &h);
		}
	}
}

static void render_api(struct metrics_writer *w,
		       const struct apiclient_stats *s)
{
	api_requests(w, s);
	api_latency(w, s);
	metrics_family(w, "svc_controllers_api_retries_total", METRICS_COUNTER,
		       "API request attempts repeated after a retryable answer");
	metrics_sample_u64(w, "svc_controllers_api_retries_total", NULL, 0,
			   s->retries);
	metrics_family(w, "svc_controllers_api_throttled_seconds_total",
		       METRICS_COUNTER,
		       "Time requests waited for the client-side rate limiter");
	metrics_sample(w, "svc_controllers_api_throttled_seconds_total", NULL,
		       0, (double)s->throttled_ns / 1e9);
}

/* ---- The page ------------------------------------------------------------ */

enum err metrics_render_snapshot(const struct metrics_snapshot *snap,
				 struct buf *out)
{
	struct metrics_writer w = METRICS_WRITER_INIT(out);

	if (snap->has_epsctl) {
		render_epsctl(&w, &snap->eps);
		render_workqueue(&w, &snap->eps);
		render_latencies(&w, &snap->eps);
	}
	if (snap->has_leader)
		render_leader(&w, snap);
	render_informers(&w, snap);
	if (snap->has_api)
		render_api(&w, &snap->api);
	return w.err;
}

enum err metrics_render(const struct metrics_sources *src, struct buf *out)
{
	struct metrics_snapshot *snap = xmalloc(sizeof(*snap));
	enum err e;

	metrics_snapshot_take(src, snap);
	e = metrics_render_snapshot(snap, out);
	free(snap);
	return e;
}
