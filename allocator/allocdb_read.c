/*
 * allocdb_read: the queries of the record: a range's bitmap, one value's
 * owner, all owners of a range, counts and the last repair time. Each is
 * one statement (a consistent snapshot) under db->lock; results are
 * copied out before the lock is dropped.
 */
#include "base.h"
#include "allocdb.h"

#include "allocdb_internal.h"

/* ORs one stored chunk into words; chunk bytes are LSB-first, so byte j
 * holds bits 8j..8j+7 and lands whole inside one word. */
static enum err or_chunk(const struct allocdb__range *r, uint64_t chunk,
			 const unsigned char *bits, int len, uint64_t *words,
			 struct errbuf *eb)
{
	size_t nwords = (size_t)((r->size + 63) / 64);
	uint64_t base = chunk * ALLOCDB_CHUNK_BITS;

	if (len != ALLOCDB_CHUNK_BYTES || base >= r->size)
		return errbuf_set(
		    eb, ERR_DECODE,
		    "range %s chunk %llu: %d bytes for a range of %llu values",
		    r->name, (unsigned long long)chunk, len,
		    (unsigned long long)r->size);
	for (size_t j = 0; j < ALLOCDB_CHUNK_BYTES; j++) {
		uint64_t bit = base + 8 * j;

		if (bits[j] == 0)
			continue;
		if (bit / 64 >= nwords)
			return errbuf_set(eb, ERR_DECODE,
					  "range %s: bit %llu set beyond the "
					  "range's %llu values",
					  r->name, (unsigned long long)bit,
					  (unsigned long long)r->size);
		words[bit / 64] |= (uint64_t)bits[j] << (bit % 64);
	}
	return ERR_OK;
}

enum err allocdb__load_words(struct allocdb *db, const struct allocdb__range *r,
			     uint64_t *words, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;
	int rc = SQLITE_DONE;

	e = allocdb__stmt(db, ALLOCDB__CHUNKS_OF, &st, eb);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	while (e == ERR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		e = or_chunk(r, (uint64_t)sqlite3_column_int64(st, 0),
			     sqlite3_column_blob(st, 1),
			     sqlite3_column_bytes(st, 1), words, eb);
	if (e == ERR_OK && rc != SQLITE_DONE)
		e = allocdb__fail(db, eb, "reading chunks");
	allocdb__done(st);
	return e;
}

enum err allocdb__count_owned_bits(struct allocdb *db,
				   const struct allocdb__range *r,
				   const uint64_t *words, uint64_t *rows,
				   uint64_t *matched, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;
	int rc;

	e = allocdb__stmt(db, ALLOCDB__BITS_OF, &st, eb);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	*rows = *matched = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sqlite3_int64 bit = sqlite3_column_int64(st, 0);

		(*rows)++;
		if (bit >= 0 && (uint64_t)bit < r->size &&
		    (words[bit / 64] >> (bit % 64) & 1))
			(*matched)++;
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
	e = allocdb__load_words(db, r, words, eb);
	pthread_mutex_unlock(&db->lock);
	/* Checked at open, so a bad chunk now is damage behind our back. */
	return e == ERR_DECODE ? ERR_DB : e;
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
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)offset);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		allocdb__col_entry(st, out);
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

static enum err list_locked(struct allocdb *db, const char *range,
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
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? 2 * cap : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		allocdb__col_entry(st, &v[len++]);
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
	enum err e;

	if (!allocdb__range(db, range, eb))
		return ERR_INVALID;
	pthread_mutex_lock(&db->lock);
	e = list_locked(db, range, out, n, eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}

static enum err count_locked(struct allocdb *db, const char *range,
			     struct allocdb_counts *out, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__stmt(db, ALLOCDB__COUNT, &st, eb);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, range, -1, SQLITE_STATIC);
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
	e = count_locked(db, range, &c, eb);
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
