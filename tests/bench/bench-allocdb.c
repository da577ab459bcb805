/*
 * bench-allocdb: durable allocations per second and bytes written per
 * allocation of allocdb_apply (one value per transaction) with
 * synchronous=FULL and NORMAL, each against a bare sqlite commit (one
 * INSERT per transaction, same pragmas) measured in the same run on the
 * same file system (the working directory, normally build/). Bytes are
 * /proc/self/io wchar: what the process handed to write(2). Prints a
 * Markdown section on stdout.
 */
#include "base.h"
#include "allocdb.h"

#include <sqlite3.h>
#include <unistd.h>

#define RANGE 65536

struct result {
	double per_s;
	double bytes;
};

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

static struct result run_allocdb(const char *path, bool normal, int n)
{
	static const struct allocdb_range r[] = {
	    {"ipv4", "10.96.0.0/16", RANGE}};
	struct allocdb_options o = {path, r, 1, false, normal, 0};
	struct allocdb *db = NULL;
	struct result res;
	int64_t t0;
	long long w0;

	remove_db(path);
	BUG_ON(allocdb_new(&o, &db, NULL) != ERR_OK);
	w0 = wchar_now();
	t0 = clock_mono_ns();
	for (int i = 0; i < n; i++) {
		struct allocdb_change c = {"ipv4",
					   (uint64_t)(i * 7919) % RANGE,
					   ALLOCDB_SET,
					   "default",
					   "svc",
					   "",
					   "spec.clusterIPs[0]",
					   false};

		BUG_ON(allocdb_apply(db, &c, 1, NULL) != ERR_OK);
	}
	res.per_s = n / ((double)(clock_mono_ns() - t0) / 1e9);
	res.bytes = (double)(wchar_now() - w0) / n;
	allocdb_free(db);
	remove_db(path);
	return res;
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
	res.bytes = (double)(wchar_now() - w0) / n;
	sqlite3_finalize(st);
	sqlite3_close(c);
	remove_db(path);
	return res;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "bench-allocdb.db";
	const char *env = getenv("BENCH_ALLOCDB_N");
	int n = env && *env ? (int)strtol(env, NULL, 10) : 1000;

	printf("### allocdb: %d single-value durable allocations (%s)\n\n", n,
	       path);
	printf("| path | synchronous | allocations/s | bytes written per "
	       "allocation | vs bare commit |\n|---|---|---|---|---|\n");
	for (int normal = 0; normal < 2; normal++) {
		const char *s = normal ? "NORMAL" : "FULL";
		struct result b = run_bare(path, normal, n);
		struct result a = run_allocdb(path, normal, n);

		printf("| bare sqlite INSERT + COMMIT (baseline) | %s | %.0f | "
		       "%.0f | 1.00 |\n",
		       s, b.per_s, b.bytes);
		printf("| allocdb_apply, 1 value (ours) | %s | %.0f | %.0f | "
		       "%.2f |\n",
		       s, a.per_s, a.bytes, a.per_s / b.per_s);
	}
	printf("\n");
	return 0;
}
