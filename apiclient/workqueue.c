/*
 * workqueue: client-go's rate-limited delaying work queue of string keys
 * (util/workqueue: Type, delayingType, ItemExponentialFailureRateLimiter,
 * BucketRateLimiter, MaxOfRateLimiter; endpointslice.md §7.2).
 *
 * Every key the queue knows has one struct item in a hash table, holding
 * client-go's three sets as flags: dirty (needs processing), processing
 * (handed to a worker) and waiting (in the delay heap), plus its failure
 * count. Invariants: an item is in the ready FIFO exactly when it is dirty
 * and not processing; it is in the delay heap exactly when heap_idx is
 * not NO_HEAP; it is freed as soon as it is in none of the sets and has no
 * failures. Delayed items are promoted to the FIFO by whoever next takes
 * the lock to read the queue (getters, len, stats, next_delay_ms), so no
 * extra thread is needed; blocked getters sleep until the earliest ready
 * time.
 *
 * Locking: q->lock guards everything below it in struct workqueue; the
 * global token bucket has its own lock and is never called with q->lock
 * held. Nothing sleeps with q->lock held except on q->cond.
 */
#include "base.h"
#include "workqueue.h"
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <time.h>

#define NO_HEAP SIZE_MAX
#define NS_PER_MS INT64_C(1000000)
/* A blocked getter re-reads the clock at least this often, so that it
 * also follows a clock that does not run in real time (the test fake). */
#define WAIT_SLICE_NS (INT64_C(1000) * NS_PER_MS)

struct item {
	char *key;	    /* owned */
	struct item *chain; /* next in the same hash bucket */
	bool dirty;	    /* needs processing (client-go's dirty set) */
	bool processing;    /* handed to a worker, workqueue_done pending */
	int failures;	    /* rate-limited re-adds since the last forget */
	size_t heap_idx;    /* index in q->heap, NO_HEAP when not waiting */
	int64_t ready_ns;   /* clock_mono_ns when due, while waiting */
	uint64_t seq;	    /* orders equal ready_ns first-come first-out */
};

struct workqueue {
	char *name;		 /* owned; for metrics */
	int64_t base_ns;	 /* per-key backoff start */
	int64_t max_ns;		 /* per-key backoff cap */
	struct ratelimit *bucket; /* global bucket; own lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;	 /* a key became ready, or shutdown */
	struct item **table;	 /* guarded by lock; hash buckets */
	size_t table_size;	 /* guarded by lock; a power of two */
	size_t nitems;		 /* guarded by lock */
	struct item **fifo;	 /* guarded by lock; ring of ready items */
	size_t fifo_cap;	 /* guarded by lock; 0 or a power of two */
	size_t fifo_head;	 /* guarded by lock */
	size_t fifo_len;	 /* guarded by lock */
	struct item **heap;	 /* guarded by lock; min-heap by ready_ns */
	size_t heap_len;	 /* guarded by lock */
	size_t heap_cap;	 /* guarded by lock */
	uint64_t seq;		 /* guarded by lock */
	bool shutting_down;	 /* guarded by lock */
	bool paused;		 /* guarded by lock; getters return false */
	bool no_delay;		 /* options.no_delay; constant */
	size_t processing;	 /* guarded by lock */
	uint64_t adds;		 /* guarded by lock */
	uint64_t retries;	 /* guarded by lock */
};

/* ---- The item table ------------------------------------------------- */

