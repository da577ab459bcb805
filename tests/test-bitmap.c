/*
 * Unit tests of bitmap: bounds, counts, silent releases, the word scan
 * against a bit-by-bit scan, exhaustion of odd sizes, band preference in
 * both directions, the random spread of dynamic picks and persistence of
 * the words (allocator.md §2.3, §2.4).
 */
#include "base.h"
#include "bitmap.h"
#include "unit.h"

/* Sets bit i unless already set. */
static void fill(struct bitmap *bm, uint64_t i)
{
	if (!bitmap_test(bm, i))
		CHECK_OK(bitmap_allocate(bm, i));
}

/* TESTABLE in allocator/bitmap.c. */
uint64_t bitmap__find_clear(const struct bitmap *bm, uint64_t from,
			    uint64_t to);

static void test_empty_range(void)
{
	struct bitmap *bm = bitmap_new(0, 0);
	uint64_t i = 42;

	CHECK_INT_EQ(bitmap_available(bm), 0);
	CHECK_ERR(bitmap_allocate_next(bm, &i), ERR_EXHAUSTED);
	CHECK_INT_EQ(i, 42);
	CHECK_ERR(bitmap_allocate(bm, 0), ERR_INVALID);
	CHECK(!bitmap_test(bm, 0));
	bitmap_release(bm, 0);
	bitmap_free(bm);
	bitmap_free(NULL);
}

static void test_allocate_specific(void)
{
	struct bitmap *bm = bitmap_new(100, 10);

	CHECK_INT_EQ(bitmap_max(bm), 100);
	CHECK_INT_EQ(bitmap_offset(bm), 10);
	CHECK_OK(bitmap_allocate(bm, 0));
	CHECK_OK(bitmap_allocate(bm, 9));
	CHECK_OK(bitmap_allocate(bm, 10));
	CHECK_OK(bitmap_allocate(bm, 99));
	CHECK_ERR(bitmap_allocate(bm, 99), ERR_CONFLICT);
	CHECK_ERR(bitmap_allocate(bm, 100), ERR_INVALID);
	CHECK_ERR(bitmap_allocate(bm, UINT64_MAX), ERR_INVALID);
	CHECK_INT_EQ(bitmap_used(bm), 4);
	CHECK_INT_EQ(bitmap_available(bm), 96);
	CHECK(bitmap_test(bm, 9) && bitmap_test(bm, 10) && !bitmap_test(bm, 11));
	bitmap_free(bm);
}

static void test_release_silent(void)
{
	struct bitmap *bm = bitmap_new(70, 16);

	CHECK_OK(bitmap_allocate(bm, 65));
	bitmap_release(bm, 65);
	bitmap_release(bm, 65); /* double release */
	bitmap_release(bm, 3);	/* never set */
	bitmap_release(bm, 70); /* out of range */
	bitmap_release(bm, UINT64_MAX);
	CHECK_INT_EQ(bitmap_used(bm), 0);
	CHECK_OK(bitmap_allocate(bm, 65));
	CHECK_INT_EQ(bitmap_used(bm), 1);
	bitmap_free(bm);
}

static uint64_t naive_find_clear(const struct bitmap *bm, uint64_t from,
				 uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		if (!bitmap_test(bm, i))
			return i;
	return UINT64_MAX;
}

/* The word scan finds the same bit as a bit-by-bit scan, for random
 * fills (sparse to nearly full) and random windows, word edges included. */
static void test_word_scan_matches_bit_scan(void)
{
	static const uint64_t sizes[] = {1, 63, 64, 65, 128, 200, 1000};

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		uint64_t max = sizes[s];

		for (int round = 0; round < 200; round++) {
			struct bitmap *bm = bitmap_new(max, 0);
			uint64_t fill = rand_below(101); /* percent */

			for (uint64_t i = 0; i < max; i++)
				if (rand_below(100) < fill)
					CHECK_OK(bitmap_allocate(bm, i));
			for (int k = 0; k < 20; k++) {
				uint64_t a = rand_below(max + 1);
				uint64_t b = rand_below(max + 1);

				CHECK_INT_EQ(bitmap__find_clear(bm, a, b),
					     naive_find_clear(bm, a, b));
			}
			bitmap_free(bm);
		}
	}
}

/* Every bit once, then ERR_EXHAUSTED; the first max − offset picks come
 * from the dynamic band. */
