/*
 * epsctl: life cycle, event handlers and workers of the EndpointSlice
 * controller (endpointslice.md §7.2, §7.3). Handlers only compute Service
 * keys and queue them; workers take keys from the queue, which guarantees
 * one worker per key. The lock guards the statistics and the map of first
 * event times used for the event-to-write latency.
 */
#include "base.h"
#include "epsctl.h"

#include "epsctl_internal.h"
#include "informer.h"

#define SLICE_DELAY_MIN_MS 1000

/* ---- Service index: services by the first pair of their selector ----- */

/*
 * A pod can only match a Service whose first selector pair is among the
 * pod's labels, so a pod event looks up one bucket per pod label instead
 * of scanning every Service of the namespace.
 */
static bool index_selector(const struct kube_object *o, struct buf *key)
{
	const struct kube_service *s = kube_service(o);

	if (!s->has_selector)
		return false;
	BUG_ON(buf_addf(key, "%s/", o->meta.ns) != ERR_OK);
	if (s->selector.n)
		BUG_ON(buf_addf(key, "%s=%s", s->selector.items[0].key,
				s->selector.items[0].value) != ERR_OK);
	return true;
}

void epsctl_prepare_services(struct store *services)
{
	if (store_index_id(services, "selector") < 0)
		(void)store_add_index(services, "selector", index_selector);
}

/* ---- Key sets ---------------------------------------------------------- */

struct keyset {
	size_t n;
	size_t cap;
	char **keys;
};

static bool keyset_has(const struct keyset *k, const char *key)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i], key) == 0)
			return true;
	return false;
}

static void keyset_push(struct keyset *k, const char *key)
{
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 8;
		k->keys = xrealloc(k->keys, k->cap * sizeof(char *));
	}
	k->keys[k->n++] = xstrdup(key);
}

/* For the small sets of one pod event; big sets use keyset_push. */
static void keyset_add(struct keyset *k, const char *key)
{
	if (!keyset_has(k, key))
		keyset_push(k, key);
}

static void keyset_release(struct keyset *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
	memset(k, 0, sizeof(*k));
}

static void add_matching_in(struct epsctl *c, const char *bucket,
			    const struct kube_labels *labels, struct keyset *out)
{
	struct store_list l;

	store_list_index(c->src.services, c->svc_selector_index, bucket, &l);
	for (size_t i = 0; i < l.n; i++) {
		const struct kube_service *s = kube_service(l.items[i]);
		char key[512];

		if (!epslice_selector_matches(&s->selector, labels))
			continue;
		(void)snprintf(key, sizeof(key), "%s/%s", s->obj.meta.ns,
			       s->obj.meta.name);
		/* A Service sits in one bucket only: no duplicates. */
		keyset_push(out, key);
	}
	store_list_release(&l);
}

/* Services of ns whose selector matches labels. */
static void services_for(struct epsctl *c, const char *ns,
			 const struct kube_labels *labels, struct keyset *out)
{
	struct buf bucket;

	buf_init(&bucket, 0);
	BUG_ON(buf_addf(&bucket, "%s/", ns) != ERR_OK);
	add_matching_in(c, bucket.data, labels, out);
	for (uint32_t i = 0; i < labels->n; i++) {
		buf_reset(&bucket);
		BUG_ON(buf_addf(&bucket, "%s/%s=%s", ns, labels->items[i].key,
				labels->items[i].value) != ERR_OK);
		add_matching_in(c, bucket.data, labels, out);
	}
	buf_release(&bucket);
}

/* ---- Queueing ----------------------------------------------------------- */

