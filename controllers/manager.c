/*
 * manager: builds the shared informers and (later) the controllers over
 * one API client, starts them, and stops them in reverse order. All calls
 * from the main thread.
 */
#include "base.h"
#include "manager.h"

#include "apiclient.h"
#include "informer.h"
#include "kubeconfig.h"

enum { INF_PODS = 0, INF_SERVICES, INF_NODES, INF_SLICES, INF__COUNT };

struct manager {
	struct manager_options opts;
	struct apiclient *api;		    /* owned */
	struct informer *inf[INF__COUNT];   /* owned */
	char *slice_selector;		    /* owned */
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

enum err manager_new(const struct kubeconfig *cfg,
		     const struct manager_options *opts, struct manager **out,
		     struct errbuf *eb)
{
	struct apiclient_options ao = APICLIENT_OPTIONS_DEFAULT;
	struct manager *m = xcalloc(1, sizeof(*m));
	enum err e;

	m->opts = *opts;
	ao.qps = opts->qps;
	ao.burst = opts->burst;
	e = apiclient_new(cfg, &ao, &m->api, eb);
	if (e == ERR_OK)
		e = make_informers(m);
	if (e != ERR_OK) {
		manager_free(m);
		return e;
	}
	*out = m;
	return ERR_OK;
}

enum err manager_start(struct manager *m, struct errbuf *eb)
{
	int64_t timeout = m->opts.sync_timeout_ms > 0 ? m->opts.sync_timeout_ms
						      : INT64_MAX / 2000000;

	for (int i = 0; i < INF__COUNT; i++)
		if (informer_start(m->inf[i]) != ERR_OK)
			return errbuf_set(eb, ERR_IO,
					  "cannot start the %s informer thread",
					  kube_kind_name(informer_kind(m->inf[i])));
	m->started = true;
	for (int i = 0; i < INF__COUNT; i++)
		if (!informer_wait_synced(m->inf[i], timeout))
			return errbuf_set(eb, ERR_TIMEOUT,
					  "the %s cache did not sync",
					  kube_kind_name(informer_kind(m->inf[i])));
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

void manager_log_counts(struct manager *m)
{
	struct manager_counts c;

	manager_counts(m, &c);
	log_info("caches pods=%zu services=%zu nodes=%zu endpointslices=%zu bytes=%zu",
		 c.pods, c.services, c.nodes, c.endpointslices, c.bytes);
}

void manager_stop(struct manager *m)
{
	if (!m || !m->started)
		return;
	for (int i = INF__COUNT - 1; i >= 0; i--)
		informer_stop(m->inf[i]);
	m->started = false;
}

void manager_free(struct manager *m)
{
	if (!m)
		return;
	manager_stop(m);
	for (int i = 0; i < INF__COUNT; i++)
		informer_free(m->inf[i]);
	apiclient_free(m->api);
	free(m->slice_selector);
	free(m);
}
