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
/*
 * PRAGMA user_version: the schema version this build reads and writes.
 * 1: a chunks table of 512-byte bitmap rows beside an allocations table
 * keyed by (range_name, bit), 4 KiB pages: three pages per allocation.
 * 2: one owners row per allocated value keyed by allocdb__key, the bitmap
 * rebuilt from the keys, 512-byte pages: one small page per allocation
 * (plus the occasional B-tree split).
 * A file of an older version is moved aside and rebuilt (allocdb_new).
 */
#define ALLOCDB__SCHEMA 2
/* PRAGMA page_size of new files: the smallest sqlite has, as a commit
 * writes 512 + 24 bytes of WAL per page it dirtied (4 KiB pages wrote
 * 3x more per allocation in bench-allocdb); an existing file keeps its
 * own. */
#define ALLOCDB__PAGE_SIZE_SQL "PRAGMA page_size = 512"
/* owners.key = ranges.id << ALLOCDB__KEY_SHIFT | offset. */
#define ALLOCDB__KEY_SHIFT 32

struct allocdb__range {
	char *name; /* owned */
	char *spec; /* owned */
	uint64_t size;
	int64_t id; /* ranges.id in the file, set by allocdb_new */
};

/* The owners.key of a range's offset; (r, r->size) is its end. */
static inline sqlite3_int64 allocdb__key(const struct allocdb__range *r,
					 uint64_t offset)
{
	return (sqlite3_int64)(((uint64_t)r->id << ALLOCDB__KEY_SHIFT) +
			       offset);
}

/*
 * The statements of the hot paths, prepared once per connection on first
 * use (allocdb__stmt) and finalised when the connection closes.
 */
enum allocdb__sql {
	ALLOCDB__BEGIN,
	ALLOCDB__COMMIT,
	ALLOCDB__ROLLBACK,
	ALLOCDB__KEYS_OF,
	ALLOCDB__OWNER,
	ALLOCDB__LIST,
	ALLOCDB__COUNT,
	ALLOCDB__INSERT_OWNER,
	ALLOCDB__DELETE_OWNER,
	ALLOCDB__DELETE_OWNED,
	ALLOCDB__CONFIRM,
	ALLOCDB__META_GET,
	ALLOCDB__META_SET,
	ALLOCDB__DELETE_OWNERS,
	ALLOCDB__NSQL
};

struct allocdb {
	pthread_mutex_t lock;
	sqlite3 *conn;			   /* guarded by lock */
	sqlite3_stmt *stmt[ALLOCDB__NSQL]; /* guarded by lock; lazy */
	char *path;			   /* owned; immutable */
	char *moved_to;			   /* owned; set once by allocdb_new */
	struct allocdb__range *ranges;	   /* owned; immutable after new */
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

/* Copies the text column (NULL becomes ""). */
char *allocdb__col_str(sqlite3_stmt *st, int col);
/* Fills e from columns key, ns, name, uid, field, taken_ms, confirmed
 * starting at column 0, for range r. */
void allocdb__col_entry(sqlite3_stmt *st, const struct allocdb__range *r,
			struct allocdb_entry *e);

/* The owner row of a value; ERR_NOT_FOUND when there is none. */
enum err allocdb__owner(struct allocdb *db, const struct allocdb__range *r,
			uint64_t offset, struct allocdb_entry *out,
			struct errbuf *eb) ATTR_WUR;
/* Inserts o's owner row (uid NULL stored as ""); ERR_CONFLICT when the
 * value already has one. */
enum err allocdb__insert_owner(struct allocdb *db,
			       const struct allocdb__range *r,
			       const struct allocdb_entry *o,
			       struct errbuf *eb) ATTR_WUR;
/* An owner string: present (non-empty) when required, shorter than
 * ALLOCDB_MAX_STR. */
bool allocdb__str_ok(const char *s, bool required);

/* Stores an integer meta value (inside the caller's transaction). */
enum err allocdb__exec_meta(struct allocdb *db, const char *key, int64_t value,
			    struct errbuf *eb) ATTR_WUR;

#endif /* CTRL_ALLOCDB_INTERNAL_H */
