/*
 * bench-allocdb: durable allocations per second and bytes written per
 * allocation of allocdb_apply (one value per transaction) with
 * synchronous=FULL and NORMAL, each against a bare sqlite commit (one
 * INSERT per transaction, same pragmas) measured in the same run on the
 * same file system (the working directory, normally build/): first into
 * an empty /16, then alternating releases and allocations in a /16 kept
 * half full (S7's steady state), with real-sized owners (uid included).
 * Bytes are /proc/self/io wchar, what the process handed to write(2),
 * counted up to the close, so the WAL frames and the checkpoint that
 * copies them into the database file are both in. Prints a Markdown
 * section on stdout.
 */
#include "base.h"
#include "allocdb.h"

#include <sqlite3.h>
#include <unistd.h>

#define RANGE 65536

#define UID "0f8fad5b-d9cb-469f-a165-70867728950e"

struct result {
	double per_s;
	double bytes;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static long long wchar_now(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	long long v = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %lld", &v) == 1)
			break;
	if (f)
		(void)fclose(f);
	return v;
}

static void remove_db(const char *path)
{
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);

	(void)unlink(path);
	(void)unlink(wal);
	(void)unlink(shm);
	free(wal);
	free(shm);
}

static struct allocdb *open_db(const char *path, bool normal)
{
	static const struct allocdb_range r[] = {
	    {"ipv4", "10.96.0.0/16", RANGE}};
	struct allocdb_options o = {path, r, 1, false, normal, 0};
	struct allocdb *db = NULL;

	remove_db(path);
	BUG_ON(allocdb_new(&o, &db, NULL) != ERR_OK);
	return db;
}

static struct allocdb_change change_of(uint64_t off, enum allocdb_op op)
{
	struct allocdb_change c = {
	    "ipv4",
	    off,
	    op,
	    "default",
	    "frontend-web-api",
	    UID,
	    "spec.clusterIPs[0]",
	    false,
	};

	return c;
}

/* The bytes count up to allocdb_free: the close checkpoints the WAL. */
static struct result finish(struct allocdb *db, const char *path, int64_t t0,
			    long long w0, int n)
{
	struct result res;

	res.per_s = n / ((double)(clock_mono_ns() - t0) / 1e9);
	allocdb_free(db);
	res.bytes = (double)(wchar_now() - w0) / n;
	remove_db(path);
	return res;
}

static struct result run_allocdb(const char *path, bool normal, int n)
{
	struct allocdb *db = open_db(path, normal);
	int64_t t0;
	long long w0;

	w0 = wchar_now();
	t0 = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		struct allocdb_change c =
		    change_of((uint64_t)(i * 7919) % RANGE, ALLOCDB_SET);

		BUG_ON(allocdb_apply(db, &c, 1, NULL) != ERR_OK);
	}
	return finish(db, path, t0, w0, n);
}

/* Fills half the range in one repair-pass transaction. */
static void fill_half(struct allocdb *db, uint8_t *used, uint32_t *list,
		      uint64_t *seed)
{
	struct allocdb_entry *v = xcalloc(RANGE / 2, sizeof(*v));
	struct allocdb_content c = {"ipv4", v, RANGE / 2};
	uint32_t k = 0;

	while (k < RANGE / 2) {
		uint32_t off = (uint32_t)(xorshift(seed) % RANGE);

		if (used[off])
			continue;
		used[off] = 1;
		list[k] = off;
		/* allocdb_replace only reads the strings. */
		v[k] = (struct allocdb_entry){off,
					      (char *)"default",
					      (char *)"frontend-web-api",
					      (char *)UID,
					      (char *)"spec.clusterIPs[0]",
					      1,
					      true};
		k++;
	}
	BUG_ON(allocdb_replace(db, &c, 1, 0, NULL) != ERR_OK);
	free(v);
}

/* n operations, alternately releasing a random used value and taking a
 * random free one, at 50 % fill. */
