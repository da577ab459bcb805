#ifndef CTRL_ALLOCDB_INTERNAL_H
#define CTRL_ALLOCDB_INTERNAL_H

/*
 * Shared by allocator/allocdb*.c only: the object, the schema constants
 * and the small sqlite helpers. Every helper taking a struct allocdb
 * expects db->lock to be held by the caller.
 */

#include <pthread.h>
#include <sqlite3.h>

/* "SVCA" in PRAGMA application_id marks our files (foreign-file check). */
#define ALLOCDB__APP_ID 0x53564341
/* PRAGMA user_version: the schema version this build reads and writes. */
#define ALLOCDB__SCHEMA 1

struct allocdb__range {
	char *name; /* owned */
	char *spec; /* owned */
	uint64_t size;
};

/*
 * The statements of the hot paths, prepared once per connection on first
 * use (allocdb__stmt) and finalised when the connection closes.
 */
enum allocdb__sql {
	ALLOCDB__BEGIN,
	ALLOCDB__COMMIT,
	ALLOCDB__ROLLBACK,
	ALLOCDB__CHUNK_READ,
	ALLOCDB__CHUNK_WRITE,
	ALLOCDB__CHUNKS_OF,
	ALLOCDB__BITS_OF,
	ALLOCDB__OWNER,
	ALLOCDB__LIST,
	ALLOCDB__COUNT,
	ALLOCDB__INSERT_OWNER,
	ALLOCDB__DELETE_OWNER,
	ALLOCDB__CONFIRM,
	ALLOCDB__META_GET,
	ALLOCDB__META_SET,
	ALLOCDB__DELETE_CHUNKS,
	ALLOCDB__DELETE_OWNERS,
	ALLOCDB__NSQL
};

struct allocdb {
	pthread_mutex_t lock;
	sqlite3 *conn;		       /* guarded by lock */
	sqlite3_stmt *stmt[ALLOCDB__NSQL]; /* guarded by lock; NULL until used */
	char *path;		       /* owned; immutable */
	char *moved_to;		       /* owned; set once by allocdb_new */
	struct allocdb__range *ranges; /* owned; immutable after new */
	size_t nranges;
};

/* The configured range named name, or NULL with ERR_INVALID in eb. */
const struct allocdb__range *
allocdb__range(const struct allocdb *db, const char *name, struct errbuf *eb);
/* Sets eb to "allocdb <path>: <what>: <sqlite message>" and returns
 * ERR_DB. */
enum err allocdb__fail(const struct allocdb *db, struct errbuf *eb,
		       const char *what);
/* Prepares sql; ERR_DB naming it on failure. */
enum err allocdb__prepare(struct allocdb *db, const char *sql,
			  sqlite3_stmt **out, struct errbuf *eb) ATTR_WUR;
/*
 * The cached statement id, prepared on first use; ERR_DB naming it when
 * that fails. Hand it back with allocdb__done on every path, so no
 * statement keeps a read transaction or a borrowed binding.
 */
enum err allocdb__stmt(struct allocdb *db, enum allocdb__sql id,
		       sqlite3_stmt **out, struct errbuf *eb) ATTR_WUR;
/* Resets st and clears its bindings; NULL is a no-op. */
void allocdb__done(sqlite3_stmt *st);
/* Finalises every cached statement (before the connection closes). */
void allocdb__stmts_free(struct allocdb *db);
/* Steps a cached statement that returns no rows: SQLITE_DONE, else
 * ERR_DB naming what; the statement is handed back either way. */
enum err allocdb__run(struct allocdb *db, sqlite3_stmt *st, const char *what,
		      struct errbuf *eb) ATTR_WUR;
/* Runs SQL without results. */
enum err allocdb__exec(struct allocdb *db, const char *sql,
		       struct errbuf *eb) ATTR_WUR;
enum err allocdb__begin(struct allocdb *db, struct errbuf *eb) ATTR_WUR;
/* Commits, or rolls back when e is not ERR_OK; returns the final error. */
enum err allocdb__end(struct allocdb *db, enum err e,
		      struct errbuf *eb) ATTR_WUR;

/* Reads one chunk (zeros when the row is missing); ERR_DB when the
 * stored blob has the wrong size. */
enum err allocdb__chunk_read(struct allocdb *db, const char *range,
			     uint64_t chunk,
			     unsigned char out[ALLOCDB_CHUNK_BYTES],
			     struct errbuf *eb) ATTR_WUR;
enum err allocdb__chunk_write(struct allocdb *db, const char *range,
			      uint64_t chunk,
			      const unsigned char bits[ALLOCDB_CHUNK_BYTES],
			      struct errbuf *eb) ATTR_WUR;
/* Copies the text column (NULL becomes ""). */
char *allocdb__col_str(sqlite3_stmt *st, int col);
/* Fills e from columns offset, ns, name, uid, field, taken_ms, confirmed
 * starting at column 0. */
void allocdb__col_entry(sqlite3_stmt *st, struct allocdb_entry *e);

/*
 * ORs the range's bitmap into words ((size + 63) / 64 of them, zeroed by
 * the caller). ERR_DECODE for a chunk of the wrong size or beyond the
 * range (the file's content is wrong), ERR_DB for sqlite errors.
 */
enum err allocdb__load_words(struct allocdb *db, const struct allocdb__range *r,
			     uint64_t *words, struct errbuf *eb) ATTR_WUR;
/* Counts the range's owner rows, and those whose bit is set in words. */
enum err allocdb__count_owned_bits(struct allocdb *db,
				   const struct allocdb__range *r,
				   const uint64_t *words, uint64_t *rows,
				   uint64_t *matched,
				   struct errbuf *eb) ATTR_WUR;

/* The owner row of a value; ERR_NOT_FOUND when there is none. */
enum err allocdb__owner(struct allocdb *db, const struct allocdb__range *r,
			uint64_t offset, struct allocdb_entry *out,
			struct errbuf *eb) ATTR_WUR;
/* Inserts o's owner row (uid NULL stored as ""). */
enum err allocdb__insert_owner(struct allocdb *db, const char *range,
			       const struct allocdb_entry *o,
			       struct errbuf *eb) ATTR_WUR;
/* An owner string: present (non-empty) when required, shorter than
 * ALLOCDB_MAX_STR. */
bool allocdb__str_ok(const char *s, bool required);

/* Stores an integer meta value (inside the caller's transaction). */
enum err allocdb__exec_meta(struct allocdb *db, const char *key, int64_t value,
			    struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_ALLOCDB_INTERNAL_H */
