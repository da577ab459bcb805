/*
 * allocdb: the life cycle of the durable record (allocator.md §8.2):
 * opening a file, checking that it is ours, intact and built for the
 * configured ranges, and moving a refused file aside when asked to
 * rebuild. The queries live in allocdb_read.c, the transactions in
 * allocdb_write.c, the sqlite helpers in allocdb_sql.c.
 *
 * Main invariant: an open struct allocdb has passed every check, so its
 * file holds exactly the configured ranges, of schema ALLOCDB__SCHEMA,
 * and every owner row lies inside one of them. A file of an older schema
 * is moved aside and rebuilt from the Services even without
 * --allocator-rebuild. Locking: allocdb_new and allocdb_free run before
 * and after any other caller; they need no lock.
 */
#include "base.h"
#include "allocdb.h"

#include <errno.h>
#include <sys/stat.h>

#include "allocdb_internal.h"

#define BUSY_TIMEOUT_DEFAULT_MS 5000

/* One attempt at opening; refusable says the content, not the
 * environment, was at fault (only such files are moved aside). */
struct opener {
	struct allocdb *db;
	const struct allocdb_options *opts;
	bool refusable;
	bool outdated; /* ours, of an older schema: moved aside always */
};

/*
 * Schema 2 (see ALLOCDB__SCHEMA): one rowid table row per allocated value,
 * keyed by allocdb__key, so an allocation dirties one small page and no
 * index; the view keeps the (range_name, bit) shape for humans and the
 * integration tests.
 */
static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE ranges (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " spec TEXT NOT NULL, size INTEGER NOT NULL);"
    "CREATE TABLE owners (key INTEGER PRIMARY KEY, namespace TEXT NOT NULL,"
    " name TEXT NOT NULL, uid TEXT NOT NULL, field TEXT NOT NULL,"
    " taken_ms INTEGER NOT NULL, confirmed INTEGER NOT NULL);"
    "CREATE VIEW allocations AS SELECT r.name AS range_name,"
    " o.key - (r.id << 32) AS bit, o.namespace AS namespace, o.name AS name,"
    " o.uid AS uid, o.field AS field, o.taken_ms AS taken_ms,"
    " o.confirmed AS confirmed FROM owners AS o"
    " JOIN ranges AS r ON r.id = o.key >> 32;"
    "INSERT INTO meta VALUES ('schema_version', 2), ('last_repair_ms', 0);"
    "PRAGMA application_id = 1398162241;" /* ALLOCDB__APP_ID */
    "PRAGMA user_version = 2;";		  /* ALLOCDB__SCHEMA */

static bool content_fault(int rc)
{
	rc &= 0xff;
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

/* A refusal: the file's content is wrong. */
static enum err refuse(struct opener *op, struct errbuf *eb, const char *reason,
		       const char *detail)
{
	op->refusable = true;
	return errbuf_set(eb, ERR_DB, "allocdb %s: refused: %s: %s",
			  op->db->path, reason, detail);
}

/* A sqlite failure during the checks; refusable when sqlite says the
 * file is corrupt or not a database. */
static enum err check_fail(struct opener *op, struct errbuf *eb,
			   const char *reason)
{
	int rc = sqlite3_extended_errcode(op->db->conn);

	if (!content_fault(rc))
		return allocdb__fail(op->db, eb, reason);
	op->refusable = true;
	return errbuf_set(eb, ERR_DB, "allocdb %s: refused: %s: %s (sqlite %d)",
			  op->db->path, reason, sqlite3_errmsg(op->db->conn),
			  rc);
}

/* Runs a query returning one integer. */
static enum err query_int(struct opener *op, const char *sql,
			  const char *reason, int64_t *out, struct errbuf *eb)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(op->db->conn, sql, -1, &st, NULL) != SQLITE_OK)
		return check_fail(op, eb, reason);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return check_fail(op, eb, reason);
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ERR_OK;
}

