/*
 * allocctl_repair: the allocator's repair thread (allocator.md §8.3,
 * §8.6). While this replica leads it runs one pass at once (the takeover
 * pass: only after it succeeds does admission open), then one every
 * repair interval; a failed pass is retried with a growing delay. Between
 * passes it fills Services that an API server which does not allocate
 * left without values (§7.3).
 *
 * A pass: start the allocator's journal, list every Service with a quorum
 * read (apiclient_list), run allocator_repair, then post
 * the Warning events and count the outcome. A pass whose term ended
 * meanwhile (leadership lost or regained) opens nothing and posts
 * nothing: the next term starts over with fresh leak counters.
 */
#include "base.h"
#include "allocctl.h"

#include "allocctl_internal.h"
#include "apiclient.h"
#include "recorder.h"
#include "store.h"
#include "webhook.h"

#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS   30000

/* ---- One pass ------------------------------------------------------------ */

static enum allocator_range range_of(const char *name)
{
	if (str_eq(name, "ipv6"))
		return ALLOCATOR_IPV6;
	if (str_eq(name, "nodeport"))
		return ALLOCATOR_NODEPORT;
	return ALLOCATOR_IPV4;
}

static bool term_current(struct allocctl *c, uint64_t term)
{
	bool cur;

	pthread_mutex_lock(&c->lock);
	cur = c->leading && c->term == term && !c->stop;
	pthread_mutex_unlock(&c->lock);
	return cur;
}

static void post_events(struct allocctl *c, const struct repair_result *res,
			uint64_t term)
{
	if (!c->o.rec || !term_current(c, term) || !allocctl__gate_open(c))
		return;
	for (size_t i = 0; i < res->n_events; i++) {
		const struct repair_event *ev = &res->events[i];
		struct recorder_event re = {
		    .kind = KUBE_KIND_SERVICE,
		    .ns = ev->ns,
		    .name = ev->name,
		    .uid = ev->uid,
		    .type = REPAIR_EVENT_TYPE,
		    .reason = ev->reason,
		    .action = ev->action,
		    .note = ev->message,
		};

		log_info("allocator repair: service=%s/%s %s: %s", ev->ns,
			 ev->name, ev->reason, ev->message);
		recorder_emit_event(c->o.rec, &re);
	}
}

static void account(struct allocctl *c, const struct repair_result *res)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < res->nranges; i++) {
		enum allocator_range r = range_of(res->ranges[i].name);

		for (int t = 0; t < REPAIR_ERR__COUNT; t++)
			c->repair_errors[r][t] += res->ranges[i].errors[t];
	}
	c->passes_ok++;
	pthread_mutex_unlock(&c->lock);
}

static void account_failure(struct allocctl *c, enum err e)
{
	pthread_mutex_lock(&c->lock);
	/* One pass repairs both kinds; a failed one failed both. */
	c->reconcile_errors[0]++;
	c->reconcile_errors[1]++;
	if (e == ERR_EXHAUSTED)
		c->repair_errors[ALLOCATOR_IPV4][REPAIR_ERR_FULL]++;
	c->passes_failed++;
	pthread_mutex_unlock(&c->lock);
}

static bool pass_once(struct allocctl *c, uint64_t term)
{
	struct apiclient_list_options lo = {.kind = KUBE_KIND_SERVICE,
					    .cancel = &c->cancel};
	struct errbuf eb = ERRBUF_INIT;
	struct repair_result res = {0};
	struct apiclient_list l = {0};
	int64_t t0 = clock_mono_ns(), list_ms;
	const struct kube_service **svcs;
	enum err e;

	allocator_repair_begin(c->alloc);
	list_ms = clock_now_ms();
	e = apiclient_list(c->o.api, &lo, &l, &eb);
	if (e != ERR_OK) {
		allocator_repair_end(c->alloc);
	} else {
		svcs = xcalloc(l.n ? l.n : 1, sizeof(const struct kube_service *));
		for (size_t i = 0; i < l.n; i++)
			svcs[i] = kube_service(l.items[i]);
		e = allocator_repair(c->alloc, c->rep, svcs, l.n, list_ms,
				     &res, &eb);
		free(svcs);
	}
	if (e == ERR_OK) {
		post_events(c, &res, term);
		account(c, &res);
		log_v(1, "allocator repair: pass done services=%zu events=%zu took=%lldms",
		      l.n, res.n_events,
		      (long long)((clock_mono_ns() - t0) / 1000000));
		repair_result_release(&res);
	} else if (e != ERR_SHUTDOWN) {
		account_failure(c, e);
		log_error("allocator repair: pass failed: %s", eb.msg);
	}
	apiclient_list_release(&l);
	return e == ERR_OK;
}

/* ---- Fills for API servers that do not allocate (§7.3) ------------------- */

bool allocctl__needs_fill(const struct kube_service *s)
{
	bool lb = s->type == KUBE_SVC_LOAD_BALANCER;

	if (s->type == KUBE_SVC_EXTERNAL_NAME)
		return false;
	if (!s->cluster_ip || !s->cluster_ip[0])
		return true;
	if (s->type == KUBE_SVC_CLUSTER_IP)
		return false;
	if (!lb || s->allocate_lb_node_ports != KUBE_FALSE)
		for (uint32_t i = 0; i < s->n_ports; i++)
			if (s->ports[i].node_port == 0)
				return true;
	return lb && s->external_traffic_policy &&
	       str_eq(s->external_traffic_policy, "Local") &&
	       s->health_check_node_port == 0;
}

