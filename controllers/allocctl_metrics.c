/*
 * allocctl_metrics: the allocator's part of /metrics (allocator.md §4.4,
 * §8.7). Upstream's allocator and repair families with the
 * svc_controllers_ prefix in place of kube_apiserver_ / apiserver_ (the
 * apiserver keeps exporting its own), every series seeded from start, and
 * per-range counts of each range's own values. Then our own: admission
 * answers, the admitting state, passes and fills.
 */
#include "base.h"
#include "allocctl.h"

#include "allocctl_internal.h"
#include "metrics.h"

#define IPA  "svc_controllers_clusterip_allocator_"
#define NPA  "svc_controllers_nodeport_allocator_"
#define IPR  "svc_controllers_clusterip_repair_"
#define NPR  "svc_controllers_nodeport_repair_"

static const char *const scopes[ALLOCATOR_NSCOPES] = {"static", "dynamic"};

/* A snapshot taken under the locks, rendered without them. */
struct snap {
	bool has[ALLOCATOR_NRANGES];
	char cidr[ALLOCATOR_NRANGES][64];
	struct allocator_counts counts[ALLOCATOR_NRANGES];
	struct allocator_stats stats[ALLOCATOR_NRANGES];
	uint64_t repair_errors[ALLOCATOR_NRANGES][REPAIR_ERR__COUNT];
	uint64_t reconcile_errors[2];
	uint64_t passes_ok, passes_failed;
	uint64_t answers[ALLOCCTL__ANSWERS];
	uint64_t fills_done, fills_failed;
	size_t tentative;
	bool admitting;
};

static void take(struct allocctl *c, struct snap *s)
{
	memset(s, 0, sizeof(*s));
	for (int r = 0; r < ALLOCATOR_NRANGES; r++) {
		s->has[r] = allocator_counts(c->alloc, (enum allocator_range)r,
					     &s->counts[r]);
		if (!s->has[r])
			continue;
		(void)allocator_stats(c->alloc, (enum allocator_range)r,
				      &s->stats[r]);
		allocator_range_text(c->alloc, (enum allocator_range)r,
				     s->cidr[r]);
	}
	s->tentative = allocator_tentative(c->alloc);
	s->admitting = atomic_load(&c->admitting);
	pthread_mutex_lock(&c->lock);
	memcpy(s->repair_errors, c->repair_errors, sizeof(s->repair_errors));
	memcpy(s->reconcile_errors, c->reconcile_errors,
	       sizeof(s->reconcile_errors));
	memcpy(s->answers, c->answers, sizeof(s->answers));
	s->passes_ok = c->passes_ok;
	s->passes_failed = c->passes_failed;
	s->fills_done = c->fills_done;
	s->fills_failed = c->fills_failed;
	pthread_mutex_unlock(&c->lock);
}

static void ip_gauges(struct metrics_writer *w, const struct snap *s)
{
	metrics_family(w, IPA "allocated_ips", METRICS_GAUGE,
		       "Gauge measuring the number of allocated IPs for Services");
	for (int r = ALLOCATOR_IPV4; r <= ALLOCATOR_IPV6; r++)
		if (s->has[r])
			metrics_sample_u64(
			    w, IPA "allocated_ips",
			    (struct metrics_label[]){{"cidr", s->cidr[r]}}, 1,
			    s->counts[r].used);
	metrics_family(w, IPA "available_ips", METRICS_GAUGE,
		       "Gauge measuring the number of available IPs for Services");
	for (int r = ALLOCATOR_IPV4; r <= ALLOCATOR_IPV6; r++)
		if (s->has[r])
			metrics_sample_u64(
			    w, IPA "available_ips",
			    (struct metrics_label[]){{"cidr", s->cidr[r]}}, 1,
			    s->counts[r].available);
}

static void ip_counters(struct metrics_writer *w, const struct snap *s,
			const char *name, const char *help, bool errors)
{
	metrics_family(w, name, METRICS_COUNTER, help);
	for (int r = ALLOCATOR_IPV4; r <= ALLOCATOR_IPV6; r++) {
		if (!s->has[r])
			continue;
		for (int k = 0; k < ALLOCATOR_NSCOPES; k++) {
			struct metrics_label l[2] = {{"cidr", s->cidr[r]},
						     {"scope", scopes[k]}};

			metrics_sample_u64(w, name, l, 2,
					   errors ? s->stats[r].errors[k]
						  : s->stats[r].allocations[k]);
		}
	}
}

static void port_metrics(struct metrics_writer *w, const struct snap *s)
{
	const struct allocator_stats *st = &s->stats[ALLOCATOR_NODEPORT];

	metrics_family(w, NPA "allocated_ports", METRICS_GAUGE,
		       "Gauge measuring the number of allocated NodePorts for Services");
	metrics_sample_u64(w, NPA "allocated_ports", NULL, 0,
			   s->counts[ALLOCATOR_NODEPORT].used);
	metrics_family(w, NPA "available_ports", METRICS_GAUGE,
		       "Gauge measuring the number of available NodePorts for Services");
	metrics_sample_u64(w, NPA "available_ports", NULL, 0,
			   s->counts[ALLOCATOR_NODEPORT].available);
	metrics_family(w, NPA "allocation_total", METRICS_COUNTER,
		       "Number of NodePort allocations");
	for (int k = 0; k < ALLOCATOR_NSCOPES; k++)
		metrics_sample_u64(w, NPA "allocation_total",
				   (struct metrics_label[]){{"scope", scopes[k]}},
				   1, st->allocations[k]);
	metrics_family(w, NPA "allocation_errors_total", METRICS_COUNTER,
		       "Number of errors trying to allocate NodePort");
	for (int k = 0; k < ALLOCATOR_NSCOPES; k++)
		metrics_sample_u64(w, NPA "allocation_errors_total",
				   (struct metrics_label[]){{"scope", scopes[k]}},
				   1, st->errors[k]);
}

