/*
 * epsctl_sync: one sync of one Service (endpointslice.md §1.1, §5.4): read
 * the caches, check for staleness, run the pure reconcile, then write
 * creates, updates and deletes in that order, putting what the API returns
 * into the slice cache at once (write-through) and into the tracker. Runs
 * on a worker thread; the queue guarantees one sync per Service at a time.
 */
#include "base.h"
#include "epsctl.h"

#include "epsctl_internal.h"

/* Inputs gathered from the caches; every record holds a reference. */
struct inputs {
	struct kube_object *svc;
	struct store_list pods_ns;  /* the namespace's pods */
	struct store_list slices;   /* our slices labelled with the Service */
	const struct kube_pod **pods; /* selected, borrowed from pods_ns */
	size_t n_pods;
	const struct kube_endpointslice **live; /* slices not being deleted */
	size_t n_live;
	struct store_list nodes_held; /* nodes looked up, released at the end */
	struct store *node_store;
};

static void split_key(const char *key, char *ns, size_t nsz, const char **name)
{
	const char *slash = strchr(key, '/');
	size_t l = slash ? (size_t)(slash - key) : 0;

	if (l >= nsz)
		l = nsz - 1;
	memcpy(ns, key, l);
	ns[l] = '\0';
	*name = slash ? slash + 1 : key;
}

static void inputs_release(struct inputs *in)
{
	kube_object_unref(in->svc);
	store_list_release(&in->pods_ns);
	store_list_release(&in->slices);
	store_list_release(&in->nodes_held);
	free(in->pods);
	free(in->live);
}

/* Node lookup for the reconcile: keeps each looked-up node referenced
 * until the sync ends, so the borrowed pointer stays valid. */
static const struct kube_node *lookup_node(void *ctx, const char *name)
{
	struct inputs *in = ctx;
	struct kube_object *o = store_get(in->node_store, "", name);
	struct store_list *h = &in->nodes_held;

	if (!o)
		return NULL;
	h->items = xrealloc(h->items, (h->n + 1) * sizeof(struct kube_object *));
	h->items[h->n++] = o;
	return kube_node(o);
}

static int cmp_slice_name(const void *a, const void *b)
{
	const struct kube_endpointslice *x = *(const struct kube_endpointslice *const *)a;
	const struct kube_endpointslice *y = *(const struct kube_endpointslice *const *)b;

	return strcmp(x->obj.meta.name, y->obj.meta.name);
}

static void gather(struct epsctl *c, const char *ns, const char *name,
		   struct inputs *in)
{
	const struct kube_service *svc = kube_service(in->svc);
	char key[512];

	(void)snprintf(key, sizeof(key), "%s/%s", ns, name);
	store_list_index(c->src.slices, c->slices_svc_index, key, &in->slices);
	in->live = xcalloc(in->slices.n + 1, sizeof(const struct kube_endpointslice *));
	for (size_t i = 0; i < in->slices.n; i++) {
		const struct kube_object *o = in->slices.items[i];
		const char *mb = kube_labels_get(&o->meta.labels,
						 EPSLICE_LABEL_MANAGED_BY);

		/* Slices being deleted are ignored (upstream PR #109624);
		 * another manager's slices are never ours to touch. */
		if (o->meta.deletion_ms == 0 && str_eq(mb, c->opts.cfg.managed_by))
			in->live[in->n_live++] = kube_endpointslice(o);
	}
	/* Cache order is arbitrary; placement must not depend on it. */
	qsort(in->live, in->n_live, sizeof(const struct kube_endpointslice *), cmp_slice_name);
	if (!svc)
		return;
	store_list_index(c->src.pods, c->pods_ns_index, ns, &in->pods_ns);
	in->pods = xcalloc(in->pods_ns.n + 1, sizeof(const struct kube_pod *));
	for (size_t i = 0; i < in->pods_ns.n; i++) {
		const struct kube_object *o = in->pods_ns.items[i];

		if (epslice_selector_matches(&svc->selector, &o->meta.labels))
			in->pods[in->n_pods++] = kube_pod(o);
	}
}

/* ---- Writes --------------------------------------------------------------- */

