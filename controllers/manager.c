/*
 * manager: builds the shared informers and (later) the controllers over
 * one API client, starts them, and stops them in reverse order. All calls
 * from the main thread, except the operations listener's page callback,
 * which runs on the listener's workers and only reads through the
 * components' thread-safe getters; the listener stops before anything it
 * reads.
 */
#include "base.h"
#include "manager.h"

#include <unistd.h>

#include "allocctl.h"
#include "apiclient.h"
#include "epsctl.h"
#include "explain.h"
#include "informer.h"
#include "kubeconfig.h"
#include "leaderelect.h"
#include "metrics.h"
#include "recorder.h"
#include "webhook.h"

enum { INF_PODS = 0, INF_SERVICES, INF_NODES, INF_SLICES, INF__COUNT };

struct manager {
	struct manager_options opts;
	struct apiclient *api;		    /* owned */
	struct informer *inf[INF__COUNT];   /* owned */
	char *slice_selector;		    /* owned */
	struct recorder *rec;		    /* owned */
	struct epsctl_api_ctx writer_ctx;
	struct epsctl *epsctl;		    /* owned */
	struct recorder *alloc_rec;	    /* owned; the allocator's Events */
	struct allocctl *alloc;		    /* owned; NULL: not running */
	struct leaderelect *le;		    /* owned, NULL without election */
	struct webhook *ops;		    /* owned; NULL: --secure-port=0 */
	char identity[320];		    /* hostname_uuid, also in the UA */
	bool started;
};

static enum err make_informer(struct manager *m, int idx, enum kube_kind kind,
			      const char *selector)
{
	struct informer_options o = {
		.kind = kind,
		.label_selector = selector,
		.no_watch_list = !m->opts.watch_list,
	};

	return informer_new(m->api, &o, &m->inf[idx]);
}

static enum err make_informers(struct manager *m)
{
	enum err e;

	m->slice_selector = xasprintf("endpointslice.kubernetes.io/managed-by=%s",
				      m->opts.managed_by);
	e = make_informer(m, INF_PODS, KUBE_KIND_POD, NULL);
	if (e == ERR_OK)
		e = make_informer(m, INF_SERVICES, KUBE_KIND_SERVICE, NULL);
	if (e == ERR_OK)
		e = make_informer(m, INF_NODES, KUBE_KIND_NODE, NULL);
	if (e == ERR_OK)
		e = make_informer(m, INF_SLICES, KUBE_KIND_ENDPOINTSLICE,
				  m->slice_selector);
	if (e != ERR_OK)
		return e;
	(void)informer_add_index(m->inf[INF_PODS], "namespace",
				 store_index_namespace);
	(void)informer_add_index(m->inf[INF_PODS], "node",
				 store_index_node_name);
	(void)informer_add_index(m->inf[INF_SERVICES], "namespace",
				 store_index_namespace);
	(void)informer_add_index(m->inf[INF_SLICES], "service",
				 store_index_service_name);
	return ERR_OK;
}

static enum err make_epsctl(struct manager *m)
{
	struct epsctl_options o = {
		.cfg = { m->opts.max_per_slice, m->opts.managed_by },
		.workers = m->opts.workers,
		.batch_period_ms = m->opts.batch_period_ms,
	};
	struct epsctl_sources src = {
		informer_store(m->inf[INF_PODS]),
		informer_store(m->inf[INF_SERVICES]),
		informer_store(m->inf[INF_NODES]),
		informer_store(m->inf[INF_SLICES]),
	};
	struct recorder_options ro = { .controller = "endpoint-slice-controller" };
	char host[256] = "svc-controllers";
	struct informer_handlers h;
	struct epsctl_writer w;
	enum err e;

	if (gethostname(host, sizeof(host) - 1) != 0)
		(void)snprintf(host, sizeof(host), "svc-controllers");
	ro.instance = host;
	m->rec = recorder_new(m->api, &ro);
	m->writer_ctx = (struct epsctl_api_ctx){ m->api, m->rec, NULL, NULL };
	epsctl_api_writer(&m->writer_ctx, &w);
	e = epsctl_new(&o, &src, &w, &m->epsctl);
	if (e != ERR_OK)
		return e;
	epsctl_pod_handlers(m->epsctl, &h);
	informer_add_handlers(m->inf[INF_PODS], &h);
	epsctl_service_handlers(m->epsctl, &h);
	informer_add_handlers(m->inf[INF_SERVICES], &h);
	epsctl_node_handlers(m->epsctl, &h);
	informer_add_handlers(m->inf[INF_NODES], &h);
	epsctl_slice_handlers(m->epsctl, &h);
	informer_add_handlers(m->inf[INF_SLICES], &h);
	return ERR_OK;
}

