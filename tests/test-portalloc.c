/*
 * Unit tests of portalloc: the default range's edges and offset 86,
 * custom ranges (1-16 without a static band, 20000-20100, 65535-65535),
 * exhaustion with unique ports, both bands full in turn, upstream's
 * messages and silent releases (allocator.md §3.1, §3.2, §10).
 */
#include "base.h"
#include "portalloc.h"
#include "unit.h"

static struct portalloc *make(const char *range)
{
	struct cidr_port_range r;

	CHECK_OK(cidr_parse_port_range(range, &r, NULL));
	return portalloc_new(&r);
}

static void test_offsets(void)
{
	static const struct {
		const char *range;
		uint32_t offset;
	} cases[] = {
	    {"30000-32767", 86}, {"20000-32767", 128}, {"32567-32767", 16},
	    {"1-16", 0},	 {"1-17", 16},		{"20000-20100", 16},
	    {"1-65535", 128},	 {"8080-8080", 0},	{"30000-31023", 32},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct portalloc *pa = make(cases[i].range);

		CHECK_INT_EQ(portalloc_offset(pa), cases[i].offset);
		portalloc_free(pa);
	}
	portalloc_free(NULL);
}

static void check_refused(struct portalloc *pa, int port, const char *msg)
{
	struct errbuf eb = ERRBUF_INIT;

	CHECK(!portalloc_contains(pa, port));
	CHECK(!portalloc_has(pa, port));
	CHECK_ERR(portalloc_allocate(pa, port, &eb), ERR_INVALID);
	CHECK_STR_EQ(eb.msg, msg);
	portalloc_release(pa, port); /* logged, no error */
}

static void test_default_edges(void)
{
	static const char *const msg =
	    "provided port is not in the valid range. The range of valid ports is 30000-32767";
	static const int usable[] = {30000, 30085, 30086, 32767};
	struct portalloc *pa = make("30000-32767");
	struct errbuf eb = ERRBUF_INIT;

	CHECK_INT_EQ(portalloc_available(pa), 2768);
	for (size_t i = 0; i < ARRAY_SIZE(usable); i++) {
		CHECK(portalloc_contains(pa, usable[i]));
		CHECK_OK(portalloc_allocate(pa, usable[i], NULL));
		CHECK(portalloc_has(pa, usable[i]));
		CHECK_ERR(portalloc_allocate(pa, usable[i], &eb),
			  ERR_CONFLICT);
		CHECK_STR_EQ(eb.msg, "provided port is already allocated");
	}
	CHECK_INT_EQ(portalloc_used(pa), 4);
	check_refused(pa, 29999, msg);
	check_refused(pa, 32768, msg);
	check_refused(pa, 0, msg);
	check_refused(pa, -1, msg);
	check_refused(pa, 65536, msg);
	CHECK_INT_EQ(portalloc_used(pa), 4);
	portalloc_free(pa);
}

/* Every port once, dynamic band first, then "range is full". */
static void fill_range(const char *range)
{
	struct portalloc *pa = make(range);
	uint32_t base = portalloc_range(pa)->base;
	uint32_t size = portalloc_range(pa)->size;
	uint32_t off = portalloc_offset(pa);
	uint8_t *seen = xcalloc(size, 1);
	struct errbuf eb = ERRBUF_INIT;
	int port;

	for (uint32_t n = 0; n < size; n++) {
		uint32_t i;

		CHECK_OK(portalloc_allocate_next(pa, &port, NULL));
		CHECK(portalloc_contains(pa, port));
		i = (uint32_t)port - base;
		if (seen[i] || (i >= off) != (n < size - off))
			unit_fail(__FILE__, __LINE__,
				  "%s: pick %u gave port %d (seen %d)", range,
				  n, port, seen[i]);
		seen[i] = 1;
	}
	CHECK_ERR(portalloc_allocate_next(pa, &port, &eb), ERR_EXHAUSTED);
	CHECK_STR_EQ(eb.msg, "range is full");
	free(seen);
	portalloc_free(pa);
}

static void test_fill(void)
{
	fill_range("30000-32767");
	fill_range("1-16");
	fill_range("20000-20100");
	fill_range("65535-65535");
	fill_range("1-65535");
}

