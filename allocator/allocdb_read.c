/*
 * allocdb_read: the queries of the record: a range's bitmap (rebuilt
 * from the keys of its owner rows), one value's owner, all owners of a range,
 * counts and the last repair time. Each is one statement (a consistent
 * snapshot) under db->lock; results are copied out before the lock is dropped.
 */
#include "base.h"
#include "allocdb.h"

#include "allocdb_internal.h"

/* Binds the range's key interval to ?1 and ?2. */
static void bind_range(sqlite3_stmt *st, const struct allocdb__range *r)
{
	sqlite3_bind_int64(st, 1, allocdb__key(r, 0));
	sqlite3_bind_int64(st, 2, allocdb__key(r, r->size));
}

/* Sets the bit of every owner row of the range in words (zeroed). */
static enum err load_words(struct allocdb *db, const struct allocdb__range *r,
			   uint64_t *words, struct errbuf *eb)
{
	sqlite3_int64 base = allocdb__key(r, 0);
	sqlite3_stmt *st;
	enum err e;
	int rc;

	e = allocdb__stmt(db, ALLOCDB__KEYS_OF, &st, eb);
	if (e)
		return e;
	bind_range(st, r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t bit = (uint64_t)(sqlite3_column_int64(st, 0) - base);

		words[bit / 64] |= (uint64_t)1 << (bit % 64);
	}
	if (rc != SQLITE_DONE)
		e = allocdb__fail(db, eb, "reading owners");
	allocdb__done(st);
	return e;
}

enum err allocdb_load(struct allocdb *db, const char *range, uint64_t *words,
		      size_t nwords, struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, range, eb);
	enum err e;

	if (!r)
		return ERR_INVALID;
	if (nwords < (r->size + 63) / 64)
		return errbuf_set(
		    eb, ERR_INVALID,
		    "allocdb %s: range %s needs %llu words, got %zu", db->path,
		    range, (unsigned long long)((r->size + 63) / 64), nwords);
	memset(words, 0, nwords * sizeof(*words));
	pthread_mutex_lock(&db->lock);
	e = load_words(db, r, words, eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}

enum err allocdb__owner(struct allocdb *db, const struct allocdb__range *r,
			uint64_t offset, struct allocdb_entry *out,
			struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;
	int rc;

	e = allocdb__stmt(db, ALLOCDB__OWNER, &st, eb);
	if (e)
		return e;
	sqlite3_bind_int64(st, 1, allocdb__key(r, offset));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		allocdb__col_entry(st, r, out);
	else if (rc == SQLITE_DONE)
		e = errbuf_set(eb, ERR_NOT_FOUND,
			       "range %s offset %llu is free", r->name,
			       (unsigned long long)offset);
	else
		e = allocdb__fail(db, eb, "looking up an owner");
	allocdb__done(st);
	return e;
}

enum err allocdb_lookup(struct allocdb *db, const char *range, uint64_t offset,
			struct allocdb_entry *out, struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, range, eb);
	enum err e;

	if (!r)
		return ERR_INVALID;
	pthread_mutex_lock(&db->lock);
	e = allocdb__owner(db, r, offset, out, eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}

static enum err list_locked(struct allocdb *db, const struct allocdb__range *r,
			    struct allocdb_entry **out, size_t *n,
			    struct errbuf *eb)
{
	struct allocdb_entry *v = NULL;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st;
	enum err e;
	int rc;

	e = allocdb__stmt(db, ALLOCDB__LIST, &st, eb);
	if (e)
		return e;
	bind_range(st, r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		allocdb__col_entry(st, r, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		e = allocdb__fail(db, eb, "listing owners");
		allocdb__done(st);
		allocdb_entries_free(v, len);
		return e;
	}
	allocdb__done(st);
	*out = v;
	*n = len;
	return ERR_OK;
}

enum err allocdb_list(struct allocdb *db, const char *range,
		      struct allocdb_entry **out, size_t *n, struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, range, eb);
	enum err e;

	if (!r)
		return ERR_INVALID;
	pthread_mutex_lock(&db->lock);
	e = list_locked(db, r, out, n, eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}

static enum err count_locked(struct allocdb *db, const struct allocdb__range *r,
			     struct allocdb_counts *out, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__stmt(db, ALLOCDB__COUNT, &st, eb);
	if (e)
		return e;
	bind_range(st, r);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->used = (uint64_t)sqlite3_column_int64(st, 0);
		out->tentative = (uint64_t)sqlite3_column_int64(st, 1);
	} else {
		e = allocdb__fail(db, eb, "counting owners");
	}
	allocdb__done(st);
	return e;
}

enum err allocdb_count(struct allocdb *db, const char *range,
		       struct allocdb_counts *out, struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, range, eb);
	struct allocdb_counts c = {0, 0, 0};
	enum err e;

	if (!r)
		return ERR_INVALID;
	c.size = r->size;
	pthread_mutex_lock(&db->lock);
	e = count_locked(db, r, &c, eb);
	pthread_mutex_unlock(&db->lock);
	if (e == ERR_OK)
		*out = c;
	return e;
}

enum err allocdb_last_repair(struct allocdb *db, int64_t *out_ms,
			     struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	pthread_mutex_lock(&db->lock);
	e = allocdb__stmt(db, ALLOCDB__META_GET, &st, eb);
	if (e == ERR_OK) {
		sqlite3_bind_text(st, 1, "last_repair_ms", -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			*out_ms = sqlite3_column_int64(st, 0);
		else
			e = allocdb__fail(db, eb,
					  "reading meta.last_repair_ms");
		allocdb__done(st);
	}
	pthread_mutex_unlock(&db->lock);
	return e;
}

void allocdb_entry_release(struct allocdb_entry *e)
{
	if (!e)
		return;
	free(e->ns);
	free(e->name);
	free(e->uid);
	free(e->field);
	memset(e, 0, sizeof(*e));
}

void allocdb_entries_free(struct allocdb_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		allocdb_entry_release(&v[i]);
	free(v);
}
