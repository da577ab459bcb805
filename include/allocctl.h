#ifndef CTRL_ALLOCCTL_H
#define CTRL_ALLOCCTL_H

/*
 * allocctl: the ClusterIP / NodePort allocator as a running controller
 * (allocator.md §8.3-§8.7). It owns
 *
 *  - the allocator (bitmaps + sqlite record, allocator.h);
 *  - the admission webhook's HTTPS server (POST /mutate, GET /healthz,
 *    GET /readyz), whose /readyz is 200 only while this replica answers
 *    with allocations, so a Service in front of the replicas sends
 *    admission requests to the leader;
 *  - the Service watch path: every Service event confirms or releases
 *    values (allocator_observe), on standbys too, so a takeover finds a
 *    warm record;
 *  - the repair thread: on taking the lead, one pass over a fresh quorum
 *    list of all Services, then every repair interval; only after the
 *    first pass succeeded does the webhook answer with allocations. Lost
 *    leadership closes admission at once; leak counters start empty at
 *    every takeover;
 *  - for an API server that does not allocate (allocator.md §7.3): the
 *    leader fills a Service that arrives without the values it needs and
 *    patches it, guarded by a JSON Patch test of its resourceVersion.
 *
 * Admission is answered "allowed, no patch" whenever this replica is not
 * the admitting leader, so the API server's own allocator assigns and the
 * watch imports the value (failurePolicy Ignore in the configuration).
 *
 * Thread safety: allocctl_lead, allocctl_unlead, allocctl_admitting and
 * allocctl_metrics are thread-safe; new, start, stop and free belong to
 * the owner thread. The handlers run on the Service informer's thread.
 */

#include "allocator.h"

struct allocctl;
struct apiclient;
struct errbuf;
struct informer_handlers;
struct metrics_writer;
struct recorder;
struct store;

struct allocctl_options {
	struct allocator_options alloc; /* ranges, record */
	int64_t repair_interval_ms;	/* --repair-interval; <= 0: 3 min */
	/* The webhook server: --webhook-bind-address, --webhook-port (0:
	 * ephemeral, tests), --tls-cert-file, --tls-private-key-file. */
	const char *bind_address;
	int port;
	const char *cert_file;
	const char *key_file;
	struct apiclient *api;	/* Service lists and patches; borrowed */
	struct store *services; /* the Service cache; borrowed */
	struct recorder *rec;	/* repair Events; borrowed; NULL: none */
	/* The leadership write gate (leaderelect_gate); NULL: always open. */
	bool (*gate)(void *ctx);
	void *gate_ctx;
};

/* Opens the allocator (ERR_INVALID for a bad range flag, ERR_DB for a
 * record that cannot be opened; eb names the flag or file). */
enum err allocctl_new(const struct allocctl_options *o, struct allocctl **out,
		      struct errbuf *eb) ATTR_WUR;
/* The Service informer's handlers (the watch path). */
void allocctl_service_handlers(struct allocctl *c,
			       struct informer_handlers *out);
/* Starts the webhook server and the repair thread (idle until
 * allocctl_lead). ERR_IO / ERR_INVALID as webhook_new. */
enum err allocctl_start(struct allocctl *c, struct errbuf *eb) ATTR_WUR;
/* Leadership gained: repair, then admit. */
void allocctl_lead(struct allocctl *c);
/* Leadership lost: admission closes before this returns. */
void allocctl_unlead(struct allocctl *c);
/* Whether the webhook answers with allocations now. */
bool allocctl_admitting(struct allocctl *c);
/* The bound webhook port (tests use port 0). */
int allocctl_webhook_port(struct allocctl *c);
/* Appends the allocator and repair metrics (allocator.md §4.4, §8.7). */
void allocctl_metrics(struct allocctl *c, struct metrics_writer *w);
/* Stops the server and the thread; idempotent. */
void allocctl_stop(struct allocctl *c);
/* NULL is a no-op. */
void allocctl_free(struct allocctl *c);

#endif /* CTRL_ALLOCCTL_H */
