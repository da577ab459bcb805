/*
 * allocdb_write: the transactions of the record (allocator.md §8.2):
 * a batch of allocations and releases, a confirmation by the watch, and
 * the repair pass's replacement of whole ranges. Each is one BEGIN
 * IMMEDIATE … COMMIT under db->lock, committed before the call returns;
 * any error rolls the whole transaction back. Inputs are validated before
 * the transaction starts.
 *
 * A value is allocated iff its owner row exists (schema 2 stores no
 * separate bitmap), so a SET is one INSERT, whose primary key refuses a
 * taken value, and a CLEAR one DELETE: one small B-tree page per value.
 */
#include "base.h"
#include "allocdb.h"

#include "allocdb_internal.h"

bool allocdb__str_ok(const char *s, bool required)
{
	if (!s)
		return !required;
	if (required && !*s)
		return false;
	return strlen(s) < ALLOCDB_MAX_STR;
}

static enum err check_change(struct allocdb *db, const struct allocdb_change *c,
			     struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, c->range, eb);
	bool set = c->op == ALLOCDB_SET;

	if (!r)
		return ERR_INVALID;
	if (c->offset >= r->size)
		return errbuf_set(
		    eb, ERR_INVALID,
		    "range %s offset %llu: beyond the range's %llu values",
		    r->name, (unsigned long long)c->offset,
		    (unsigned long long)r->size);
	if (!set && c->op != ALLOCDB_CLEAR)
		return errbuf_set(
		    eb, ERR_INVALID, "range %s offset %llu: unknown op %d",
		    r->name, (unsigned long long)c->offset, (int)c->op);
	if (!allocdb__str_ok(c->ns, set) || !allocdb__str_ok(c->name, set) ||
	    !allocdb__str_ok(c->uid, false) ||
	    !allocdb__str_ok(c->field, set) || (!set && !c->ns != !c->name))
		return errbuf_set(
		    eb, ERR_INVALID,
		    "range %s offset %llu: owner needs namespace, name and "
		    "field of at most %d bytes",
		    r->name, (unsigned long long)c->offset,
		    ALLOCDB_MAX_STR - 1);
	return ERR_OK;
}

enum err allocdb__insert_owner(struct allocdb *db,
			       const struct allocdb__range *r,
			       const struct allocdb_entry *o, struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;
	int rc;

	e = allocdb__stmt(db, ALLOCDB__INSERT_OWNER, &st, eb);
	if (e)
		return e;
	sqlite3_bind_int64(st, 1, allocdb__key(r, o->offset));
	sqlite3_bind_text(st, 2, o->ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, o->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, o->uid ? o->uid : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o->field, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, o->taken_ms);
	sqlite3_bind_int(st, 7, o->confirmed);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		e = errbuf_set(eb, ERR_CONFLICT, "range %s offset %llu: taken",
			       r->name, (unsigned long long)o->offset);
	else if (rc != SQLITE_DONE)
		e = allocdb__fail(db, eb, "recording an owner");
	allocdb__done(st);
	return e;
}

/* Deletes the value's owner row (only ns/name's when ns is set); *gone
 * says whether a row was deleted. */
