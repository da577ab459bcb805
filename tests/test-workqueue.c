/*
 * Unit tests of workqueue on the fake clock, driven single-threaded through
 * workqueue_try_get and workqueue_next_delay_ms: dedup of queued keys,
 * re-queue of a key added while processed, the earliest of two delayed
 * adds, the per-key exponential (1 s doubling to 1000 s), the global
 * bucket with its burst, forget, shutdown waking a blocked getter, and a
 * bounded 4-worker 2-producer run for TSan that checks no key is processed
 * twice at once and every add is followed by a processing.
 * FAKES: fake_clock
 */
#include "base.h"
#include "workqueue.h"
#include "unit.h"
#include "fakes/fake_clock.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

/* Per-key exponential only; no global bucket. */
static const struct workqueue_options exp_only = {"t", 1000, 1000000, 0, 0, false};

/* Gets one key, checks it and marks it done. */
static void expect_key(struct workqueue *q, const char *want)
{
	char *k = NULL;

	CHECK(workqueue_try_get(q, &k));
	CHECK_STR_EQ(k, want);
	workqueue_done(q, k);
	free(k);
}

static void expect_empty(struct workqueue *q)
{
	char *k = NULL;

	CHECK(!workqueue_try_get(q, &k));
	CHECK_NULL(k);
}

static void test_dedup(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct workqueue_stats st;

	workqueue_add(q, "ns/a");
	workqueue_add(q, "ns/b");
	workqueue_add(q, "ns/a");
	CHECK_INT_EQ(workqueue_len(q), 2);
	workqueue_stats(q, &st);
	CHECK_INT_EQ(st.adds, 2);
	CHECK_INT_EQ(st.depth, 2);
	expect_key(q, "ns/a");
	expect_key(q, "ns/b");
	expect_empty(q);
	workqueue_free(q);
	workqueue_free(NULL);
}

static void test_requeue_while_processing(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct workqueue_stats st;
	char *k = NULL;

	workqueue_add(q, "a");
	CHECK(workqueue_try_get(q, &k));
	CHECK_STR_EQ(k, "a");
	/* Dirty but held back: a second worker must not see it. */
	workqueue_add(q, "a");
	workqueue_add(q, "a");
	CHECK_INT_EQ(workqueue_len(q), 0);
	expect_empty(q);
	workqueue_stats(q, &st);
	CHECK_INT_EQ(st.processing, 1);
	workqueue_done(q, k);
	free(k);
	CHECK_INT_EQ(workqueue_len(q), 1);
	expect_key(q, "a");
	expect_empty(q);
	/* Done of a key nobody holds is ignored. */
	workqueue_done(q, "a");
	workqueue_done(q, "never");
	workqueue_stats(q, &st);
	CHECK_INT_EQ(st.processing, 0);
	CHECK_INT_EQ(st.adds, 2);
	workqueue_free(q);
}

static void test_delayed_earliest_wins(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct workqueue_stats st;

	CHECK_INT_EQ(workqueue_next_delay_ms(q), -1);
	workqueue_add_after(q, "a", 5000);
	workqueue_add_after(q, "a", 1000);
	workqueue_add_after(q, "b", 2000);
	workqueue_add_after(q, "b", 9000); /* later: ignored */
	workqueue_stats(q, &st);
	CHECK_INT_EQ(st.delayed, 2);
	CHECK_INT_EQ(workqueue_next_delay_ms(q), 1000);
	fake_clock_advance_ms(999);
	expect_empty(q);
	CHECK_INT_EQ(workqueue_next_delay_ms(q), 1);
	fake_clock_advance_ms(1);
	expect_key(q, "a");
	CHECK_INT_EQ(workqueue_next_delay_ms(q), 1000);
	fake_clock_advance_ms(1000);
	expect_key(q, "b");
	/* Neither the 5 s nor the 9 s add left anything behind. */
	CHECK_INT_EQ(workqueue_next_delay_ms(q), -1);
	fake_clock_advance_ms(10000);
	expect_empty(q);
	/* A non-positive delay is an immediate add. */
	workqueue_add_after(q, "c", 0);
	workqueue_add_after(q, "d", -5);
	CHECK_INT_EQ(workqueue_len(q), 2);
	workqueue_free(q);
}

