/*
 * informer: the reflector loop of one kind and the dispatch of its changes
 * (apiclient.md §1.3–§1.6, §4.2). All list/watch state (last RV, the
 * watch-list flag, the backoff) belongs to the informer's own thread; the
 * lock guards only what other threads read: synced, stats and the RV copy.
 *
 * Invariant: the store changes only on this thread, and handlers run after
 * each change with no lock held, in the order the server sent the events.
 */
#include "base.h"
#include "informer.h"

#include <pthread.h>
#include <time.h>

#include "apiclient.h"

#define RV_MAX 64
#define LIST_RESTARTS 3

struct informer {
	struct apiclient *api;		/* borrowed */
	struct informer_options opts;
	char *name;			/* owned */
	char *ns;			/* owned copies of the options' strings */
	char *label_selector;
	char *field_selector;
	struct store *store;		/* owned */
	struct informer_handlers *handlers; /* owned array */
	size_t n_handlers;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* signals synced and stop */
	bool synced;			/* guarded by lock */
	struct informer_stats stats;	/* guarded by lock */
	/* Reflector thread only: */
	char rv[RV_MAX];
	atomic_bool watch_list_rejected; /* read by informer_stats */
	struct backoff bo;
};

/* A growable array of records collected during a list or watch-list. */
struct objvec {
	size_t n;
	size_t cap;
	struct kube_object **items;
};

/* State of one streamed request. */
struct stream_ctx {
	struct informer *inf;
	struct kube_stream *stream;
	struct errbuf eb;
	bool initial;	    /* watch-list: before the end bookmark */
	bool synced_here;   /* watch-list: the end bookmark arrived */
	struct objvec temp; /* list items or watch-list initial events */
	uint64_t events;
};

static void objvec_push(struct objvec *v, struct kube_object *o)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 256;
		v->items = xrealloc(v->items,
				    v->cap * sizeof(struct kube_object *));
	}
	v->items[v->n++] = o;
}