static enum err delete_owner(struct allocdb *db, const struct allocdb__range *r,
			     const struct allocdb_change *c, bool *gone,
			     struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__stmt(
	    db, c->ns ? ALLOCDB__DELETE_OWNED : ALLOCDB__DELETE_OWNER, &st, eb);
	if (e)
		return e;
	sqlite3_bind_int64(st, 1, allocdb__key(r, c->offset));
	if (c->ns) {
		sqlite3_bind_text(st, 2, c->ns, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		e = allocdb__fail(db, eb, "deleting an owner");
	else
		*gone = sqlite3_changes(db->conn) > 0;
	allocdb__done(st);
	return e;
}

/* ERR_CONFLICT naming the owner of a taken value. */
static enum err conflict(struct allocdb *db, const struct allocdb_change *c,
			 const char *why, struct errbuf *eb)
{
	struct allocdb_entry o = {0};
	const struct allocdb__range *r = allocdb__range(db, c->range, NULL);
	struct errbuf local = ERRBUF_INIT;
	enum err e;

	e = allocdb__owner(db, r, c->offset, &o, &local);
	if (e == ERR_OK)
		e = errbuf_set(eb, ERR_CONFLICT,
			       "range %s offset %llu: %s %s/%s uid=%s field %s",
			       c->range, (unsigned long long)c->offset, why,
			       o.ns, o.name, o.uid, o.field);
	else if (e != ERR_NOT_FOUND && eb)
		*eb = local;
	allocdb_entry_release(&o);
	return e;
}

static enum err apply_set(struct allocdb *db, const struct allocdb_change *c,
			  int64_t now_ms, struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, c->range, eb);
	struct allocdb_entry o = {
	    c->offset,	      (char *)c->ns, (char *)c->name, (char *)c->uid,
	    (char *)c->field, now_ms,	     c->confirmed,
	};
	enum err e;

	if (!r)
		return ERR_INVALID;
	e = allocdb__insert_owner(db, r, &o, eb);
	if (e == ERR_CONFLICT)
		e = conflict(db, c, "already allocated to", eb);
	/* eb keeps insert_owner's message if the row vanished meanwhile. */
	return e == ERR_NOT_FOUND ? ERR_CONFLICT : e;
}

/*
 * Releasing a free value is a no-op, as upstream's Release is. With an
 * owner named, a value that is not gone after the DELETE is either free
 * (fine) or someone else's (a conflict).
 */
static enum err apply_clear(struct allocdb *db, const struct allocdb_change *c,
			    struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, c->range, eb);
	bool gone = false;
	enum err e;

	if (!r)
		return ERR_INVALID;
	e = delete_owner(db, r, c, &gone, eb);
	if (e || gone || !c->ns)
		return e;
	e = conflict(db, c, "not released, owned by", eb);
	return e == ERR_NOT_FOUND ? ERR_OK : e;
}

enum err allocdb_apply(struct allocdb *db, const struct allocdb_change *ch,
		       size_t n, struct errbuf *eb)
{
	int64_t now_ms = clock_now_ms();
	enum err e = ERR_OK;

	for (size_t i = 0; e == ERR_OK && i < n; i++)
		e = check_change(db, &ch[i], eb);
	if (e || n == 0)
		return e;
	pthread_mutex_lock(&db->lock);
	e = allocdb__begin(db, eb);
	for (size_t i = 0; e == ERR_OK && i < n; i++)
		e = ch[i].op == ALLOCDB_SET ? apply_set(db, &ch[i], now_ms, eb)
					    : apply_clear(db, &ch[i], eb);
	e = allocdb__end(db, e, eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}

static enum err confirm_locked(struct allocdb *db,
			       const struct allocdb__range *r, uint64_t offset,
			       const char *uid, struct errbuf *eb)
{
	struct allocdb_entry o = {0};
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__owner(db, r, offset, &o, eb);
	if (e == ERR_OK && *uid && *o.uid && strcmp(uid, o.uid) != 0)
		e = errbuf_set(
		    eb, ERR_CONFLICT,
		    "range %s offset %llu: owned by %s/%s uid=%s, not uid=%s",
		    r->name, (unsigned long long)offset, o.ns, o.name, o.uid,
		    uid);
	allocdb_entry_release(&o);
	if (e)
		return e;
	e = allocdb__stmt(db, ALLOCDB__CONFIRM, &st, eb);
	if (e)
		return e;
	sqlite3_bind_int64(st, 1, allocdb__key(r, offset));
	sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
	return allocdb__run(db, st, "confirming an owner", eb);
}

enum err allocdb_confirm(struct allocdb *db, const char *range, uint64_t offset,
			 const char *uid, struct errbuf *eb)
{
	const struct allocdb__range *r = allocdb__range(db, range, eb);
	enum err e;

	if (!r)
		return ERR_INVALID;
	if (!allocdb__str_ok(uid, false))
		return errbuf_set(eb, ERR_INVALID,
				  "range %s offset %llu: uid too long", range,
				  (unsigned long long)offset);
	pthread_mutex_lock(&db->lock);
	e = allocdb__begin(db, eb);
	if (e == ERR_OK)
		e = allocdb__end(
		    db, confirm_locked(db, r, offset, uid ? uid : "", eb), eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}

enum err allocdb__exec_meta(struct allocdb *db, const char *key, int64_t value,
			    struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__stmt(db, ALLOCDB__META_SET, &st, eb);
	if (e)
		return e;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return allocdb__run(db, st, "writing meta", eb);
}

enum err allocdb_set_last_repair(struct allocdb *db, int64_t ms,
				 struct errbuf *eb)
{
	enum err e;

	pthread_mutex_lock(&db->lock);
	e = allocdb__begin(db, eb);
	if (e == ERR_OK)
		e = allocdb__end(
		    db, allocdb__exec_meta(db, "last_repair_ms", ms, eb), eb);
	pthread_mutex_unlock(&db->lock);
	return e;
}