void allocctl__queue_fill(struct allocctl *c, const struct kube_service *s)
{
	char *key = xasprintf("%s/%s", s->obj.meta.ns, s->obj.meta.name);

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_fills && key; i++)
		if (str_eq(c->fills[i], key)) {
			free(key);
			key = NULL;
		}
	if (key) {
		c->fills = xrealloc(c->fills, (c->n_fills + 1) * sizeof(*c->fills));
		c->fills[c->n_fills++] = key;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

/* The patch, guarded by the resourceVersion the values were chosen for. */
static enum err send_fill(struct allocctl *c, const struct kube_service *s,
			  const struct webhook_response *resp,
			  struct errbuf *eb)
{
	const struct kube_meta *m = &s->obj.meta;
	struct apiclient_result res;
	struct buf body;
	enum err e;

	buf_init(&body, 0);
	BUG_ON(buf_addf(&body,
			"[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
			"\"value\":\"%s\"},%s]",
			m->resource_version, resp->patch.ops.data) != ERR_OK);
	e = apiclient_patch(c->o.api, KUBE_KIND_SERVICE, m->ns, m->name,
			    APICLIENT_PATCH_JSON, &body, &res, eb);
	buf_release(&body);
	return e;
}

static void fill_one(struct allocctl *c, const char *key)
{
	const char *slash = strchr(key, '/');
	char *ns = xstrndup(key, (size_t)(slash - key));
	struct kube_object *o = store_get(c->o.services, ns, slash + 1);
	struct webhook_request req = {0};
	struct webhook_response resp;
	struct errbuf eb = ERRBUF_INIT;
	enum err e = ERR_OK;

	free(ns);
	if (!o || !allocctl__needs_fill(kube_service(o))) {
		kube_object_unref(o);
		return;
	}
	req.operation = WEBHOOK_OP_CREATE;
	req.namespace = (char *)o->meta.ns;
	req.name = (char *)o->meta.name;
	req.object = o;
	webhook_response_init(&resp);
	if (allocator_admit(c->alloc, &req, &resp, &eb) != ERR_OK)
		e = ERR_INVALID;
	else if (!resp.allowed)
		e = errbuf_set(&eb, ERR_INVALID, "%s", resp.message);
	else if (resp.patch.n > 0 && allocctl__gate_open(c))
		e = send_fill(c, kube_service(o), &resp, &eb);
	pthread_mutex_lock(&c->lock);
	if (e == ERR_OK)
		c->fills_done++;
	else
		c->fills_failed++;
	pthread_mutex_unlock(&c->lock);
	if (e != ERR_OK)
		log_error("allocator: cannot fill service=%s: %s", key, eb.msg);
	else
		log_v(2, "allocator: filled service=%s", key);
	webhook_response_release(&resp);
	kube_object_unref(o);
}

/* Takes the queued keys (lock held) and fills them (lock dropped). */
static void run_fills(struct allocctl *c)
{
	char **keys = c->fills;
	size_t n = c->n_fills;

	c->fills = NULL;
	c->n_fills = 0;
	pthread_mutex_unlock(&c->lock);
	for (size_t i = 0; i < n; i++) {
		if (atomic_load(&c->admitting))
			fill_one(c, keys[i]);
		free(keys[i]);
	}
	free(keys);
	pthread_mutex_lock(&c->lock);
}

/* ---- The thread ---------------------------------------------------------- */

/* Waits (lock held) until the deadline, a term change, a fill or stop. */
static void wait_until(struct allocctl *c, int64_t deadline_ns, uint64_t term)
{
	while (!c->stop && c->term == term && c->n_fills == 0) {
		int64_t left = (deadline_ns - clock_mono_ns()) / 1000000;
		struct timespec ts;

		if (left <= 0)
			return;
		clock_deadline_ts(left, &ts);
		(void)pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
}

/* After a pass of term: admission opens on the first success. */
static void opened(struct allocctl *c, bool ok, uint64_t term)
{
	if (!ok || c->term != term || !c->leading ||
	    atomic_load(&c->admitting))
		return;
	atomic_store(&c->admitting, true);
	webhook_set_ready(c->wh, true);
	log_info("allocator: takeover repair done; answering admission with allocations");
}

void *allocctl__repair_main(void *arg)
{
	struct allocctl *c = arg;
	int64_t retry_ms = RETRY_FIRST_MS, next_ns = 0;
	uint64_t term;
	bool ok;

	log_set_thread_name("allocator-repair");
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		if (!c->leading) {
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		term = c->term;
		if (c->n_fills && atomic_load(&c->admitting))
			run_fills(c);
		if (c->rep_term == term && clock_mono_ns() < next_ns) {
			wait_until(c, next_ns, term);
			continue;
		}
		if (c->rep_term != term) {
			/* Leak counters start empty at every takeover. */
			repair_free(c->rep);
			c->rep = repair_new();
			c->rep_term = term;
			retry_ms = RETRY_FIRST_MS;
		}
		pthread_mutex_unlock(&c->lock);
		ok = pass_once(c, term);
		pthread_mutex_lock(&c->lock);
		opened(c, ok, term);
		next_ns = clock_mono_ns() +
			  (ok ? c->o.repair_interval_ms : retry_ms) * 1000000;
		retry_ms = ok ? RETRY_FIRST_MS : MIN(2 * retry_ms, RETRY_MAX_MS);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}