static enum err quick_check(struct opener *op, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e = ERR_OK;
	const char *res;

	if (sqlite3_prepare_v2(op->db->conn, "PRAGMA quick_check", -1, &st,
			       NULL) != SQLITE_OK)
		return check_fail(op, eb, "quick_check");
	if (sqlite3_step(st) != SQLITE_ROW) {
		e = check_fail(op, eb, "quick_check");
	} else {
		res = (const char *)sqlite3_column_text(st, 0);
		if (!res || strcmp(res, "ok") != 0)
			e = refuse(op, eb, "quick_check failed",
				   res ? res : "(null)");
	}
	sqlite3_finalize(st);
	return e;
}

/*
 * Ours (application_id and user_version), or empty (fresh): anything
 * else belongs to another application or another schema version.
 */
static enum err check_identity(struct opener *op, bool *fresh,
			       struct errbuf *eb)
{
	int64_t app = 0, ver = 0, tables = 0;
	char detail[160];
	enum err e;

	if ((e = query_int(op, "PRAGMA application_id", "application_id", &app,
			   eb)) ||
	    (e = query_int(op, "PRAGMA user_version", "user_version", &ver,
			   eb)) ||
	    (e = query_int(op,
			   "SELECT count(*) FROM sqlite_schema"
			   " WHERE type = 'table'",
			   "listing tables", &tables, eb)))
		return e;
	*fresh = app == 0 && ver == 0 && tables == 0;
	if (*fresh)
		return ERR_OK;
	(void)snprintf(
	    detail, sizeof(detail),
	    "application_id 0x%08llx user_version %lld with %lld tables,"
	    " want 0x%08x version %d",
	    (unsigned long long)app, (long long)ver, (long long)tables,
	    ALLOCDB__APP_ID, ALLOCDB__SCHEMA);
	if (app != ALLOCDB__APP_ID)
		return refuse(op, eb, "foreign database", detail);
	if (ver >= 1 && ver < ALLOCDB__SCHEMA) {
		op->outdated = true;
		return refuse(op, eb,
			      "older schema version, rebuilt from the "
			      "Services",
			      detail);
	}
	if (ver != ALLOCDB__SCHEMA)
		return refuse(op, eb, "unsupported schema version", detail);
	return ERR_OK;
}

static enum err check_meta(struct opener *op, struct errbuf *eb)
{
	int64_t n = 0;
	enum err e;

	e = query_int(op,
		      "SELECT count(*) FROM sqlite_schema WHERE (type = 'table'"
		      " AND name IN ('meta', 'ranges', 'owners'))"
		      " OR (type = 'view' AND name = 'allocations')",
		      "listing tables", &n, eb);
	if (e == ERR_OK && n != 4)
		e = refuse(op, eb, "schema", "allocdb tables are missing");
	return e;
}

static enum err set_pragmas(struct opener *op, struct errbuf *eb)
{
	struct allocdb *db = op->db;
	const char *sync = op->opts->sync_normal ? "PRAGMA synchronous = NORMAL"
						 : "PRAGMA synchronous = FULL";
	sqlite3_stmt *st;
	const char *mode;
	enum err e = ERR_OK;

	e = allocdb__prepare(db, "PRAGMA journal_mode = WAL", &st, eb);
	if (e)
		return e;
	if (sqlite3_step(st) != SQLITE_ROW) {
		e = check_fail(op, eb, "journal_mode=WAL");
	} else {
		mode = (const char *)sqlite3_column_text(st, 0);
		/* ":memory:" keeps its in-memory journal; a file must be WAL.
		 */
		if (!mode || (strcmp(mode, "wal") != 0 &&
			      strcmp(db->path, ":memory:") != 0))
			e = errbuf_set(
			    eb, ERR_DB,
			    "allocdb %s: journal_mode=WAL refused, got %s",
			    db->path, mode ? mode : "(null)");
	}
	sqlite3_finalize(st);
	if (e == ERR_OK)
		e = allocdb__exec(db, sync, eb);
	/* The default 1000 pages, in bytes of 4 KiB pages: fewer
	 * checkpoints rewrite each hot page fewer times. */
	if (e == ERR_OK)
		e = allocdb__exec(db, "PRAGMA wal_autocheckpoint = 8000", eb);
	return e;
}

