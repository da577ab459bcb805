/*
 * Unit tests of ipalloc: the geometry of IPv4 /32 … /12 and IPv6 /128 …
 * /0 (max, offset, first and last usable address, network, broadcast and
 * beyond-the-cap addresses refused), every range filled to exhaustion with
 * unique addresses, both bands full in turn, upstream's messages, silent
 * releases and the persistence round trip (allocator.md §2.2–§2.7, §10).
 */
#include "base.h"
#include "ipalloc.h"
#include "unit.h"

struct geom_case {
	const char *cidr;
	uint64_t size, max, offset;
	const char *first, *last;  /* NULL when max is 0 */
	const char *refused[4];	   /* in the CIDR (or not), never in range */
};

static const struct geom_case geom_cases[] = {
    {"10.0.0.7/32", 0, 0, 0, NULL, NULL, {"10.0.0.7", "10.0.0.8"}},
    {"10.0.0.6/31", 0, 0, 0, NULL, NULL, {"10.0.0.6", "10.0.0.7"}},
    {"10.0.0.4/30", 4, 2, 0, "10.0.0.5", "10.0.0.6",
     {"10.0.0.4", "10.0.0.7", "10.0.0.8", "10.0.0.3"}},
    {"10.0.0.8/29", 8, 6, 0, "10.0.0.9", "10.0.0.14",
     {"10.0.0.8", "10.0.0.15"}},
    {"10.0.0.16/28", 16, 14, 0, "10.0.0.17", "10.0.0.30",
     {"10.0.0.16", "10.0.0.31"}},
    {"10.0.0.32/27", 32, 30, 16, "10.0.0.33", "10.0.0.62",
     {"10.0.0.32", "10.0.0.63"}},
    {"192.168.1.0/24", 256, 254, 16, "192.168.1.1", "192.168.1.254",
     {"192.168.1.0", "192.168.1.255", "fd00::1"}},
    {"10.96.0.0/22", 1024, 1022, 64, "10.96.0.1", "10.96.3.254",
     {"10.96.0.0", "10.96.3.255"}},
    {"10.96.0.0/16", 65536, 65534, 256, "10.96.0.1", "10.96.255.254",
     {"10.96.0.0", "10.96.255.255", "10.97.0.0"}},
    {"10.96.0.0/12", 1048576, 1048574, 256, "10.96.0.1", "10.111.255.254",
     {"10.96.0.0", "10.111.255.255", "10.112.0.0"}},
    {"fd00::1/128", 0, 0, 0, NULL, NULL, {"fd00::1"}},
    {"fd00::/127", 0, 0, 0, NULL, NULL, {"fd00::", "fd00::1"}},
    {"fd00::/124", 16, 15, 0, "fd00::1", "fd00::f", {"fd00::", "fd00::10"}},
    {"fd00::/120", 256, 255, 16, "fd00::1", "fd00::ff",
     {"fd00::", "fd00::100", "10.0.0.1"}},
    {"fd00::/112", 65536, 65535, 256, "fd00::1", "fd00::ffff",
     {"fd00::", "fd00::1:0"}},
    {"fd00::/108", 1048576, 65535, 256, "fd00::1", "fd00::ffff",
     {"fd00::", "fd00::1:0", "fd00::f:ffff"}},
    {"fd00::/64", INT64_MAX, 65535, 256, "fd00::1", "fd00::ffff",
     {"fd00::1:0", "fd00::ffff:ffff:ffff:ffff", "fd00::1:0:0:0"}},
    {"::/0", INT64_MAX, 65535, 256, "::1", "::ffff",
     {"::", "::1:0", "ffff::1", "::ffff:ffff"}},
};

static struct ipalloc *make(const char *cidr)
{
	struct ipalloc *ia = NULL;
	struct cidr c;

	CHECK_OK(cidr_parse(cidr, &c, NULL));
	CHECK_OK(ipalloc_new(&c, &ia, NULL));
	return ia;
}

static struct cidr_addr addr(const char *s)
{
	struct cidr_addr a;

	CHECK_OK(cidr_addr_parse(s, &a, NULL));
	return a;
}

static void check_refused(struct ipalloc *ia, const char *ip)
{
	struct errbuf eb = ERRBUF_INIT;
	struct cidr_addr a = addr(ip);
	char want[128];

	(void)snprintf(want, sizeof(want),
		       "provided IP %s is not in the valid range", ip);
	CHECK(!ipalloc_contains(ia, &a));
	CHECK_ERR(ipalloc_allocate(ia, &a, &eb), ERR_INVALID);
	CHECK_STR_EQ(eb.msg, want);
	ipalloc_release(ia, &a); /* out of range: silent */
}

