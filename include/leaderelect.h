#ifndef CTRL_LEADERELECT_H
#define CTRL_LEADERELECT_H

/*
 * leaderelect: leader election through a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it (allocator.md §6): acquire by GET,
 * CREATE when missing, PUT with the read resourceVersion (a concurrent
 * write is a 409 and a failed attempt); retry every retryPeriod with up to
 * 1.2 × retryPeriod of jitter; renew every retryPeriod and give up when
 * renewDeadline passes without a successful renewal. Expiry of another
 * holder is judged only on our own monotonic clock (observed time), never
 * on the timestamps in the Lease.
 *
 * Better than upstream: losing the Lease returns to candidate mode instead
 * of exiting, and leaderelect_gate closes by itself at the renew deadline
 * even while a renewal request hangs, so every write checked against it
 * stops at once. On stop, a leader releases the Lease (empty holder,
 * leaseDurationSeconds 1), so a standby takes over within one retry period.
 *
 * Thread safety: the elector runs its own thread; leaderelect_gate,
 * leaderelect_is_leader and leaderelect_stats may be called from any
 * thread. The callbacks run on the elector's thread and must return
 * promptly (bounded).
 */

struct apiclient;
struct errbuf;
struct leaderelect;

struct leaderelect_options {
	const char *ns;		    /* --leader-elect-resource-namespace */
	const char *name;	    /* --leader-elect-resource-name */
	const char *identity;	    /* "<hostname>_<uuid>" */
	int64_t lease_duration_ms;  /* 15000 */
	int64_t renew_deadline_ms;  /* 10000 */
	int64_t retry_period_ms;    /* 2000 */
	void (*on_started)(void *ctx); /* became leader */
	void (*on_stopped)(void *ctx); /* lost the lease or stopping */
	void *ctx;
};

struct leaderelect_stats {
	bool leader;		 /* leader_election_master_status */
	uint64_t slowpath;	 /* leader_election_slowpath_total */
	uint64_t acquired;	 /* times we became leader */
	uint64_t lost;		 /* times we lost the lease */
	char holder[256];	 /* last observed holder ("" when free) */
};

/* Checks upstream's rules: all durations > 0, leaseDuration >
 * renewDeadline > 1.2 × retryPeriod, a non-empty identity. api must
 * outlive the elector. */
enum err leaderelect_new(struct apiclient *api,
			 const struct leaderelect_options *opts,
			 struct leaderelect **out, struct errbuf *eb) ATTR_WUR;
void leaderelect_free(struct leaderelect *le);
enum err leaderelect_start(struct leaderelect *le) ATTR_WUR;
/* Stops campaigning; a leader calls on_stopped, then releases the Lease. */
void leaderelect_stop(struct leaderelect *le);
/* True while we hold the Lease and renewDeadline has not passed since our
 * last successful acquire or renew: the one gate for every write. */
bool leaderelect_gate(struct leaderelect *le);
bool leaderelect_is_leader(struct leaderelect *le);
void leaderelect_stats(struct leaderelect *le, struct leaderelect_stats *out);
/* "<hostname>_<random uuid>", upstream's identity. */
void leaderelect_identity(char *out, size_t n);

#endif /* CTRL_LEADERELECT_H */
