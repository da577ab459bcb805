/*
 * leaderelect: the Lease elector (see leaderelect.h, allocator.md §6). The
 * elector thread owns the observed record and the request logic; the lock
 * guards what other threads read: the leader flag, the time of the last
 * successful renewal (for the gate) and the statistics.
 */
#include "base.h"
#include "leaderelect.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "apiclient.h"

struct observed {
	struct kube_object *rec; /* last Lease read or written (a reference) */
	int64_t mono_ns;	 /* local time it was first seen unchanged */
};

struct leaderelect {
	struct apiclient *api;		/* borrowed */
	struct leaderelect_options opts;
	char *ns, *name, *identity;	/* owned copies */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_bool releasing;		/* release requests ignore stop */
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* wakes sleeps on stop */
	bool leader;			/* guarded by lock */
	int64_t renewed_ns;		/* guarded by lock: last success */
	struct leaderelect_stats stats; /* guarded by lock */
	struct observed obs;		/* elector thread only */
};

/* ---- Requests ---------------------------------------------------------- */

static int64_t request_timeout_ms(const struct leaderelect *le)
{
	/* client-go: one hung request must not cost the lease. */
	return MAX(1000, le->opts.renew_deadline_ms / 2);
}

static enum err lease_call(struct leaderelect *le, enum apiclient_method m,
			   const struct buf *body, struct kube_object **out,
			   struct errbuf *eb)
{
	struct apiclient_call call = {
		.method = m,
		.kind = KUBE_KIND_LEASE,
		.ns = le->ns,
		.name = m == APICLIENT_POST ? NULL : le->name,
		.body = body,
		.timeout_ms = request_timeout_ms(le),
		.no_retry = true,
		/* A release must run after stop was asked for. */
		.cancel = atomic_load(&le->releasing) ? NULL : &le->stop,
	};
	struct apiclient_result res;

	return apiclient_call(le->api, &call, out, &res, eb);
}

/* The record we want to write: us as holder, renewed now. */
static struct kube_object *desired(struct leaderelect *le, const char *rv,
				   int64_t acquire_ms, int32_t transitions)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_LEASE);
	struct kube_lease *l = (struct kube_lease *)o;
	int64_t now = clock_now_ms();

	o->meta.ns = kube_intern(o, le->ns);
	o->meta.name = kube_set_str(o, le->name);
	if (rv)
		o->meta.resource_version = kube_set_str(o, rv);
	l->holder_identity = kube_set_str(o, le->identity);
	l->lease_duration_s = (int32_t)(le->opts.lease_duration_ms / 1000);
	l->acquire_ms = acquire_ms ? acquire_ms : now;
	l->renew_ms = now;
	l->lease_transitions = transitions;
	return o;
}

static enum err write_lease(struct leaderelect *le, enum apiclient_method m,
			    struct kube_object *want, struct kube_object **out,
			    struct errbuf *eb)
{
	struct buf body;
	enum err e;

	buf_init(&body, 0);
	kube_lease_encode(kube_lease(want), &body);
	e = lease_call(le, m, &body, out, eb);
	buf_release(&body);
	kube_object_unref(want);
	return e;
}

/* ---- Observation --------------------------------------------------------- */

static bool same_record(const struct kube_lease *a, const struct kube_lease *b)
{
	return str_eq(a->holder_identity, b->holder_identity) &&
	       a->lease_duration_s == b->lease_duration_s &&
	       a->acquire_ms == b->acquire_ms && a->renew_ms == b->renew_ms &&
	       a->lease_transitions == b->lease_transitions;
}