static void check_usable(struct ipalloc *ia, const char *ip, uint64_t bit)
{
	struct cidr_addr a = addr(ip), back;
	struct errbuf eb = ERRBUF_INIT;
	uint64_t i;

	CHECK(ipalloc_index(ia, &a, &i));
	CHECK_INT_EQ(i, bit);
	ipalloc_addr_at(ia, bit, &back);
	CHECK(cidr_addr_equal(&a, &back));
	CHECK(!ipalloc_has(ia, &a));
	CHECK_OK(ipalloc_allocate(ia, &a, NULL));
	CHECK(ipalloc_has(ia, &a));
	CHECK_ERR(ipalloc_allocate(ia, &a, &eb), ERR_CONFLICT);
	CHECK_STR_EQ(eb.msg, "provided IP is already allocated");
	ipalloc_release(ia, &a);
	CHECK(!ipalloc_has(ia, &a));
}

static void test_geometry(void)
{
	for (size_t k = 0; k < ARRAY_SIZE(geom_cases); k++) {
		const struct geom_case *c = &geom_cases[k];
		struct ipalloc *ia = make(c->cidr);
		const struct ipalloc_geometry *g = ipalloc_geom(ia);

		CHECK_INT_EQ(g->size, c->size);
		CHECK_INT_EQ(g->max, c->max);
		CHECK_INT_EQ(g->offset, c->offset);
		CHECK_INT_EQ(ipalloc_available(ia), c->max);
		if (c->first) {
			check_usable(ia, c->first, 0);
			check_usable(ia, c->last, c->max - 1);
		}
		for (size_t r = 0; r < ARRAY_SIZE(c->refused) && c->refused[r];
		     r++)
			check_refused(ia, c->refused[r]);
		CHECK_INT_EQ(ipalloc_used(ia), 0);
		ipalloc_free(ia);
	}
}

/* Allocates every address of the range dynamically: each in range and
 * unique, the dynamic band before the static band, then "range is full". */
static void fill_range(const char *cidr)
{
	struct ipalloc *ia = make(cidr);
	uint64_t max = ipalloc_geom(ia)->max, off = ipalloc_geom(ia)->offset;
	uint8_t *seen = xcalloc(max ? max : 1, 1);
	struct errbuf eb = ERRBUF_INIT;
	struct cidr_addr a;
	uint64_t i;

	for (uint64_t n = 0; n < max; n++) {
		CHECK_OK(ipalloc_allocate_next(ia, &a, NULL));
		CHECK(ipalloc_index(ia, &a, &i));
		if (seen[i] || (i >= off) != (n < max - off))
			unit_fail(__FILE__, __LINE__,
				  "%s: pick %llu gave bit %llu (seen %d)", cidr,
				  (unsigned long long)n, (unsigned long long)i,
				  seen[i]);
		seen[i] = 1;
	}
	CHECK_INT_EQ(ipalloc_used(ia), max);
	CHECK_ERR(ipalloc_allocate_next(ia, &a, &eb), ERR_EXHAUSTED);
	CHECK_STR_EQ(eb.msg, "range is full");
	free(seen);
	ipalloc_free(ia);
}

static void test_fill_every_range(void)
{
	for (size_t k = 0; k < ARRAY_SIZE(geom_cases); k++)
		fill_range(geom_cases[k].cidr);
}

/* /24: the static band (.1–.16) full, dynamic picks still succeed; the
 * dynamic band (.17–.254) full, picks fall back to the static band; a
 * specific request works in either band meanwhile. */