static void test_fill_all(void)
{
	static const struct {
		uint64_t max, offset;
	} cases[] = {
	    {1, 0}, {2, 0}, {63, 16}, {64, 16}, {65, 16}, {129, 64},
	    {254, 16}, {1000, 256}, {300, 300},
	};

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		uint64_t max = cases[c].max, off = cases[c].offset;
		struct bitmap *bm = bitmap_new(max, off);
		bool *seen = xcalloc(max, sizeof(*seen));
		uint64_t i;

		for (uint64_t n = 0; n < max; n++) {
			CHECK_OK(bitmap_allocate_next(bm, &i));
			CHECK(i < max && !seen[i]);
			CHECK_INT_EQ(i >= off, n < max - off);
			seen[i] = true;
		}
		CHECK_INT_EQ(bitmap_used(bm), max);
		CHECK_ERR(bitmap_allocate_next(bm, &i), ERR_EXHAUSTED);
		free(seen);
		bitmap_free(bm);
	}
}

/* Static band full, dynamic not: picks stay dynamic. Then the dynamic band
 * full: picks fall back to the static band after a release there. */
static void test_band_fallback(void)
{
	struct bitmap *bm = bitmap_new(256, 16);
	uint64_t i;

	for (uint64_t k = 0; k < 16; k++)
		CHECK_OK(bitmap_allocate(bm, k));
	for (int n = 0; n < 100; n++) {
		CHECK_OK(bitmap_allocate_next(bm, &i));
		CHECK(i >= 16);
	}
	for (uint64_t k = 16; k < 256; k++)
		fill(bm, k);
	CHECK_ERR(bitmap_allocate_next(bm, &i), ERR_EXHAUSTED);
	bitmap_release(bm, 7);
	CHECK_OK(bitmap_allocate_next(bm, &i));
	CHECK_INT_EQ(i, 7);
	bitmap_release(bm, 200);
	bitmap_release(bm, 3);
	CHECK_OK(bitmap_allocate_next(bm, &i));
	CHECK_INT_EQ(i, 200); /* the dynamic band first */
	CHECK_OK(bitmap_allocate_next(bm, &i));
	CHECK_INT_EQ(i, 3);
	bitmap_free(bm);
}

/* 10000 picks (each released again) over 16 buckets of the dynamic band:
 * each bucket within ±40 % of the mean; the static band never used. */
static void test_random_spread(void)
{
	enum { PICKS = 10000, BUCKETS = 16 };
	struct bitmap *bm = bitmap_new(16 + 1024, 16);
	unsigned hist[BUCKETS] = {0};
	uint64_t i;

	for (int n = 0; n < PICKS; n++) {
		CHECK_OK(bitmap_allocate_next(bm, &i));
		CHECK(i >= 16);
		hist[(i - 16) * BUCKETS / 1024]++;
		bitmap_release(bm, i);
	}
	for (int b = 0; b < BUCKETS; b++) {
		CHECK(hist[b] > PICKS / BUCKETS * 6 / 10);
		CHECK(hist[b] < PICKS / BUCKETS * 14 / 10);
	}
	bitmap_free(bm);
}

static void test_words_round_trip(void)
{
	struct bitmap *a = bitmap_new(130, 16), *b = bitmap_new(130, 16);
	struct bitmap *c = bitmap_new(200, 16);
	struct errbuf eb = ERRBUF_INIT;
	uint64_t bad[3] = {0, 0, (uint64_t)1 << 2};
	const uint64_t *w;
	size_t n;

	CHECK_OK(bitmap_allocate(a, 0));
	CHECK_OK(bitmap_allocate(a, 15));
	CHECK_OK(bitmap_allocate(a, 64));
	CHECK_OK(bitmap_allocate(a, 129));
	w = bitmap_words(a, &n);
	CHECK_INT_EQ(n, 3);
	CHECK_INT_EQ(w[0], (uint64_t)1 | ((uint64_t)1 << 15));
	CHECK_OK(bitmap_load_words(b, w, n, NULL));
	CHECK_INT_EQ(bitmap_used(b), 4);
	CHECK(bitmap_test(b, 129) && bitmap_test(b, 64));
	/* used_static is recounted: the static band has 14 free bits. */
	for (uint64_t k = 16; k < 130; k++)
		fill(b, k);
	for (int k = 0; k < 14; k++) {
		uint64_t i;

		CHECK_OK(bitmap_allocate_next(b, &i));
		CHECK(i < 16);
	}
	CHECK_ERR(bitmap_load_words(c, w, n, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "3 words");
	CHECK_ERR(bitmap_load_words(a, bad, 3, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "beyond the range of 130 bits");
	CHECK_INT_EQ(bitmap_used(a), 4);
	bitmap_free(a);
	bitmap_free(b);
	bitmap_free(c);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_empty_range),
	    UNIT_CASE(test_allocate_specific),
	    UNIT_CASE(test_release_silent),
	    UNIT_CASE(test_word_scan_matches_bit_scan),
	    UNIT_CASE(test_fill_all),
	    UNIT_CASE(test_band_fallback),
	    UNIT_CASE(test_random_spread),
	    UNIT_CASE(test_words_round_trip),
	};

	return unit_main(argc, argv, "bitmap", cases, ARRAY_SIZE(cases));
}