/* ---- Leadership: the workers run only while we hold the Lease ---------- */

/* client-go's LeaderElection events on the Lease: "<id> became leader",
 * "<id> stopped leading". */
static void leader_event(struct manager *m, const char *what)
{
	char note[400];
	struct recorder_event ev = {
		.kind = KUBE_KIND_LEASE,
		.ns = m->opts.lease_ns,
		.name = m->opts.lease_name,
		.type = "Normal",
		.reason = "LeaderElection",
		.note = note,
		.ungated = true,
	};

	struct recorder *rec = m->rec ? m->rec : m->alloc_rec;

	if (!m->le || !rec)
		return;
	(void)snprintf(note, sizeof(note), "%s %s", m->identity, what);
	recorder_emit_event(rec, &ev);
}

static void on_started_leading(void *ctx)
{
	struct manager *m = ctx;

	leader_event(m, "became leader");

	if (m->alloc)
		allocctl_lead(m->alloc);
	if (!m->epsctl)
		return;
	/* A full pass: the standby's queue may be missing what happened
	 * while another replica led. */
	epsctl_refresh_nodes(m->epsctl);
	epsctl_enqueue_all(m->epsctl);
	if (epsctl_start(m->epsctl) != ERR_OK)
		log_error("cannot start the EndpointSlice workers");
}

static void on_stopped_leading(void *ctx)
{
	struct manager *m = ctx;

	leader_event(m, "stopped leading");

	/* The gate has already closed every write; this stops the workers
	 * and keeps the caches and the queue warm for a later takeover. */
	if (m->alloc)
		allocctl_unlead(m->alloc);
	if (m->epsctl)
		epsctl_pause(m->epsctl);
}

static bool gate(void *ctx)
{
	return leaderelect_gate(ctx);
}

static enum err make_elector(struct manager *m, struct errbuf *eb)
{
	struct leaderelect_options o = {
		.ns = m->opts.lease_ns,
		.name = m->opts.lease_name,
		.identity = m->identity,
		.lease_duration_ms = m->opts.lease_duration_ms,
		.renew_deadline_ms = m->opts.renew_deadline_ms,
		.retry_period_ms = m->opts.retry_period_ms,
		.on_started = on_started_leading,
		.on_stopped = on_stopped_leading,
		.ctx = m,
	};
	enum err e;

	e = leaderelect_new(m->api, &o, &m->le, eb);
	if (e == ERR_OK) {
		m->writer_ctx.gate = gate;
		m->writer_ctx.gate_ctx = m->le;
		if (m->rec)
			recorder_set_gate(m->rec, gate, m->le);
		log_info("leader election on lease=%s/%s identity=%s", o.ns, o.name,
			 m->identity);
	}
	return e;
}

static enum err make_allocctl(struct manager *m, struct errbuf *eb)
{
	struct recorder_options ro = {
		.controller = "svc-controllers-allocator",
		.instance = m->identity,
	};
	struct allocctl_options o = {
		.alloc = m->opts.alloc,
		.repair_interval_ms = m->opts.repair_interval_ms,
		.bind_address = m->opts.webhook_bind_address,
		.port = m->opts.webhook_port,
		.cert_file = m->opts.tls_cert_file,
		.key_file = m->opts.tls_key_file,
		.api = m->api,
		.services = informer_store(m->inf[INF_SERVICES]),
		.gate = m->le ? gate : NULL,
		.gate_ctx = m->le,
	};
	struct informer_handlers h;
	enum err e;

	m->alloc_rec = recorder_new(m->api, &ro);
	if (m->le)
		recorder_set_gate(m->alloc_rec, gate, m->le);
	o.rec = m->alloc_rec;
	e = allocctl_new(&o, &m->alloc, eb);
	if (e != ERR_OK)
		return e;
	allocctl_service_handlers(m->alloc, &h);
	informer_add_handlers(m->inf[INF_SERVICES], &h);
	return ERR_OK;
}

enum err manager_new(const struct kubeconfig *cfg,
		     const struct manager_options *opts, struct manager **out,
		     struct errbuf *eb)
{
	struct apiclient_options ao = APICLIENT_OPTIONS_DEFAULT;
	struct manager *m = xcalloc(1, sizeof(*m));
	enum err e;

