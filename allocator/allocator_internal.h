#ifndef CTRL_ALLOCATOR_INTERNAL_H
#define CTRL_ALLOCATOR_INTERNAL_H

/*
 * allocator_internal: the struct shared by allocator.c (life cycle,
 * queries, the tentative map), allocator_admit.c and allocator_observe.c.
 */

#include <pthread.h>

#include "admission.h"
#include "allocdb.h"
#include "cidr.h"
#include "ipalloc.h"
#include "portalloc.h"

/* One tentative reservation made by the webhook, not yet confirmed. */
struct allocator__tent {
	char *ns;    /* owned */
	char *name;  /* owned */
	char *uid;   /* owned; "" on CREATE */
	char *field; /* owned, "spec.clusterIPs[0]" */
	enum allocator_range range;
	uint64_t offset;
};

struct allocator {
	pthread_mutex_t lock;
	struct admission_config cfg;  /* read-only after new */
	struct ipalloc *ip[2];	      /* by ALLOCATOR_IPV4/IPV6; guarded
				       * by lock; NULL when absent */
	struct portalloc *ports;      /* guarded by lock */
	struct allocdb *db;	      /* called under lock */
	struct allocator__tent *tent; /* guarded by lock */
	size_t n_tent;		      /* guarded by lock */
	/* Values set or cleared since allocator_repair_begin: the pass
	 * must not judge them from a list taken before the change.
	 * Guarded by lock. */
	bool journaling;
	struct allocator__val *touched; /* owned */
	size_t n_touched, cap_touched;
	/* Upstream's allocation_total / allocation_errors_total, by range
	 * and scope. Guarded by lock. */
	uint64_t allocs[ALLOCATOR_NRANGES][ALLOCATOR_NSCOPES];
	uint64_t alloc_errors[ALLOCATOR_NRANGES][ALLOCATOR_NSCOPES];
};

/* One value inside one range. */
struct allocator__val {
	enum allocator_range range;
	uint64_t offset;
};

extern const char *const allocator__range_names[ALLOCATOR_NRANGES];

/* Maps an IP text / a node port to its range and bit; false when the
 * family is not configured or the value is out of range. Lock held. */
bool allocator__ip_val(struct allocator *a, const char *ip,
		       struct allocator__val *out);
bool allocator__port_val(struct allocator *a, int32_t port,
			 struct allocator__val *out);
/* Sets / clears the in-memory bit of v. Lock held. */
enum err allocator__set_bit(struct allocator *a,
			    const struct allocator__val *v) ATTR_WUR;
void allocator__clear_bit(struct allocator *a, const struct allocator__val *v);
/* The text of v ("10.96.0.1", "30001"). */
void allocator__val_text(struct allocator *a, const struct allocator__val *v,
			 char out[CIDR_ADDR_STRLEN]);

/* Notes v in the repair journal when a pass is in progress. Lock held. */
void allocator__touch(struct allocator *a, const struct allocator__val *v);

/* Tentative map (lock held). find_field: by key and field in range r;
 * find_value: by key and value, any field. NULL when absent. */
struct allocator__tent *
allocator__tent_find_field(struct allocator *a, const char *ns,
			   const char *name, const char *uid, const char *field,
			   enum allocator_range r);
struct allocator__tent *
allocator__tent_find_value(struct allocator *a, const char *ns,
			   const char *name, const char *uid,
			   const struct allocator__val *v);
void allocator__tent_add(struct allocator *a, const char *ns, const char *name,
			 const char *uid, const char *field,
			 const struct allocator__val *v);
/* Drops every entry holding v; whether there was one. */
bool allocator__tent_drop(struct allocator *a, const struct allocator__val *v);

#endif /* CTRL_ALLOCATOR_INTERNAL_H */
