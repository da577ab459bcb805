/*
 * ipalloc: one service CIDR over a bitmap (allocator.md §2.2–§2.7). The
 * address <-> bit mapping is the only arithmetic here: bit i is
 * network + 1 + i, and every address in range differs from the network
 * in its low 64 bits only, because max <= 2^24. One owner; no locking.
 */
#include "base.h"
#include "ipalloc.h"
#include "bitmap.h"

#define IPV6_CAP 65536

struct ipalloc {
	struct cidr range;		 /* copied at construction */
	struct ipalloc_geometry geom;	 /* fixed at construction */
	struct bitmap *bm;		 /* owned; geom.max bits */
};

/* Upstream RangeSize (kubernetes/utils net.go) as allocator.md §2.2
 * states it: 0 for single addresses and pairs, saturated from 63 bits. */
static uint64_t range_size(unsigned host_bits)
{
	if (host_bits <= 1)
		return 0;
	if (host_bits >= 63)
		return INT64_MAX;
	return (uint64_t)1 << host_bits;
}

/* Upstream calculateRangeOffset (ipallocator/bitmap.go, KEP-3070). */
static uint64_t range_offset(uint64_t size)
{
	if (size <= 16)
		return 0;
	return MIN(MAX(16, size / 16), 256);
}

void ipalloc_geometry(const struct cidr *range, struct ipalloc_geometry *out)
{
	uint64_t size = range_size(cidr_host_bits(range));
	uint64_t max = size;

	if (range->addr.family == CIDR_FAMILY_V6)
		max = MIN(max, IPV6_CAP);
	else if (max > 0)
		max--; /* the broadcast address */
	if (max > 0)
		max--; /* the network address */
	out->size = size;
	out->max = max;
	out->offset = range_offset(size);
}

enum err ipalloc_new(const struct cidr *range, struct ipalloc **out,
		     struct errbuf *eb)
{
	struct ipalloc_geometry g;
	struct ipalloc *ia;
	char s[CIDR_STRLEN];

	ipalloc_geometry(range, &g);
	if (g.max > IPALLOC_MAX_BITS) {
		cidr_format(range, s);
		return errbuf_set(eb, ERR_INVALID,
				  "service CIDR %s is too large: %llu addresses, at most %llu",
				  s, (unsigned long long)g.max,
				  (unsigned long long)IPALLOC_MAX_BITS);
	}
	ia = xcalloc(1, sizeof(*ia));
	ia->range = *range;
	ia->geom = g;
	ia->bm = bitmap_new(g.max, g.offset);
	*out = ia;
	return ERR_OK;
}

void ipalloc_free(struct ipalloc *ia)
{
	if (!ia)
		return;
	bitmap_free(ia->bm);
	free(ia);
}

const struct cidr *ipalloc_cidr(const struct ipalloc *ia)
{
	return &ia->range;
}

const struct ipalloc_geometry *ipalloc_geom(const struct ipalloc *ia)
{
	return &ia->geom;
}

uint64_t ipalloc_used(const struct ipalloc *ia)
{
	return bitmap_used(ia->bm);
}

uint64_t ipalloc_available(const struct ipalloc *ia)
{
	return bitmap_available(ia->bm);
}

/* The low 64 bits of an address, big-endian. */
static uint64_t low64(const struct cidr_addr *a)
{
	unsigned n = cidr_family_bits(a->family) / 8;
	uint64_t v = 0;

	for (unsigned i = n > 8 ? n - 8 : 0; i < n; i++)
		v = (v << 8) | a->bytes[i];
	return v;
}

/* Whether the bytes above the low 64 bits are equal (always for IPv4). */
static bool same_high(const struct cidr_addr *a, const struct cidr_addr *b)
{
	return a->family == CIDR_FAMILY_V4 || memcmp(a->bytes, b->bytes, 8) == 0;
}

bool ipalloc_index(const struct ipalloc *ia, const struct cidr_addr *ip,
		   uint64_t *out)
{
	const struct cidr_addr *net = &ia->range.addr;
	uint64_t delta;

	/* In-range = inside the CIDR and 0 <= offset < max, so large IPv6
	 * prefixes refuse most of their addresses (allocator.md §2.2). */
	if (!cidr_contains(&ia->range, ip) || !same_high(ip, net))
		return false;
	delta = low64(ip) - low64(net);
	if (delta == 0 || delta - 1 >= ia->geom.max)
		return false;
	*out = delta - 1;
	return true;
}

void ipalloc_addr_at(const struct ipalloc *ia, uint64_t i,
		     struct cidr_addr *out)
{
	unsigned n = cidr_family_bits(ia->range.addr.family) / 8;
	uint64_t carry = i + 1;

	BUG_ON(i >= ia->geom.max);
	*out = ia->range.addr;
	/* No carry leaves the host part: network + max fits in the CIDR. */
	for (unsigned k = n; k-- > 0 && carry;) {
		carry += out->bytes[k];
		out->bytes[k] = (uint8_t)carry;
		carry >>= 8;
	}
}

bool ipalloc_contains(const struct ipalloc *ia, const struct cidr_addr *ip)
{
	uint64_t i;

	return ipalloc_index(ia, ip, &i);
}

bool ipalloc_has(const struct ipalloc *ia, const struct cidr_addr *ip)
{
	uint64_t i;

	return ipalloc_index(ia, ip, &i) && bitmap_test(ia->bm, i);
}

enum err ipalloc_allocate(struct ipalloc *ia, const struct cidr_addr *ip,
			  struct errbuf *eb)
{
	char s[CIDR_ADDR_STRLEN];
	uint64_t i;

	if (!ipalloc_index(ia, ip, &i)) {
		cidr_addr_format(ip, s);
		return errbuf_set(eb, ERR_INVALID,
				  "provided IP %s is not in the valid range", s);
	}
	if (bitmap_allocate(ia->bm, i) != ERR_OK)
		return errbuf_set(eb, ERR_CONFLICT, IPALLOC_MSG_ALLOCATED);
	return ERR_OK;
}

enum err ipalloc_allocate_next(struct ipalloc *ia, struct cidr_addr *out,
			       struct errbuf *eb)
{
	uint64_t i;

	if (bitmap_allocate_next(ia->bm, &i) != ERR_OK)
		return errbuf_set(eb, ERR_EXHAUSTED, IPALLOC_MSG_FULL);
	ipalloc_addr_at(ia, i, out);
	return ERR_OK;
}

void ipalloc_release(struct ipalloc *ia, const struct cidr_addr *ip)
{
	uint64_t i;

	if (ipalloc_index(ia, ip, &i))
		bitmap_release(ia->bm, i);
}

const uint64_t *ipalloc_words(const struct ipalloc *ia, size_t *nwords)
{
	return bitmap_words(ia->bm, nwords);
}

enum err ipalloc_load_words(struct ipalloc *ia, const uint64_t *words,
			    size_t n, struct errbuf *eb)
{
	char s[CIDR_STRLEN];
	enum err e = bitmap_load_words(ia->bm, words, n, eb);

	if (e != ERR_OK) {
		cidr_format(&ia->range, s);
		errbuf_prefix(eb, "service CIDR %s", s);
	}
	return e;
}
