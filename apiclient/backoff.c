/*
 * backoff: exponential backoff with jitter that restarts after a quiet
 * period, as client-go's exponentialBackoffManagerImpl.getNextBackoff over
 * wait.Backoff.Step (apiclient.md §1.4): the delay returned is the current
 * base delay plus rand * jitter * base, then the base is multiplied by the
 * factor and capped. A value struct owned by one thread; no locking.
 */
#include "base.h"
#include "backoff.h"

#include <math.h>

void backoff_init(struct backoff *b, const struct backoff_options *opts)
{
	b->opts = *opts;
	backoff_reset(b);
}

void backoff_reset(struct backoff *b)
{
	b->next_ms = b->opts.initial_ms;
	b->last_mono_ns = 0;
}

/* Uniform in [0, 1) with 53 random bits. */
static double rand_unit(void)
{
	return (double)rand_below(UINT64_C(1) << 53) /
	       (double)(UINT64_C(1) << 53);
}

static int64_t step(const struct backoff_options *o, int64_t cur)
{
	double next = (double)cur * o->factor;

	if (o->max_ms > 0 && next > (double)o->max_ms)
		return o->max_ms;
	if (next > (double)(INT64_MAX / 4))
		return INT64_MAX / 4;
	return (int64_t)next;
}

int64_t backoff_next(struct backoff *b)
{
	int64_t now = clock_mono_ns();
	int64_t d;

	/* Upstream compares "now - lastBackoffStart > backoffResetDuration". */
	if (b->last_mono_ns != 0 &&
	    now - b->last_mono_ns > b->opts.reset_after_ms * 1000000)
		b->next_ms = b->opts.initial_ms;
	b->last_mono_ns = now;
	d = b->next_ms;
	b->next_ms = step(&b->opts, d);
	if (b->opts.jitter > 0)
		d += (int64_t)(rand_unit() * b->opts.jitter * (double)d);
	return d;
}