static void objvec_clear(struct objvec *v)
{
	for (size_t i = 0; i < v->n; i++)
		kube_object_unref(v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

static void stats_add(struct informer *inf, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&inf->lock);
	*field += n;
	pthread_mutex_unlock(&inf->lock);
}

/* Records the last RV (and, per applied event, counts it) under one lock
 * round: this runs for every watch event. */
static void set_rv_counted(struct informer *inf, const char *rv,
			   uint64_t events)
{
	bool have = rv && *rv;

	if (have)
		(void)snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
	if (!have && !events)
		return;
	pthread_mutex_lock(&inf->lock);
	if (have)
		memcpy(inf->stats.resource_version, inf->rv,
		       sizeof(inf->stats.resource_version));
	inf->stats.events += events;
	pthread_mutex_unlock(&inf->lock);
}

static void set_rv(struct informer *inf, const char *rv)
{
	set_rv_counted(inf, rv, 0);
}

static void mark_synced(struct informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	if (!inf->synced)
		log_info("informer %s synced objects=%zu rv=%s", inf->name,
			 store_count(inf->store), inf->rv);
	inf->synced = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
}

static void dispatch_one(const struct informer_handlers *h,
			 const struct store_delta *d)
{
	switch (d->type) {
	case STORE_ADDED:
		if (h->on_add)
			h->on_add(h->ctx, d->new_obj);
		break;
	case STORE_UPDATED:
		if (h->on_update)
			h->on_update(h->ctx, d->old_obj, d->new_obj);
		break;
	case STORE_DELETED:
	case STORE_DELETED_UNKNOWN:
		if (h->on_delete)
			h->on_delete(h->ctx, d->old_obj,
				     d->type == STORE_DELETED_UNKNOWN);
		break;
	}
}

static void dispatch(struct informer *inf, struct store_deltas *deltas)
{
	for (size_t i = 0; i < deltas->n; i++)
		for (size_t j = 0; j < inf->n_handlers; j++)
			dispatch_one(&inf->handlers[j], &deltas->items[i]);
	store_deltas_release(deltas);
}

/*
 * Keeps the cached record when a listed object has not changed, so a
 * relist of an unchanged cluster allocates no second copy of it.
 */
static struct kube_object *dedupe(struct informer *inf, struct kube_object *o)
{
	struct kube_object *cur =
		store_get(inf->store, o->meta.ns, o->meta.name);

	if (cur && str_eq(cur->meta.resource_version, o->meta.resource_version)) {
		kube_object_unref(o);
		return cur;
	}
	kube_object_unref(cur);
	return o;
}

static void replace_all(struct informer *inf, struct objvec *v)
{
	struct store_deltas deltas = STORE_DELTAS_INIT;

	store_replace(inf->store, v->items, v->n, &deltas);
	free(v->items);
	memset(v, 0, sizeof(*v));
	dispatch(inf, &deltas);
}

static void apply_event(struct informer *inf, struct kube_event *ev)
{
	struct store_deltas deltas = STORE_DELTAS_INIT;

	set_rv_counted(inf, ev->obj->meta.resource_version, 1);
	if (ev->type == KUBE_EVENT_DELETED)
		store_delete(inf->store, ev->obj, &deltas);
	else
		store_upsert(inf->store, ev->obj, &deltas);
	ev->obj = NULL;
	dispatch(inf, &deltas);
}

static enum err status_error(struct informer *inf, const struct kube_status *st)
{
	enum err e = apiclient_err_from_http(st->code, st->reason);

	if (st->code == 410 || strcmp(st->reason, "Expired") == 0 ||
	    strcmp(st->reason, "Gone") == 0)
		e = ERR_GONE;
	log_v(2, "informer %s: watch error event code=%d reason=%s: %s",
	      inf->name, st->code, st->reason, st->message);
	return e == ERR_OK ? ERR_SERVER : e;
}

static enum err on_bookmark(struct stream_ctx *sc, struct kube_event *ev)
{
	struct informer *inf = sc->inf;

	stats_add(inf, &inf->stats.bookmarks, 1);
	if (!sc->initial) {
		set_rv(inf, ev->resource_version);
		return ERR_OK;
	}
	if (!ev->initial_events_end)
		return ERR_OK; /* no RV may be recorded before the end */
	replace_all(inf, &sc->temp);
	set_rv(inf, ev->resource_version);
	sc->initial = false;
	sc->synced_here = true;
	stats_add(inf, &inf->stats.watch_lists, 1);
	mark_synced(inf);
	return ERR_OK;
}

static enum err on_watch_event(void *ctx, struct kube_event *ev)
{
	struct stream_ctx *sc = ctx;

	sc->events++;
	switch (ev->type) {
	case KUBE_EVENT_BOOKMARK:
		return on_bookmark(sc, ev);
	case KUBE_EVENT_ERROR:
		return status_error(sc->inf, ev->status);
	case KUBE_EVENT_ADDED:
	case KUBE_EVENT_MODIFIED:
	case KUBE_EVENT_DELETED:
		break;
	}
	if (sc->initial) {
		/* Watch-list: initial events arrive out of RV order. */
		objvec_push(&sc->temp, dedupe(sc->inf, ev->obj));
		ev->obj = NULL;
		return ERR_OK;
	}
	apply_event(sc->inf, ev);
	return ERR_OK;
}

static enum err on_list_item(void *ctx, struct kube_event *ev)
{
	struct stream_ctx *sc = ctx;

	if (ev->type != KUBE_EVENT_ADDED || !ev->obj)
		return ERR_OK;
	objvec_push(&sc->temp, dedupe(sc->inf, ev->obj));
	ev->obj = NULL;
	return ERR_OK;
}

static enum err feed(void *ctx, const char *data, size_t n)
{
	struct stream_ctx *sc = ctx;

	return kube_stream_feed(sc->stream, data, n, &sc->eb);
}

static void add_selectors(struct informer *inf, struct buf *q)
{
	if (inf->label_selector)
		apiclient_query_add(q, "labelSelector", inf->label_selector);
	if (inf->field_selector)
		apiclient_query_add(q, "fieldSelector", inf->field_selector);
}

static void stream_open(struct stream_ctx *sc, struct informer *inf,
			enum kube_stream_mode mode, kube_event_fn fn)
{
	struct kube_stream_options so = {
		.kind = inf->opts.kind,
		.mode = mode,
		.on_event = fn,
		.ctx = sc,
	};

	sc->stream = kube_stream_new(&so);
}

/* GETs path?query streaming into sc; finishes the stream on success. */
static enum err stream_get(struct informer *inf, struct stream_ctx *sc,
			   const struct buf *path, const struct buf *q,
			   bool watch, int64_t timeout_ms, struct errbuf *eb)
{
	struct apiclient_result res;
	enum err e;

	e = apiclient_do(inf->api,
			 &(struct apiclient_request){
				 .method = APICLIENT_GET,
				 .path = path->data,
				 .query = q->data,
				 .watch = watch,
				 .timeout_ms = timeout_ms,
				 .on_data = feed,
				 .ctx = sc,
				 .cancel = &inf->stop,
				 .no_retry = watch,
			 },
			 NULL, &res, eb);
	if (e == ERR_OK)
		e = kube_stream_finish(sc->stream, &sc->eb);
	if (sc->eb.msg[0] && e != ERR_OK && e != ERR_GONE)
		errbuf_set(eb, e, "%s", sc->eb.msg);
	/* 504 is the server's ResourceVersionTooLarge (its cache is behind
	 * our RV): relist, which reads consistently (apiclient.md §1.4).
	 * Any other timeout on a watch is our own backstop: an ordinary end. */
	if (res.http_code == 504)
		e = ERR_GONE;
	else if (e == ERR_TIMEOUT && watch)
		e = ERR_OK;
	return e;
}

/* One page; returns its continue token (owned) in *cont. */
static enum err list_page(struct informer *inf, struct stream_ctx *sc,
			  const char *cont_in, char **cont, struct errbuf *eb)
{
	struct buf path;
	struct buf q;
	enum err e;

	buf_init(&path, 0);
	buf_init(&q, 0);
	apiclient_path(&path, inf->opts.kind, inf->ns, NULL);
	BUG_ON(buf_addf(&q, "limit=%u", inf->opts.page_size) != ERR_OK);
	if (cont_in && *cont_in)
		apiclient_query_add(&q, "continue", cont_in);
	add_selectors(inf, &q);
	stream_open(sc, inf, KUBE_STREAM_LIST, on_list_item);
	stats_add(inf, &inf->stats.lists, 1);
	e = stream_get(inf, sc, &path, &q, false, 0, eb);
	if (e == ERR_OK) {
		*cont = xstrdup(kube_stream_list_continue(sc->stream));
		set_rv(inf, kube_stream_list_rv(sc->stream));
	}
	kube_stream_free(sc->stream);
	sc->stream = NULL;
	buf_release(&q);
	buf_release(&path);
	return e;
}

/*
 * A full paginated LIST (a consistent read). An expired continue token
 * restarts the list from the beginning, a bounded number of times.
 */
static enum err list_all(struct informer *inf, struct errbuf *eb)
{
	struct stream_ctx sc = { .inf = inf };
	char *cont = NULL;
	int restarts = 0;
	enum err e;

	for (;;) {
		char *next = NULL;

		e = list_page(inf, &sc, cont, &next, eb);
		free(cont);
		cont = next;
		if (e == ERR_GONE && restarts++ < LIST_RESTARTS) {
			/* Not a do-while: continue must restart at page one. */
			objvec_clear(&sc.temp);
			free(cont);
			cont = NULL;
			continue;
		}
		if (e != ERR_OK || !cont || !*cont)
			break;
	}
	free(cont);
	if (e != ERR_OK) {
		objvec_clear(&sc.temp);
		return e;
	}
	replace_all(inf, &sc.temp);
	mark_synced(inf);
	return ERR_OK;
}

static int watch_timeout_s(const struct informer *inf)
{
	int lo = inf->opts.min_watch_timeout_s;
	int hi = inf->opts.max_watch_timeout_s;

	return lo + (int)rand_below((uint64_t)(hi - lo) + 1);
}

static void watch_query(struct informer *inf, struct buf *q, bool watch_list,
			int timeout_s)
{
	BUG_ON(buf_adds(q, "watch=1&allowWatchBookmarks=true") != ERR_OK);
	if (watch_list) {
		BUG_ON(buf_adds(q, "&sendInitialEvents=true"
				   "&resourceVersionMatch=NotOlderThan") !=
		       ERR_OK);
		if (inf->rv[0])
			apiclient_query_add(q, "resourceVersion", inf->rv);
	} else {
		apiclient_query_add(q, "resourceVersion", inf->rv);
	}
	BUG_ON(buf_addf(q, "&timeoutSeconds=%d", timeout_s) != ERR_OK);
	add_selectors(inf, q);
}

/*
 * A WATCH from inf->rv, or a watch-list (initial events first). Returns
 * ERR_OK on a clean end, ERR_GONE to relist, another error to back off.
 */
static enum err watch(struct informer *inf, bool watch_list, bool *synced,
		      struct errbuf *eb)
{
	struct stream_ctx sc = { .inf = inf, .initial = watch_list };
	int timeout_s = watch_timeout_s(inf);
	int64_t start = clock_mono_ns();
	struct buf path;
	struct buf q;
	enum err e;

	buf_init(&path, 0);
	buf_init(&q, 0);
	apiclient_path(&path, inf->opts.kind, inf->ns, NULL);
	watch_query(inf, &q, watch_list, timeout_s);
	stream_open(&sc, inf, KUBE_STREAM_WATCH, on_watch_event);
	stats_add(inf, &inf->stats.watches, 1);
	log_v(3, "informer %s: watch rv=%s timeout=%ds watch_list=%d", inf->name,
	      inf->rv, timeout_s, watch_list);
	e = stream_get(inf, &sc, &path, &q, true, (timeout_s + 30) * 1000LL, eb);
	if (e == ERR_OK && sc.events == 0 &&
	    clock_mono_ns() - start < 1000000000LL && !atomic_load(&inf->stop))
		e = errbuf_set(eb, ERR_TRANSPORT, "very short watch");
	if (e == ERR_OK && sc.initial)
		e = errbuf_set(eb, ERR_DECODE,
			       "watch-list ended before its initial-events-end bookmark");
	*synced = sc.synced_here || !watch_list;
	kube_stream_free(sc.stream);
	objvec_clear(&sc.temp);
	buf_release(&q);
	buf_release(&path);
	return e;
}

/* Waits on the condition variable so informer_stop wakes the sleeper. */
static void sleep_unless_stopped(struct informer *inf, int64_t ms)
{
	struct timespec ts;

	clock_deadline_ts(ms, &ts);
	pthread_mutex_lock(&inf->lock);
	while (!atomic_load(&inf->stop))
		if (pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&inf->lock);
}

static bool watch_list_unsupported(enum err e)
{
	/* Old servers answer 422 (or 400/403) to sendInitialEvents. */
	return e == ERR_UNPROCESSABLE || e == ERR_BAD_REQUEST ||
	       e == ERR_FORBIDDEN;
}

/* Brings the store up to date: watch-list first, LIST as the fallback. */
static enum err resync(struct informer *inf, bool *listed, struct errbuf *eb)
{
	enum err e;
	bool synced = false;

	if (!inf->opts.no_watch_list && !inf->watch_list_rejected) {
		e = watch(inf, true, &synced, eb);
		*listed = synced;
		if (synced || e == ERR_SHUTDOWN)
			return e; /* the stream went on as a watch */
		if (watch_list_unsupported(e))
			inf->watch_list_rejected = true;
		log_v(1, "informer %s: watch-list failed (%s: %s); falling back to list",
		      inf->name, err_name(e), eb->msg);
	}
	e = list_all(inf, eb);
	*listed = e == ERR_OK;
	return e;
}

static void note_failure(struct informer *inf, enum err e,
			 const struct errbuf *eb)
{
	int64_t delay = backoff_next(&inf->bo);

	stats_add(inf, &inf->stats.errors, 1);
	log_warn("informer %s: %s: %s; retrying in %lld ms", inf->name,
		 err_name(e), eb->msg[0] ? eb->msg : err_str(e),
		 (long long)delay);
	sleep_unless_stopped(inf, delay);
}

static void *run(void *arg)
{
	struct informer *inf = arg;
	bool need_list = true;
	bool first = true;

	log_set_thread_name(inf->name);
	while (!atomic_load(&inf->stop)) {
		struct errbuf eb = ERRBUF_INIT;
		bool listed = false;
		enum err e;

		if (need_list) {
			if (!first)
				stats_add(inf, &inf->stats.relists, 1);
			e = resync(inf, &listed, &eb);
			if (listed) {
				need_list = false;
				first = false;
			}
		} else {
			bool unused;

			e = watch(inf, false, &unused, &eb);
		}
		if (e == ERR_OK || e == ERR_SHUTDOWN)
			continue;
		if (e == ERR_GONE) {
			stats_add(inf, &inf->stats.expired, 1);
			log_v(1, "informer %s: rv=%s expired; relisting",
			      inf->name, inf->rv);
			need_list = true;
			continue;
		}
		note_failure(inf, e, &eb);
	}
	return NULL;
}

static void apply_defaults(struct informer_options *o)
{
	struct backoff_options bo = BACKOFF_REFLECTOR;

	if (o->page_size == 0)
		o->page_size = 500;
	if (o->min_watch_timeout_s <= 0)
		o->min_watch_timeout_s = 300;
	if (o->max_watch_timeout_s < o->min_watch_timeout_s)
		o->max_watch_timeout_s = MAX(600, o->min_watch_timeout_s);
	if (o->backoff.initial_ms <= 0)
		o->backoff = bo;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

enum err informer_new(struct apiclient *c, const struct informer_options *opts,
		      struct informer **out)
{
	struct informer *inf = xcalloc(1, sizeof(*inf));

	inf->api = c;
	inf->opts = *opts;
	apply_defaults(&inf->opts);
	inf->name = xstrdup(opts->name ? opts->name : kube_kind_name(opts->kind));
	inf->ns = dup_or_null(opts->ns);
	inf->label_selector = dup_or_null(opts->label_selector);
	inf->field_selector = dup_or_null(opts->field_selector);
	inf->store = store_new(opts->kind);
	pthread_mutex_init(&inf->lock, NULL);
	pthread_cond_init(&inf->cond, NULL);
	atomic_init(&inf->stop, false);
	backoff_init(&inf->bo, &inf->opts.backoff);
	*out = inf;
	return ERR_OK;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	store_free(inf->store);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->lock);
	free(inf->handlers);
	free(inf->field_selector);
	free(inf->label_selector);
	free(inf->ns);
	free(inf->name);
	free(inf);
}

int informer_add_index(struct informer *inf, const char *name,
		       store_index_fn fn)
{
	BUG_ON(inf->started);
	return store_add_index(inf->store, name, fn);
}

void informer_add_handlers(struct informer *inf,
			   const struct informer_handlers *h)
{
	BUG_ON(inf->started);
	inf->handlers = xrealloc(inf->handlers,
				 (inf->n_handlers + 1) * sizeof(*inf->handlers));
	inf->handlers[inf->n_handlers++] = *h;
}

enum err informer_start(struct informer *inf)
{
	BUG_ON(inf->started);
	if (pthread_create(&inf->thread, NULL, run, inf) != 0)
		return ERR_IO;
	inf->started = true;
	return ERR_OK;
}

void informer_stop(struct informer *inf)
{
	if (!inf->started)
		return;
	pthread_mutex_lock(&inf->lock);
	atomic_store(&inf->stop, true);
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	pthread_join(inf->thread, NULL);
	inf->started = false;
}

bool informer_has_synced(struct informer *inf)
{
	bool s;

	pthread_mutex_lock(&inf->lock);
	s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

bool informer_wait_synced(struct informer *inf, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ns() + timeout_ms * 1000000LL;
	bool s;

	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && !atomic_load(&inf->stop)) {
		struct timespec ts;

		if (clock_mono_ns() >= deadline)
			break;
		clock_deadline_ts(100, &ts);
		(void)pthread_cond_timedwait(&inf->cond, &inf->lock, &ts);
	}
	s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

struct store *informer_store(struct informer *inf)
{
	return inf->store;
}

void informer_stats(struct informer *inf, struct informer_stats *out)
{
	pthread_mutex_lock(&inf->lock);
	*out = inf->stats;
	out->using_watch_list = !inf->opts.no_watch_list &&
				!inf->watch_list_rejected;
	pthread_mutex_unlock(&inf->lock);
	out->objects = store_count(inf->store);
	out->bytes = store_bytes(inf->store);
}

enum kube_kind informer_kind(const struct informer *inf)
{
	return inf->opts.kind;
}