static size_t key_hash(const char *key)
{
	size_t h = 5381;

	for (const char *s = key; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % EPSCTL__PENDING_BUCKETS;
}

static void note_pending(struct epsctl *c, const char *key)
{
	size_t h = key_hash(key);
	struct epsctl__pending *p;

	pthread_mutex_lock(&c->lock);
	for (p = c->pending[h]; p; p = p->next)
		if (strcmp(p->key, key) == 0)
			break;
	if (!p) {
		size_t len = strlen(key) + 1;

		p = xmalloc(sizeof(*p) + len);
		memcpy(p->key, key, len);
		p->first_ns = clock_mono_ns();
		p->next = c->pending[h];
		c->pending[h] = p;
	}
	pthread_mutex_unlock(&c->lock);
}

int64_t epsctl__take_pending(struct epsctl *c, const char *key)
{
	size_t h = key_hash(key);
	struct epsctl__pending **pp;
	int64_t t = 0;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->pending[h]; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			struct epsctl__pending *p = *pp;

			t = p->first_ns;
			*pp = p->next;
			free(p);
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return t;
}

static void enqueue(struct epsctl *c, const char *key, int64_t delay_ms)
{
	note_pending(c, key);
	workqueue_add_after(c->q, key, delay_ms);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, so that the processing order (and replay output) does not
 * depend on the order of the caches. */
static void enqueue_set(struct epsctl *c, struct keyset *k, int64_t delay_ms)
{
	if (k->n > 1)
		qsort(k->keys, k->n, sizeof(char *), cmp_key);
	for (size_t i = 0; i < k->n; i++)
		enqueue(c, k->keys[i], delay_ms);
}

/* ---- Pod handlers (endpointslice.md §7.3) ------------------------------- */

static void pod_add(void *ctx, const struct kube_object *o)
{
	struct epsctl *c = ctx;
	struct keyset k = { 0 };

	services_for(c, o->meta.ns, &o->meta.labels, &k);
	enqueue_set(c, &k, c->opts.batch_period_ms);
	keyset_release(&k);
}

static bool ips_equal(const struct kube_pod *a, const struct kube_pod *b)
{
	if (a->n_ips != b->n_ips)
		return false;
	for (uint32_t i = 0; i < a->n_ips; i++)
		if (!str_eq(a->ips[i], b->ips[i]))
			return false;
	return true;
}

/* Upstream podEndpointsChanged: what can change a pod's endpoint. A
 * deletionTimestamp that moves (a shortened grace period) counts too. */
static bool pod_changed(const struct kube_pod *a, const struct kube_pod *b)
{
	return a->obj.meta.deletion_ms != b->obj.meta.deletion_ms ||
	       (a->ready == KUBE_TRUE) != (b->ready == KUBE_TRUE) ||
	       !ips_equal(a, b);
}

static bool pod_labels_changed(const struct kube_pod *a, const struct kube_pod *b)
{
	return !kube_labels_equal(&a->obj.meta.labels, &b->obj.meta.labels) ||
	       !str_eq(a->hostname, b->hostname) ||
	       !str_eq(a->subdomain, b->subdomain);
}

static void pod_update(void *ctx, const struct kube_object *old_o,
		       const struct kube_object *new_o)
{
	const struct kube_pod *a = kube_pod(old_o);
	const struct kube_pod *b = kube_pod(new_o);
	struct epsctl *c = ctx;
	struct keyset ko = { 0 }, kn = { 0 }, out = { 0 };
	bool changed, relabelled;

	if (str_eq(old_o->meta.resource_version, new_o->meta.resource_version))
		return; /* a resync */
	changed = pod_changed(a, b);
	relabelled = pod_labels_changed(a, b);
	if (!changed && !relabelled)
		return;
	services_for(c, new_o->meta.ns, &new_o->meta.labels, &kn);
	if (relabelled)
		services_for(c, old_o->meta.ns, &old_o->meta.labels, &ko);
	for (size_t i = 0; i < kn.n; i++)
		if (changed || !keyset_has(&ko, kn.keys[i]))
			keyset_add(&out, kn.keys[i]);
	for (size_t i = 0; i < ko.n; i++)
		if (changed || !keyset_has(&kn, ko.keys[i]))
			keyset_add(&out, ko.keys[i]);
	enqueue_set(c, &out, c->opts.batch_period_ms);
	keyset_release(&out);
	keyset_release(&ko);
	keyset_release(&kn);
}

static void pod_delete(void *ctx, const struct kube_object *o, bool unknown)
{
	(void)unknown;
	pod_add(ctx, o);
}

void epsctl_pod_handlers(struct epsctl *c, struct informer_handlers *h)
{
	*h = (struct informer_handlers){ pod_add, pod_update, pod_delete, c };
}

/* ---- Service handlers ---------------------------------------------------- */

static void service_key(const struct kube_object *o, char *key, size_t n)
{
	(void)snprintf(key, n, "%s/%s", o->meta.ns, o->meta.name);
}

static void service_add(void *ctx, const struct kube_object *o)
{
	char key[512];

	service_key(o, key, sizeof(key));
	enqueue(ctx, key, 0);
}

static void service_update(void *ctx, const struct kube_object *old_o,
			   const struct kube_object *new_o)
{
	(void)old_o;
	service_add(ctx, new_o);
}

static void service_delete(void *ctx, const struct kube_object *o,
			   bool unknown)
{
	(void)unknown;
	service_add(ctx, o);
}

void epsctl_service_handlers(struct epsctl *c, struct informer_handlers *h)
{
	*h = (struct informer_handlers){ service_add, service_update,
					 service_delete, c };
}

/* ---- EndpointSlice handlers --------------------------------------------- */

static bool ours(const struct epsctl *c, const struct kube_object *o)
{
	return str_eq(kube_labels_get(&o->meta.labels, EPSLICE_LABEL_MANAGED_BY),
		      c->opts.cfg.managed_by);
}

static void enqueue_slice_service(struct epsctl *c, const struct kube_object *o)
{
	const char *svc = kube_labels_get(&o->meta.labels,
					  EPSLICE_LABEL_SERVICE_NAME);
	char key[512];

	if (!svc || !*svc)
		return;
	(void)snprintf(key, sizeof(key), "%s/%s", o->meta.ns, svc);
	enqueue(c, key, MAX(SLICE_DELAY_MIN_MS, c->opts.batch_period_ms));
}

static void slice_add(void *ctx, const struct kube_object *o)
{
	struct epsctl *c = ctx;

	if (ours(c, o) && tracker_should_sync(c->tracker, kube_endpointslice(o)))
		enqueue_slice_service(c, o);
}

static void slice_update(void *ctx, const struct kube_object *old_o,
			 const struct kube_object *new_o)
{
	struct epsctl *c = ctx;
	const char *svc_old = kube_labels_get(&old_o->meta.labels,
					      EPSLICE_LABEL_SERVICE_NAME);
	const char *svc_new = kube_labels_get(&new_o->meta.labels,
					      EPSLICE_LABEL_SERVICE_NAME);

	if (!str_eq(svc_old, svc_new)) {
		enqueue_slice_service(c, old_o);
		enqueue_slice_service(c, new_o);
	} else if (ours(c, old_o) != ours(c, new_o) ||
		   (ours(c, new_o) &&
		    tracker_should_sync(c->tracker, kube_endpointslice(new_o)))) {
		enqueue_slice_service(c, new_o);
	}
}

static void slice_delete(void *ctx, const struct kube_object *o, bool unknown)
{
	struct epsctl *c = ctx;

	(void)unknown;
	if (ours(c, o) &&
	    !tracker_handle_deletion(c->tracker, kube_endpointslice(o)))
		enqueue_slice_service(c, o);
}

void epsctl_slice_handlers(struct epsctl *c, struct informer_handlers *h)
{
	*h = (struct informer_handlers){ slice_add, slice_update, slice_delete,
					 c };
}

/* ---- Node handlers: topology ratios (§6.2, §7.2 topology queue) -------- */

static void requeue_overloaded(void *ctx, const char *ns, const char *name)
{
	char key[512];

	(void)snprintf(key, sizeof(key), "%s/%s", ns, name);
	enqueue(ctx, key, 0);
}

void epsctl_refresh_nodes(struct epsctl *c)
{
	struct store_list l;

	store_list_all(c->src.nodes, &l);
	hints_set_nodes(c->hints, (const struct kube_node *const *)l.items, l.n);
	store_list_release(&l);
}

static void node_add(void *ctx, const struct kube_object *o)
{
	struct epsctl *c = ctx;

	(void)o;
	epsctl_refresh_nodes(c);
	hints_overloaded(c->hints, requeue_overloaded, c);
}

static void node_update(void *ctx, const struct kube_object *old_o,
			const struct kube_object *new_o)
{
	const struct kube_node *a = kube_node(old_o);
	const struct kube_node *b = kube_node(new_o);

	if ((a->ready == KUBE_TRUE) != (b->ready == KUBE_TRUE) ||
	    !str_eq(a->zone, b->zone))
		node_add(ctx, new_o);
}

static void node_delete(void *ctx, const struct kube_object *o, bool unknown)
{
	(void)unknown;
	node_add(ctx, o);
}

void epsctl_node_handlers(struct epsctl *c, struct informer_handlers *h)
{
	*h = (struct informer_handlers){ node_add, node_update, node_delete, c };
}

/* ---- Life cycle ----------------------------------------------------------- */

enum err epsctl_new(const struct epsctl_options *opts,
		    const struct epsctl_sources *src,
		    const struct epsctl_writer *w, struct epsctl **out)
{
	struct workqueue_options qo = WORKQUEUE_OPTIONS_EPSLICE;
	struct epsctl *c;

	if (opts->cfg.max_per_slice < 1 ||
	    opts->cfg.max_per_slice > EPSLICE_MAX_PER_SLICE_LIMIT)
		return ERR_INVALID;
	qo.no_delay = opts->immediate;
	c = xcalloc(1, sizeof(*c));
	c->opts = *opts;
	if (c->opts.max_requeues <= 0)
		c->opts.max_requeues = 15;
	if (c->opts.workers <= 0)
		c->opts.workers = 5;
	c->src = *src;
	c->w = *w;
	epsctl_prepare_services(src->services);
	c->svc_selector_index = store_index_id(src->services, "selector");
	c->pods_ns_index = store_index_id(src->pods, "namespace");
	c->slices_svc_index = store_index_id(src->slices, "service");
	BUG_ON(c->pods_ns_index < 0 || c->slices_svc_index < 0);
	c->q = workqueue_new(&qo);
	c->tracker = tracker_new();
	c->tt = triggertime_new();
	c->hints = hints_new();
	pthread_mutex_init(&c->lock, NULL);
	atomic_init(&c->stop, false);
	*out = c;
	return ERR_OK;
}

void epsctl_free(struct epsctl *c)
{
	if (!c)
		return;
	epsctl_stop(c);
	for (size_t i = 0; i < EPSCTL__PENDING_BUCKETS; i++) {
		while (c->pending[i]) {
			struct epsctl__pending *p = c->pending[i];

			c->pending[i] = p->next;
			free(p);
		}
		while (c->svcm[i]) {
			struct epsctl__svcm *m = c->svcm[i];

			c->svcm[i] = m->next;
			free(m);
		}
	}
	pthread_mutex_destroy(&c->lock);
	hints_free(c->hints);
	triggertime_free(c->tt);
	tracker_free(c->tracker);
	workqueue_free(c->q);
	free(c->threads);
	free(c);
}

void epsctl_enqueue_all(struct epsctl *c)
{
	struct keyset k = { 0 };
	struct store_list l;

	store_list_all(c->src.services, &l);
	for (size_t i = 0; i < l.n; i++) {
		char key[512];

		if (!epslice_service_managed(kube_service(l.items[i])))
			continue;
		service_key(l.items[i], key, sizeof(key));
		keyset_push(&k, key);
	}
	store_list_release(&l);
	enqueue_set(c, &k, 0);
	keyset_release(&k);
}

/* Counts the result and decides on a retry (upstream processNextWorkItem). */
static void finish(struct epsctl *c, const char *key, enum epsctl__result r,
		   const struct errbuf *eb)
{
	pthread_mutex_lock(&c->lock);
	if (r == EPSCTL__SUCCESS)
		c->stats.syncs_success++;
	else if (r == EPSCTL__STALE)
		c->stats.syncs_stale++;
	else
		c->stats.syncs_error++;
	pthread_mutex_unlock(&c->lock);
	if (r == EPSCTL__SUCCESS) {
		workqueue_forget(c->q, key);
		return;
	}
	if (workqueue_requeues(c->q, key) < c->opts.max_requeues) {
		log_v(2, "service=%s sync failed, requeued: %s", key, eb->msg);
		workqueue_add_rate_limited(c->q, key);
		return;
	}
	log_warn("service=%s dropped after %d retries: %s", key,
		 c->opts.max_requeues, eb->msg);
	workqueue_forget(c->q, key);
}

static void process(struct epsctl *c, char *key)
{
	struct errbuf eb = ERRBUF_INIT;
	enum epsctl__result r = epsctl__sync(c, key, &eb);

	finish(c, key, r, &eb);
	workqueue_done(c->q, key);
	free(key);
}

static void *worker(void *arg)
{
	struct epsctl *c = arg;
	char *key;

	log_set_thread_name("epslice-worker");
	while (workqueue_get(c->q, &key))
		process(c, key);
	return NULL;
}

enum err epsctl_start(struct epsctl *c)
{
	if (c->n_threads > 0 || atomic_load(&c->stop))
		return ERR_OK;
	epsctl_refresh_nodes(c);
	free(c->threads);
	c->threads = xcalloc((size_t)c->opts.workers, sizeof(pthread_t));
	for (int i = 0; i < c->opts.workers; i++) {
		if (pthread_create(&c->threads[i], NULL, worker, c) != 0)
			return ERR_IO;
		c->n_threads++;
	}
	return ERR_OK;
}

void epsctl_pause(struct epsctl *c)
{
	workqueue_set_paused(c->q, true);
	for (int i = 0; i < c->n_threads; i++)
		pthread_join(c->threads[i], NULL);
	c->n_threads = 0;
	workqueue_set_paused(c->q, false);
}

void epsctl_stop(struct epsctl *c)
{
	if (atomic_exchange(&c->stop, true))
		return;
	workqueue_shutdown(c->q);
	for (int i = 0; i < c->n_threads; i++)
		pthread_join(c->threads[i], NULL);
	c->n_threads = 0;
}

size_t epsctl_run_until_idle(struct epsctl *c)
{
	size_t n = 0;
	char *key;

	while (workqueue_try_get(c->q, &key)) {
		process(c, key);
		n++;
	}
	return n;
}

enum err epsctl_sync(struct epsctl *c, const char *key, struct errbuf *eb)
{
	enum epsctl__result r = epsctl__sync(c, key, eb);

	return r == EPSCTL__SUCCESS ? ERR_OK
	       : r == EPSCTL__STALE ? ERR_CONFLICT
				    : ERR_INVALID;
}

void epsctl__observe_latency(struct epsctl *c, int64_t first_ns)
{
	static const double bounds[] = EPSCTL_LATENCY_BOUNDS_MS;
	double ms = (double)(clock_mono_ns() - first_ns) / 1e6;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < ARRAY_SIZE(bounds); i++)
		if (ms <= bounds[i])
			c->stats.latency_buckets[i]++;
	c->stats.latency_buckets[ARRAY_SIZE(bounds)]++;
	c->stats.latency_count++;
	c->stats.latency_sum_ms += ms;
	pthread_mutex_unlock(&c->lock);
}

void epsctl__observe_duration(struct epsctl *c, int64_t dur_ns)
{
	static const double bounds[] = EPSCTL_SYNC_BOUNDS_MS;
	double ms = (double)dur_ns / 1e6;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < ARRAY_SIZE(bounds); i++)
		if (ms <= bounds[i])
			c->stats.sync_buckets[i]++;
	c->stats.sync_buckets[ARRAY_SIZE(bounds)]++;
	c->stats.sync_count++;
	c->stats.sync_sum_ms += ms;
	pthread_mutex_unlock(&c->lock);
}

