/*
 * Unit tests of backoff on the fake clock: the reflector's sequence
 * without jitter, the jitter bounds, the reset after a quiet period and
 * an explicit reset.
 * FAKES: fake_clock
 */
#include "base.h"
#include "backoff.h"
#include "unit.h"
#include "fakes/fake_clock.h"

static const struct backoff_options no_jitter = {800, 2.0, 30000, 0.0, 120000};

static void test_sequence_capped(void)
{
	static const int64_t want[] = {800,   1600,  3200,  6400, 12800,
				       25600, 30000, 30000, 30000};
	struct backoff b;

	backoff_init(&b, &no_jitter);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_INT_EQ(backoff_next(&b), want[i]);
		fake_clock_advance_ms(want[i]);
	}
}

static void test_jitter_bounds(void)
{
	static const struct backoff_options opts = BACKOFF_REFLECTOR;
	struct backoff b;
	int64_t lo = INT64_MAX, hi = 0;

	for (int round = 0; round < 200; round++) {
		int64_t d = opts.initial_ms;

		backoff_init(&b, &opts);
		for (int i = 0; i < 10; i++) {
			int64_t got = backoff_next(&b);

			if (got < d || got >= 2 * d)
				unit_fail(__FILE__, __LINE__,
					  "step %d: %lld not in [%lld, %lld)",
					  i, (long long)got, (long long)d,
					  2 * (long long)d);
			if (i == 0) {
				lo = MIN(lo, got);
				hi = MAX(hi, got);
			}
			d = MIN(d * 2, opts.max_ms);
		}
		unit_checks++;
	}
	/* 200 draws over [800, 1600) are not all in one half. */
	CHECK(lo < 1200 && hi >= 1200);
}

static void test_reset_after_quiet_period(void)
{
	struct backoff b;

	backoff_init(&b, &no_jitter);
	CHECK_INT_EQ(backoff_next(&b), 800);
	CHECK_INT_EQ(backoff_next(&b), 1600);
	CHECK_INT_EQ(backoff_next(&b), 3200);
	/* Exactly the quiet period is not longer than it (upstream's ">"). */
	fake_clock_advance_ms(120000);
	CHECK_INT_EQ(backoff_next(&b), 6400);
	fake_clock_advance_ms(120001);
	CHECK_INT_EQ(backoff_next(&b), 800);
	CHECK_INT_EQ(backoff_next(&b), 1600);
}

static void test_explicit_reset(void)
{
	struct backoff b;

	backoff_init(&b, &no_jitter);
	CHECK_INT_EQ(backoff_next(&b), 800);
	CHECK_INT_EQ(backoff_next(&b), 1600);
	backoff_reset(&b);
	CHECK_INT_EQ(b.last_mono_ns, 0);
	CHECK_INT_EQ(backoff_next(&b), 800);
	CHECK_INT_EQ(b.last_mono_ns, clock_mono_ns());
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_sequence_capped),
	    UNIT_CASE(test_jitter_bounds),
	    UNIT_CASE(test_reset_after_quiet_period),
	    UNIT_CASE(test_explicit_reset),
	};

	return unit_main(argc, argv, "backoff", cases, ARRAY_SIZE(cases));
}