static void test_delayed_key_already_queued(void)
{
	struct workqueue *q = workqueue_new(&exp_only);

	/* As client-go: the immediate add does not cancel the delayed one,
	 * which re-adds the key when due. */
	workqueue_add_after(q, "a", 100);
	workqueue_add(q, "a");
	expect_key(q, "a");
	expect_empty(q);
	fake_clock_advance_ms(100);
	expect_key(q, "a");
	/* A delayed add that falls due while the key is queued is a no-op. */
	workqueue_add_after(q, "b", 10);
	workqueue_add(q, "b");
	fake_clock_advance_ms(10);
	CHECK_INT_EQ(workqueue_len(q), 1);
	expect_key(q, "b");
	expect_empty(q);
	workqueue_free(q);
}

/* Re-adds key with the rate limiter and returns the delay it got. */
static int64_t fail_once(struct workqueue *q, const char *key)
{
	int64_t d;

	workqueue_add_rate_limited(q, key);
	d = workqueue_next_delay_ms(q);
	if (d > 0)
		fake_clock_advance_ms(d);
	expect_key(q, key);
	return d;
}

static void test_exponential_backoff(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct workqueue_stats st;
	int64_t want = 1000;

	for (int i = 0; i < 10; i++) {
		CHECK_INT_EQ(fail_once(q, "a"), want);
		CHECK_INT_EQ(workqueue_requeues(q, "a"), i + 1);
		want *= 2;
	}
	/* 1000 · 2^10 s would be 1024 s: capped at 1000 s from here on. */
	for (int i = 0; i < 60; i++)
		CHECK_INT_EQ(fail_once(q, "a"), 1000000);
	CHECK_INT_EQ(workqueue_requeues(q, "a"), 70);
	/* Failures are per key. */
	CHECK_INT_EQ(workqueue_requeues(q, "b"), 0);
	CHECK_INT_EQ(fail_once(q, "b"), 1000);
	workqueue_stats(q, &st);
	CHECK_INT_EQ(st.retries, 71);
	workqueue_free(q);
}

static void test_forget(void)
{
	struct workqueue *q = workqueue_new(&exp_only);

	CHECK_INT_EQ(fail_once(q, "a"), 1000);
	CHECK_INT_EQ(fail_once(q, "a"), 2000);
	CHECK_INT_EQ(fail_once(q, "a"), 4000);
	CHECK_INT_EQ(workqueue_requeues(q, "a"), 3);
	workqueue_forget(q, "a");
	workqueue_forget(q, "unknown");
	CHECK_INT_EQ(workqueue_requeues(q, "a"), 0);
	CHECK_INT_EQ(fail_once(q, "a"), 1000);
	CHECK_INT_EQ(workqueue_requeues(q, "a"), 1);
	workqueue_free(q);
}

static void test_global_bucket(void)
{
	/* No per-key delay: only the bucket, 10 qps with a burst of 3. */
	static const struct workqueue_options o = {"t", 0, 0, 10, 3, false};
	struct workqueue *q = workqueue_new(&o);
	char key[16];

	for (int i = 0; i < 6; i++) {
		(void)snprintf(key, sizeof(key), "k%d", i);
		workqueue_add_rate_limited(q, key);
	}
	/* The burst goes through at once, then one key per 100 ms. */
	CHECK_INT_EQ(workqueue_len(q), 3);
	for (int i = 3; i < 6; i++) {
		CHECK_INT_EQ(workqueue_next_delay_ms(q), 100);
		fake_clock_advance_ms(100);
		CHECK_INT_EQ(workqueue_len(q), i + 1);
	}
	CHECK_INT_EQ(workqueue_next_delay_ms(q), -1);
	for (int i = 0; i < 6; i++) {
		(void)snprintf(key, sizeof(key), "k%d", i);
		expect_key(q, key);
	}
	workqueue_free(q);
}

static void test_max_of_both(void)
{
	/* Exponential 1 s… and a bucket of 1 qps, burst 1. */
	static const struct workqueue_options o = {"t", 1000, 1000000, 1, 1, false};
	struct workqueue *q = workqueue_new(&o);

	/* First failure: 1 s from the exponential, 0 from the bucket. */
	CHECK_INT_EQ(fail_once(q, "a"), 1000);
	/* The bucket refilled during the wait; then the exponential wins. */
	CHECK_INT_EQ(fail_once(q, "a"), 2000);
	/* "b" takes the token and waits its 1 s exponential; "c" owes one
	 * token: 1 s, the same as its exponential. */
	workqueue_add_rate_limited(q, "b");
	workqueue_add_rate_limited(q, "c");
	CHECK_INT_EQ(workqueue_next_delay_ms(q), 1000);
	/* "d" owes two tokens: 2 s, more than its 1 s exponential. */
	workqueue_add_rate_limited(q, "d");
	fake_clock_advance_ms(1000);
	CHECK_INT_EQ(workqueue_len(q), 2);
	CHECK_INT_EQ(workqueue_next_delay_ms(q), 1000);
	fake_clock_advance_ms(1000);
	CHECK_INT_EQ(workqueue_len(q), 3);
	workqueue_free(q);
}

