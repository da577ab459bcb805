/*
 * allocdb_sql: the small sqlite helpers shared by the allocdb files:
 * error messages that name the file and the sqlite message, statement
 * preparation, transactions that always end in COMMIT or ROLLBACK, and
 * chunk rows. Every function here expects db->lock to be held.
 */
#include "base.h"
#include "allocdb.h"

#include "allocdb_internal.h"

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
	return allocdb__exec(db, "BEGIN IMMEDIATE", eb);
}

enum err allocdb__end(struct allocdb *db, enum err e, struct errbuf *eb)
{
	if (e == ERR_OK) {
		e = allocdb__exec(db, "COMMIT", eb);
		if (e == ERR_OK)
			return ERR_OK;
	}
	/* A failed COMMIT (e.g. SQLITE_FULL) leaves the transaction open. */
	if (!sqlite3_get_autocommit(db->conn))
		(void)sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	return e;
}

enum err allocdb__chunk_read(struct allocdb *db, const char *range,
			     uint64_t chunk,
			     unsigned char out[ALLOCDB_CHUNK_BYTES],
			     struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;
	int rc;

	e = allocdb__prepare(db,
			     "SELECT bits FROM chunks"
			     " WHERE range_name = ?1 AND chunk = ?2",
			     &st, eb);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)chunk);
	memset(out, 0, ALLOCDB_CHUNK_BYTES);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != ALLOCDB_CHUNK_BYTES)
			e = errbuf_set(
			    eb, ERR_DB,
			    "allocdb %s: range %s chunk %llu: %d bytes, want "
			    "%d",
			    db->path, range, (unsigned long long)chunk,
			    sqlite3_column_bytes(st, 0), ALLOCDB_CHUNK_BYTES);
		else
			memcpy(out, sqlite3_column_blob(st, 0),
			       ALLOCDB_CHUNK_BYTES);
	} else if (rc != SQLITE_DONE) {
		e = allocdb__fail(db, eb, "reading a chunk");
	}
	sqlite3_finalize(st);
	return e;
}

enum err allocdb__chunk_write(struct allocdb *db, const char *range,
			      uint64_t chunk,
			      const unsigned char bits[ALLOCDB_CHUNK_BYTES],
			      struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__prepare(
	    db,
	    "INSERT OR REPLACE INTO chunks(range_name, chunk, bits)"
	    " VALUES (?1, ?2, ?3)",
	    &st, eb);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)chunk);
	sqlite3_bind_blob(st, 3, bits, ALLOCDB_CHUNK_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		e = allocdb__fail(db, eb, "writing a chunk");
	sqlite3_finalize(st);
	return e;
}

char *allocdb__col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return xstrdup(s ? (const char *)s : "");
}

void allocdb__col_entry(sqlite3_stmt *st, struct allocdb_entry *e)
{
	e->offset = (uint64_t)sqlite3_column_int64(st, 0);
	e->ns = allocdb__col_str(st, 1);
	e->name = allocdb__col_str(st, 2);
	e->uid = allocdb__col_str(st, 3);
	e->field = allocdb__col_str(st, 4);
	e->taken_ms = sqlite3_column_int64(st, 5);
	e->confirmed = sqlite3_column_int(st, 6) != 0;
}
