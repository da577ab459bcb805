/*
 * fake_clock: base's three clock functions over one atomic fake time in
 * nanoseconds, linked before the library so these definitions win (the
 * real ones live alone in apiclient/base_clock.c). No test sleeps:
 * clock_sleep_ms moves the fake time instead.
 */
#include "base.h"
#include "fakes/fake_clock.h"

#include <stdatomic.h>

static _Atomic int64_t fake_ns = FAKE_CLOCK_START_MS * 1000000;

int64_t clock_now_ms(void)
{
	return atomic_load(&fake_ns) / 1000000;
}

int64_t clock_mono_ns(void)
{
	return atomic_load(&fake_ns);
}

void clock_sleep_ms(int64_t ms)
{
	if (ms > 0)
		fake_clock_advance_ms(ms);
}

void fake_clock_set_ms(int64_t ms)
{
	atomic_store(&fake_ns, ms * 1000000);
}

void fake_clock_advance_ms(int64_t ms)
{
	atomic_fetch_add(&fake_ns, ms * 1000000);
}

void fake_clock_advance_ns(int64_t ns)
{
	atomic_fetch_add(&fake_ns, ns);
}
