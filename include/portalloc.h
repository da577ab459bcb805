#ifndef CTRL_PORTALLOC_H
#define CTRL_PORTALLOC_H

/*
 * portalloc: the NodePort allocator, in memory, with upstream's geometry
 * and strategy (portallocator/allocator.go; allocator.md §3.1, §3.2):
 * - the range "N1-N2" is inclusive; bit i <=> port N1 + i; one
 *   protocol-agnostic bitmap; no port of the range is reserved;
 * - offset (static band [0, offset)) = 0 if size <= 16, else
 *   clamp(size / 32, 16, 128): 86 for the default 30000-32767, so
 *   30000–30085 is static and 30086 the first dynamic port.
 * Error texts are upstream's.
 *
 * Thread safety: none. A portalloc has one owner, which locks if it shares
 * it (the allocator layer does).
 */

#include "cidr.h"

struct portalloc;

/* Upstream's ErrFull and ErrAllocated texts. */
#define PORTALLOC_MSG_FULL "range is full"
#define PORTALLOC_MSG_ALLOCATED "provided port is already allocated"

/* ---- Life cycle ------------------------------------------------------- */

/* The static band size for a range of size ports (upstream
 * calculateRangeOffset). */
uint32_t portalloc_offset_for(uint32_t size);
/* A new allocator for range (copied), nothing allocated. A range outside
 * 1..65535 or of size 0 is a programmer error (cidr_parse_port_range
 * never returns one). */
struct portalloc *portalloc_new(const struct cidr_port_range *range);
/* NULL is a no-op. */
void portalloc_free(struct portalloc *pa);

/* ---- Queries ---------------------------------------------------------- */

const struct cidr_port_range *portalloc_range(const struct portalloc *pa);
uint32_t portalloc_offset(const struct portalloc *pa);
uint32_t portalloc_used(const struct portalloc *pa);
uint32_t portalloc_available(const struct portalloc *pa);
/* Whether port lies in the range (allocated or not). */
bool portalloc_contains(const struct portalloc *pa, int port);
/* Whether port is in range and allocated. */
bool portalloc_has(const struct portalloc *pa, int port);

/* ---- Mutation --------------------------------------------------------- */

/*
 * Allocates a requested port. ERR_INVALID "provided port is not in the
 * valid range. The range of valid ports is 30000-32767" (with this
 * range); ERR_CONFLICT "provided port is already allocated".
 */
enum err portalloc_allocate(struct portalloc *pa, int port,
			    struct errbuf *eb) ATTR_WUR;
/* Allocates a free port by the offset random scan (bitmap.h) and writes
 * it to *out. ERR_EXHAUSTED "range is full". */
enum err portalloc_allocate_next(struct portalloc *pa, int *out,
				 struct errbuf *eb) ATTR_WUR;
/* Frees port; silent when it is free, and only logged (as upstream) when
 * it is out of range. */
void portalloc_release(struct portalloc *pa, int port);

/* ---- Persistence ------------------------------------------------------ */

/* The bitmap words (layout in bitmap.h), borrowed until the next mutation. */
const uint64_t *portalloc_words(const struct portalloc *pa, size_t *nwords);
/* Restores saved words; ERR_INVALID when they do not fit this range. */
enum err portalloc_load_words(struct portalloc *pa, const uint64_t *words,
			      size_t n, struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_PORTALLOC_H */
