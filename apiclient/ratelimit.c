/*
 * ratelimit: a token bucket on the monotonic clock with fractional tokens
 * (client-go's flowcontrol token bucket over golang.org/x/time/rate,
 * apiclient.md §3.1). Reservations are fair: each one takes a token even
 * when none is left, so the bucket goes negative and the next caller's
 * wait is one more 1/qps further out (rate.Limiter.reserveN).
 *
 * Invariant: tokens <= burst; "tokens" is the level at time "last".
 * Locking: every field but the constants is guarded by rl->lock, held only
 * for arithmetic, never while sleeping.
 */
#include "base.h"
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>

struct ratelimit {
	double qps;	      /* tokens per second; <= 0 is unlimited */
	double burst;	      /* bucket size, >= 1 */
	pthread_mutex_t lock; /* guards tokens and last_ns */
	double tokens;	      /* guarded by lock; may be negative */
	int64_t last_ns;      /* guarded by lock; clock_mono_ns of tokens */
};

struct ratelimit *ratelimit_new(double qps, int burst)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	rl->qps = qps;
	rl->burst = burst < 1 ? 1.0 : (double)burst;
	pthread_mutex_init(&rl->lock, NULL);
	rl->tokens = rl->burst;
	rl->last_ns = clock_mono_ns();
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static bool unlimited(const struct ratelimit *rl)
{
	return !(rl->qps > 0);
}

/* Refills up to now (rate.Limiter.advance); called with rl->lock held. */
static void advance(struct ratelimit *rl, int64_t now)
{
	double t;

	if (now <= rl->last_ns)
		return;
	t = rl->tokens + (double)(now - rl->last_ns) * rl->qps / 1e9;
	rl->tokens = MIN(t, rl->burst);
	rl->last_ns = now;
}

bool ratelimit_try(struct ratelimit *rl)
{
	bool ok;

	if (unlimited(rl))
		return true;
	pthread_mutex_lock(&rl->lock);
	advance(rl, clock_mono_ns());
	ok = rl->tokens >= 1.0;
	if (ok)
		rl->tokens -= 1.0;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

int64_t ratelimit_reserve_ns(struct ratelimit *rl)
{
	double owed;

	if (unlimited(rl))
		return 0;
	pthread_mutex_lock(&rl->lock);
	advance(rl, clock_mono_ns());
	rl->tokens -= 1.0;
	owed = -rl->tokens;
	pthread_mutex_unlock(&rl->lock);
	if (owed <= 0)
		return 0;
	/* Rounded up, so that the token is really there after the wait. */
	return (int64_t)ceil(owed * 1e9 / rl->qps);
}

void ratelimit_wait(struct ratelimit *rl)
{
	int64_t ns = ratelimit_reserve_ns(rl);

	if (ns > 0)
		clock_sleep_ms((ns + 999999) / 1000000);
}