/* ---- Threads -------------------------------------------------------- */

struct getter {
	struct workqueue *q;
	atomic_bool started;
	atomic_bool returned;
	bool got;
	char *key;
};

static void *getter_main(void *arg)
{
	struct getter *g = arg;

	atomic_store(&g->started, true);
	g->got = workqueue_get(g->q, &g->key);
	atomic_store(&g->returned, true);
	return NULL;
}

/* Lets the getter reach its wait; correctness does not depend on it. */
static void let_getter_block(struct getter *g)
{
	for (int i = 0; i < 100000 && !atomic_load(&g->started); i++)
		(void)sched_yield();
	for (int i = 0; i < 1000; i++)
		(void)sched_yield();
}

static void test_shutdown_wakes_getter(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct getter g = {.q = q};
	pthread_t th;
	char *k = NULL;

	CHECK_INT_EQ(pthread_create(&th, NULL, getter_main, &g), 0);
	let_getter_block(&g);
	CHECK(!atomic_load(&g.returned));
	workqueue_shutdown(q);
	CHECK_INT_EQ(pthread_join(th, NULL), 0);
	CHECK(!g.got);
	CHECK_NULL(g.key);
	/* Later adds are ignored and getters return at once. */
	workqueue_add(q, "a");
	workqueue_add_after(q, "b", 10);
	workqueue_add_rate_limited(q, "c");
	CHECK_INT_EQ(workqueue_len(q), 0);
	CHECK(!workqueue_get(q, &k));
	CHECK(!workqueue_try_get(q, &k));
	CHECK_NULL(k);
	workqueue_free(q);
}

static void test_get_wakes_on_add(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct getter g = {.q = q};
	pthread_t th;

	CHECK_INT_EQ(pthread_create(&th, NULL, getter_main, &g), 0);
	let_getter_block(&g);
	workqueue_add(q, "a");
	CHECK_INT_EQ(pthread_join(th, NULL), 0);
	CHECK(g.got);
	CHECK_STR_EQ(g.key, "a");
	workqueue_done(q, g.key);
	free(g.key);
	workqueue_free(q);
}

/* The getter sleeps on the real clock for at most one second per look at
 * the (fake) clock, so this case blocks for at most about a second. */
static void test_get_wakes_for_delayed(void)
{
	struct workqueue *q = workqueue_new(&exp_only);
	struct getter g = {.q = q};
	pthread_t th;

	workqueue_add_after(q, "a", 60000);
	CHECK_INT_EQ(pthread_create(&th, NULL, getter_main, &g), 0);
	let_getter_block(&g);
	fake_clock_advance_ms(60000);
	CHECK_INT_EQ(pthread_join(th, NULL), 0);
	CHECK(g.got);
	CHECK_STR_EQ(g.key, "a");
	workqueue_done(q, g.key);
	free(g.key);
	workqueue_free(q);
}

#define NKEYS 32
#define NWORKERS 4
#define NPRODUCERS 2
#define ADDS_PER_PRODUCER 20000

struct race {
	struct workqueue *q;
	pthread_mutex_t lock;
	uint64_t tick;			/* guarded by lock */
	bool in_progress[NKEYS];	/* guarded by lock */
	uint64_t last_add[NKEYS];	/* guarded by lock; tick before add */
	uint64_t last_start[NKEYS];	/* guarded by lock */
	atomic_int overlaps;
	atomic_long processed;
};

static int key_index(const char *k)
{
	long long v = -1;

	if (str_to_ll(k + 1, 0, NKEYS - 1, &v) != ERR_OK)
		return -1;
	return (int)v;
}

static void work_one(struct race *r, char *k)
{
	int i = key_index(k);

	BUG_ON(i < 0);
	pthread_mutex_lock(&r->lock);
	if (r->in_progress[i])
		atomic_fetch_add(&r->overlaps, 1);
	r->in_progress[i] = true;
	r->last_start[i] = ++r->tick;
	pthread_mutex_unlock(&r->lock);
	(void)sched_yield();
	pthread_mutex_lock(&r->lock);
	r->in_progress[i] = false;
	pthread_mutex_unlock(&r->lock);
	if (i % 3 == 0)
		workqueue_forget(r->q, k);
	workqueue_done(r->q, k);
	atomic_fetch_add(&r->processed, 1);
}