static struct result run_churn(const char *path, bool normal, int n)
{
	struct allocdb *db = open_db(path, normal);
	uint8_t *used = xcalloc(RANGE, 1);
	uint32_t *list = xcalloc(RANGE, sizeof(*list));
	uint32_t nused = RANGE / 2, off;
	uint64_t seed = 88172645463325252ull;
	int64_t t0;
	long long w0;

	fill_half(db, used, list, &seed);
	w0 = wchar_now();
	t0 = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		struct allocdb_change c;

		if (i % 2 == 0) {
			uint32_t j = (uint32_t)(xorshift(&seed) % nused);

			off = list[j];
			list[j] = list[--nused];
			used[off] = 0;
			c = change_of(off, ALLOCDB_CLEAR);
		} else {
			do
				off = (uint32_t)(xorshift(&seed) % RANGE);
			while (used[off]);
			used[off] = 1;
			list[nused++] = off;
			c = change_of(off, ALLOCDB_SET);
		}
		BUG_ON(allocdb_apply(db, &c, 1, NULL) != ERR_OK);
	}
	free(used);
	free(list);
	return finish(db, path, t0, w0, n);
}

static struct result run_bare(const char *path, bool normal, int n)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	struct result res;
	int64_t t0;
	long long w0;

	remove_db(path);
	BUG_ON(sqlite3_open(path, &c) != SQLITE_OK);
	BUG_ON(sqlite3_exec(
		   c,
		   normal
		       ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			 "CREATE TABLE t(k INTEGER PRIMARY KEY, v INTEGER)"
		       : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
			 "CREATE TABLE t(k INTEGER PRIMARY KEY, v INTEGER)",
		   NULL, NULL, NULL) != SQLITE_OK);
	BUG_ON(sqlite3_prepare_v2(c, "INSERT INTO t VALUES (?1, 1)", -1, &st,
				  NULL) != SQLITE_OK);
	w0 = wchar_now();
	t0 = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		BUG_ON(sqlite3_exec(c, "BEGIN IMMEDIATE", NULL, NULL, NULL));
		sqlite3_bind_int(st, 1, i);
		BUG_ON(sqlite3_step(st) != SQLITE_DONE);
		sqlite3_reset(st);
		BUG_ON(sqlite3_exec(c, "COMMIT", NULL, NULL, NULL));
	}
	res.per_s = n / ((double)(clock_mono_ns() - t0) / 1e9);
	sqlite3_finalize(st);
	sqlite3_close(c);
	res.bytes = (double)(wchar_now() - w0) / n;
	remove_db(path);
	return res;
}

static void print_row(const char *what, const char *sync, struct result r,
		      struct result base)
{
	printf("| %s | %s | %.0f | %.0f | %.2f |\n", what, sync, r.per_s,
	       r.bytes, r.per_s / base.per_s);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "bench-allocdb.db";
	const char *env = getenv("BENCH_ALLOCDB_N");
	int n = env && *env ? (int)strtol(env, NULL, 10) : 5000;

	printf("### allocdb: %d single-value durable transactions (%s)\n\n", n,
	       path);
	printf("| path | synchronous | transactions/s | bytes written per "
	       "transaction | vs bare commit |\n|---|---|---|---|---|\n");
	for (int normal = 0; normal < 2; normal++) {
		const char *s = normal ? "NORMAL" : "FULL";
		struct result b = run_bare(path, normal, n);
		struct result a = run_allocdb(path, normal, n);
		struct result c = run_churn(path, normal, n);

		print_row("bare sqlite INSERT + COMMIT (baseline)", s, b, b);
		print_row("allocdb_apply, 1 allocation, empty /16 (ours)", s, a,
			  b);
		print_row("allocdb_apply, 1 release or allocation, /16 at "
			  "50 % (ours)",
			  s, c, b);
	}
	printf("\nBytes include the checkpoint into the database file "
	       "(counted up to the close).\n\n");
	return 0;
}
