#ifndef CTRL_WORKQUEUE_H
#define CTRL_WORKQUEUE_H

/*
 * workqueue: client-go's rate-limited work queue of string keys
 * (endpointslice.md §7.2): a key is never handed to two workers at once;
 * adding a queued key is a no-op; adding a key being processed re-queues it
 * when its worker calls workqueue_done; delayed adds of a waiting key keep
 * the earliest ready time. The rate limiter is the maximum of a per-key
 * exponential backoff (base · 2^failures, capped) and a global token
 * bucket.
 *
 * Delayed keys are moved to the ready FIFO by the calls that read the
 * queue (get, try_get, len, stats, next_delay_ms); a blocked
 * workqueue_get sleeps until the soonest one is due, re-reading the clock
 * at least once a second.
 *
 * Thread safety: all calls are thread-safe; workqueue_get blocks.
 */

struct workqueue;

struct workqueue_options {
	const char *name;	/* for metrics, e.g. "endpoint_slice" */
	int64_t base_delay_ms;	/* per-key backoff start (1000 for epslice) */
	int64_t max_delay_ms;	/* per-key cap (1000000) */
	double qps;		/* global bucket (10); <= 0: none */
	int burst;		/* global bucket (100) */
	/* Every delay is zero (replay has no clock to wait on); failures
	 * are still counted, so requeue limits hold. */
	bool no_delay;
};
#define WORKQUEUE_OPTIONS_EPSLICE { "endpoint_slice", 1000, 1000000, 10, 100, false }

struct workqueue_stats {
	uint64_t adds;	       /* keys accepted (not deduplicated away) */
	uint64_t retries;      /* rate-limited re-adds */
	size_t depth;	       /* ready keys waiting */
	size_t delayed;	       /* keys waiting for their time */
	size_t processing;
};

struct workqueue *workqueue_new(const struct workqueue_options *opts);
/* Call workqueue_shutdown and join the workers first. */
void workqueue_free(struct workqueue *q);

/* key is copied. A delay <= 0 is a plain add. */
void workqueue_add(struct workqueue *q, const char *key);
void workqueue_add_after(struct workqueue *q, const char *key,
			 int64_t delay_ms);
/* Re-adds after the rate limiter's delay and counts a failure. */
void workqueue_add_rate_limited(struct workqueue *q, const char *key);
/* Resets the key's failure count (after a successful sync). */
void workqueue_forget(struct workqueue *q, const char *key);
/* The failures counted since the last forget (0 for an unknown key). */
int workqueue_requeues(struct workqueue *q, const char *key);

/*
 * Blocks until a key is ready or the queue shuts down (false). The key is
 * owned by the caller, who must pass it back to workqueue_done and then
 * free it. Once the queue is shut down it returns false at once, even if
 * keys are still queued (client-go's Get would drain them first).
 */
bool workqueue_get(struct workqueue *q, char **key);
/* Ends the processing of key; a done for a key that is not being
 * processed is ignored. */
void workqueue_done(struct workqueue *q, const char *key);
/* Non-blocking variant for single-threaded drivers (replay): false when
 * nothing is ready now. */
bool workqueue_try_get(struct workqueue *q, char **key);
/* The soonest delayed key's ready time in ms from now (rounded up, so
 * advancing a fake clock by it makes the key due), or -1 if none. */
int64_t workqueue_next_delay_ms(struct workqueue *q);
/*
 * While paused, workqueue_get and workqueue_try_get return false at once
 * (waking blocked getters) but adds are still accepted, so a standby keeps
 * its queue warm and its workers can exit and be restarted on takeover.
 */
void workqueue_set_paused(struct workqueue *q, bool paused);
/* Wakes every workqueue_get with false; later adds are ignored. */
void workqueue_shutdown(struct workqueue *q);
/* Ready keys (the FIFO), after moving the due delayed ones there. */
size_t workqueue_len(struct workqueue *q);
void workqueue_stats(struct workqueue *q, struct workqueue_stats *out);

#endif /* CTRL_WORKQUEUE_H */
