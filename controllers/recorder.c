/*
 * recorder: the Event queue and its posting thread. The lock guards the
 * queue, the dedupe table and the statistics; posting happens with the
 * lock released, so recorder_emit never waits for the API.
 */
#include "base.h"
#include "recorder.h"

#include <pthread.h>
#include <time.h>

#include "apiclient.h"

#define DEDUPE_SLOTS 4096

struct pending_event {
	struct pending_event *next;
	enum kube_kind kind;
	char *ns, *name, *uid, *type, *reason, *action, *note; /* each owned */
	bool ungated;
};

struct recorder {
	struct apiclient *api;	 /* borrowed */
	char *controller;
	char *instance;
	size_t max_pending;
	int64_t dedupe_ms;
	bool (*gate)(void *ctx); /* NULL: always post */
	void *gate_ctx;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;			  /* guarded by lock */
	struct pending_event *head, *tail; /* guarded by lock */
	size_t n_pending;		  /* guarded by lock */
	uint64_t dedupe_hash[DEDUPE_SLOTS]; /* guarded by lock */
	int64_t dedupe_time[DEDUPE_SLOTS];  /* guarded by lock */
	uint64_t seq;			  /* guarded by lock */
	struct recorder_stats stats;	  /* guarded by lock */
};

static void event_free(struct pending_event *e)
{
	free(e->ns);
	free(e->name);
	free(e->uid);
	free(e->type);
	free(e->reason);
	free(e->action);
	free(e->note);
	free(e);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* True when an identical event was recorded within the window. */
static bool seen_recently(struct recorder *r, const struct pending_event *e)
{
	uint64_t h = 14695981039346656037ULL;
	int64_t now = clock_now_ms();
	size_t slot;

	h = fnv(fnv(fnv(fnv(h, e->uid), e->type), e->reason), e->note);
	slot = h % DEDUPE_SLOTS;
	if (r->dedupe_hash[slot] == h && now - r->dedupe_time[slot] < r->dedupe_ms)
		return true;
	r->dedupe_hash[slot] = h;
	r->dedupe_time[slot] = now;
	return false;
}

void recorder_set_gate(struct recorder *r, bool (*gate)(void *ctx), void *ctx)
{
	r->gate = gate;
	r->gate_ctx = ctx;
}

static void post(struct recorder *r, const struct pending_event *e,
		 uint64_t seq)
{
	char name[320];
	struct kube_event_record rec = {
		.ns = e->ns[0] ? e->ns : "default",
		.name = name,
		.regarding_kind = e->kind,
		.regarding_ns = e->ns,
		.regarding_name = e->name,
		.regarding_uid = e->uid,
		.type = e->type,
		.reason = e->reason,
		.action = e->action,
		.note = e->note,
		.reporting_controller = r->controller,
		.reporting_instance = r->instance,
		.event_ms = clock_now_ms(),
	};
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	bool ok;

	/* client-go's naming: <regarding name>.<unique hex>. */
	(void)snprintf(name, sizeof(name), "%.200s.%llx%04llx", e->name,
		       (unsigned long long)clock_now_ms(),
		       (unsigned long long)(seq & 0xffff));
	ok = apiclient_create_event(r->api, &rec, &res, &eb) == ERR_OK;
	if (!ok)
		log_v(2, "cannot post event reason=%s object=%s/%s: %s", e->reason,
		      e->ns, e->name, eb.msg);
	pthread_mutex_lock(&r->lock);
	if (ok)
		r->stats.posted++;
	else
		r->stats.failed++;
	pthread_mutex_unlock(&r->lock);
}

static void *run(void *arg)
{
	struct recorder *r = arg;

	log_set_thread_name("recorder");
	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		struct pending_event *e = r->head;
		uint64_t seq;
		bool gate_open;

		if (!e) {
			pthread_cond_wait(&r->cond, &r->lock);
			continue;
		}
		r->head = e->next;
		if (!r->head)
			r->tail = NULL;
		r->n_pending--;
		seq = ++r->seq;
		pthread_mutex_unlock(&r->lock);
		/* Checked again at post time: an event queued while leading
		 * is not posted after the lease was lost. */
		gate_open = e->ungated || !r->gate || r->gate(r->gate_ctx);
		if (gate_open)
			post(r, e, seq);
		event_free(e);
		pthread_mutex_lock(&r->lock);
		if (!gate_open)
			r->stats.dropped++;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct recorder *recorder_new(struct apiclient *api,
			      const struct recorder_options *opts)
{
	struct recorder *r = xcalloc(1, sizeof(*r));

	r->api = api;
	r->controller = xstrdup(opts->controller ? opts->controller : "svc-controllers");
	r->instance = xstrdup(opts->instance ? opts->instance : "svc-controllers");
	r->max_pending = opts->max_pending ? opts->max_pending : 1000;
	r->dedupe_ms = opts->dedupe_ms ? opts->dedupe_ms : (int64_t)5 * 60 * 1000;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, run, r) == 0)
		r->started = true;
	return r;
}

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (r->started)
		pthread_join(r->thread, NULL);
	while (r->head) {
		struct pending_event *e = r->head;

		r->head = e->next;
		event_free(e);
	}
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r->controller);
	free(r->instance);
	free(r);
}

static char *dup0(const char *s)
{
	return xstrdup(s ? s : "");
}

static struct pending_event *event_new(const struct recorder_event *ev)
{
	struct pending_event *e = xcalloc(1, sizeof(*e));

	e->kind = ev->kind;
	e->ns = dup0(ev->ns);
	e->name = dup0(ev->name);
	e->uid = dup0(ev->uid);
	e->type = dup0(ev->type);
	e->reason = dup0(ev->reason);
	e->action = dup0(ev->action ? ev->action : ev->reason);
	e->note = dup0(ev->note);
	e->ungated = ev->ungated;
	return e;
}

void recorder_emit(struct recorder *r, enum kube_kind kind,
		   const struct kube_object *regarding, const char *type,
		   const char *reason, const char *note)
{
	struct recorder_event ev = {
		.kind = kind,
		.ns = regarding->meta.ns,
		.name = regarding->meta.name,
		.uid = regarding->meta.uid,
		.type = type,
		.reason = reason,
		.note = note,
	};

	recorder_emit_event(r, &ev);
}

void recorder_emit_event(struct recorder *r, const struct recorder_event *ev)
{
	struct pending_event *e;
	const char *type, *reason;

	/* An Event is a write: a replica that no longer leads posts none
	 * (not even about the write its gate just refused), and the refused
	 * one must not occupy a dedupe slot either. */
	if (!ev->ungated && r->gate && !r->gate(r->gate_ctx)) {
		pthread_mutex_lock(&r->lock);
		r->stats.dropped++;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	e = event_new(ev);
	type = e->type;
	reason = e->reason;
	log_v(2, "event type=%s reason=%s object=%s/%s: %s", type, reason,
	      e->ns, e->name, e->note);
	pthread_mutex_lock(&r->lock);
	if (seen_recently(r, e)) {
		r->stats.deduped++;
	} else if (!r->started || r->stop || r->n_pending >= r->max_pending) {
		r->stats.dropped++;
	} else {
		if (r->tail)
			r->tail->next = e;
		else
			r->head = e;
		r->tail = e;
		r->n_pending++;
		e = NULL;
		pthread_cond_signal(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	if (e)
		event_free(e);
}

void recorder_stats(struct recorder *r, struct recorder_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}