/* Builds the tables of a fresh file in one transaction. */
static enum err create_schema(struct opener *op, struct errbuf *eb)
{
	enum err e = allocdb__begin(op->db, eb);

	if (e)
		return e;
	e = allocdb__exec(op->db, schema_sql, eb);
	return allocdb__end(op->db, e, eb);
}

/* The stored range name matches this configured one; compare them. */
static enum err compare_range(struct opener *op, sqlite3_stmt *st,
			      const struct allocdb__range *r, struct errbuf *eb)
{
	const char *spec = (const char *)sqlite3_column_text(st, 1);
	uint64_t size = (uint64_t)sqlite3_column_int64(st, 2);
	char detail[400];

	if (spec && strcmp(spec, r->spec) == 0 && size == r->size)
		return ERR_OK;
	(void)snprintf(detail, sizeof(detail),
		       "range %s: stored spec %s (%llu values), configured %s "
		       "(%llu values)",
		       r->name, spec ? spec : "(null)",
		       (unsigned long long)size, r->spec,
		       (unsigned long long)r->size);
	return refuse(op, eb, "range spec changed", detail);
}

/* Every stored range must be configured, with the same spec and size. */
static enum err check_stored_ranges(struct opener *op, struct errbuf *eb)
{
	const struct allocdb__range *r;
	char detail[400];
	sqlite3_stmt *st;
	enum err e;
	int rc = SQLITE_DONE;

	e = allocdb__prepare(op->db, "SELECT name, spec, size FROM ranges", &st,
			     eb);
	while (e == ERR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		r = allocdb__range(op->db, name, NULL);
		if (r) {
			e = compare_range(op, st, r, eb);
			continue;
		}
		(void)snprintf(detail, sizeof(detail),
			       "range %s (%s) is stored but not configured",
			       name ? name : "(null)",
			       (const char *)sqlite3_column_text(st, 1));
		e = refuse(op, eb, "range spec changed", detail);
	}
	if (e == ERR_OK && rc != SQLITE_DONE)
		e = check_fail(op, eb, "reading ranges");
	sqlite3_finalize(st);
	return e;
}

