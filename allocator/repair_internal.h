#ifndef CTRL_REPAIR_INTERNAL_H
#define CTRL_REPAIR_INTERNAL_H

/*
 * Shared between repair.c (driver, leak counters, result) and
 * repair_collect.c (Services -> values and events). One pass owns a
 * struct repair__pass; nothing here is thread-safe.
 */

#include "ipalloc.h"
#include "portalloc.h"
#include "repair.h"

/* The working state of one range during a pass. */
struct repair__range {
	const struct repair_range *in; /* borrowed */
	struct ipalloc *ia;	       /* owned; IP ranges: the rebuilt set */
	struct portalloc *pa;	       /* owned; port ranges */
	uint64_t max;		       /* usable values */
	uint64_t *stored;	       /* owned; bits of the record */
	struct allocdb_entry *used;    /* owned; values in use */
	size_t n_used;
	size_t cap_used;
	struct repair_range_result *res; /* the output being built */
};

struct repair__pass {
	const struct repair_input *in;
	struct repair__range rr[REPAIR_MAX_RANGES];
	size_t n;
	struct repair_event *ev; /* owned until moved to the result */
	size_t n_ev;
	size_t cap_ev;
	struct errbuf *eb;
};

/* Takes every value of every Service into the rebuilt sets, with events. */
enum err repair__collect(struct repair__pass *p) ATTR_WUR;

static inline bool repair__bit(const uint64_t *w, uint64_t i)
{
	return (w[i / 64] >> (i % 64)) & 1;
}

#endif /* CTRL_REPAIR_INTERNAL_H */
