#ifndef CTRL_METRICS_H
#define CTRL_METRICS_H

/*
 * metrics: the /metrics page in the Prometheus text exposition format
 * (version 0.0.4). Two layers:
 *
 *   - a small writer: HELP and TYPE lines, counter and gauge samples,
 *     histograms (_bucket{le=…} cumulative and ending in +Inf, _sum,
 *     _count), label values and HELP text escaped as the format requires;
 *   - the process's metrics: a snapshot of every component's stats
 *     (metrics_snapshot_take, any component may be absent) rendered in a
 *     fixed order (metrics_render_snapshot), so the page of one state is
 *     always the same bytes.
 *
 * Names: upstream's for the EndpointSlice controller
 * (endpoint_slice_controller_*, endpointslice.md §7.8), the workqueue
 * (workqueue_*{name="endpoint_slice"}) and leader election
 * (leader_election_*{name}, allocator.md §6.7); svc_controllers_* for what
 * upstream does not have (allocator.md §8.7's prefix rule).
 *
 * Thread safety: the writer's functions use only their arguments;
 * metrics_snapshot_take calls the components' thread-safe stats getters.
 */

#include "apiclient.h"
#include "epsctl.h"
#include "informer.h"
#include "leaderelect.h"

/* ---- The writer ------------------------------------------------------- */

/*
 * Appends to out. The first buf error (the buffer's maximum) is kept in
 * err and later calls do nothing, so a caller checks once at the end.
 */
struct metrics_writer {
	struct buf *out;
	enum err err;
};
#define METRICS_WRITER_INIT(b) { (b), ERR_OK }

struct metrics_label {
	const char *name;  /* [a-zA-Z_][a-zA-Z0-9_]*, not "le" */
	const char *value; /* any UTF-8; escaped on output */
};

enum metrics_type {
	METRICS_COUNTER = 0,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

/* "# HELP name help" and "# TYPE name type"; once per family, before its
 * samples. */
void metrics_family(struct metrics_writer *w, const char *name,
		    enum metrics_type type, const char *help);
/* "name{labels} value" (n may be 0). Integers print exactly, other
 * values in the shortest form that reads back the same. */
void metrics_sample(struct metrics_writer *w, const char *name,
		    const struct metrics_label *labels, size_t n, double value);
void metrics_sample_u64(struct metrics_writer *w, const char *name,
			const struct metrics_label *labels, size_t n,
			uint64_t value);

/* One series of a histogram: cumulative[i] counts observations <=
 * bounds[i] for i < n_bounds, and cumulative[n_bounds] is +Inf (the
 * count). */
struct metrics_histogram {
	const double *bounds;
	size_t n_bounds;
	const uint64_t *cumulative;
	double sum;
};
void metrics_histogram(struct metrics_writer *w, const char *name,
		       const struct metrics_label *labels, size_t n,
		       const struct metrics_histogram *h);

/* Appends v as a label value: \ " and newline escaped. */
void metrics_escape_label(struct metrics_writer *w, const char *v);

/* ---- The process's metrics -------------------------------------------- */

#define METRICS_MAX_INFORMERS 8

/* The live objects; any pointer may be NULL (component not running). */
struct metrics_sources {
	struct apiclient *api;
	struct epsctl *epsctl;
	struct leaderelect *le;
	const char *lease_name;	 /* leader_election_*{name}; NULL: "" */
	size_t n_informers;
	struct informer *informers[METRICS_MAX_INFORMERS];
};

/* The stats of one instant, plain values (tests build them by hand). */
struct metrics_snapshot {
	bool has_api;
	struct apiclient_stats api;
	bool has_epsctl;
	struct epsctl_stats eps;
	bool has_leader;
	struct leaderelect_stats le;
	const char *lease_name;	 /* borrowed */
	size_t n_informers;
	struct {
		const char *kind; /* label value, e.g. "Pod"; borrowed */
		bool synced;
		struct informer_stats stats;
	} informers[METRICS_MAX_INFORMERS];
};

/* Reads every present source's stats into out (zeroed first); never
 * blocks but on the components' own locks. */
void metrics_snapshot_take(const struct metrics_sources *src,
			   struct metrics_snapshot *out);
/* Appends the whole page for snap; ERR_TOO_LARGE when out's maximum was
 * reached (the page is then incomplete). */
enum err metrics_render_snapshot(const struct metrics_snapshot *snap,
				 struct buf *out) ATTR_WUR;
/* metrics_snapshot_take then metrics_render_snapshot. */
enum err metrics_render(const struct metrics_sources *src,
			struct buf *out) ATTR_WUR;

#endif /* CTRL_METRICS_H */