/* Records configured ranges the file does not have yet. */
static enum err add_new_ranges(struct allocdb *db, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__prepare(db,
			     "INSERT OR IGNORE INTO ranges(name, spec, size)"
			     " VALUES (?1, ?2, ?3)",
			     &st, eb);
	for (size_t i = 0; e == ERR_OK && i < db->nranges; i++) {
		sqlite3_bind_text(st, 1, db->ranges[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, db->ranges[i].spec, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)db->ranges[i].size);
		if (sqlite3_step(st) != SQLITE_DONE)
			e = allocdb__fail(db, eb, "recording a range");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return e;
}

/* Reads the stored id of every configured range (all recorded now). */
static enum err read_range_ids(struct allocdb *db, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__prepare(db, "SELECT id FROM ranges WHERE name = ?1", &st,
			     eb);
	for (size_t i = 0; e == ERR_OK && i < db->nranges; i++) {
		sqlite3_bind_text(st, 1, db->ranges[i].name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			e = allocdb__fail(db, eb, "reading a range id");
		else
			db->ranges[i].id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return e;
}

static enum err check_ranges(struct opener *op, struct errbuf *eb)
{
	enum err e = allocdb__begin(op->db, eb);

	if (e)
		return e;
	e = check_stored_ranges(op, eb);
	if (e == ERR_OK)
		e = add_new_ranges(op->db, eb);
	if (e == ERR_OK)
		e = read_range_ids(op->db, eb);
	return allocdb__end(op->db, e, eb);
}

/*
 * Every owner row belongs to a stored range, below its size. Keys outside
 * every range interval would be invisible to every query, so a file with
 * them was written by something else and is refused.
 */
static enum err check_consistency(struct opener *op, struct errbuf *eb)
{
	char sql[256];
	char detail[160];
	int64_t stray = 0;
	enum err e;

	e = query_int(op,
		      "SELECT count(*) FROM owners WHERE key >> 32"
		      " NOT IN (SELECT id FROM ranges)",
		      "checking owners", &stray, eb);
	for (size_t i = 0; e == ERR_OK && !stray && i < op->db->nranges; i++) {
		const struct allocdb__range *r = &op->db->ranges[i];

		(void)snprintf(sql, sizeof(sql),
			       "SELECT count(*) FROM owners WHERE key >= %lld"
			       " AND key < %lld",
			       (long long)allocdb__key(r, r->size),
			       (long long)allocdb__key(r, 0) +
				   (1LL << ALLOCDB__KEY_SHIFT));
		e = query_int(op, sql, "checking owners", &stray, eb);
	}
	if (e || !stray)
		return e;
	(void)snprintf(detail, sizeof(detail),
		       "%lld owner rows outside every configured range",
		       (long long)stray);
	return refuse(op, eb, "inconsistent record", detail);
}

/* One attempt: open the file and run every check (the order matters:
 * quick_check first, since nothing else is meaningful on a bad file). */
static enum err open_checked(struct opener *op, struct errbuf *eb)
{
	struct allocdb *db = op->db;
	int ms = op->opts->busy_timeout_ms > 0 ? op->opts->busy_timeout_ms
					       : BUSY_TIMEOUT_DEFAULT_MS;
	bool fresh = false;
	enum err e;

	op->outdated = false;
	if (sqlite3_open_v2(db->path, &db->conn,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		return allocdb__fail(db, eb, "cannot open");
	sqlite3_extended_result_codes(db->conn, 1);
	sqlite3_busy_timeout(db->conn, ms);
	if ((e = quick_check(op, eb)) || (e = check_identity(op, &fresh, eb)))
		return e;
	/* Only an empty file takes a page size (before WAL and tables). */
	if (fresh && (e = allocdb__exec(db, ALLOCDB__PAGE_SIZE_SQL, eb)))
		return e;
	if ((e = set_pragmas(op, eb)))
		return e;
	if (fresh && (e = create_schema(op, eb)))
		return e;
	if ((e = check_meta(op, eb)) || (e = check_ranges(op, eb)))
		return e;
	return check_consistency(op, eb);
}

static void close_conn(struct allocdb *db)
{
	allocdb__stmts_free(db);
	/* v2: statements are all finalised; a busy close must not leak. */
	(void)sqlite3_close_v2(db->conn);
	db->conn = NULL;
}

static bool path_exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0 || errno != ENOENT;
}

/* Renames path+suffix to to+suffix when it exists. */
static enum err move_file(const char *path, const char *to, const char *suffix,
			  struct errbuf *eb)
{
	char *from = xasprintf("%s%s", path, suffix);
	char *dst = xasprintf("%s%s", to, suffix);
	char tmp[128];
	enum err e = ERR_OK;

	if (path_exists(from) && rename(from, dst) != 0)
		e = errbuf_set(eb, ERR_IO, "allocdb %s: moving aside to %s: %s",
			       from, dst,
			       err_errno_str(errno, tmp, sizeof(tmp)));
	free(from);
	free(dst);
	return e;
}

/*
 * Renames the file and its -wal and -shm companions to
 * "<path>.refused-<RFC 3339 time>", never deleting anything: the WAL goes
 * too, because sqlite would replay a stale WAL into the new empty file.
 */
static enum err move_aside(struct allocdb *db, struct errbuf *eb)
{
	char ts[CLOCK_RFC3339_LEN];
	char *to = NULL;
	enum err e;

	clock_format_rfc3339(clock_now_ms(), true, ts);
	for (int i = 0; i < 1000 && !to; i++) {
		to = i ? xasprintf("%s.refused-%s.%d", db->path, ts, i)
		       : xasprintf("%s.refused-%s", db->path, ts);
		if (path_exists(to)) {
			free(to);
			to = NULL;
		}
	}
	if (!to)
		return errbuf_set(eb, ERR_IO,
				  "allocdb %s: no free name to move it aside",
				  db->path);
	if ((e = move_file(db->path, to, "-wal", eb)) ||
	    (e = move_file(db->path, to, "-shm", eb)) ||
	    (e = move_file(db->path, to, "", eb))) {
		free(to);
		return e;
	}
	db->moved_to = to;
	return ERR_OK;
}

static enum err copy_ranges(struct allocdb *db, const struct allocdb_options *o,
			    struct errbuf *eb)
{
	if (!o->path || !*o->path || !o->ranges || o->nranges == 0)
		return errbuf_set(eb, ERR_INVALID,
				  "allocdb: a path and ranges are required");
	db->path = xstrdup(o->path);
	db->ranges = xcalloc(o->nranges, sizeof(*db->ranges));
	for (size_t i = 0; i < o->nranges; i++) {
		const struct allocdb_range *r = &o->ranges[i];

		if (!r->name || !*r->name || !r->spec || !*r->spec ||
		    r->size == 0 || r->size > ALLOCDB_MAX_RANGE_SIZE ||
		    allocdb__range(db, r->name, NULL))
			return errbuf_set(
			    eb, ERR_INVALID,
			    "allocdb %s: range %zu: a unique name, a spec and "
			    "a size in 1..%llu are required",
			    o->path, i,
			    (unsigned long long)ALLOCDB_MAX_RANGE_SIZE);
		db->ranges[i].name = xstrdup(r->name);
		db->ranges[i].spec = xstrdup(r->spec);
		db->ranges[i].size = r->size;
		db->nranges = i + 1;
	}
	return ERR_OK;
}

/* The refused file is moved aside and the open tried once more. */
static enum err rebuild(struct opener *op, struct errbuf *eb)
{
	struct errbuf why = *eb;
	enum err e;

	close_conn(op->db);
	e = move_aside(op->db, eb);
	if (e)
		return e;
	log_warn("%s; moved aside to %s, starting an empty record", why.msg,
		 op->db->moved_to);
	op->refusable = false;
	e = open_checked(op, eb);
	if (e == ERR_OK)
		errbuf_set(eb, ERR_OK, "%s; moved aside to %s", why.msg,
			   op->db->moved_to);
	return e;
}

enum err allocdb_new(const struct allocdb_options *opts, struct allocdb **out,
		     struct errbuf *eb)
{
	struct errbuf local = ERRBUF_INIT;
	struct allocdb *db = xcalloc(1, sizeof(*db));
	struct opener op = {db, opts, false, false};
	enum err e;

	pthread_mutex_init(&db->lock, NULL);
	e = copy_ranges(db, opts, &local);
	if (e == ERR_OK)
		e = open_checked(&op, &local);
	/* An older schema of ours is moved aside without being asked: the
	 * Services rebuild it, and no newer build can read it either. */
	if (e && op.refusable && (opts->rebuild || op.outdated) &&
	    strcmp(db->path, ":memory:") != 0)
		e = rebuild(&op, &local);
	if (eb)
		*eb = local;
	if (e) {
		allocdb_free(db);
		return e;
	}
	*out = db;
	return ERR_OK;
}

void allocdb_free(struct allocdb *db)
{
	if (!db)
		return;
	if (db->conn)
		close_conn(db);
	for (size_t i = 0; i < db->nranges; i++) {
		free(db->ranges[i].name);
		free(db->ranges[i].spec);
	}
	free(db->ranges);
	free(db->moved_to);
	free(db->path);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

const char *allocdb_moved_to(const struct allocdb *db)
{
	return db->moved_to;
}