/* Takes rec; the observed time moves only when the content changed. */
static void observe(struct leaderelect *le, struct kube_object *rec)
{
	const struct kube_lease *l = kube_lease(rec);
	bool changed = !le->obs.rec || !same_record(kube_lease(le->obs.rec), l);

	if (changed)
		le->obs.mono_ns = clock_mono_ns();
	kube_object_unref(le->obs.rec);
	le->obs.rec = rec;
	pthread_mutex_lock(&le->lock);
	(void)snprintf(le->stats.holder, sizeof(le->stats.holder), "%s",
		       l->holder_identity ? l->holder_identity : "");
	pthread_mutex_unlock(&le->lock);
}

/* Written by us and accepted: the observed time is now, by definition. */
static void observe_ours(struct leaderelect *le, struct kube_object *rec)
{
	observe(le, rec);
	le->obs.mono_ns = clock_mono_ns();
}

static bool observed_valid(const struct leaderelect *le)
{
	const struct kube_lease *l = kube_lease(le->obs.rec);
	int64_t dur_ns = (int64_t)l->lease_duration_s * 1000000000LL;

	return l->holder_identity && *l->holder_identity &&
	       le->obs.mono_ns + dur_ns > clock_mono_ns();
}

static bool observed_ours(const struct leaderelect *le)
{
	return le->obs.rec &&
	       str_eq(kube_lease(le->obs.rec)->holder_identity, le->identity);
}

/* ---- One attempt (upstream tryAcquireOrRenew) ---------------------------- */

static bool fast_renew(struct leaderelect *le)
{
	const struct kube_lease *o = kube_lease(le->obs.rec);
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *got = NULL;

	if (write_lease(le, APICLIENT_PUT,
			desired(le, le->obs.rec->meta.resource_version,
				o->acquire_ms, o->lease_transitions),
			&got, &eb) != ERR_OK) {
		log_v(4, "lease %s/%s: fast renew failed: %s", le->ns, le->name,
		      eb.msg);
		pthread_mutex_lock(&le->lock);
		le->stats.slowpath++;
		pthread_mutex_unlock(&le->lock);
		return false;
	}
	observe_ours(le, got);
	return true;
}

static bool create_lease(struct leaderelect *le)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *got = NULL;

	if (write_lease(le, APICLIENT_POST, desired(le, NULL, 0, 0), &got,
			&eb) != ERR_OK) {
		log_v(2, "lease %s/%s: create failed: %s", le->ns, le->name,
		      eb.msg);
		return false;
	}
	observe_ours(le, got);
	return true;
}

static bool try_acquire_or_renew(struct leaderelect *le)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *cur = NULL;
	const struct kube_lease *l;
	bool ours;
	enum err e;

	if (observed_ours(le) && observed_valid(le) && fast_renew(le))
		return true;
	e = lease_call(le, APICLIENT_GET, NULL, &cur, &eb);
	if (e == ERR_NOT_FOUND)
		return create_lease(le);
	if (e != ERR_OK) {
		log_v(2, "lease %s/%s: %s", le->ns, le->name, eb.msg);
		return false;
	}
	observe(le, cur);
	if (observed_valid(le) && !observed_ours(le))
		return false; /* held by someone else */
	l = kube_lease(cur);
	ours = observed_ours(le);
	e = write_lease(le, APICLIENT_PUT,
			desired(le, cur->meta.resource_version,
				ours ? l->acquire_ms : 0,
				l->lease_transitions + (ours ? 0 : 1)),
			&cur, &eb);
	if (e != ERR_OK) {
		log_v(2, "lease %s/%s: update failed: %s", le->ns, le->name,
		      eb.msg);
		return false;
	}
	observe_ours(le, cur);
	return true;
}

/* ---- Loops ------------------------------------------------------------------ */

