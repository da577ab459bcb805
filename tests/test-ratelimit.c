/*
 * Unit tests of ratelimit on the fake clock: the burst is available at the
 * start, then exactly qps tokens per second (fractions included), fair
 * reservations spaced 1/qps apart, unlimited mode, and thread safety (a
 * bounded run for TSan).
 * FAKES: fake_clock
 */
#include "base.h"
#include "ratelimit.h"
#include "unit.h"
#include "fakes/fake_clock.h"

#include <pthread.h>

#define MS INT64_C(1000000)

static int drain(struct ratelimit *rl)
{
	int n = 0;

	while (n < 100000 && ratelimit_try(rl))
		n++;
	return n;
}

static void test_burst_at_start(void)
{
	struct ratelimit *rl = ratelimit_new(10, 5);

	CHECK_INT_EQ(drain(rl), 5);
	CHECK(!ratelimit_try(rl));
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void test_refill_rate(void)
{
	struct ratelimit *rl = ratelimit_new(20, 30);

	CHECK_INT_EQ(drain(rl), 30);
	fake_clock_advance_ms(1000);
	CHECK_INT_EQ(drain(rl), 20);
	/* Half a token is not a token; two halves are. */
	fake_clock_advance_ms(25);
	CHECK(!ratelimit_try(rl));
	fake_clock_advance_ms(25);
	CHECK(ratelimit_try(rl));
	CHECK(!ratelimit_try(rl));
	/* A long idle period refills up to the burst, no more. */
	fake_clock_advance_ms(INT64_C(3600) * 1000);
	CHECK_INT_EQ(drain(rl), 30);
	ratelimit_free(rl);
}

static void test_burst_below_one(void)
{
	struct ratelimit *rl = ratelimit_new(1, 0);

	CHECK_INT_EQ(drain(rl), 1);
	fake_clock_advance_ms(999);
	CHECK(!ratelimit_try(rl));
	fake_clock_advance_ms(1);
	CHECK(ratelimit_try(rl));
	ratelimit_free(rl);
}

static void test_reserve_spacing(void)
{
	struct ratelimit *rl = ratelimit_new(10, 2);

	CHECK_INT_EQ(ratelimit_reserve_ns(rl), 0);
	CHECK_INT_EQ(ratelimit_reserve_ns(rl), 0);
	for (int i = 1; i <= 5; i++)
		CHECK_INT_EQ(ratelimit_reserve_ns(rl), (int64_t)i * 100 * MS);
	/* The bucket is 5 tokens in debt: try fails until it is repaid. */
	CHECK(!ratelimit_try(rl));
	fake_clock_advance_ms(200);
	CHECK_INT_EQ(ratelimit_reserve_ns(rl), 400 * MS);
	/* 4 owed plus 1 to take. */
	fake_clock_advance_ms(499);
	CHECK(!ratelimit_try(rl));
	fake_clock_advance_ms(1);
	CHECK(ratelimit_try(rl));
	CHECK(!ratelimit_try(rl));
	ratelimit_free(rl);
}

static void test_reserve_fractional_rate(void)
{
	struct ratelimit *rl = ratelimit_new(3, 1);

	CHECK_INT_EQ(ratelimit_reserve_ns(rl), 0);
	/* 1/3 s and 2/3 s, rounded up to whole nanoseconds. */
	CHECK_INT_EQ(ratelimit_reserve_ns(rl), 333333334);
	CHECK_INT_EQ(ratelimit_reserve_ns(rl), 666666667);
	ratelimit_free(rl);
}

static void test_wait_sleeps_until_due(void)
{
	struct ratelimit *rl = ratelimit_new(10, 1);
	int64_t t0 = clock_mono_ns();

	ratelimit_wait(rl);
	CHECK_INT_EQ(clock_mono_ns() - t0, 0);
	ratelimit_wait(rl);
	CHECK_INT_EQ(clock_mono_ns() - t0, 100 * MS);
	ratelimit_wait(rl);
	CHECK_INT_EQ(clock_mono_ns() - t0, 200 * MS);
	ratelimit_free(rl);
}

static void test_unlimited(void)
{
	struct ratelimit *rl = ratelimit_new(0, 1);
	struct ratelimit *neg = ratelimit_new(-5, 0);
	int64_t t0 = clock_mono_ns();

	for (int i = 0; i < 1000; i++) {
		CHECK(ratelimit_try(rl));
		CHECK_INT_EQ(ratelimit_reserve_ns(neg), 0);
		ratelimit_wait(rl);
	}
	CHECK_INT_EQ(clock_mono_ns(), t0);
	ratelimit_free(rl);
	ratelimit_free(neg);
}

/* ---- Concurrency (bounded, for TSan) -------------------------------- */

enum { THREADS = 4, PER_THREAD = 500 };

struct reserver {
	struct ratelimit *rl;
	int64_t waits[PER_THREAD]; /* out */
};

static void *reserve_many(void *arg)
{
	struct reserver *r = arg;

	for (int i = 0; i < PER_THREAD; i++)
		r->waits[i] = ratelimit_reserve_ns(r->rl);
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* With time frozen, the reservations of all threads together must form
 * one fair queue: burst zeros, then 1/qps, 2/qps, … each exactly once. */
static void test_concurrent_reservations(void)
{
	static struct reserver r[THREADS];
	static int64_t all[THREADS * PER_THREAD];
	struct ratelimit *rl = ratelimit_new(100, 10);
	pthread_t t[THREADS];
	size_t bad = 0;

	for (int i = 0; i < THREADS; i++) {
		r[i].rl = rl;
		CHECK_INT_EQ(pthread_create(&t[i], NULL, reserve_many, &r[i]),
			     0);
	}
	for (int i = 0; i < THREADS; i++)
		CHECK_INT_EQ(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < THREADS; i++)
		memcpy(&all[(size_t)i * PER_THREAD], r[i].waits,
		       sizeof(r[i].waits));
	qsort(all, ARRAY_SIZE(all), sizeof(all[0]), cmp_i64);
	for (size_t i = 0; i < ARRAY_SIZE(all); i++)
		bad += all[i] != (int64_t)MAX((int64_t)i + 1 - 10, 0) * 10 * MS;
	CHECK_INT_EQ(bad, 0);
	ratelimit_free(rl);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_burst_at_start),
	    UNIT_CASE(test_refill_rate),
	    UNIT_CASE(test_burst_below_one),
	    UNIT_CASE(test_reserve_spacing),
	    UNIT_CASE(test_reserve_fractional_rate),
	    UNIT_CASE(test_wait_sleeps_until_due),
	    UNIT_CASE(test_unlimited),
	    UNIT_CASE(test_concurrent_reservations),
	};

	return unit_main(argc, argv, "ratelimit", cases, ARRAY_SIZE(cases));
}
