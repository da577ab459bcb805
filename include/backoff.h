#ifndef CTRL_BACKOFF_H
#define CTRL_BACKOFF_H

/*
 * backoff: exponential backoff with jitter and reset after a healthy
 * period (client-go's reflector backoff: 800 ms initial, factor 2, cap
 * 30 s, jitter 1.0, reset after 2 min without failures; apiclient.md §1.4).
 * A value struct owned by one thread.
 */

struct backoff_options {
	int64_t initial_ms;
	double factor;
	int64_t max_ms;
	double jitter;	       /* delay += rand * jitter * delay */
	int64_t reset_after_ms; /* a quiet period this long restarts at initial */
};
#define BACKOFF_REFLECTOR { 800, 2.0, 30000, 1.0, 120000 }

struct backoff {
	struct backoff_options opts;
	int64_t next_ms;      /* delay before jitter that the next call returns */
	int64_t last_mono_ns; /* monotonic time of the last backoff_next, 0 if never */
};

void backoff_init(struct backoff *b, const struct backoff_options *opts);
/* The delay to wait now (ms, jittered), and steps the base delay. */
int64_t backoff_next(struct backoff *b);
void backoff_reset(struct backoff *b);

#endif /* CTRL_BACKOFF_H */