/* Upstream's error types: the IP repair has "invalid", the port one not. */
static void repair_errors(struct metrics_writer *w, const struct snap *s,
			  bool ip)
{
	const char *name = ip ? IPR "ip_errors_total" : NPR "port_errors_total";

	metrics_family(w, name, METRICS_COUNTER,
		       ip ? "Number of errors detected on clusterips by the repair loop broken down by type of error"
			  : "Number of errors detected on ports by the repair loop broken down by type of error");
	for (int t = 0; t < REPAIR_ERR__COUNT; t++) {
		uint64_t v = ip ? s->repair_errors[ALLOCATOR_IPV4][t] +
				      s->repair_errors[ALLOCATOR_IPV6][t]
				: s->repair_errors[ALLOCATOR_NODEPORT][t];

		if (!ip && t == REPAIR_ERR_INVALID)
			continue;
		metrics_sample_u64(
		    w, name,
		    (struct metrics_label[]){
			{"type", repair_error_type_name((enum repair_error_type)t)}},
		    1, v);
	}
}

static void repair_metrics(struct metrics_writer *w, const struct snap *s)
{
	repair_errors(w, s, true);
	metrics_family(w, IPR "reconcile_errors_total", METRICS_COUNTER,
		       "Number of reconciliation failures on the clusterip repair reconcile loop");
	metrics_sample_u64(w, IPR "reconcile_errors_total", NULL, 0,
			   s->reconcile_errors[0]);
	repair_errors(w, s, false);
	metrics_family(w, NPR "reconcile_errors_total", METRICS_COUNTER,
		       "Number of reconciliation failures on the nodeport repair reconcile loop");
	metrics_sample_u64(w, NPR "reconcile_errors_total", NULL, 0,
			   s->reconcile_errors[1]);
}

static void own_metrics(struct metrics_writer *w, const struct snap *s)
{
	static const char *const answers[ALLOCCTL__ANSWERS] = {
	    "patched", "unchanged", "denied", "standby", "failed"};

	metrics_family(w, "svc_controllers_allocator_admitting", METRICS_GAUGE,
		       "1 while this replica answers admission with allocations (leader, takeover repair done)");
	metrics_sample_u64(w, "svc_controllers_allocator_admitting", NULL, 0,
			   s->admitting);
	metrics_family(w, "svc_controllers_allocator_admission_total",
		       METRICS_COUNTER, "Admission requests answered, by answer");
	for (int a = 0; a < ALLOCCTL__ANSWERS; a++)
		metrics_sample_u64(
		    w, "svc_controllers_allocator_admission_total",
		    (struct metrics_label[]){{"answer", answers[a]}}, 1,
		    s->answers[a]);
	metrics_family(w, "svc_controllers_allocator_repair_passes_total",
		       METRICS_COUNTER, "Repair passes, by result");
	metrics_sample_u64(w, "svc_controllers_allocator_repair_passes_total",
			   (struct metrics_label[]){{"result", "success"}}, 1,
			   s->passes_ok);
	metrics_sample_u64(w, "svc_controllers_allocator_repair_passes_total",
			   (struct metrics_label[]){{"result", "error"}}, 1,
			   s->passes_failed);
	metrics_family(w, "svc_controllers_allocator_tentative", METRICS_GAUGE,
		       "Values reserved by admission and not yet seen on a Service");
	metrics_sample_u64(w, "svc_controllers_allocator_tentative", NULL, 0,
			   s->tentative);
	metrics_family(w, "svc_controllers_allocator_fills_total",
		       METRICS_COUNTER,
		       "Services filled and patched for an API server that does not allocate, by result");
	metrics_sample_u64(w, "svc_controllers_allocator_fills_total",
			   (struct metrics_label[]){{"result", "success"}}, 1,
			   s->fills_done);
	metrics_sample_u64(w, "svc_controllers_allocator_fills_total",
			   (struct metrics_label[]){{"result", "error"}}, 1,
			   s->fills_failed);
}

void allocctl_metrics(struct allocctl *c, struct metrics_writer *w)
{
	struct snap *s = xmalloc(sizeof(*s));

	take(c, s);
	ip_gauges(w, s);
	ip_counters(w, s, IPA "allocation_total",
		    "Number of Cluster IPs allocations", false);
	ip_counters(w, s, IPA "allocation_errors_total",
		    "Number of errors assigning Cluster IPs", true);
	port_metrics(w, s);
	repair_metrics(w, s);
	own_metrics(w, s);
	free(s);
}
