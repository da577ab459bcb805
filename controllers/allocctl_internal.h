#ifndef CTRL_ALLOCCTL_INTERNAL_H
#define CTRL_ALLOCCTL_INTERNAL_H

/*
 * allocctl_internal: the struct shared by allocctl.c (life cycle, webhook,
 * watch, leadership), allocctl_repair.c (the repair thread and the fills
 * for non-allocating API servers) and allocctl_metrics.c.
 */

#include <pthread.h>

#include "allocctl.h"
#include "repair.h"

/* Admission answers, for metrics. */
enum allocctl__answer {
	ALLOCCTL_PATCHED = 0, /* allowed with a patch */
	ALLOCCTL_UNCHANGED,   /* allowed, nothing to allocate */
	ALLOCCTL_DENIED,      /* a taken, out-of-range or full value */
	ALLOCCTL_STANDBY,     /* not the admitting leader: no patch */
	ALLOCCTL_FAILED,      /* could not decide: no patch */
	ALLOCCTL__ANSWERS
};

struct allocctl {
	struct allocctl_options o;
	struct allocator *alloc;	/* owned */
	struct webhook *wh;		/* owned */
	pthread_t thread;
	bool thread_started;
	atomic_bool admitting;		/* leader, takeover repair done */
	atomic_bool cancel;		/* aborts a list in flight at stop */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;			/* lock */
	bool leading;			/* lock */
	uint64_t term;			/* lock; bumped by lead and unlead */
	char **fills;			/* lock; "ns/name" keys, owned */
	size_t n_fills;			/* lock */

	/* The repair thread's own. */
	struct repair *rep;		/* leak counters of rep_term */
	uint64_t rep_term;

	/* Counters, under lock. */
	uint64_t repair_errors[ALLOCATOR_NRANGES][REPAIR_ERR__COUNT];
	uint64_t reconcile_errors[2];	/* [0] ClusterIP, [1] NodePort */
	uint64_t passes_ok;
	uint64_t passes_failed;
	uint64_t answers[ALLOCCTL__ANSWERS];
	uint64_t fills_done;
	uint64_t fills_failed;
};

/* The repair thread (allocctl_repair.c). */
void *allocctl__repair_main(void *arg);
/* Whether s arrived without values an allocating API server would have
 * given it (allocator.md §7.3). */
bool allocctl__needs_fill(const struct kube_service *s);
/* Queues s for a fill by the leader (lock not held). */
void allocctl__queue_fill(struct allocctl *c, const struct kube_service *s);
/* The open write gate: leading by time (leaderelect_gate). */
bool allocctl__gate_open(struct allocctl *c);

#endif /* CTRL_ALLOCCTL_INTERNAL_H */