static void test_bands(void)
{
	struct ipalloc *ia = make("10.0.0.0/24");
	struct cidr_addr a;
	char ip[32];
	uint64_t i;

	for (int k = 1; k <= 16; k++) {
		(void)snprintf(ip, sizeof(ip), "10.0.0.%d", k);
		a = addr(ip);
		CHECK_OK(ipalloc_allocate(ia, &a, NULL));
	}
	a = addr("10.0.0.17");
	CHECK_OK(ipalloc_allocate(ia, &a, NULL)); /* specific, dynamic band */
	for (int k = 0; k < 237; k++) {
		CHECK_OK(ipalloc_allocate_next(ia, &a, NULL));
		CHECK(ipalloc_index(ia, &a, &i) && i >= 16);
	}
	CHECK_INT_EQ(ipalloc_available(ia), 0);
	CHECK_ERR(ipalloc_allocate_next(ia, &a, NULL), ERR_EXHAUSTED);
	/* Dynamic band full; free two static addresses. */
	a = addr("10.0.0.3");
	ipalloc_release(ia, &a);
	a = addr("10.0.0.9");
	ipalloc_release(ia, &a);
	CHECK_OK(ipalloc_allocate(ia, &a, NULL)); /* specific, static band */
	CHECK_OK(ipalloc_allocate_next(ia, &a, NULL));
	CHECK(ipalloc_index(ia, &a, &i));
	CHECK_INT_EQ(i, 2); /* 10.0.0.3 */
	CHECK_ERR(ipalloc_allocate_next(ia, &a, NULL), ERR_EXHAUSTED);
	ipalloc_free(ia);
}

/* Dynamic picks of a /16 spread evenly over its dynamic band. */
static void test_random_spread(void)
{
	enum { PICKS = 10000, BUCKETS = 16 };
	struct ipalloc *ia = make("10.96.0.0/16");
	uint64_t span = 65534 - 256;
	unsigned hist[BUCKETS] = {0};
	struct cidr_addr a;
	uint64_t i;

	for (int n = 0; n < PICKS; n++) {
		CHECK_OK(ipalloc_allocate_next(ia, &a, NULL));
		CHECK(ipalloc_index(ia, &a, &i) && i >= 256);
		hist[(i - 256) * BUCKETS / span]++;
		ipalloc_release(ia, &a);
	}
	for (int b = 0; b < BUCKETS; b++)
		CHECK(hist[b] > PICKS / BUCKETS * 6 / 10 &&
		      hist[b] < PICKS / BUCKETS * 14 / 10);
	ipalloc_free(ia);
}

static void test_release(void)
{
	struct ipalloc *ia = make("10.96.0.0/24");
	struct cidr_addr a = addr("10.96.0.10"), other = addr("10.97.0.10");

	CHECK_OK(ipalloc_allocate(ia, &a, NULL));
	ipalloc_release(ia, &a);
	ipalloc_release(ia, &a); /* double release */
	ipalloc_release(ia, &other);
	CHECK_INT_EQ(ipalloc_used(ia), 0);
	CHECK_OK(ipalloc_allocate(ia, &a, NULL));
	CHECK_INT_EQ(ipalloc_used(ia), 1);
	ipalloc_free(ia);
	ipalloc_free(NULL);
}

static void test_too_large(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct ipalloc *ia = NULL;
	struct cidr c;

	CHECK_OK(cidr_parse("10.0.0.0/7", &c, NULL));
	CHECK_ERR(ipalloc_new(&c, &ia, &eb), ERR_INVALID);
	CHECK_NULL(ia);
	CHECK_CONTAINS(eb.msg, "service CIDR 10.0.0.0/7 is too large");
}

static void test_words_round_trip(void)
{
	struct ipalloc *a = make("fd00::/120"), *b = make("fd00::/120");
	struct ipalloc *c = make("10.0.0.0/24");
	struct errbuf eb = ERRBUF_INIT;
	struct cidr_addr ip = addr("fd00::ff");
	const uint64_t *w;
	size_t n;

	CHECK_OK(ipalloc_allocate(a, &ip, NULL));
	w = ipalloc_words(a, &n);
	CHECK_INT_EQ(n, 4);
	CHECK_OK(ipalloc_load_words(b, w, n, NULL));
	CHECK(ipalloc_has(b, &ip));
	CHECK_INT_EQ(ipalloc_used(b), 1);
	/* 254 bits: a 255-bit bitmap's top bit does not fit. */
	CHECK_ERR(ipalloc_load_words(c, w, n, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "service CIDR 10.0.0.0/24: ");
	ipalloc_free(a);
	ipalloc_free(b);
	ipalloc_free(c);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_geometry),
	    UNIT_CASE(test_fill_every_range),
	    UNIT_CASE(test_bands),
	    UNIT_CASE(test_random_spread),
	    UNIT_CASE(test_release),
	    UNIT_CASE(test_too_large),
	    UNIT_CASE(test_words_round_trip),
	};

	return unit_main(argc, argv, "ipalloc", cases, ARRAY_SIZE(cases));
}