static uint64_t hash_key(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static struct item **slot_of(struct workqueue *q, const char *key)
{
	struct item **p = &q->table[hash_key(key) & (q->table_size - 1)];

	while (*p && strcmp((*p)->key, key) != 0)
		p = &(*p)->chain;
	return p;
}

static struct item *lookup(struct workqueue *q, const char *key)
{
	return *slot_of(q, key);
}

static void grow_table(struct workqueue *q)
{
	size_t old_size = q->table_size;
	struct item **old = q->table;

	q->table_size *= 2;
	q->table = xcalloc(q->table_size, sizeof(struct item *));
	for (size_t i = 0; i < old_size; i++) {
		struct item *it = old[i];

		while (it) {
			struct item *next = it->chain;
			size_t b = hash_key(it->key) & (q->table_size - 1);

			it->chain = q->table[b];
			q->table[b] = it;
			it = next;
		}
	}
	free(old);
}

/* The item of key, created (in no set) if needed. */
static struct item *intern(struct workqueue *q, const char *key)
{
	struct item **p = slot_of(q, key);
	struct item *it = *p;

	if (it)
		return it;
	it = xcalloc(1, sizeof(*it));
	it->key = xstrdup(key);
	it->heap_idx = NO_HEAP;
	*p = it;
	if (++q->nitems > q->table_size)
		grow_table(q);
	return it;
}

/* Frees it once it is in no set and has no failures to remember. */
static void maybe_release(struct workqueue *q, struct item *it)
{
	struct item **p;

	if (it->dirty || it->processing || it->heap_idx != NO_HEAP ||
	    it->failures)
		return;
	p = slot_of(q, it->key);
	BUG_ON(*p != it);
	*p = it->chain;
	q->nitems--;
	free(it->key);
	free(it);
}

/* ---- The ready FIFO ------------------------------------------------- */

static void fifo_push(struct workqueue *q, struct item *it)
{
	if (q->fifo_len == q->fifo_cap) {
		size_t cap = q->fifo_cap ? q->fifo_cap * 2 : 16;
		struct item **f = xmalloc(cap * sizeof(struct item *));

		for (size_t i = 0; i < q->fifo_len; i++)
			f[i] = q->fifo[(q->fifo_head + i) & (q->fifo_cap - 1)];
		free(q->fifo);
		q->fifo = f;
		q->fifo_cap = cap;
		q->fifo_head = 0;
	}
	q->fifo[(q->fifo_head + q->fifo_len) & (q->fifo_cap - 1)] = it;
	q->fifo_len++;
}

static struct item *fifo_pop(struct workqueue *q)
{
	struct item *it = q->fifo[q->fifo_head];

	q->fifo_head = (q->fifo_head + 1) & (q->fifo_cap - 1);
	q->fifo_len--;
	return it;
}

/* ---- The delay heap ------------------------------------------------- */

static bool heap_less(const struct item *a, const struct item *b)
{
	return a->ready_ns < b->ready_ns ||
	       (a->ready_ns == b->ready_ns && a->seq < b->seq);
}

static void heap_set(struct workqueue *q, size_t i, struct item *it)
{
	q->heap[i] = it;
	it->heap_idx = i;
}

static void sift_up(struct workqueue *q, size_t i)
{
	struct item *it = q->heap[i];

	while (i > 0 && heap_less(it, q->heap[(i - 1) / 2])) {
		heap_set(q, i, q->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(q, i, it);
}

static void sift_down(struct workqueue *q, size_t i)
{
	struct item *it = q->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->heap_len)
			break;
		if (c + 1 < q->heap_len && heap_less(q->heap[c + 1], q->heap[c]))
			c++;
		if (!heap_less(q->heap[c], it))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, it);
}

static void heap_push(struct workqueue *q, struct item *it)
{
	if (q->heap_len == q->heap_cap) {
		q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 16;
		q->heap = xrealloc(q->heap, q->heap_cap * sizeof(struct item *));
	}
	heap_set(q, q->heap_len++, it);
	sift_up(q, it->heap_idx);
}

static struct item *heap_pop(struct workqueue *q)
{
	struct item *top = q->heap[0];

	q->heap_len--;
	if (q->heap_len > 0) {
		heap_set(q, 0, q->heap[q->heap_len]);
		sift_down(q, 0);
	}
	top->heap_idx = NO_HEAP;
	return top;
}

/* ---- Queue logic (all with q->lock held) ------------------------------ */

/* client-go Type.Add: dedups dirty keys, defers keys being processed. */
static void enqueue(struct workqueue *q, struct item *it)
{
	if (q->shutting_down || it->dirty)
		return;
	it->dirty = true;
	q->adds++;
	if (it->processing)
		return;
	fifo_push(q, it);
	(void)pthread_cond_signal(&q->cond);
}

/* client-go delayingType.AddAfter with its waitingForQueue dedup: a key
 * already waiting keeps the earlier of its two ready times. */
static void delay(struct workqueue *q, struct item *it, int64_t ready_ns)
{
	if (it->heap_idx != NO_HEAP) {
		if (ready_ns < it->ready_ns) {
			it->ready_ns = ready_ns;
			sift_up(q, it->heap_idx);
		}
	} else {
		it->ready_ns = ready_ns;
		it->seq = q->seq++;
		heap_push(q, it);
	}
	/* A new earliest time: sleeping getters must shorten their wait. */
	if (it->heap_idx == 0)
		(void)pthread_cond_broadcast(&q->cond);
}

static void add_after_ns(struct workqueue *q, const char *key, int64_t ns)
{
	struct item *it;

	if (q->shutting_down)
		return;
	it = intern(q, key);
	if (ns <= 0 || q->no_delay)
		enqueue(q, it);
	else
		delay(q, it, clock_mono_ns() + ns);
	maybe_release(q, it);
}

/* Moves every waiting key that is due to the FIFO. */
static void promote_due(struct workqueue *q)
{
	int64_t now;

	if (q->heap_len == 0)
		return;
	now = clock_mono_ns();
	while (q->heap_len > 0 && q->heap[0]->ready_ns <= now) {
		struct item *it = heap_pop(q);

		enqueue(q, it);
		maybe_release(q, it);
	}
}

static char *take(struct workqueue *q)
{
	struct item *it = fifo_pop(q);

	it->dirty = false;
	it->processing = true;
	q->processing++;
	if (q->fifo_len > 0)
		(void)pthread_cond_signal(&q->cond);
	return xstrdup(it->key);
}

/* Sleeps on q->cond until signalled or the soonest waiting key is due. */
static void wait_ready(struct workqueue *q)
{
	struct timespec ts;
	int64_t ns;

	if (q->heap_len == 0) {
		(void)pthread_cond_wait(&q->cond, &q->lock);
		return;
	}
	ns = q->heap[0]->ready_ns - clock_mono_ns();
	ns = MAX(ns, 0);
	ns = MIN(ns, WAIT_SLICE_NS);
	/* The deadline is on the condvar's clock (real CLOCK_MONOTONIC). */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	(void)pthread_cond_timedwait(&q->cond, &q->lock, &ts);
}

/* ItemExponentialFailureRateLimiter.When for a key with exp failures. */
static int64_t backoff_ns(const struct workqueue *q, int exp)
{
	double d = ldexp((double)q->base_ns, MIN(exp, 1100));

	return d >= (double)q->max_ns ? q->max_ns : (int64_t)d;
}

/* ---- Public API --------------------------------------------------------- */

struct workqueue *workqueue_new(const struct workqueue_options *opts)
{
	struct workqueue *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t ca;

	q->name = xstrdup(opts->name ? opts->name : "");
	q->base_ns = MAX(opts->base_delay_ms, 0) * NS_PER_MS;
	q->max_ns = MAX(opts->max_delay_ms, 0) * NS_PER_MS;
	q->bucket = ratelimit_new(opts->qps, opts->burst);
	q->no_delay = opts->no_delay;
	(void)pthread_mutex_init(&q->lock, NULL);
	(void)pthread_condattr_init(&ca);
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&q->cond, &ca);
	(void)pthread_condattr_destroy(&ca);
	q->table_size = 64;
	q->table = xcalloc(q->table_size, sizeof(struct item *));
	return q;
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->table_size; i++) {
		struct item *it = q->table[i];

		while (it) {
			struct item *next = it->chain;

			free(it->key);
			free(it);
			it = next;
		}
	}
	free(q->table);
	free(q->fifo);
	free(q->heap);
	ratelimit_free(q->bucket);
	(void)pthread_cond_destroy(&q->cond);
	(void)pthread_mutex_destroy(&q->lock);
	free(q->name);
	free(q);
}