	m->opts = *opts;
	leaderelect_identity(m->identity, sizeof(m->identity));
	ao.user_agent_suffix = m->identity;
	ao.qps = opts->qps;
	ao.burst = opts->burst;
	e = apiclient_new(cfg, &ao, &m->api, eb);
	if (e == ERR_OK)
		e = make_informers(m);
	if (e == ERR_OK && m->opts.run_epslice)
		e = make_epsctl(m);
	if (e == ERR_OK && !m->epsctl && m->opts.run_epslice)
		e = errbuf_set(eb, ERR_INVALID, "cannot set up the EndpointSlice controller");
	if (e == ERR_OK && m->opts.leader_elect)
		e = make_elector(m, eb);
	if (e == ERR_OK && m->opts.run_allocator)
		e = make_allocctl(m, eb);
	if (e != ERR_OK) {
		manager_free(m);
		return e;
	}
	*out = m;
	return ERR_OK;
}

/* ---- The operations listener ------------------------------------------ */

#define DEBUG_SERVICES "/debug/services/"

static int metrics_page(struct manager *m, struct buf *body,
			const char **type)
{
	struct metrics_sources src = {
		.api = m->api,
		.epsctl = m->epsctl,
		.le = m->le,
		.lease_name = m->opts.lease_name,
		.n_informers = INF__COUNT,
	};

	struct metrics_writer w = METRICS_WRITER_INIT(body);

	for (int i = 0; i < INF__COUNT; i++)
		src.informers[i] = m->inf[i];
	w.err = metrics_render(&src, body);
	if (m->alloc && w.err == ERR_OK)
		allocctl_metrics(m->alloc, &w);
	if (w.err != ERR_OK) {
		buf_reset(body);
		return 500;
	}
	*type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}

/* A namespace or name as the path may carry it: a DNS subdomain's
 * characters, 1..253 of them (the API server checks the rest). */
static bool plausible_name(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

/* rest is "<namespace>/<name>" after DEBUG_SERVICES. */
static int debug_service_page(struct manager *m, const char *rest,
			      struct buf *body, const char **type)
{
	struct explain_sources src = {
		informer_store(m->inf[INF_SERVICES]),
		informer_store(m->inf[INF_PODS]),
		informer_store(m->inf[INF_NODES]),
		informer_store(m->inf[INF_SLICES]),
	};
	const char *slash = strchr(rest, '/');
	char ns[254];
	enum err e;

	if (!slash || !plausible_name(rest, (size_t)(slash - rest)) ||
	    !plausible_name(slash + 1, strlen(slash + 1))) {
		BUG_ON(buf_adds(body, "want /debug/services/<namespace>/<name>\n") !=
		       ERR_OK);
		return 400;
	}
	(void)snprintf(ns, sizeof(ns), "%.*s", (int)(slash - rest), rest);
	e = explain_service(&src, ns, slash + 1, m->opts.managed_by, body);
	*type = "application/json";
	if (e == ERR_NOT_FOUND)
		return 404; /* body: a Kubernetes Status */
	if (e != ERR_OK) {
		buf_reset(body);
		*type = NULL;
		return 500;
	}
	return 200;
}

/* The listener's pages beyond /healthz and /readyz (webhook_get_fn). */
static int ops_get(void *ctx, const char *path, const char *query,
		   struct buf *body, const char **type)
{
	struct manager *m = ctx;

	(void)query;
	if (str_eq(path, "/metrics"))
		return metrics_page(m, body, type);
	if (str_has_prefix(path, DEBUG_SERVICES))
		return debug_service_page(m, path + strlen(DEBUG_SERVICES),
					  body, type);
	BUG_ON(buf_adds(body, "not found\n") != ERR_OK);
	return 404;
}

static enum err start_ops(struct manager *m, struct errbuf *eb)
{
	struct webhook_options o = {
		.bind_address = m->opts.bind_address,
		.port = m->opts.secure_port,
		.cert_file = m->opts.tls_cert_file,
		.key_file = m->opts.tls_key_file,
		.bind_flag = "--bind-address",
		.port_flag = "--secure-port",
		.workers = 2,
		.get = ops_get,
		.ctx = m,
	};
	enum err e;

	if (m->opts.secure_port <= 0)
		return ERR_OK; /* kube-controller-manager's 0: not served */
	e = webhook_new(&o, &m->ops, eb);
	if (e != ERR_OK)
		return e;
	log_info("serving /healthz, /readyz, /metrics and /debug/services on %s://%s:%d",
		 o.cert_file ? "https" : "http",
		 o.bind_address ? o.bind_address : "0.0.0.0",
		 webhook_port(m->ops));
	return ERR_OK;
}

enum err manager_start(struct manager *m, struct errbuf *eb)
{
	int64_t timeout = m->opts.sync_timeout_ms > 0 ? m->opts.sync_timeout_ms
						      : INT64_MAX / 2000000;
	enum err e = start_ops(m, eb);

	if (e != ERR_OK)
		return e;
	for (int i = 0; i < INF__COUNT; i++)
		if (informer_start(m->inf[i]) != ERR_OK)
			return errbuf_set(eb, ERR_IO,
					  "cannot start the %s informer thread",
					  kube_kind_name(informer_kind(m->inf[i])));
	m->started = true;
	/* Before the caches sync: until this replica leads and has repaired,
	 * the webhook answers "allowed, no patch", which is always safe. */
	e = m->alloc ? allocctl_start(m->alloc, eb) : ERR_OK;
	if (e != ERR_OK)
		return e;
	for (int i = 0; i < INF__COUNT; i++)
		if (!informer_wait_synced(m->inf[i], timeout))
			return errbuf_set(eb, ERR_TIMEOUT,
					  "the %s cache did not sync",
					  kube_kind_name(informer_kind(m->inf[i])));
	/* The process is ready when its caches are (a standby too, so a
	 * rolling update can proceed); admission readiness, which follows
	 * leadership, is the webhook server's own /readyz. */
	if (m->ops)
		webhook_set_ready(m->ops, true);
	if (m->epsctl)
		log_info("endpointslice controller started workers=%d max-endpoints-per-slice=%d managed-by=%s",
			 m->opts.workers, m->opts.max_per_slice,
			 m->opts.managed_by);
	if (!m->epsctl && !m->alloc)
		return ERR_OK;
	if (m->le) {
		/* A warm standby until the Lease is ours. */
		if (leaderelect_start(m->le) != ERR_OK)
			return errbuf_set(eb, ERR_IO, "cannot start leader election");
		return ERR_OK;
	}
	on_started_leading(m);
	return ERR_OK;
}

void manager_counts(struct manager *m, struct manager_counts *out)
{
	size_t *slots[INF__COUNT] = { &out->pods, &out->services, &out->nodes,
				      &out->endpointslices };

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < INF__COUNT; i++) {
		struct store *s = informer_store(m->inf[i]);

		*slots[i] = store_count(s);
		out->bytes += store_bytes(s);
	}
}

