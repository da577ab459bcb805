/*
 * allocctl: life cycle, the webhook's mutate callback, the Service watch
 * path and leadership of the allocator controller (allocctl.h). The
 * repair thread and the fills are in allocctl_repair.c, the metrics in
 * allocctl_metrics.c.
 *
 * Who answers with allocations: only a replica that leads (the gate is
 * open by time, so a lease lost by a stalled renew closes admission even
 * before the elector's callback runs) and whose takeover repair pass has
 * succeeded (admitting). The gate is checked again after the allocation,
 * because allocator_admit may wait on an fsync.
 */
#include "base.h"
#include "allocctl.h"

#include "allocctl_internal.h"
#include "informer.h"
#include "webhook.h"

bool allocctl__gate_open(struct allocctl *c)
{
	return !c->o.gate || c->o.gate(c->o.gate_ctx);
}

static void count_answer(struct allocctl *c, enum allocctl__answer a)
{
	pthread_mutex_lock(&c->lock);
	c->answers[a]++;
	pthread_mutex_unlock(&c->lock);
}

static const char *req_ns(const struct webhook_request *req)
{
	return req->namespace && req->namespace[0] ? req->namespace : "-";
}

static const char *req_name(const struct webhook_request *req)
{
	if (req->name && req->name[0])
		return req->name;
	if (req->object && req->object->meta.generate_name)
		return req->object->meta.generate_name;
	return "-";
}

static enum allocctl__answer answer_of(const struct webhook_response *resp)
{
	if (!resp->allowed)
		return ALLOCCTL_DENIED;
	return resp->patch.n > 0 ? ALLOCCTL_PATCHED : ALLOCCTL_UNCHANGED;
}

static void log_answer(const struct webhook_request *req,
		       const struct webhook_response *resp,
		       enum allocctl__answer a)
{
	static const char *const what[ALLOCCTL__ANSWERS] = {
	    "patched", "unchanged", "denied: ", "standby", "failed"};

	log_v(2, "admission %s service=%s/%s dryRun=%d: %s%s",
	      webhook_operation_name(req->operation), req_ns(req),
	      req_name(req), req->dry_run, what[a],
	      a == ALLOCCTL_DENIED && resp->message ? resp->message : "");
}

/* webhook_mutate_fn: resp arrives as "allowed, no patch". */
static void on_mutate(void *ctx, const struct webhook_request *req,
		      struct webhook_response *resp)
{
	struct allocctl *c = ctx;
	struct errbuf eb = ERRBUF_INIT;
	enum allocctl__answer a;

	if (!atomic_load(&c->admitting) || !allocctl__gate_open(c)) {
		count_answer(c, ALLOCCTL_STANDBY);
		return;
	}
	if (allocator_admit(c->alloc, req, resp, &eb) != ERR_OK) {
		log_error("allocator: cannot decide %s service=%s/%s, answering without a patch: %s",
			  webhook_operation_name(req->operation), req_ns(req),
			  req_name(req), eb.msg);
		count_answer(c, ALLOCCTL_FAILED);
		return;
	}
	if (!allocctl__gate_open(c)) {
		/* The lease ended during the fsync: what was reserved stays
		 * in the record for the next leader's repair to judge, but no
		 * value leaves this replica any more. */
		webhook_response_release(resp);
		webhook_response_init(resp);
		count_answer(c, ALLOCCTL_STANDBY);
		return;
	}
	a = answer_of(resp);
	count_answer(c, a);
	log_answer(req, resp, a);
}

/* ---- The watch path ---------------------------------------------------- */

/* allocator_observe logs its own failure; the value is then left to the
 * next repair pass, which reads the Services again. */
static void observe(struct allocctl *c, const struct kube_service *old,
		    const struct kube_service *new)
{
	enum err e = allocator_observe(c->alloc, old, new);

	(void)e;
}

static void on_add(void *ctx, const struct kube_object *o)
{
	struct allocctl *c = ctx;
	const struct kube_service *s = kube_service(o);

	observe(c, NULL, s);
	if (atomic_load(&c->admitting) && allocctl__needs_fill(s))
		allocctl__queue_fill(c, s);
}