void workqueue_add(struct workqueue *q, const char *key)
{
	(void)pthread_mutex_lock(&q->lock);
	add_after_ns(q, key, 0);
	(void)pthread_mutex_unlock(&q->lock);
}

void workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms)
{
	int64_t ns = 0;

	if (delay_ms > INT64_MAX / 2 / NS_PER_MS)
		ns = INT64_MAX / 2;
	else if (delay_ms > 0)
		ns = delay_ms * NS_PER_MS;

	(void)pthread_mutex_lock(&q->lock);
	add_after_ns(q, key, ns);
	(void)pthread_mutex_unlock(&q->lock);
}

/* MaxOfRateLimiter over the per-key exponential and the global bucket; the
 * bucket's reservation is taken even when the key turns out to be queued,
 * as client-go's When does. */
void workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	int64_t bucket_ns = q->no_delay ? 0 : ratelimit_reserve_ns(q->bucket);
	struct item *it;
	int64_t ns;

	(void)pthread_mutex_lock(&q->lock);
	if (!q->shutting_down) {
		it = intern(q, key);
		ns = MAX(backoff_ns(q, it->failures), bucket_ns);
		if (it->failures < INT_MAX)
			it->failures++;
		q->retries++;
		add_after_ns(q, key, ns);
	}
	(void)pthread_mutex_unlock(&q->lock);
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	struct item *it;

	(void)pthread_mutex_lock(&q->lock);
	it = lookup(q, key);
	if (it) {
		it->failures = 0;
		maybe_release(q, it);
	}
	(void)pthread_mutex_unlock(&q->lock);
}

