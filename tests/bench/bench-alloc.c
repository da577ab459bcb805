/*
 * bench-alloc: ns per dynamic allocation (bitmap_allocate_next, then a
 * release to keep the fill constant) at 50, 90 and 99 % fill of a /16, a
 * /12 and the default NodePort range, against upstream's per-bit random
 * scan (allocator.md §2.4) run in the same process over the same bitmap
 * (benchmarks.md §1). The fill is uniformly random bits. Prints a
 * Markdown section on stdout.
 */
#include "base.h"
#include "bitmap.h"

#define OPS 200000
#define REPS 3

struct range {
	const char *name;
	uint64_t max, offset;
};

static double now_ns(void)
{
	return (double)clock_mono_ns();
}

/* Upstream's strategy, bit by bit: random start in the dynamic band,
 * wrap; then the static band. */
static uint64_t per_bit_next(const struct bitmap *bm)
{
	uint64_t max = bitmap_max(bm), off = bitmap_offset(bm);
	uint64_t n = max - off, r = rand_below(n);

	for (uint64_t i = 0; i < n; i++) {
		uint64_t b = off + (r + i) % n;

		if (!bitmap_test(bm, b))
			return b;
	}
	if (off == 0)
		return UINT64_MAX;
	r = rand_below(off);
	for (uint64_t i = 0; i < off; i++)
		if (!bitmap_test(bm, (r + i) % off))
			return (r + i) % off;
	return UINT64_MAX;
}

static double run_words(struct bitmap *bm)
{
	double t0 = now_ns();
	uint64_t i;

	for (int k = 0; k < OPS; k++) {
		BUG_ON(bitmap_allocate_next(bm, &i) != ERR_OK);
		bitmap_release(bm, i);
	}
	return (now_ns() - t0) / OPS;
}

static double run_bits(struct bitmap *bm)
{
	double t0 = now_ns();

	for (int k = 0; k < OPS; k++) {
		uint64_t i = per_bit_next(bm);

		BUG_ON(bitmap_allocate(bm, i) != ERR_OK);
		bitmap_release(bm, i);
	}
	return (now_ns() - t0) / OPS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and spread of REPS runs of fn. */
static void median3(double (*fn)(struct bitmap *), struct bitmap *bm,
		    double out[3])
{
	double v[REPS];

	for (int r = 0; r < REPS; r++)
		v[r] = fn(bm);
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	out[0] = v[REPS / 2];
	out[1] = v[0];
	out[2] = v[REPS - 1];
}

static void bench_one(const struct range *rg, unsigned pct)
{
	struct bitmap *bm = bitmap_new(rg->max, rg->offset);
	uint64_t target = rg->max * pct / 100, i;
	double w[3], b[3];

	/* Uniformly random bits, as long churn leaves them. Filling through
	 * allocate_next instead leaves the free bits in a few runs, where the
	 * per-bit scan needs minutes for the /12. */
	while (bitmap_used(bm) < target) {
		i = rand_below(rg->max);
		if (!bitmap_test(bm, i))
			BUG_ON(bitmap_allocate(bm, i) != ERR_OK);
	}
	median3(run_words, bm, w);
	median3(run_bits, bm, b);
	printf("| %s | %u %% | %.0f (%.0f–%.0f) | %.0f (%.0f–%.0f) | %.1f× |\n",
	       rg->name, pct, w[0], w[1], w[2], b[0], b[1], b[2], b[0] / w[0]);
	bitmap_free(bm);
}

int main(void)
{
	static const struct range ranges[] = {
	    {"10.96.0.0/16", 65534, 256},
	    {"10.96.0.0/12", 1048574, 256},
	    {"30000-32767", 2768, 86},
	};
	static const unsigned fills[] = {50, 90, 99};

	printf("Dynamic allocation (allocate-next plus release, fill constant), "
	       "ns per operation, median of %d runs of %d (min–max).\n\n",
	       REPS, OPS);
	printf("| range | fill | word scan (ours) | per-bit scan (upstream) | "
	       "speed-up |\n");
	printf("| --- | --- | --- | --- | --- |\n");
	for (size_t r = 0; r < ARRAY_SIZE(ranges); r++)
		for (size_t f = 0; f < ARRAY_SIZE(fills); f++)
			bench_one(&ranges[r], fills[f]);
	printf("\n");
	return 0;
}