static bool namespace_terminating(const struct kube_status *st)
{
	for (uint32_t i = 0; i < st->n_causes; i++)
		if (strcmp(st->causes[i].type, "NamespaceTerminating") == 0)
			return true;
	return false;
}

/* Puts our write's result into the cache unless the cache already holds a
 * newer generation of the same slice (write-through, endpointslice.md §10). */
static void write_through(struct epsctl *c, struct kube_object *o)
{
	struct kube_object *cur = store_get(c->src.slices, o->meta.ns,
					    o->meta.name);
	bool newer = cur && str_eq(cur->meta.uid, o->meta.uid) &&
		     cur->meta.generation > o->meta.generation;

	kube_object_unref(cur);
	if (newer) {
		kube_object_unref(o);
		return;
	}
	store_upsert(c->src.slices, o, NULL);
}

static enum err write_one(struct epsctl *c, bool create,
			  const struct kube_object *want, bool *dropped,
			  struct errbuf *eb)
{
	const struct kube_endpointslice *s = kube_endpointslice(want);
	struct kube_status st = { 0 };
	struct kube_object *got = NULL;
	enum err e;

	e = create ? c->w.create(c->w.ctx, s, &got, &st, eb)
		   : c->w.update(c->w.ctx, s, &got, &st, eb);
	if (e != ERR_OK) {
		/* Upstream drops the work when the namespace is going away. */
		if (create && namespace_terminating(&st))
			*dropped = true;
		return e;
	}
	tracker_update(c->tracker, kube_endpointslice(got));
	write_through(c, got);
	return ERR_OK;
}

static enum err delete_one(struct epsctl *c, const struct kube_object *o,
			   struct errbuf *eb)
{
	struct kube_status st = { 0 };
	enum err e = c->w.remove(c->w.ctx, kube_endpointslice(o), &st, eb);

	if (e == ERR_NOT_FOUND)
		e = ERR_OK; /* already gone (upstream PR #141304) */
	if (e != ERR_OK)
		return e;
	tracker_expect_deletion(c->tracker, kube_endpointslice(o));
	store_delete(c->src.slices, kube_object_ref((struct kube_object *)o),
		     NULL);
	return ERR_OK;
}

/* Creates, then updates, then deletes; the first error stops the rest.
 * done[] counts the writes that succeeded. */
static enum err apply_writes(struct epsctl *c, const struct epslice_plan *p,
			     size_t done[3], bool *dropped, struct errbuf *eb)
{
	enum err e;

	for (size_t i = 0; i < p->n_creates; i++, done[0]++)
		if ((e = write_one(c, true, p->creates[i], dropped, eb)) != ERR_OK)
			return e;
	for (size_t i = 0; i < p->n_updates; i++, done[1]++)
		if ((e = write_one(c, false, p->updates[i], dropped, eb)) != ERR_OK)
			return e;
	for (size_t i = 0; i < p->n_deletes; i++, done[2]++)
		if ((e = delete_one(c, p->deletes[i], eb)) != ERR_OK)
			return e;
	return ERR_OK;
}

static enum err apply(struct epsctl *c, const struct epslice_plan *p,
		      int64_t first_ns, struct errbuf *eb)
{
	size_t done[3] = { 0, 0, 0 };
	bool dropped = false;
	enum err e = apply_writes(c, p, done, &dropped, eb);

	epsctl__count_writes(c, done[0], done[1], done[2]);
	if (first_ns && done[0] + done[1] + done[2] > 0)
		epsctl__observe_latency(c, first_ns);
	if (dropped) {
		log_v(2, "namespace terminating; dropping the work: %s", eb->msg);
		return ERR_OK;
	}
	return e;
}

static void emit_events(struct epsctl *c, const struct kube_service *svc,
			const struct epslice_plan *p)
{
	for (size_t i = 0; i < p->n_events && i < ARRAY_SIZE(p->events); i++)
		c->w.event(c->w.ctx, svc,
			   p->events[i].type == EPSLICE_EVENT_WARNING ? "Warning"
								      : "Normal",
			   p->events[i].reason, p->events[i].message);
}