/* One line of what the controller did: at -v=1 while running, and at
 * stop, where operators and tests read it (e.g. that a restart wrote
 * nothing). */
static void log_epsctl_totals(struct manager *m, const char *what)
{
	struct epsctl_stats es;

	epsctl_stats(m->epsctl, &es);
	log_info("endpointslice controller %s syncs=%llu errors=%llu stale=%llu creates=%llu updates=%llu deletes=%llu queue=%llu",
		 what, (unsigned long long)es.syncs_success,
		 (unsigned long long)es.syncs_error,
		 (unsigned long long)es.syncs_stale,
		 (unsigned long long)es.creates, (unsigned long long)es.updates,
		 (unsigned long long)es.deletes,
		 (unsigned long long)es.queue_depth);
}

void manager_log_counts(struct manager *m)
{
	struct manager_counts c;

	manager_counts(m, &c);
	log_info("caches pods=%zu services=%zu nodes=%zu endpointslices=%zu bytes=%zu",
		 c.pods, c.services, c.nodes, c.endpointslices, c.bytes);
	if (m->epsctl && log_verbosity >= 1)
		log_epsctl_totals(m, "running");
}

void manager_stop(struct manager *m)
{
	if (!m)
		return;
	/* First, so no page reads a component while it stops. */
	if (m->ops)
		webhook_stop(m->ops);
	if (!m->started)
		return;
	/* Leader work stops first, then the Lease is released. */
	if (m->le)
		leaderelect_stop(m->le);
	if (m->alloc)
		allocctl_stop(m->alloc);
	if (m->epsctl) {
		epsctl_stop(m->epsctl);
		log_epsctl_totals(m, "stopped");
	}
	for (int i = INF__COUNT - 1; i >= 0; i--)
		informer_stop(m->inf[i]);
	m->started = false;
}

void manager_free(struct manager *m)
{
	if (!m)
		return;
	manager_stop(m);
	webhook_free(m->ops);
	leaderelect_free(m->le);
	epsctl_free(m->epsctl);
	allocctl_free(m->alloc);
	recorder_free(m->alloc_rec);
	for (int i = 0; i < INF__COUNT; i++)
		informer_free(m->inf[i]);
	recorder_free(m->rec);
	apiclient_free(m->api);
	free(m->slice_selector);
	free(m);
}
