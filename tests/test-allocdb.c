/*
 * Unit tests of allocdb: round trips through a file, batches that roll
 * back, release and confirm, chunk boundaries, the refusal of corrupt,
 * foreign and re-configured files and their rebuild, ":memory:", four
 * threads at once, and a crash test that SIGKILLs a child allocating in a
 * loop and checks that nothing told was lost and nothing was handed out
 * twice.
 */
#include "base.h"
#include "allocdb.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct allocdb_range ranges3[] = {
    {"ipv4", "10.96.0.0/16", 65536},
    {"ipv6", "fd00::/112", 65536},
    {"nodeport", "30000-32767", 2768},
};

/* ---- helpers --------------------------------------------------------- */

static struct allocdb_options opts_for(const char *path,
				       const struct allocdb_range *r, size_t n)
{
	struct allocdb_options o = {0};

	o.path = path;
	o.ranges = r;
	o.nranges = n;
	return o;
}

static struct allocdb *open3(const char *path)
{
	struct allocdb_options o = opts_for(path, ranges3, ARRAY_SIZE(ranges3));
	struct errbuf eb = ERRBUF_INIT;
	struct allocdb *db = NULL;
	enum err e = allocdb_new(&o, &db, &eb);

	if (e)
		unit_fail(__FILE__, __LINE__, "allocdb_new: %s: %s",
			  err_name(e), eb.msg);
	return db;
}

static struct allocdb_change set_of(const char *range, uint64_t off,
				    const char *name, const char *field)
{
	struct allocdb_change c = {0};

	c.range = range;
	c.offset = off;
	c.op = ALLOCDB_SET;
	c.ns = "default";
	c.name = name;
	c.uid = "";
	c.field = field;
	return c;
}

static struct allocdb_change clear_of(const char *range, uint64_t off)
{
	struct allocdb_change c = {0};

	c.range = range;
	c.offset = off;
	c.op = ALLOCDB_CLEAR;
	return c;
}

static bool bit_of(const uint64_t *w, uint64_t i)
{
	return (w[i / 64] >> (i % 64)) & 1;
}

static uint64_t popcount_words(const uint64_t *w, size_t n)
{
	uint64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += (uint64_t)__builtin_popcountll(w[i]);
	return c;
}

static uint64_t used_of(struct allocdb *db, const char *range)
{
	struct allocdb_counts c = {0, 0, 0};

	CHECK_OK(allocdb_count(db, range, &c, NULL));
	return c.used;
}

static void write_file(const char *path, const void *data, size_t n, off_t at)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	CHECK(fd >= 0);
	CHECK_INT_EQ(pwrite(fd, data, n, at), (ssize_t)n);
	close(fd);
}

static bool exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

/* ---- round trips, batches, release, confirm ---------------------------- */

static void test_round_trip(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct allocdb_change ch[3] = {
	    set_of("ipv4", 10, "web", "spec.clusterIPs[0]"),
	    set_of("ipv6", 7, "web", "spec.clusterIPs[1]"),
	    set_of("nodeport", 2767, "web", "spec.ports[1].nodePort"),
	};
	struct allocdb_entry o = {0};
	uint64_t w4[1024], wp[44];
	struct allocdb *db = open3(path);
	int64_t before = clock_now_ms();

	ch[0].uid = "u-1";
	ch[0].confirmed = true;
	CHECK_OK(allocdb_apply(db, ch, 3, NULL));
	allocdb_free(db);

	db = open3(path);
	CHECK_OK(allocdb_load(db, "ipv4", w4, ARRAY_SIZE(w4), NULL));
	CHECK_INT_EQ(popcount_words(w4, ARRAY_SIZE(w4)), 1);
	CHECK(bit_of(w4, 10));
	CHECK_OK(allocdb_load(db, "nodeport", wp, ARRAY_SIZE(wp), NULL));
	CHECK(bit_of(wp, 2767));
	CHECK_INT_EQ(popcount_words(wp, ARRAY_SIZE(wp)), 1);
	CHECK_OK(allocdb_lookup(db, "ipv4", 10, &o, NULL));
	CHECK_STR_EQ(o.ns, "default");
	CHECK_STR_EQ(o.name, "web");
	CHECK_STR_EQ(o.uid, "u-1");
	CHECK_STR_EQ(o.field, "spec.clusterIPs[0]");
	CHECK(o.confirmed);
	CHECK(o.taken_ms <= before + 1000 && o.taken_ms >= before - 60000);
	allocdb_entry_release(&o);
	CHECK_OK(allocdb_lookup(db, "nodeport", 2767, &o, NULL));
	CHECK_STR_EQ(o.field, "spec.ports[1].nodePort");
	CHECK_STR_EQ(o.uid, "");
	CHECK(!o.confirmed);
	allocdb_entry_release(&o);
	CHECK_ERR(allocdb_lookup(db, "ipv4", 11, &o, NULL), ERR_NOT_FOUND);
	CHECK_INT_EQ(used_of(db, "ipv6"), 1);
	allocdb_free(db);
	free(path);
	unit_rmtree(dir);
}