static void *worker_main(void *arg)
{
	struct race *r = arg;
	char *k;

	while (workqueue_get(r->q, &k)) {
		work_one(r, k);
		free(k);
	}
	return NULL;
}

static void *producer_main(void *arg)
{
	struct race *r = arg;
	char key[16];

	for (int n = 0; n < ADDS_PER_PRODUCER; n++) {
		int i = (int)rand_below(NKEYS);

		(void)snprintf(key, sizeof(key), "k%d", i);
		pthread_mutex_lock(&r->lock);
		r->last_add[i] = ++r->tick;
		pthread_mutex_unlock(&r->lock);
		/* Zero per-key delay and no bucket: rate-limited adds are
		 * immediate too, and exercise the failure counts. */
		if (n % 4 == 0)
			workqueue_add_rate_limited(r->q, key);
		else
			workqueue_add(r->q, key);
	}
	return NULL;
}

/* Bounded: waits at most about 30 s of real time for an idle queue. */
static bool wait_idle(struct workqueue *q)
{
	const struct timespec ms = {0, 1000000};
	struct workqueue_stats st;

	for (int i = 0; i < 30000; i++) {
		workqueue_stats(q, &st);
		if (st.depth == 0 && st.processing == 0 && st.delayed == 0)
			return true;
		(void)nanosleep(&ms, NULL);
	}
	return false;
}

static void test_concurrent_workers(void)
{
	static const struct workqueue_options o = {"t", 0, 0, 0, 0, false};
	static struct race r;
	pthread_t w[NWORKERS], p[NPRODUCERS];

	memset(&r, 0, sizeof(r));
	r.q = workqueue_new(&o);
	pthread_mutex_init(&r.lock, NULL);
	for (int i = 0; i < NWORKERS; i++)
		CHECK_INT_EQ(pthread_create(&w[i], NULL, worker_main, &r), 0);
	for (int i = 0; i < NPRODUCERS; i++)
		CHECK_INT_EQ(pthread_create(&p[i], NULL, producer_main, &r), 0);
	for (int i = 0; i < NPRODUCERS; i++)
		CHECK_INT_EQ(pthread_join(p[i], NULL), 0);
	CHECK(wait_idle(r.q));
	workqueue_shutdown(r.q);
	for (int i = 0; i < NWORKERS; i++)
		CHECK_INT_EQ(pthread_join(w[i], NULL), 0);
	CHECK_INT_EQ(atomic_load(&r.overlaps), 0);
	CHECK(atomic_load(&r.processed) > 0);
	for (int i = 0; i < NKEYS; i++)
		if (r.last_add[i])
			CHECK(r.last_start[i] > r.last_add[i]);
	workqueue_free(r.q);
	pthread_mutex_destroy(&r.lock);
}

/* Replay's queue: no waiting, but failures still count toward limits. */
static void test_no_delay_counts_failures(void)
{
	static const struct workqueue_options o = {"t", 1000, 1000000, 10, 1,
						   true};
	struct workqueue *q = workqueue_new(&o);
	char *k = NULL;

	workqueue_add_after(q, "a", 60000);
	CHECK(workqueue_try_get(q, &k));
	CHECK_STR_EQ(k, "a");
	workqueue_done(q, k);
	free(k);
	for (int i = 1; i <= 3; i++) {
		workqueue_add_rate_limited(q, "a");
		CHECK_INT_EQ(workqueue_requeues(q, "a"), i);
		CHECK_INT_EQ(workqueue_next_delay_ms(q), -1);
		CHECK(workqueue_try_get(q, &k));
		workqueue_done(q, k);
		free(k);
	}
	workqueue_forget(q, "a");
	CHECK_INT_EQ(workqueue_requeues(q, "a"), 0);
	workqueue_shutdown(q);
	workqueue_free(q);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_no_delay_counts_failures),
	    UNIT_CASE(test_dedup),
	    UNIT_CASE(test_requeue_while_processing),
	    UNIT_CASE(test_delayed_earliest_wins),
	    UNIT_CASE(test_delayed_key_already_queued),
	    UNIT_CASE(test_exponential_backoff),
	    UNIT_CASE(test_forget),
	    UNIT_CASE(test_global_bucket),
	    UNIT_CASE(test_max_of_both),
	    UNIT_CASE(test_shutdown_wakes_getter),
	    UNIT_CASE(test_get_wakes_on_add),
	    UNIT_CASE(test_get_wakes_for_delayed),
	    UNIT_CASE(test_concurrent_workers),
	};

	return unit_main(argc, argv, "workqueue", cases, ARRAY_SIZE(cases));
}
