#ifndef CTRL_RATELIMIT_H
#define CTRL_RATELIMIT_H

/*
 * ratelimit: a client-side token bucket (client-go's flowcontrol token
 * bucket, apiclient.md §3.1): `burst` tokens at most, refilled at `qps`
 * per second on the monotonic clock, with fractional tokens. Every
 * non-watch request takes one token; --kube-api-qps 20 and
 * --kube-api-burst 30 by default.
 *
 * Thread safety: all calls are thread-safe.
 */

struct ratelimit;

/* qps <= 0 means unlimited. burst < 1 is taken as 1. */
struct ratelimit *ratelimit_new(double qps, int burst);
void ratelimit_free(struct ratelimit *rl);
/* Takes a token now if one is available. */
bool ratelimit_try(struct ratelimit *rl);
/* Reserves the next token and returns how many ns the caller must wait
 * before using it (0 when available now). Reservations queue fairly. */
int64_t ratelimit_reserve_ns(struct ratelimit *rl);
/* Reserves and sleeps until the token is due. */
void ratelimit_wait(struct ratelimit *rl);

#endif /* CTRL_RATELIMIT_H */