/* Sleeps ms unless stopped; false when stopped. */
static bool pause_ms(struct leaderelect *le, int64_t ms)
{
	struct timespec ts;

	clock_deadline_ts(ms, &ts);
	pthread_mutex_lock(&le->lock);
	while (!atomic_load(&le->stop))
		if (pthread_cond_timedwait(&le->cond, &le->lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&le->lock);
	return !atomic_load(&le->stop);
}

static void set_leader(struct leaderelect *le, bool leader)
{
	pthread_mutex_lock(&le->lock);
	if (leader && !le->leader)
		le->stats.acquired++;
	if (!leader && le->leader)
		le->stats.lost++;
	le->leader = leader;
	le->stats.leader = leader;
	if (leader)
		le->renewed_ns = clock_mono_ns();
	pthread_mutex_unlock(&le->lock);
}

static void renewed(struct leaderelect *le)
{
	pthread_mutex_lock(&le->lock);
	le->renewed_ns = clock_mono_ns();
	pthread_mutex_unlock(&le->lock);
}

/* Upstream acquire: retry with jitter until we hold the Lease. */
static bool acquire(struct leaderelect *le)
{
	int64_t retry = le->opts.retry_period_ms;

	while (!atomic_load(&le->stop)) {
		if (try_acquire_or_renew(le))
			return true;
		if (!pause_ms(le, retry + (int64_t)rand_below((uint64_t)(retry * 12 / 10) + 1)))
			break;
	}
	return false;
}

/* One renewal poll: retries until success or renewDeadline passes. */
static bool renew_once(struct leaderelect *le)
{
	int64_t deadline = clock_mono_ns() + le->opts.renew_deadline_ms * 1000000LL;

	while (!atomic_load(&le->stop) && clock_mono_ns() < deadline) {
		if (try_acquire_or_renew(le)) {
			renewed(le);
			return true;
		}
		if (!pause_ms(le, le->opts.retry_period_ms))
			return true; /* stopping: not a loss */
	}
	return atomic_load(&le->stop);
}

static void lead(struct leaderelect *le)
{
	set_leader(le, true);
	log_info("lease %s/%s: %s became leader", le->ns, le->name, le->identity);
	if (le->opts.on_started)
		le->opts.on_started(le->opts.ctx);
	while (pause_ms(le, le->opts.retry_period_ms))
		if (!renew_once(le)) {
			log_warn("lease %s/%s: failed to renew lease; back to standby",
				 le->ns, le->name);
			break;
		}
	set_leader(le, false);
	if (le->opts.on_stopped)
		le->opts.on_stopped(le->opts.ctx);
	log_info("lease %s/%s: %s stopped leading", le->ns, le->name,
		 le->identity);
}

/* Upstream release: an empty holder and a 1 s duration, so a standby takes
 * over at once; bounded by renewDeadline. */
static void release(struct leaderelect *le)
{
	int64_t deadline = clock_mono_ns() + le->opts.renew_deadline_ms * 1000000LL;

	atomic_store(&le->releasing, true);
	while (observed_ours(le) && clock_mono_ns() < deadline) {
		struct errbuf eb = ERRBUF_INIT;
		struct kube_object *cur = NULL, *want;
		struct kube_lease *l;

		if (lease_call(le, APICLIENT_GET, NULL, &cur, &eb) != ERR_OK)
			break;
		want = desired(le, cur->meta.resource_version, 0,
			       kube_lease(cur)->lease_transitions);
		l = (struct kube_lease *)want;
		l->holder_identity = NULL;
		l->lease_duration_s = 1;
		kube_object_unref(cur);
		cur = NULL;
		if (write_lease(le, APICLIENT_PUT, want, &cur, &eb) == ERR_OK) {
			observe(le, cur);
			log_info("lease %s/%s: released", le->ns, le->name);
			break;
		}
		log_v(2, "lease %s/%s: release failed: %s", le->ns, le->name, eb.msg);
	}
	atomic_store(&le->releasing, false);
}

static void *run(void *arg)
{
	struct leaderelect *le = arg;
	bool led = false;

	log_set_thread_name("leaderelect");
	while (!atomic_load(&le->stop)) {
		if (!acquire(le))
			break;
		led = true;
		lead(le);
	}
	if (led)
		release(le);
	return NULL;
}

/* ---- Life cycle ---------------------------------------------------------------- */

static enum err check(const struct leaderelect_options *o, struct errbuf *eb)
{
	if (o->lease_duration_ms <= 0 || o->renew_deadline_ms <= 0 ||
	    o->retry_period_ms <= 0)
		return errbuf_set(eb, ERR_INVALID,
				  "leader election durations must be greater than zero");
	if (o->lease_duration_ms <= o->renew_deadline_ms)
		return errbuf_set(eb, ERR_INVALID,
				  "--leader-elect-lease-duration must be greater than --leader-elect-renew-deadline");
	if ((double)o->renew_deadline_ms <= 1.2 * (double)o->retry_period_ms)
		return errbuf_set(eb, ERR_INVALID,
				  "--leader-elect-renew-deadline must be greater than 1.2 x --leader-elect-retry-period");
	if (!o->identity || !*o->identity || !o->ns || !*o->ns || !o->name ||
	    !*o->name)
		return errbuf_set(eb, ERR_INVALID,
				  "leader election needs an identity, a namespace and a name");
	return ERR_OK;
}

enum err leaderelect_new(struct apiclient *api,
			 const struct leaderelect_options *opts,
			 struct leaderelect **out, struct errbuf *eb)
{
	struct leaderelect *le;
	enum err e = check(opts, eb);

	if (e != ERR_OK)
		return e;
	le = xcalloc(1, sizeof(*le));
	le->api = api;
	le->opts = *opts;
	le->ns = xstrdup(opts->ns);
	le->name = xstrdup(opts->name);
	le->identity = xstrdup(opts->identity);
	atomic_init(&le->stop, false);
	atomic_init(&le->releasing, false);
	pthread_mutex_init(&le->lock, NULL);
	pthread_cond_init(&le->cond, NULL);
	*out = le;
	return ERR_OK;
}

enum err leaderelect_start(struct leaderelect *le)
{
	if (pthread_create(&le->thread, NULL, run, le) != 0)
		return ERR_IO;
	le->started = true;
	return ERR_OK;
}

void leaderelect_stop(struct leaderelect *le)
{
	if (!le->started)
		return;
	pthread_mutex_lock(&le->lock);
	atomic_store(&le->stop, true);
	pthread_cond_broadcast(&le->cond);
	pthread_mutex_unlock(&le->lock);
	pthread_join(le->thread, NULL);
	le->started = false;
}

void leaderelect_free(struct leaderelect *le)
{
	if (!le)
		return;
	leaderelect_stop(le);
	kube_object_unref(le->obs.rec);
	pthread_cond_destroy(&le->cond);
	pthread_mutex_destroy(&le->lock);
	free(le->ns);
	free(le->name);
	free(le->identity);
	free(le);
}

bool leaderelect_gate(struct leaderelect *le)
{
	bool open;

	pthread_mutex_lock(&le->lock);
	open = le->leader && clock_mono_ns() - le->renewed_ns <
				     le->opts.renew_deadline_ms * 1000000LL;
	pthread_mutex_unlock(&le->lock);
	return open;
}

bool leaderelect_is_leader(struct leaderelect *le)
{
	bool l;

	pthread_mutex_lock(&le->lock);
	l = le->leader;
	pthread_mutex_unlock(&le->lock);
	return l;
}

void leaderelect_stats(struct leaderelect *le, struct leaderelect_stats *out)
{
	pthread_mutex_lock(&le->lock);
	*out = le->stats;
	pthread_mutex_unlock(&le->lock);
}

void leaderelect_identity(char *out, size_t n)
{
	char host[256] = "unknown";
	char uuid[37];

	if (gethostname(host, sizeof(host) - 1) != 0)
		(void)snprintf(host, sizeof(host), "unknown");
	rand_uuid(uuid);
	(void)snprintf(out, n, "%s_%s", host, uuid);
}