static void test_custom_range_messages(void)
{
	struct portalloc *pa = make("20000-20100");
	struct errbuf eb = ERRBUF_INIT;

	CHECK_OK(portalloc_allocate(pa, 20000, NULL));
	CHECK_OK(portalloc_allocate(pa, 20100, NULL));
	CHECK_ERR(portalloc_allocate(pa, 20101, &eb), ERR_INVALID);
	CHECK_STR_EQ(eb.msg, "provided port is not in the valid range. The range of valid ports is 20000-20100");
	CHECK_ERR(portalloc_allocate(pa, 19999, &eb), ERR_INVALID);
	portalloc_free(pa);
}

/* Default range: static band (30000–30085) full, picks stay dynamic;
 * dynamic band full, picks fall back to the static band. */
static void test_bands(void)
{
	struct portalloc *pa = make("30000-32767");
	int port;

	for (int p = 30000; p < 30086; p++)
		CHECK_OK(portalloc_allocate(pa, p, NULL));
	CHECK_OK(portalloc_allocate(pa, 32767, NULL)); /* specific, dynamic */
	for (int n = 0; n < 2768 - 86 - 1; n++) {
		CHECK_OK(portalloc_allocate_next(pa, &port, NULL));
		CHECK(port >= 30086);
	}
	CHECK_ERR(portalloc_allocate_next(pa, &port, NULL), ERR_EXHAUSTED);
	portalloc_release(pa, 30042);
	portalloc_release(pa, 30050);
	CHECK_OK(portalloc_allocate(pa, 30050, NULL)); /* specific, static */
	CHECK_OK(portalloc_allocate_next(pa, &port, NULL));
	CHECK_INT_EQ(port, 30042);
	portalloc_release(pa, 31000);
	portalloc_release(pa, 30001);
	CHECK_OK(portalloc_allocate_next(pa, &port, NULL));
	CHECK_INT_EQ(port, 31000); /* the dynamic band first */
	portalloc_free(pa);
}

/* Dynamic picks of the default range spread evenly over 30086–32767. */
static void test_random_spread(void)
{
	enum { PICKS = 10000, BUCKETS = 16 };
	struct portalloc *pa = make("30000-32767");
	unsigned hist[BUCKETS] = {0};
	int port;

	for (int n = 0; n < PICKS; n++) {
		CHECK_OK(portalloc_allocate_next(pa, &port, NULL));
		CHECK(port >= 30086 && port <= 32767);
		hist[(port - 30086) * BUCKETS / (32768 - 30086)]++;
		portalloc_release(pa, port);
	}
	for (int b = 0; b < BUCKETS; b++)
		CHECK(hist[b] > PICKS / BUCKETS * 6 / 10 &&
		      hist[b] < PICKS / BUCKETS * 14 / 10);
	portalloc_free(pa);
}

static void test_release(void)
{
	struct portalloc *pa = make("30000-32767");

	CHECK_OK(portalloc_allocate(pa, 31000, NULL));
	portalloc_release(pa, 31000);
	portalloc_release(pa, 31000); /* double release */
	portalloc_release(pa, 80);    /* out of range */
	CHECK_INT_EQ(portalloc_used(pa), 0);
	CHECK_OK(portalloc_allocate(pa, 31000, NULL));
	portalloc_free(pa);
}

static void test_words_round_trip(void)
{
	struct portalloc *a = make("30000-32767"), *b = make("30000-32767");
	struct portalloc *c = make("30000-30100");
	struct errbuf eb = ERRBUF_INIT;
	const uint64_t *w;
	size_t n;

	CHECK_OK(portalloc_allocate(a, 32767, NULL));
	w = portalloc_words(a, &n);
	CHECK_INT_EQ(n, 44);
	CHECK_OK(portalloc_load_words(b, w, n, NULL));
	CHECK(portalloc_has(b, 32767));
	CHECK_ERR(portalloc_load_words(c, w, n, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "node port range 30000-30100: ");
	portalloc_free(a);
	portalloc_free(b);
	portalloc_free(c);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_offsets),
	    UNIT_CASE(test_default_edges),
	    UNIT_CASE(test_fill),
	    UNIT_CASE(test_custom_range_messages),
	    UNIT_CASE(test_bands),
	    UNIT_CASE(test_random_spread),
	    UNIT_CASE(test_release),
	    UNIT_CASE(test_words_round_trip),
	};

	return unit_main(argc, argv, "portalloc", cases, ARRAY_SIZE(cases));
}
