#ifndef CTRL_BITMAP_H
#define CTRL_BITMAP_H

/*
 * bitmap: the range allocator shared by ipalloc and portalloc (upstream
 * allocator/bitmap.go with the offset strategy; allocator.md §2.3, §2.4).
 * A fixed number of bits `max`, split at `offset` into a static band
 * [0, offset), kept for user-requested values, and a dynamic band
 * [offset, max) that bitmap_allocate_next() prefers.
 *
 * Invariants: offset <= max; no bit at or beyond max is ever set; used()
 * equals the number of set bits. Bits live in 64-bit words, bit i in word
 * i / 64 at position i % 64 (host order), so a persistence layer can save
 * and restore them (bitmap_words, bitmap_load_words).
 *
 * Thread safety: none. A bitmap has one owner, which locks if it shares it.
 */

struct bitmap;

/* ---- Life cycle ------------------------------------------------------- */

/* All bits clear. offset > max is a programmer error (BUG_ON). max may be 0
 * (an empty range: every allocate_next answers ERR_EXHAUSTED). */
struct bitmap *bitmap_new(uint64_t max, uint64_t offset);
/* NULL is a no-op. */
void bitmap_free(struct bitmap *bm);

/* ---- Queries ---------------------------------------------------------- */

uint64_t bitmap_max(const struct bitmap *bm);
uint64_t bitmap_offset(const struct bitmap *bm);
/* Number of set bits. */
uint64_t bitmap_used(const struct bitmap *bm);
/* max − used. */
uint64_t bitmap_available(const struct bitmap *bm);
/* Whether bit i is set; false for i >= max. */
bool bitmap_test(const struct bitmap *bm, uint64_t i);

/* ---- Mutation --------------------------------------------------------- */

/*
 * Sets bit i. ERR_INVALID when i >= max, ERR_CONFLICT when already set
 * (upstream returns false without error there; we name it). No errbuf:
 * the callers know what bit i means and word the message.
 */
enum err bitmap_allocate(struct bitmap *bm, uint64_t i) ATTR_WUR;
/*
 * Sets a free bit chosen as upstream's random scan with offset: a uniform
 * random start in [offset, max), then the first clear bit scanning up with
 * wrap inside that band; only if that band is full, the same in
 * [0, offset). Writes the bit to *out. ERR_EXHAUSTED when every bit is
 * set. Scans whole words, so it stays fast when nearly full.
 */
enum err bitmap_allocate_next(struct bitmap *bm, uint64_t *out) ATTR_WUR;
/* Clears bit i; silent when i >= max or the bit is already clear. */
void bitmap_release(struct bitmap *bm, uint64_t i);

/* ---- Persistence ------------------------------------------------------ */

/* Words needed for max bits: ceil(max / 64). */
size_t bitmap_words_for(uint64_t max);
/* The words (bitmap_words_for(max) of them), borrowed until the next
 * mutation or bitmap_free. */
const uint64_t *bitmap_words(const struct bitmap *bm, size_t *nwords);
/*
 * Replaces every bit with words[0..n) and recounts. ERR_INVALID (bitmap
 * unchanged) when n is not bitmap_words_for(max) or a bit at or beyond
 * max is set, with the reason in eb.
 */
enum err bitmap_load_words(struct bitmap *bm, const uint64_t *words,
			   size_t n, struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_BITMAP_H */