static void failed_event(struct epsctl *c, const struct kube_service *svc,
			 const char *key, const struct errbuf *eb)
{
	char msg[768];

	(void)snprintf(msg, sizeof(msg),
		       "Error updating Endpoint Slices for Service %s: %s", key,
		       eb->msg);
	c->w.event(c->w.ctx, svc, "Warning", "FailedToUpdateEndpointSlices", msg);
}

/*
 * A Service that is gone, lost its selector or became ExternalName keeps
 * no slices of ours. Upstream leaves this to the garbage collector (or, for
 * a lost selector, leaves the slices); we delete them (issue #3).
 */
static enum epsctl__result cleanup(struct epsctl *c, struct inputs *in,
				   const char *key, struct errbuf *eb)
{
	size_t n = 0;

	epsctl__forget_service(c, key);
	for (size_t i = 0; i < in->n_live; i++) {
		if (delete_one(c, &in->live[i]->obj, eb) != ERR_OK)
			return EPSCTL__ERROR;
		n++;
	}
	if (n)
		log_v(2, "service=%s deleted %zu slices of an unmanaged or deleted Service",
		      key, n);
	epsctl__count_writes(c, 0, 0, n);
	return EPSCTL__SUCCESS;
}

static enum epsctl__result reconcile(struct epsctl *c, struct inputs *in,
				     const char *key, int64_t first_ns,
				     struct errbuf *eb)
{
	const struct kube_service *svc = kube_service(in->svc);
	struct epslice_plan plan = EPSLICE_PLAN_INIT;
	struct epslice_input ei = {
		.svc = svc,
		.pods = in->pods,
		.n_pods = in->n_pods,
		.node = lookup_node,
		.node_ctx = in,
		.slices = in->live,
		.n_slices = in->n_live,
		.hints = c->hints,
	};
	enum err e;

	ei.trigger_ms = triggertime_compute(c->tt, svc, in->pods, in->n_pods);
	e = epslice_reconcile(&c->opts.cfg, &ei, &plan, eb);
	if (e == ERR_OK)
		e = apply(c, &plan, first_ns, eb);
	emit_events(c, svc, &plan);
	if (e == ERR_OK && plan.missing_node)
		e = errbuf_set(eb, ERR_NOT_FOUND, "%s", plan.missing_node_detail);
	pthread_mutex_lock(&c->lock);
	c->stats.endpoints_added += plan.endpoints_added;
	c->stats.endpoints_removed += plan.endpoints_removed;
	pthread_mutex_unlock(&c->lock);
	if (e == ERR_OK)
		epsctl__observe_sync(c, key, &plan, in->n_live);
	epslice_plan_release(&plan);
	if (e != ERR_OK) {
		/* ERR_SHUTDOWN: the write gate refused (no longer leading),
		 * not a failure to report; the key stays queued for the next
		 * term. */
		if (e != ERR_SHUTDOWN)
			failed_event(c, svc, key, eb);
		return EPSCTL__ERROR;
	}
	return EPSCTL__SUCCESS;
}

enum epsctl__result epsctl__sync(struct epsctl *c, const char *key,
				 struct errbuf *eb)
{
	int64_t t0 = clock_mono_ns();
	int64_t first_ns = epsctl__take_pending(c, key);
	struct inputs in = { .node_store = c->src.nodes };
	enum epsctl__result r;
	const char *name;
	char ns[256];

	split_key(key, ns, sizeof(ns), &name);
	in.svc = store_get(c->src.services, ns, name);
	gather(c, ns, name, &in);
	if (!in.svc) {
		tracker_delete_service(c->tracker, ns, name);
		triggertime_delete_service(c->tt, ns, name);
		hints_forget(c->hints, ns, name);
		r = cleanup(c, &in, key, eb);
	} else if (!epslice_service_managed(kube_service(in.svc))) {
		r = cleanup(c, &in, key, eb);
	} else if (tracker_stale(c->tracker, ns, name, in.svc->meta.uid,
				 in.live, in.n_live)) {
		errbuf_set(eb, ERR_CONFLICT,
			   "stale informer cache for EndpointSlices of %s", key);
		r = EPSCTL__STALE;
	} else {
		r = reconcile(c, &in, key, first_ns, eb);
	}
	inputs_release(&in);
	epsctl__observe_duration(c, clock_mono_ns() - t0);
	return r;
}