int workqueue_requeues(struct workqueue *q, const char *key)
{
	struct item *it;
	int n;

	(void)pthread_mutex_lock(&q->lock);
	it = lookup(q, key);
	n = it ? it->failures : 0;
	(void)pthread_mutex_unlock(&q->lock);
	return n;
}

bool workqueue_get(struct workqueue *q, char **key)
{
	char *k = NULL;

	(void)pthread_mutex_lock(&q->lock);
	for (;;) {
		promote_due(q);
		if (q->shutting_down || q->paused)
			break;
		if (q->fifo_len > 0) {
			k = take(q);
			break;
		}
		wait_ready(q);
	}
	(void)pthread_mutex_unlock(&q->lock);
	if (!k)
		return false;
	*key = k;
	return true;
}

bool workqueue_try_get(struct workqueue *q, char **key)
{
	char *k = NULL;

	(void)pthread_mutex_lock(&q->lock);
	promote_due(q);
	if (!q->shutting_down && !q->paused && q->fifo_len > 0)
		k = take(q);
	(void)pthread_mutex_unlock(&q->lock);
	if (!k)
		return false;
	*key = k;
	return true;
}

/* client-go Type.Done: a key added while it was processed goes back to
 * the FIFO now. Done of a key that is not being processed is ignored. */
void workqueue_done(struct workqueue *q, const char *key)
{
	struct item *it;

	(void)pthread_mutex_lock(&q->lock);
	it = lookup(q, key);
	if (it && it->processing) {
		it->processing = false;
		q->processing--;
		if (it->dirty) {
			fifo_push(q, it);
			(void)pthread_cond_signal(&q->cond);
		}
		maybe_release(q, it);
	}
	(void)pthread_mutex_unlock(&q->lock);
}

int64_t workqueue_next_delay_ms(struct workqueue *q)
{
	int64_t ms = -1;

	(void)pthread_mutex_lock(&q->lock);
	promote_due(q);
	if (q->heap_len > 0) {
		int64_t ns = q->heap[0]->ready_ns - clock_mono_ns();

		/* Rounded up, so that advancing by it makes the key due. */
		ms = ns <= 0 ? 0 : (ns + NS_PER_MS - 1) / NS_PER_MS;
	}
	(void)pthread_mutex_unlock(&q->lock);
	return ms;
}

void workqueue_set_paused(struct workqueue *q, bool paused)
{
	(void)pthread_mutex_lock(&q->lock);
	q->paused = paused;
	(void)pthread_cond_broadcast(&q->cond);
	(void)pthread_mutex_unlock(&q->lock);
}

void workqueue_shutdown(struct workqueue *q)
{
	(void)pthread_mutex_lock(&q->lock);
	q->shutting_down = true;
	(void)pthread_cond_broadcast(&q->cond);
	(void)pthread_mutex_unlock(&q->lock);
}

size_t workqueue_len(struct workqueue *q)
{
	size_t n;

	(void)pthread_mutex_lock(&q->lock);
	promote_due(q);
	n = q->fifo_len;
	(void)pthread_mutex_unlock(&q->lock);
	return n;
}

void workqueue_stats(struct workqueue *q, struct workqueue_stats *out)
{
	(void)pthread_mutex_lock(&q->lock);
	promote_due(q);
	out->adds = q->adds;
	out->retries = q->retries;
	out->depth = q->fifo_len;
	out->delayed = q->heap_len;
	out->processing = q->processing;
	(void)pthread_mutex_unlock(&q->lock);
}