void epsctl__count_writes(struct epsctl *c, size_t creates, size_t updates,
			  size_t deletes)
{
	pthread_mutex_lock(&c->lock);
	c->stats.creates += creates;
	c->stats.updates += updates;
	c->stats.deletes += deletes;
	pthread_mutex_unlock(&c->lock);
}


/* The entry of key, created when missing (lock held). */
static struct epsctl__svcm *svcm_get(struct epsctl *c, const char *key,
				     bool create)
{
	size_t h = key_hash(key);
	struct epsctl__svcm *m;

	for (m = c->svcm[h]; m; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	if (!create)
		return NULL;
	m = xcalloc(1, sizeof(*m) + strlen(key) + 1);
	memcpy(m->key, key, strlen(key) + 1);
	m->next = c->svcm[h];
	c->svcm[h] = m;
	return m;
}

static void hist_observe(uint64_t hist[16], size_t v)
{
	size_t bound = 2;

	for (int i = 0; i < 15; i++, bound *= 2)
		if (v <= bound)
			hist[i]++;
	hist[15]++;
}

void epsctl__observe_sync(struct epsctl *c, const char *key,
			  const struct epslice_plan *p, size_t live_slices)
{
	size_t now_slices = live_slices + p->n_creates - p->n_deletes;
	struct epsctl__svcm *m;

	pthread_mutex_lock(&c->lock);
	m = svcm_get(c, key, true);
	c->stats.endpoints_desired += p->endpoints_desired - m->endpoints_desired;
	c->stats.desired_slices += p->slices_desired - m->desired_slices;
	c->stats.num_slices += now_slices - m->num_slices;
	m->endpoints_desired = p->endpoints_desired;
	m->desired_slices = p->slices_desired;
	m->num_slices = now_slices;
	hist_observe(c->stats.added_hist, p->endpoints_added);
	hist_observe(c->stats.removed_hist, p->endpoints_removed);
	hist_observe(c->stats.changed_hist,
		     p->n_creates + p->n_updates + p->n_deletes);
	c->stats.hist_count++;
	c->stats.added_sum += p->endpoints_added;
	c->stats.removed_sum += p->endpoints_removed;
	c->stats.changed_sum += p->n_creates + p->n_updates + p->n_deletes;
	pthread_mutex_unlock(&c->lock);
}

void epsctl__forget_service(struct epsctl *c, const char *key)
{
	size_t h = key_hash(key);
	struct epsctl__svcm **pp;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->svcm[h]; *pp; pp = &(*pp)->next) {
		struct epsctl__svcm *m = *pp;

		if (strcmp(m->key, key) != 0)
			continue;
		c->stats.endpoints_desired -= m->endpoints_desired;
		c->stats.desired_slices -= m->desired_slices;
		c->stats.num_slices -= m->num_slices;
		*pp = m->next;
		free(m);
		break;
	}
	pthread_mutex_unlock(&c->lock);
}

void epsctl_stats(struct epsctl *c, struct epsctl_stats *out)
{
	static const char *const traffic[] = EPSCTL_TRAFFIC_DISTRIBUTIONS;
	struct workqueue_stats qs;

	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
	workqueue_stats(c->q, &qs);
	out->queue_depth = qs.depth;
	out->queue_adds = qs.adds;
	out->queue_retries = qs.retries;
	for (size_t i = 0; i < ARRAY_SIZE(traffic); i++)
		out->traffic_distribution[i] =
		    hints_count_traffic_distribution(c->hints, traffic[i]);
}
