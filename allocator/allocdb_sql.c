/*
 * allocdb_sql: the small sqlite helpers shared by the allocdb files:
 * error messages that name the file and the sqlite message, the cache of
 * prepared statements and transactions that always end in COMMIT or
 * ROLLBACK. Every function here expects db->lock to be held.
 */
#include "base.h"
#include "allocdb.h"

#include "allocdb_internal.h"

#define ENTRY_COLUMNS "key, namespace, name, uid, field, taken_ms, confirmed"

/* ?1 ?2 are a key range [allocdb__key(r, 0), allocdb__key(r, r->size)). */
static const char *const sql_text[ALLOCDB__NSQL] = {
    [ALLOCDB__BEGIN] = "BEGIN IMMEDIATE",
    [ALLOCDB__COMMIT] = "COMMIT",
    [ALLOCDB__ROLLBACK] = "ROLLBACK",
    [ALLOCDB__KEYS_OF] = "SELECT key FROM owners WHERE key >= ?1"
			 " AND key < ?2",
    [ALLOCDB__OWNER] = "SELECT " ENTRY_COLUMNS " FROM owners WHERE key = ?1",
    [ALLOCDB__LIST] = "SELECT " ENTRY_COLUMNS " FROM owners"
		      " WHERE key >= ?1 AND key < ?2 ORDER BY key",
    [ALLOCDB__COUNT] = "SELECT count(*), total(confirmed = 0) FROM owners"
		       " WHERE key >= ?1 AND key < ?2",
    [ALLOCDB__INSERT_OWNER] = "INSERT INTO owners(key, namespace, name, uid,"
			      " field, taken_ms, confirmed)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ALLOCDB__DELETE_OWNER] = "DELETE FROM owners WHERE key = ?1",
    [ALLOCDB__DELETE_OWNED] = "DELETE FROM owners WHERE key = ?1"
			      " AND namespace = ?2 AND name = ?3",
    /* Only a real change dirties a page: the watch confirms every value
     * on every Service event, and an unchanged commit costs no fsync. */
    [ALLOCDB__CONFIRM] = "UPDATE owners SET confirmed = 1,"
			 " uid = CASE WHEN uid = '' THEN ?2 ELSE uid END"
			 " WHERE key = ?1"
			 " AND (confirmed = 0 OR (uid = '' AND ?2 != ''))",
    [ALLOCDB__META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ALLOCDB__META_SET] = "INSERT OR REPLACE INTO meta(key, value)"
			  " VALUES (?1, ?2)",
    [ALLOCDB__DELETE_OWNERS] = "DELETE FROM owners WHERE key >= ?1"
			       " AND key < ?2",
};

const struct allocdb__range *allocdb__range(const struct allocdb *db,
					    const char *name, struct errbuf *eb)
{
	for (size_t i = 0; name && i < db->nranges; i++)
		if (strcmp(db->ranges[i].name, name) == 0)
			return &db->ranges[i];
	errbuf_set(eb, ERR_INVALID, "allocdb %s: range %s is not configured",
		   db->path, name ? name : "(null)");
	return NULL;
}

enum err allocdb__fail(const struct allocdb *db, struct errbuf *eb,
		       const char *what)
{
	int rc = sqlite3_extended_errcode(db->conn);

	return errbuf_set(eb, ERR_DB, "allocdb %s: %s: %s (sqlite %d)",
			  db->path, what, sqlite3_errmsg(db->conn), rc);
}

enum err allocdb__prepare(struct allocdb *db, const char *sql,
			  sqlite3_stmt **out, struct errbuf *eb)
{
	if (sqlite3_prepare_v2(db->conn, sql, -1, out, NULL) != SQLITE_OK) {
		*out = NULL;
		return allocdb__fail(db, eb, sql);
	}
	return ERR_OK;
}

enum err allocdb__stmt(struct allocdb *db, enum allocdb__sql id,
		       sqlite3_stmt **out, struct errbuf *eb)
{
	BUG_ON((unsigned)id >= ALLOCDB__NSQL);
	if (!db->stmt[id]) {
		if (sqlite3_prepare_v3(db->conn, sql_text[id], -1,
				       SQLITE_PREPARE_PERSISTENT, &db->stmt[id],
				       NULL) != SQLITE_OK) {
			db->stmt[id] = NULL;
			*out = NULL;
			return allocdb__fail(db, eb, sql_text[id]);
		}
	}
	*out = db->stmt[id];
	return ERR_OK;
}

void allocdb__done(sqlite3_stmt *st)
{
	/* reset repeats the step's error, which the caller has reported. */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

void allocdb__stmts_free(struct allocdb *db)
{
	for (size_t i = 0; i < ALLOCDB__NSQL; i++) {
		(void)sqlite3_finalize(db->stmt[i]);
		db->stmt[i] = NULL;
	}
}

enum err allocdb__run(struct allocdb *db, sqlite3_stmt *st, const char *what,
		      struct errbuf *eb)
{
	enum err e = ERR_OK;

	if (sqlite3_step(st) != SQLITE_DONE)
		e = allocdb__fail(db, eb, what);
	allocdb__done(st);
	return e;
}

enum err allocdb__exec(struct allocdb *db, const char *sql, struct errbuf *eb)
{
	if (sqlite3_exec(db->conn, sql, NULL, NULL, NULL) != SQLITE_OK)
		return allocdb__fail(db, eb, sql);
	return ERR_OK;
}

/*
 * IMMEDIATE takes the write lock at once, so a second process on the same
 * file waits here (busy timeout) instead of failing at the first write.
 */
enum err allocdb__begin(struct allocdb *db, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e = allocdb__stmt(db, ALLOCDB__BEGIN, &st, eb);

	return e ? e : allocdb__run(db, st, "BEGIN IMMEDIATE", eb);
}

static void rollback(struct allocdb *db)
{
	sqlite3_stmt *st;

	if (allocdb__stmt(db, ALLOCDB__ROLLBACK, &st, NULL) == ERR_OK) {
		(void)sqlite3_step(st);
		allocdb__done(st);
	}
	/* Not even a ROLLBACK could be prepared: the last resort. */
	if (!sqlite3_get_autocommit(db->conn))
		(void)sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

enum err allocdb__end(struct allocdb *db, enum err e, struct errbuf *eb)
{
	sqlite3_stmt *st;

	if (e == ERR_OK) {
		e = allocdb__stmt(db, ALLOCDB__COMMIT, &st, eb);
		if (e == ERR_OK)
			e = allocdb__run(db, st, "COMMIT", eb);
		if (e == ERR_OK)
			return ERR_OK;
	}
	/* A failed COMMIT (e.g. SQLITE_FULL) leaves the transaction open. */
	if (!sqlite3_get_autocommit(db->conn))
		rollback(db);
	return e;
}

char *allocdb__col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return xstrdup(s ? (const char *)s : "");
}

void allocdb__col_entry(sqlite3_stmt *st, const struct allocdb__range *r,
			struct allocdb_entry *e)
{
	e->offset =
	    (uint64_t)(sqlite3_column_int64(st, 0) - allocdb__key(r, 0));
	e->ns = allocdb__col_str(st, 1);
	e->name = allocdb__col_str(st, 2);
	e->uid = allocdb__col_str(st, 3);
	e->field = allocdb__col_str(st, 4);
	e->taken_ms = sqlite3_column_int64(st, 5);
	e->confirmed = sqlite3_column_int(st, 6) != 0;
}