static void test_batch_rolled_back(void)
{
	struct allocdb *db = open3(":memory:");
	struct allocdb_change one =
	    set_of("ipv4", 5, "a", "spec.clusterIPs[0]");
	struct allocdb_change batch[3] = {
	    set_of("ipv4", 6, "b", "spec.clusterIPs[0]"),
	    set_of("nodeport", 100, "b", "spec.ports[0].nodePort"),
	    set_of("ipv4", 5, "b", "spec.clusterIPs[1]"),
	};
	struct errbuf eb = ERRBUF_INIT;
	struct allocdb_change bad[2] = {
	    set_of("ipv4", 7, "c", "spec.clusterIPs[0]"),
	    set_of("nodeport", 2768, "c", "spec.ports[0].nodePort"),
	};

	CHECK_OK(allocdb_apply(db, &one, 1, NULL));
	/* The third change conflicts: the first two must vanish with it. */
	CHECK_ERR(allocdb_apply(db, batch, 3, &eb), ERR_CONFLICT);
	CHECK_CONTAINS(eb.msg,
		       "range ipv4 offset 5: already allocated to default/a");
	CHECK_INT_EQ(used_of(db, "ipv4"), 1);
	CHECK_INT_EQ(used_of(db, "nodeport"), 0);
	CHECK_ERR(allocdb_apply(db, bad, 2, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "offset 2768: beyond the range's 2768 values");
	bad[1] = set_of("nope", 1, "c", "f");
	CHECK_ERR(allocdb_apply(db, bad, 2, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "range nope is not configured");
	bad[1] = set_of("ipv4", 8, "c", NULL);
	CHECK_ERR(allocdb_apply(db, bad, 2, &eb), ERR_INVALID);
	CHECK_INT_EQ(used_of(db, "ipv4"), 1);
	/* The same batch without the conflict goes through whole. */
	CHECK_OK(allocdb_apply(db, batch, 2, NULL));
	CHECK_INT_EQ(used_of(db, "ipv4"), 2);
	allocdb_free(db);
}

static void test_release(void)
{
	struct allocdb *db = open3(":memory:");
	struct allocdb_change c =
	    set_of("nodeport", 0, "web", "spec.ports[0].nodePort");
	struct allocdb_change r = clear_of("nodeport", 0);
	struct allocdb_entry o = {0};
	struct errbuf eb = ERRBUF_INIT;
	uint64_t w[44];

	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	/* A release naming another owner is refused and keeps the value. */
	r.ns = "default";
	r.name = "other";
	CHECK_ERR(allocdb_apply(db, &r, 1, &eb), ERR_CONFLICT);
	CHECK_CONTAINS(eb.msg, "not released, owned by default/web");
	r.name = "web";
	CHECK_OK(allocdb_apply(db, &r, 1, NULL));
	CHECK_OK(allocdb_load(db, "nodeport", w, ARRAY_SIZE(w), NULL));
	CHECK_INT_EQ(popcount_words(w, ARRAY_SIZE(w)), 0);
	CHECK_ERR(allocdb_lookup(db, "nodeport", 0, &o, NULL), ERR_NOT_FOUND);
	/* Double release is a no-op, as upstream's. */
	r = clear_of("nodeport", 0);
	CHECK_OK(allocdb_apply(db, &r, 1, NULL));
	/* Released values can be taken again, by a new owner. */
	c.name = "api";
	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	CHECK_OK(allocdb_lookup(db, "nodeport", 0, &o, NULL));
	CHECK_STR_EQ(o.name, "api");
	allocdb_entry_release(&o);
	allocdb_free(db);
}

static void test_confirm(void)
{
	struct allocdb *db = open3(":memory:");
	struct allocdb_change c =
	    set_of("ipv4", 42, "web", "spec.clusterIPs[0]");
	struct allocdb_counts n = {0, 0, 0};
	struct allocdb_entry o = {0};
	struct errbuf eb = ERRBUF_INIT;

	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	CHECK_OK(allocdb_count(db, "ipv4", &n, NULL));
	CHECK_INT_EQ(n.size, 65536);
	CHECK_INT_EQ(n.used, 1);
	CHECK_INT_EQ(n.tentative, 1);
	CHECK_OK(allocdb_confirm(db, "ipv4", 42, "uid-1", NULL));
	CHECK_OK(allocdb_lookup(db, "ipv4", 42, &o, NULL));
	CHECK_STR_EQ(o.uid, "uid-1");
	CHECK(o.confirmed);
	allocdb_entry_release(&o);
	CHECK_OK(allocdb_count(db, "ipv4", &n, NULL));
	CHECK_INT_EQ(n.tentative, 0);
	CHECK_OK(allocdb_confirm(db, "ipv4", 42, "uid-1", NULL));
	CHECK_OK(allocdb_confirm(db, "ipv4", 42, NULL, NULL));
	CHECK_ERR(allocdb_confirm(db, "ipv4", 42, "uid-2", &eb), ERR_CONFLICT);
	CHECK_CONTAINS(eb.msg, "owned by default/web uid=uid-1, not uid=uid-2");
	CHECK_ERR(allocdb_confirm(db, "ipv4", 43, "uid-1", NULL),
		  ERR_NOT_FOUND);
	allocdb_free(db);
}

/* ---- chunk boundaries ---------------------------------------------------- */

static void test_chunk_boundaries(void)
{
	static const struct allocdb_range r[] = {
	    {"slash16", "10.0.0.0/16", 65536},
	    {"odd", "1-65535", 65535},
	};
	static const uint64_t offs16[] = {0, 4095, 4096, 8191, 65535};
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct allocdb_options o = opts_for(path, r, ARRAY_SIZE(r));
	struct allocdb *db = NULL;
	struct allocdb_change c;
	struct errbuf eb = ERRBUF_INIT;
	struct allocdb_entry *v = NULL;
	uint64_t w[1024];
	size_t n = 0;

	CHECK_OK(allocdb_new(&o, &db, NULL));
	for (size_t i = 0; i < ARRAY_SIZE(offs16); i++) {
		c = set_of("slash16", offs16[i], "s", "spec.clusterIPs[0]");
		CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	}
	c = set_of("odd", 65534, "s", "spec.ports[0].nodePort");
	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	c.offset = 65535;
	CHECK_ERR(allocdb_apply(db, &c, 1, &eb), ERR_INVALID);
	allocdb_free(db);

	CHECK_OK(allocdb_new(&o, &db, NULL));
	CHECK_OK(allocdb_load(db, "slash16", w, ARRAY_SIZE(w), NULL));
	CHECK_INT_EQ(popcount_words(w, ARRAY_SIZE(w)), ARRAY_SIZE(offs16));
	for (size_t i = 0; i < ARRAY_SIZE(offs16); i++)
		CHECK(bit_of(w, offs16[i]));
	CHECK_INT_EQ(w[63], (uint64_t)1 << 63);	  /* 4095 */
	CHECK_INT_EQ(w[64], 1);			  /* 4096 */
	CHECK_INT_EQ(w[1023], (uint64_t)1 << 63); /* 65535 */
	CHECK_ERR(allocdb_load(db, "slash16", w, 1023, &eb), ERR_INVALID);
	CHECK_OK(allocdb_load(db, "odd", w, 1024, NULL));
	CHECK_INT_EQ(popcount_words(w, 1024), 1);
	CHECK_INT_EQ(w[1023], (uint64_t)1 << 62);
	CHECK_OK(allocdb_list(db, "slash16", &v, &n, NULL));
	CHECK_INT_EQ(n, ARRAY_SIZE(offs16));
	for (size_t i = 0; i < n; i++)
		CHECK_INT_EQ(v[i].offset, offs16[i]);
	allocdb_entries_free(v, n);
	/* Releasing 4095 must not touch 4096 in the next chunk. */
	c = clear_of("slash16", 4095);
	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	CHECK_OK(allocdb_load(db, "slash16", w, ARRAY_SIZE(w), NULL));
	CHECK(!bit_of(w, 4095));
	CHECK(bit_of(w, 4096));
	allocdb_free(db);
	free(path);
	unit_rmtree(dir);
}

/* ---- replace and meta ------------------------------------------------------
 */

static void test_replace(void)
{
	struct allocdb *db = open3(":memory:");
	struct allocdb_change c =
	    set_of("ipv4", 1, "old", "spec.clusterIPs[0]");
	char ns[] = "ns", a[] = "a", b[] = "b", ua[] = "u-a", none[] = "";
	char f4[] = "spec.clusterIPs[0]", fp[] = "spec.ports[0].nodePort";
	struct allocdb_entry e4[2] = {
	    {2, ns, a, ua, f4, 1000, true},
	    {40000, ns, b, none, f4, 2000, false},
	};
	struct allocdb_entry ep[1] = {
	    {5, ns, a, ua, fp, 1000, true},
	};
	struct allocdb_content cont[2] = {{"ipv4", e4, 2}, {"nodeport", ep, 1}};
	struct allocdb_entry *v = NULL;
	struct errbuf eb = ERRBUF_INIT;
	uint64_t w[1024];
	int64_t ms = -1;
	size_t n = 0;

	CHECK_OK(allocdb_last_repair(db, &ms, NULL));
	CHECK_INT_EQ(ms, 0);
	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	CHECK_OK(allocdb_replace(db, cont, 2, 1234567, NULL));
	CHECK_OK(allocdb_load(db, "ipv4", w, ARRAY_SIZE(w), NULL));
	CHECK_INT_EQ(popcount_words(w, ARRAY_SIZE(w)), 2);
	CHECK(!bit_of(w, 1) && bit_of(w, 2) && bit_of(w, 40000));
	CHECK_OK(allocdb_list(db, "ipv4", &v, &n, NULL));
	CHECK_INT_EQ(n, 2);
	CHECK_STR_EQ(v[1].name, "b");
	CHECK_INT_EQ(v[1].taken_ms, 2000);
	CHECK(!v[1].confirmed);
	allocdb_entries_free(v, n);
	CHECK_OK(allocdb_last_repair(db, &ms, NULL));
	CHECK_INT_EQ(ms, 1234567);
	CHECK_INT_EQ(used_of(db, "nodeport"), 1);

	/* A duplicate offset fails the whole replacement. */
	e4[1].offset = 2;
	cont[1].n = 0;
	CHECK_ERR(allocdb_replace(db, cont, 2, 9999999, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "range ipv4 offset 2: listed twice");
	CHECK_INT_EQ(used_of(db, "nodeport"), 1);
	CHECK_INT_EQ(used_of(db, "ipv4"), 2);
	CHECK_OK(allocdb_last_repair(db, &ms, NULL));
	CHECK_INT_EQ(ms, 1234567);
	CHECK_OK(allocdb_set_last_repair(db, 7654321, NULL));
	CHECK_OK(allocdb_last_repair(db, &ms, NULL));
	CHECK_INT_EQ(ms, 7654321);
	allocdb_free(db);
}

static void test_memory(void)
{
	struct allocdb_options o = opts_for(":memory:", ranges3, 3);
	struct allocdb *a = NULL, *b = NULL;
	struct allocdb_change c = set_of("ipv6", 3, "x", "spec.clusterIPs[0]");

	o.rebuild = true;
	CHECK_OK(allocdb_new(&o, &a, NULL));
	CHECK_OK(allocdb_new(&o, &b, NULL));
	CHECK_OK(allocdb_apply(a, &c, 1, NULL));
	/* Each ":memory:" record is private to its object. */
	CHECK_INT_EQ(used_of(a, "ipv6"), 1);
	CHECK_INT_EQ(used_of(b, "ipv6"), 0);
	CHECK_NULL(allocdb_moved_to(a));
	allocdb_free(a);
	allocdb_free(b);
	allocdb_free(NULL);
}

static void test_bad_options(void)
{
	static const struct allocdb_range dup[] = {
	    {"a", "1-10", 10},
	    {"a", "1-10", 10},
	};
	static const struct allocdb_range zero[] = {{"a", "1-10", 0}};
	struct allocdb_options o = opts_for(":memory:", dup, 2);
	struct allocdb *db = NULL;

	CHECK_ERR(allocdb_new(&o, &db, NULL), ERR_INVALID);
	o = opts_for(":memory:", zero, 1);
	CHECK_ERR(allocdb_new(&o, &db, NULL), ERR_INVALID);
	o = opts_for(NULL, ranges3, 3);
	CHECK_ERR(allocdb_new(&o, &db, NULL), ERR_INVALID);
	CHECK_NULL(db);
}

/* ---- refusing files, and rebuilding them ------------------------------- */

/* A record with one value in ipv4, closed. */
static void make_record(const char *path)
{
	struct allocdb *db = open3(path);
	struct allocdb_change c =
	    set_of("ipv4", 9, "web", "spec.clusterIPs[0]");

	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	allocdb_free(db);
}

static enum err open_err(const char *path, const struct allocdb_range *r,
			 size_t n, struct errbuf *eb)
{
	struct allocdb_options o = opts_for(path, r, n);
	struct allocdb *db = NULL;
	enum err e = allocdb_new(&o, &db, eb);

	CHECK_NULL(db);
	return e;
}

static void test_refuse_garbage(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct errbuf eb = ERRBUF_INIT;
	char junk[8192];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)("garbage!"[i % 8] ^ (i >> 5));
	write_file(path, junk, sizeof(junk), 0);
	CHECK_ERR(open_err(path, ranges3, 3, &eb), ERR_DB);
	CHECK_CONTAINS(eb.msg, path);
	CHECK_CONTAINS(eb.msg, "refused: quick_check: file is not a database");
	free(path);
	unit_rmtree(dir);
}

static void test_refuse_corrupt(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct errbuf eb = ERRBUF_INIT;
	char junk[4096];

	make_record(path);
	/* Keep the 100-byte header, smash the schema page and the next. */
	memset(junk, 0x5a, sizeof(junk));
	write_file(path, junk, sizeof(junk), 100);
	write_file(path, junk, sizeof(junk), 4096);
	CHECK_ERR(open_err(path, ranges3, 3, &eb), ERR_DB);
	CHECK_CONTAINS(eb.msg, path);
	CHECK_CONTAINS(eb.msg, "refused: quick_check");
	CHECK_CONTAINS(eb.msg, "malformed");
	free(path);
	unit_rmtree(dir);
}

static void make_foreign(const char *path, int app_id, int version)
{
	sqlite3 *c = NULL;
	char *sql = xasprintf("CREATE TABLE users(id INTEGER, name TEXT);"
			      "PRAGMA application_id = %d;"
			      "PRAGMA user_version = %d;",
			      app_id, version);

	CHECK_INT_EQ(sqlite3_open(path, &c), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_exec(c, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(c);
	free(sql);
}

static void test_refuse_foreign(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/other.db", dir);
	char *path2 = xasprintf("%s/newer.db", dir);
	struct errbuf eb = ERRBUF_INIT;

	make_foreign(path, 0, 0);
	CHECK_ERR(open_err(path, ranges3, 3, &eb), ERR_DB);
	CHECK_CONTAINS(eb.msg, path);
	CHECK_CONTAINS(eb.msg, "refused: foreign database: application_id "
			       "0x00000000 user_version 0 with 1 tables");
	/* Ours by application_id, but a schema this build does not know. */
	make_foreign(path2, 0x53564341, 7);
	CHECK_ERR(open_err(path2, ranges3, 3, &eb), ERR_DB);
	CHECK_CONTAINS(eb.msg, "refused: unsupported schema version");
	free(path);
	free(path2);
	unit_rmtree(dir);
}

static void test_refuse_range_change(void)
{
	static const struct allocdb_range moved[] = {
	    {"ipv4", "10.97.0.0/16", 65536},
	    {"ipv6", "fd00::/112", 65536},
	    {"nodeport", "30000-32767", 2768},
	};
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct errbuf eb = ERRBUF_INIT;

	make_record(path);
	CHECK_ERR(open_err(path, moved, 3, &eb), ERR_DB);
	CHECK_CONTAINS(eb.msg, path);
	CHECK_CONTAINS(
	    eb.msg,
	    "refused: range spec changed: range ipv4: stored spec 10.96.0.0/16 "
	    "(65536 values), configured 10.97.0.0/16 (65536 values)");
	/* Dropping a configured range is a change too. */
	CHECK_ERR(open_err(path, ranges3, 2, &eb), ERR_DB);
	CHECK_CONTAINS(
	    eb.msg,
	    "range nodeport (30000-32767) is stored but not configured");
	/* Adding a range is not: the record gains an empty one. */
	{
		static const struct allocdb_range more[] = {
		    {"ipv4", "10.96.0.0/16", 65536},
		    {"ipv6", "fd00::/112", 65536},
		    {"nodeport", "30000-32767", 2768},
		    {"extra", "1-10", 10},
		};
		struct allocdb_options o = opts_for(path, more, 4);
		struct allocdb *db = NULL;

		CHECK_OK(allocdb_new(&o, &db, NULL));
		CHECK_INT_EQ(used_of(db, "ipv4"), 1);
		CHECK_INT_EQ(used_of(db, "extra"), 0);
		allocdb_free(db);
	}
	free(path);
	unit_rmtree(dir);
}

static void check_moved(const char *path, const struct allocdb *db,
			const struct errbuf *eb)
{
	const char *to = allocdb_moved_to(db);
	char *prefix = xasprintf("%s.refused-", path);

	CHECK_NOT_NULL(to);
	CHECK(str_has_prefix(to, prefix));
	CHECK(exists(to));
	CHECK(exists(path));
	CHECK_CONTAINS(eb->msg, to);
	free(prefix);
}

static void test_rebuild(void)
{
	static const struct allocdb_range moved[] = {
	    {"ipv4", "10.97.0.0/16", 65536},
	    {"ipv6", "fd00::/112", 65536},
	    {"nodeport", "30000-32767", 2768},
	};
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct allocdb_options o = opts_for(path, moved, 3);
	struct errbuf eb = ERRBUF_INIT;
	struct allocdb *db = NULL, *old = NULL;
	char *to;

	make_record(path);
	o.rebuild = true;
	CHECK_OK(allocdb_new(&o, &db, &eb));
	check_moved(path, db, &eb);
	CHECK_CONTAINS(eb.msg, "range spec changed");
	CHECK_INT_EQ(used_of(db, "ipv4"), 0);
	to = xstrdup(allocdb_moved_to(db));
	allocdb_free(db);
	/* The old record is intact under its new name. */
	old = open3(to);
	CHECK_INT_EQ(used_of(old, "ipv4"), 1);
	allocdb_free(old);

	/* A garbage file moved aside keeps its bytes. */
	write_file(path, "not a database, not at all!!", 28, 0);
	CHECK_INT_EQ(truncate(path, 28), 0);
	o = opts_for(path, ranges3, 3);
	o.rebuild = true;
	CHECK_OK(allocdb_new(&o, &db, &eb));
	check_moved(path, db, &eb);
	{
		struct stat st;

		CHECK_INT_EQ(stat(allocdb_moved_to(db), &st), 0);
		CHECK_INT_EQ(st.st_size, 28);
		CHECK(strcmp(allocdb_moved_to(db), to) != 0);
	}
	CHECK_INT_EQ(used_of(db, "ipv4"), 0);
	allocdb_free(db);
	free(to);
	free(path);
	unit_rmtree(dir);
}

/* A file of schema 1 (an older build) is moved aside without being
 * asked, and the new one has 512-byte pages and the allocations view. */
static void test_old_schema(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct allocdb_options o = opts_for(path, ranges3, 3);
	struct errbuf eb = ERRBUF_INIT;
	struct allocdb *db = NULL;
	struct allocdb_change c =
	    set_of("nodeport", 7, "web", "spec.ports[0].nodePort");
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;

	make_foreign(path, 0x53564341, 1);
	CHECK_OK(allocdb_new(&o, &db, &eb));
	check_moved(path, db, &eb);
	CHECK_CONTAINS(eb.msg, "refused: older schema version, rebuilt from "
			       "the Services");
	CHECK_OK(allocdb_apply(db, &c, 1, NULL));
	allocdb_free(db);
	CHECK_INT_EQ(sqlite3_open(path, &raw), SQLITE_OK);
	CHECK_INT_EQ(sqlite3_prepare_v2(raw,
					"SELECT range_name, bit, name,"
					" (SELECT page_size FROM"
					" pragma_page_size) FROM allocations",
					-1, &st, NULL),
		     SQLITE_OK);
	CHECK_INT_EQ(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 0), "nodeport");
	CHECK_INT_EQ(sqlite3_column_int64(st, 1), 7);
	CHECK_STR_EQ((const char *)sqlite3_column_text(st, 2), "web");
	CHECK_INT_EQ(sqlite3_column_int(st, 3), 512);
	CHECK_INT_EQ(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	free(path);
	unit_rmtree(dir);
}

/* An owner row outside every range is refused as inconsistent. */
static void test_refuse_stray_owner(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct errbuf eb = ERRBUF_INIT;
	sqlite3 *raw = NULL;

	make_record(path);
	CHECK_INT_EQ(sqlite3_open(path, &raw), SQLITE_OK);
	/* ipv4 is range id 1: offset 65536 is beyond its /16. */
	CHECK_INT_EQ(
	    sqlite3_exec(raw,
			 "INSERT INTO owners VALUES ((1 << 32) + 65536,"
			 " 'default', 'x', '', 'f', 0, 0)",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(raw);
	CHECK_ERR(open_err(path, ranges3, 3, &eb), ERR_DB);
	CHECK_CONTAINS(eb.msg, "refused: inconsistent record: 1 owner rows "
			       "outside every configured range");
	free(path);
	unit_rmtree(dir);
}

/* ---- threads ------------------------------------------------------------- */

#define THREADS	      4
#define THREAD_VALUES 300

struct worker {
	struct allocdb *db;
	int id;
	int won; /* values this thread allocated */
	int errors;
};

/* Every thread tries every value, so each value is contested 4 times. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t words[44];
	char name[16];

	(void)snprintf(name, sizeof(name), "svc-%d", w->id);
	for (int i = 0; i < THREAD_VALUES; i++) {
		uint64_t off = (uint64_t)((i * 7 + w->id) % THREAD_VALUES);
		struct allocdb_change c =
		    set_of("nodeport", off, name, "spec.ports[0].nodePort");
		enum err e = allocdb_apply(w->db, &c, 1, NULL);

		if (e == ERR_OK)
			w->won++;
		else if (e != ERR_CONFLICT)
			w->errors++;
		if (i % 50 == 0 &&
		    allocdb_load(w->db, "nodeport", words, 44, NULL) != ERR_OK)
			w->errors++;
	}
	return NULL;
}

static void test_threads(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/alloc.db", dir);
	struct allocdb_options o = opts_for(path, ranges3, 3);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	struct allocdb *db = NULL;
	struct allocdb_entry *v = NULL;
	size_t n = 0;
	int won = 0;

	o.sync_normal = true;
	CHECK_OK(allocdb_new(&o, &db, NULL));
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){db, i, 0, 0};
		CHECK_INT_EQ(pthread_create(&t[i], NULL, worker_main, &w[i]),
			     0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT_EQ(w[i].errors, 0);
		won += w[i].won;
	}
	CHECK_INT_EQ(won, THREAD_VALUES);
	CHECK_OK(allocdb_list(db, "nodeport", &v, &n, NULL));
	CHECK_INT_EQ(n, THREAD_VALUES);
	for (size_t i = 0; i < n; i++)
		CHECK_INT_EQ(v[i].offset, i);
	allocdb_entries_free(v, n);
	allocdb_free(db);
	free(path);
	unit_rmtree(dir);
}

/* ---- crash test -------------------------------------------------------- */

#define CRASH_RANGE  65536
#define CRASH_WORDS  (CRASH_RANGE / 64)
#define CRASH_ROUNDS 20
#define CRASH_VALUES 1000

static const struct allocdb_range crash_range[] = {
    {"crash", "10.0.0.0/16", CRASH_RANGE},
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * The child: allocate one value per transaction, picking free values
 * from the bitmap it loaded at start, and tell the parent each value only
 * after its commit. Exit codes: 0 done, 2 open, 3 a value handed out
 * twice, 4 another error, 5 pipe.
 */
ATTR_NORETURN static void crash_child(const char *path, int fd, uint64_t seed)
{
	struct allocdb_options o = opts_for(path, crash_range, 1);
	static uint64_t words[CRASH_WORDS];
	struct allocdb *db = NULL;

	if (allocdb_new(&o, &db, NULL) ||
	    allocdb_load(db, "crash", words, CRASH_WORDS, NULL))
		_exit(2);
	for (int i = 0; i < CRASH_VALUES; i++) {
		uint32_t off;
		struct allocdb_change c;
		enum err e;

		do
			off = (uint32_t)(xorshift(&seed) % CRASH_RANGE);
		while (bit_of(words, off));
		c = set_of("crash", off, "svc", "spec.clusterIPs[0]");
		e = allocdb_apply(db, &c, 1, NULL);
		if (e)
			_exit(e == ERR_CONFLICT ? 3 : 4);
		words[off / 64] |= (uint64_t)1 << (off % 64);
		if (write(fd, &off, sizeof(off)) != (ssize_t)sizeof(off))
			_exit(5);
	}
	_exit(0);
}

/* Reads told values until EOF, killing the child after kill_at of them.
 * told[] marks values already told in this file's life. */
static int crash_round_read(int fd, pid_t pid, int kill_at, uint8_t *told)
{
	uint32_t off;
	int got = 0;
	ssize_t r;

	while ((r = read(fd, &off, sizeof(off))) == (ssize_t)sizeof(off)) {
		if (off >= CRASH_RANGE || told[off])
			unit_fail(__FILE__, __LINE__, "value %u told twice",
				  off);
		told[off] = 1;
		if (++got == kill_at)
			(void)kill(pid, SIGKILL);
	}
	CHECK(r == 0 || (r < 0 && errno == EINTR));
	return got;
}

/* After the kill: every told value is present, and bits and owner rows
 * match one to one. */
static void crash_verify(const char *path, const uint8_t *told)
{
	struct allocdb_options o = opts_for(path, crash_range, 1);
	static uint64_t words[CRASH_WORDS];
	struct allocdb_entry *v = NULL;
	struct allocdb *db = NULL;
	struct errbuf eb = ERRBUF_INIT;
	size_t n = 0, lost = 0;

	if (allocdb_new(&o, &db, &eb))
		unit_fail(__FILE__, __LINE__, "reopen: %s", eb.msg);
	CHECK_OK(allocdb_load(db, "crash", words, CRASH_WORDS, NULL));
	CHECK_OK(allocdb_list(db, "crash", &v, &n, NULL));
	for (uint32_t i = 0; i < CRASH_RANGE; i++)
		lost += told[i] && !bit_of(words, i);
	CHECK_INT_EQ(lost, 0);
	CHECK_INT_EQ(popcount_words(words, CRASH_WORDS), n);
	for (size_t i = 0; i < n; i++) {
		if (!bit_of(words, v[i].offset) ||
		    (i > 0 && v[i].offset <= v[i - 1].offset))
			unit_fail(__FILE__, __LINE__,
				  "owner row %llu without its bit",
				  (unsigned long long)v[i].offset);
	}
	allocdb_entries_free(v, n);
	allocdb_free(db);
}

static void crash_round(const char *path, uint8_t *told)
{
	int kill_at = 1 + (int)rand_below(CRASH_VALUES);
	uint64_t seed = rand_u64() | 1;
	int fds[2], status = 0;
	pid_t pid;

	CHECK_INT_EQ(pipe(fds), 0);
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(path, fds[1], seed);
	}
	close(fds[1]);
	(void)crash_round_read(fds[0], pid, kill_at, told);
	close(fds[0]);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status))
		CHECK_INT_EQ(WEXITSTATUS(status), 0);
	else
		CHECK_INT_EQ(WTERMSIG(status), SIGKILL);
	crash_verify(path, told);
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

static void test_crash(void)
{
	char *dir = unit_tmpdir("test-allocdb");
	char *path = xasprintf("%s/crash.db", dir);
	uint8_t *told = xcalloc(CRASH_RANGE, 1);
	const char *r = getenv("ALLOCDB_CRASH_ROUNDS");
	int rounds = r && *r ? (int)strtol(r, NULL, 10) : CRASH_ROUNDS;

	for (int i = 0; i < rounds; i++) {
		/* Every fifth round starts a fresh file; the others continue
		 * the killed child's file, as a restarted process would. */
		if (i % 5 == 0) {
			remove_db(path);
			memset(told, 0, CRASH_RANGE);
		}
		crash_round(path, told);
	}
	free(told);
	free(path);
	unit_rmtree(dir);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_round_trip),
	    UNIT_CASE(test_batch_rolled_back),
	    UNIT_CASE(test_release),
	    UNIT_CASE(test_confirm),
	    UNIT_CASE(test_chunk_boundaries),
	    UNIT_CASE(test_replace),
	    UNIT_CASE(test_memory),
	    UNIT_CASE(test_bad_options),
	    UNIT_CASE(test_refuse_garbage),
	    UNIT_CASE(test_refuse_corrupt),
	    UNIT_CASE(test_refuse_foreign),
	    UNIT_CASE(test_old_schema),
	    UNIT_CASE(test_refuse_stray_owner),
	    UNIT_CASE(test_refuse_range_change),
	    UNIT_CASE(test_rebuild),
	    UNIT_CASE(test_threads),
	    UNIT_CASE(test_crash),
	};

	return unit_main(argc, argv, "allocdb", cases, ARRAY_SIZE(cases));
}