static void on_update(void *ctx, const struct kube_object *old,
		      const struct kube_object *new)
{
	struct allocctl *c = ctx;
	const struct kube_service *s = kube_service(new);

	observe(c, kube_service(old), s);
	if (atomic_load(&c->admitting) && allocctl__needs_fill(s))
		allocctl__queue_fill(c, s);
}

static void on_delete(void *ctx, const struct kube_object *o,
		      bool final_state_unknown)
{
	struct allocctl *c = ctx;

	/* A tombstone from a relist is a deletion too (allocator.md §8.5):
	 * its last known values are released. */
	(void)final_state_unknown;
	observe(c, kube_service(o), NULL);
}

void allocctl_service_handlers(struct allocctl *c,
			       struct informer_handlers *out)
{
	*out = (struct informer_handlers){on_add, on_update, on_delete, c};
}

/* ---- Leadership -------------------------------------------------------- */

void allocctl_lead(struct allocctl *c)
{
	pthread_mutex_lock(&c->lock);
	c->leading = true;
	c->term++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	log_info("allocator: leading; repairing before the first allocation");
}

void allocctl_unlead(struct allocctl *c)
{
	bool was = atomic_exchange(&c->admitting, false);

	if (c->wh)
		webhook_set_ready(c->wh, false);
	pthread_mutex_lock(&c->lock);
	c->leading = false;
	c->term++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (was)
		log_info("allocator: not leading; admission answers without allocations");
}

bool allocctl_admitting(struct allocctl *c)
{
	return atomic_load(&c->admitting);
}

int allocctl_webhook_port(struct allocctl *c)
{
	return c->wh ? webhook_port(c->wh) : 0;
}

/* ---- Life cycle -------------------------------------------------------- */

enum err allocctl_new(const struct allocctl_options *o, struct allocctl **out,
		      struct errbuf *eb)
{
	struct allocctl *c = xcalloc(1, sizeof(*c));
	enum err e;

	c->o = *o;
	if (c->o.repair_interval_ms <= 0)
		c->o.repair_interval_ms = (int64_t)180000; /* upstream's 3m */
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	e = allocator_new(&c->o.alloc, &c->alloc, eb);
	if (e != ERR_OK) {
		allocctl_free(c);
		return e;
	}
	*out = c;
	return ERR_OK;
}

enum err allocctl_start(struct allocctl *c, struct errbuf *eb)
{
	struct webhook_options wo = {
	    .bind_address = c->o.bind_address,
	    .port = c->o.port,
	    .cert_file = c->o.cert_file,
	    .key_file = c->o.key_file,
	    .bind_flag = "--webhook-bind-address",
	    .port_flag = "--webhook-port",
	    .workers = 4,
	    .mutate = on_mutate,
	    .ctx = c,
	};
	enum err e = webhook_new(&wo, &c->wh, eb);

	if (e != ERR_OK)
		return e;
	if (pthread_create(&c->thread, NULL, allocctl__repair_main, c) != 0)
		return errbuf_set(eb, ERR_IO,
				  "cannot start the allocator repair thread");
	c->thread_started = true;
	log_info("allocator: webhook serving /mutate on %s://%s:%d",
		 wo.cert_file ? "https" : "http",
		 wo.bind_address ? wo.bind_address : "0.0.0.0",
		 webhook_port(c->wh));
	return ERR_OK;
}

void allocctl_stop(struct allocctl *c)
{
	if (!c)
		return;
	atomic_store(&c->admitting, false);
	atomic_store(&c->cancel, true);
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->thread_started) {
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
	if (c->wh)
		webhook_stop(c->wh);
}

void allocctl_free(struct allocctl *c)
{
	if (!c)
		return;
	allocctl_stop(c);
	webhook_free(c->wh);
	repair_free(c->rep);
	for (size_t i = 0; i < c->n_fills; i++)
		free(c->fills[i]);
	free(c->fills);
	allocator_free(c->alloc);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
