/*
 * allocdb_replace: writes the repair pass's result (allocator.md §8.6):
 * the whole content of one or more ranges, and the repair time, in one
 * transaction, so a failed pass changes nothing. Each range's entries are
 * checked in memory first (a bitmap finds duplicates), then its owner
 * rows are replaced.
 * Locking: db->lock is held for the transaction only.
 */
#include "base.h"
#include "allocdb.h"

#include "allocdb_internal.h"

/* One range's validated new content. */
struct plan {
	const struct allocdb__range *r;
	const struct allocdb_content *c;
	unsigned char *bits; /* owned; (size + 7) / 8 bytes */
};

static enum err plan_entry(const struct plan *p, const struct allocdb_entry *x,
			   struct errbuf *eb)
{
	unsigned char mask = (unsigned char)(1u << (x->offset % 8));

	if (x->offset >= p->r->size)
		return errbuf_set(
		    eb, ERR_INVALID,
		    "range %s offset %llu: beyond the range's %llu values",
		    p->r->name, (unsigned long long)x->offset,
		    (unsigned long long)p->r->size);
	if (!allocdb__str_ok(x->ns, true) || !allocdb__str_ok(x->name, true) ||
	    !allocdb__str_ok(x->uid, false) || !allocdb__str_ok(x->field, true))
		return errbuf_set(eb, ERR_INVALID,
				  "range %s offset %llu: owner needs "
				  "namespace, name and field",
				  p->r->name, (unsigned long long)x->offset);
	if (p->bits[x->offset / 8] & mask)
		return errbuf_set(eb, ERR_INVALID,
				  "range %s offset %llu: listed twice",
				  p->r->name, (unsigned long long)x->offset);
	p->bits[x->offset / 8] |= mask;
	return ERR_OK;
}

static enum err plan_range(struct allocdb *db, struct plan *plans, size_t i,
			   struct errbuf *eb)
{
	struct plan *p = &plans[i];
	enum err e = ERR_OK;

	p->r = allocdb__range(db, p->c->range, eb);
	if (!p->r)
		return ERR_INVALID;
	for (size_t j = 0; j < i; j++)
		if (plans[j].r == p->r)
			return errbuf_set(eb, ERR_INVALID,
					  "range %s: given twice", p->r->name);
	p->bits = xcalloc((size_t)((p->r->size + 7) / 8), 1);
	for (size_t k = 0; e == ERR_OK && k < p->c->n; k++)
		e = plan_entry(p, &p->c->entries[k], eb);
	return e;
}

static enum err write_plan(struct allocdb *db, const struct plan *p,
			   struct errbuf *eb)
{
	sqlite3_stmt *st;
	enum err e;

	e = allocdb__stmt(db, ALLOCDB__DELETE_OWNERS, &st, eb);
	if (e)
		return e;
	sqlite3_bind_int64(st, 1, allocdb__key(p->r, 0));
	sqlite3_bind_int64(st, 2, allocdb__key(p->r, p->r->size));
	e = allocdb__run(db, st, "deleting a range's owners", eb);
	for (size_t k = 0; e == ERR_OK && k < p->c->n; k++)
		e = allocdb__insert_owner(db, p->r, &p->c->entries[k], eb);
	return e;
}

static enum err write_all(struct allocdb *db, const struct plan *plans,
			  size_t n, int64_t repair_ms, struct errbuf *eb)
{
	enum err e = allocdb__begin(db, eb);

	for (size_t i = 0; e == ERR_OK && i < n; i++)
		e = write_plan(db, &plans[i], eb);
	if (e == ERR_OK && repair_ms > 0)
		e = allocdb__exec_meta(db, "last_repair_ms", repair_ms, eb);
	return allocdb__end(db, e, eb);
}

enum err allocdb_replace(struct allocdb *db, const struct allocdb_content *c,
			 size_t n, int64_t repair_ms, struct errbuf *eb)
{
	struct plan *plans = xcalloc(n ? n : 1, sizeof(*plans));
	enum err e = ERR_OK;

	for (size_t i = 0; e == ERR_OK && i < n; i++) {
		plans[i].c = &c[i];
		e = plan_range(db, plans, i, eb);
	}
	if (e == ERR_OK) {
		pthread_mutex_lock(&db->lock);
		e = write_all(db, plans, n, repair_ms, eb);
		pthread_mutex_unlock(&db->lock);
	}
	for (size_t i = 0; i < n; i++)
		free(plans[i].bits);
	free(plans);
	return e;
}
