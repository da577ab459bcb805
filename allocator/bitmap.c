/*
 * bitmap: fixed-size bit set with upstream's random-scan-with-offset
 * strategy (allocator/bitmap.go, allocator.md §2.4, §8.1). The scan tests
 * whole 64-bit words and skips full ones; it returns the same bit the
 * upstream bit-by-bit scan would from the same random start, so the
 * result set and the band preference are upstream's. Counts of set bits
 * overall and in the static band are kept, so "band full" is O(1).
 * One owner; no locking here.
 */
#include "base.h"
#include "bitmap.h"

#define NONE UINT64_MAX

struct bitmap {
	uint64_t *words;     /* owned; bitmap_words_for(max) words */
	size_t nwords;	     /* length of words */
	uint64_t max;	     /* number of bits */
	uint64_t offset;     /* first bit of the dynamic band */
	uint64_t used;	     /* set bits */
	uint64_t used_static; /* set bits below offset */
};

size_t bitmap_words_for(uint64_t max)
{
	return (size_t)((max + 63) / 64);
}

struct bitmap *bitmap_new(uint64_t max, uint64_t offset)
{
	struct bitmap *bm = xcalloc(1, sizeof(*bm));

	BUG_ON(offset > max);
	bm->max = max;
	bm->offset = offset;
	bm->nwords = bitmap_words_for(max);
	bm->words = xcalloc(bm->nwords ? bm->nwords : 1, sizeof(uint64_t));
	return bm;
}

void bitmap_free(struct bitmap *bm)
{
	if (!bm)
		return;
	free(bm->words);
	free(bm);
}

uint64_t bitmap_max(const struct bitmap *bm)
{
	return bm->max;
}

uint64_t bitmap_offset(const struct bitmap *bm)
{
	return bm->offset;
}

uint64_t bitmap_used(const struct bitmap *bm)
{
	return bm->used;
}

uint64_t bitmap_available(const struct bitmap *bm)
{
	return bm->max - bm->used;
}

bool bitmap_test(const struct bitmap *bm, uint64_t i)
{
	if (i >= bm->max)
		return false;
	return (bm->words[i / 64] >> (i % 64)) & 1;
}

static void set_bit(struct bitmap *bm, uint64_t i)
{
	bm->words[i / 64] |= (uint64_t)1 << (i % 64);
	bm->used++;
	if (i < bm->offset)
		bm->used_static++;
}

enum err bitmap_allocate(struct bitmap *bm, uint64_t i)
{
	if (i >= bm->max)
		return ERR_INVALID;
	if (bitmap_test(bm, i))
		return ERR_CONFLICT;
	set_bit(bm, i);
	return ERR_OK;
}

void bitmap_release(struct bitmap *bm, uint64_t i)
{
	if (!bitmap_test(bm, i))
		return;
	bm->words[i / 64] &= ~((uint64_t)1 << (i % 64));
	bm->used--;
	if (i < bm->offset)
		bm->used_static--;
}

/* Word w with the bits below `from` and at or above `to` forced to 1, so
 * only clear bits of [from, to) remain clear. from < to, same word. */
static uint64_t masked_word(const struct bitmap *bm, uint64_t w,
			    uint64_t from, uint64_t to)
{
	uint64_t base = w * 64;
	uint64_t v = bm->words[w];

	if (from > base)
		v |= ((uint64_t)1 << (from - base)) - 1;
	if (to - base < 64)
		v |= UINT64_MAX << (to - base);
	return v;
}

#ifdef UNIT_TESTING
/* test-bitmap compares the word scan with a bit-by-bit one. */
uint64_t bitmap__find_clear(const struct bitmap *bm, uint64_t from,
			    uint64_t to);
#endif

/* The first clear bit in [from, to), or NONE (UINT64_MAX). */
TESTABLE uint64_t bitmap__find_clear(const struct bitmap *bm, uint64_t from,
				     uint64_t to)
{
	if (from >= to)
		return NONE;
	for (uint64_t w = from / 64; w * 64 < to; w++) {
		uint64_t v = masked_word(bm, w, from, to);

		if (v != UINT64_MAX)
			return w * 64 + (uint64_t)__builtin_ctzll(~v);
	}
	return NONE;
}

/* Upstream's scan of one band [lo, hi): a uniform start, then up with
 * wrap. The caller has checked that the band has a clear bit. */
static uint64_t scan_band(const struct bitmap *bm, uint64_t lo, uint64_t hi)
{
	uint64_t start = lo + rand_below(hi - lo);
	uint64_t i = bitmap__find_clear(bm, start, hi);

	if (i == NONE)
		i = bitmap__find_clear(bm, lo, start);
	BUG_ON(i == NONE);
	return i;
}

enum err bitmap_allocate_next(struct bitmap *bm, uint64_t *out)
{
	uint64_t dynamic_used = bm->used - bm->used_static;
	uint64_t i;

	/* Checked first, so no band below is empty when scanned (no random
	 * number modulo 0; allocator.md §2.4). */
	if (bm->used >= bm->max)
		return ERR_EXHAUSTED;
	if (dynamic_used < bm->max - bm->offset)
		i = scan_band(bm, bm->offset, bm->max);
	else
		i = scan_band(bm, 0, bm->offset);
	set_bit(bm, i);
	*out = i;
	return ERR_OK;
}

const uint64_t *bitmap_words(const struct bitmap *bm, size_t *nwords)
{
	*nwords = bm->nwords;
	return bm->words;
}

static uint64_t popcount_below(const uint64_t *words, uint64_t limit)
{
	uint64_t n = 0;

	for (uint64_t w = 0; w * 64 < limit; w++) {
		uint64_t v = words[w];

		if (limit - w * 64 < 64)
			v &= ((uint64_t)1 << (limit - w * 64)) - 1;
		n += (uint64_t)__builtin_popcountll(v);
	}
	return n;
}

enum err bitmap_load_words(struct bitmap *bm, const uint64_t *words,
			   size_t n, struct errbuf *eb)
{
	if (n != bm->nwords)
		return errbuf_set(eb, ERR_INVALID,
				  "bitmap of %zu words does not fit a range of %llu bits (%zu words)",
				  n, (unsigned long long)bm->max, bm->nwords);
	if (n && bm->max % 64 &&
	    words[n - 1] >> (bm->max % 64) != 0)
		return errbuf_set(eb, ERR_INVALID,
				  "bitmap has bits set beyond the range of %llu bits",
				  (unsigned long long)bm->max);
	if (n)
		memcpy(bm->words, words, n * sizeof(*words));
	bm->used = popcount_below(bm->words, bm->max);
	bm->used_static = popcount_below(bm->words, bm->offset);
	return ERR_OK;
}
