/*
 * portalloc: the NodePort range over a bitmap (allocator.md §3.1, §3.2).
 * Bit i is port base + i; everything else is the shared bitmap strategy.
 * One owner; no locking.
 */
#include "base.h"
#include "portalloc.h"
#include "bitmap.h"

struct portalloc {
	struct cidr_port_range range; /* copied at construction */
	struct bitmap *bm;	      /* owned; range.size bits */
};

/* Upstream calculateRangeOffset (portallocator/allocator.go, KEP-3668). */
uint32_t portalloc_offset_for(uint32_t size)
{
	if (size <= 16)
		return 0;
	return MIN(MAX(16, size / 32), 128);
}

struct portalloc *portalloc_new(const struct cidr_port_range *range)
{
	struct portalloc *pa;

	BUG_ON(range->base == 0 || range->size == 0 ||
	       range->base + range->size - 1 > 65535);
	pa = xcalloc(1, sizeof(*pa));
	pa->range = *range;
	pa->bm = bitmap_new(range->size, portalloc_offset_for(range->size));
	return pa;
}

void portalloc_free(struct portalloc *pa)
{
	if (!pa)
		return;
	bitmap_free(pa->bm);
	free(pa);
}

const struct cidr_port_range *portalloc_range(const struct portalloc *pa)
{
	return &pa->range;
}

uint32_t portalloc_offset(const struct portalloc *pa)
{
	return (uint32_t)bitmap_offset(pa->bm);
}

uint32_t portalloc_used(const struct portalloc *pa)
{
	return (uint32_t)bitmap_used(pa->bm);
}

uint32_t portalloc_available(const struct portalloc *pa)
{
	return (uint32_t)bitmap_available(pa->bm);
}

bool portalloc_contains(const struct portalloc *pa, int port)
{
	return port >= (int)pa->range.base &&
	       port - (int)pa->range.base < (int)pa->range.size;
}

bool portalloc_has(const struct portalloc *pa, int port)
{
	return portalloc_contains(pa, port) &&
	       bitmap_test(pa->bm, (uint64_t)(port - (int)pa->range.base));
}

enum err portalloc_allocate(struct portalloc *pa, int port, struct errbuf *eb)
{
	char r[CIDR_PORT_RANGE_STRLEN];

	if (!portalloc_contains(pa, port)) {
		cidr_port_range_format(&pa->range, r);
		return errbuf_set(eb, ERR_INVALID,
				  "provided port is not in the valid range. The range of valid ports is %s",
				  r);
	}
	if (bitmap_allocate(pa->bm, (uint64_t)(port - (int)pa->range.base)) !=
	    ERR_OK)
		return errbuf_set(eb, ERR_CONFLICT, PORTALLOC_MSG_ALLOCATED);
	return ERR_OK;
}

enum err portalloc_allocate_next(struct portalloc *pa, int *out,
				 struct errbuf *eb)
{
	uint64_t i;

	if (bitmap_allocate_next(pa->bm, &i) != ERR_OK)
		return errbuf_set(eb, ERR_EXHAUSTED, PORTALLOC_MSG_FULL);
	*out = (int)pa->range.base + (int)i;
	return ERR_OK;
}

void portalloc_release(struct portalloc *pa, int port)
{
	if (!portalloc_contains(pa, port)) {
		/* Upstream's warning text (portallocator/allocator.go). */
		log_warn("port is not in the range when release it. port: %d",
			 port);
		return;
	}
	bitmap_release(pa->bm, (uint64_t)(port - (int)pa->range.base));
}

const uint64_t *portalloc_words(const struct portalloc *pa, size_t *nwords)
{
	return bitmap_words(pa->bm, nwords);
}

enum err portalloc_load_words(struct portalloc *pa, const uint64_t *words,
			      size_t n, struct errbuf *eb)
{
	char r[CIDR_PORT_RANGE_STRLEN];
	enum err e = bitmap_load_words(pa->bm, words, n, eb);

	if (e != ERR_OK) {
		cidr_port_range_format(&pa->range, r);
		errbuf_prefix(eb, "node port range %s", r);
	}
	return e;
}
