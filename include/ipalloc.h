#ifndef CTRL_IPALLOC_H
#define CTRL_IPALLOC_H

/*
 * ipalloc: the ClusterIP allocator of one service CIDR, in memory, with
 * upstream's bitmap geometry and strategy (ipallocator/bitmap.go;
 * allocator.md §2.2–§2.7, §10):
 * - bit i <=> address network + 1 + i, for 0 <= i < max;
 * - IPv4: max = 2^h − 2 (no network, no broadcast address);
 *   IPv6: max = min(2^h, 65536) − 1 (no network address; the all-ones
 *   address is usable only when h <= 16); /31, /32, /127, /128: max 0;
 * - offset (static band [0, offset)) = 0 if 2^h <= 16, else
 *   clamp(2^h / 16, 16, 256), 2^h saturated at 2^63 − 1.
 * An address inside the CIDR but at or beyond max (large IPv6 prefixes) is
 * not in range. Error texts are upstream's (ipallocator/interfaces.go).
 *
 * Thread safety: none. An ipalloc has one owner, which locks if it shares
 * it (the allocator layer does).
 */

#include "cidr.h"

struct ipalloc;

/* Refuses ranges whose bitmap would exceed this many bits (2 MiB). */
#define IPALLOC_MAX_BITS ((uint64_t)1 << 24)

/* Upstream's ErrFull and ErrAllocated texts. */
#define IPALLOC_MSG_FULL "range is full"
#define IPALLOC_MSG_ALLOCATED "provided IP is already allocated"

struct ipalloc_geometry {
	uint64_t size;	 /* 2^h, upstream RangeSize: 0 for /31 /32 /127 /128,
			    2^63 − 1 from 63 host bits */
	uint64_t max;	 /* usable addresses = bits in the bitmap */
	uint64_t offset; /* size of the static band */
};

/* ---- Life cycle ------------------------------------------------------- */

/* The geometry of a range, without building it (for a persistence layer
 * comparing a stored bitmap with the configured range). */
void ipalloc_geometry(const struct cidr *range, struct ipalloc_geometry *out);
/*
 * A new allocator for range, nothing allocated; range is copied.
 * ERR_INVALID (message naming the CIDR) when the geometry's max exceeds
 * IPALLOC_MAX_BITS. The flag parser already limits ranges to 20 host bits.
 */
enum err ipalloc_new(const struct cidr *range, struct ipalloc **out,
		     struct errbuf *eb) ATTR_WUR;
/* NULL is a no-op. */
void ipalloc_free(struct ipalloc *ia);

/* ---- Queries ---------------------------------------------------------- */

const struct cidr *ipalloc_cidr(const struct ipalloc *ia);
const struct ipalloc_geometry *ipalloc_geom(const struct ipalloc *ia);
uint64_t ipalloc_used(const struct ipalloc *ia);
uint64_t ipalloc_available(const struct ipalloc *ia);
/* Whether ip is a usable address of this range (allocated or not). */
bool ipalloc_contains(const struct ipalloc *ia, const struct cidr_addr *ip);
/* Whether ip is in range and allocated. */
bool ipalloc_has(const struct ipalloc *ia, const struct cidr_addr *ip);
/* The bit of ip; false when ip is not in range. */
bool ipalloc_index(const struct ipalloc *ia, const struct cidr_addr *ip,
		   uint64_t *out);
/* The address of bit i; i < max (BUG_ON otherwise). */
void ipalloc_addr_at(const struct ipalloc *ia, uint64_t i,
		     struct cidr_addr *out);

/* ---- Mutation --------------------------------------------------------- */

/*
 * Allocates a requested (static) address anywhere in range. ERR_INVALID
 * "provided IP <ip> is not in the valid range" when not in range (also
 * for the other family); ERR_CONFLICT "provided IP is already allocated".
 */
enum err ipalloc_allocate(struct ipalloc *ia, const struct cidr_addr *ip,
			  struct errbuf *eb) ATTR_WUR;
/* Allocates a free address by the offset random scan (bitmap.h) and
 * writes it to *out. ERR_EXHAUSTED "range is full". */
enum err ipalloc_allocate_next(struct ipalloc *ia, struct cidr_addr *out,
			       struct errbuf *eb) ATTR_WUR;
/* Frees ip; silent when it is not in range or not allocated. */
void ipalloc_release(struct ipalloc *ia, const struct cidr_addr *ip);

/* ---- Persistence ------------------------------------------------------ */

/* The bitmap words (layout in bitmap.h), borrowed until the next mutation. */
const uint64_t *ipalloc_words(const struct ipalloc *ia, size_t *nwords);
/* Restores saved words; ERR_INVALID when they do not fit this geometry. */
enum err ipalloc_load_words(struct ipalloc *ia, const uint64_t *words,
			    size_t n, struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_IPALLOC_H */
