/*
 * allocator_repair: one repair pass over the allocator's record
 * (allocator.md §8.6). The pure pass (repair.c) compares the record with
 * a list of Services; this file feeds it the record under the lock,
 * corrects the values that changed after the list was taken (the journal
 * started by allocator_repair_begin), writes the result in one
 * transaction and makes the bitmaps and the tentative map follow it.
 *
 * Why the journal: the list is taken without the lock (it is network
 * I/O), so admission and the watch keep changing the record meanwhile. A
 * Service deleted after the list would otherwise be "repaired" back into
 * the record with a spurious ClusterIPNotAllocated event, and a value
 * reserved after the list would look unused. Upstream gets the same
 * exactness from a compare-and-swap on the bitmap, retried on conflict;
 * a journal needs no retry under churn.
 */
#include "base.h"
#include "allocator.h"

#include "allocator_internal.h"
#include "repair.h"

void allocator__touch(struct allocator *a, const struct allocator__val *v)
{
	if (!a->journaling)
		return;
	if (a->n_touched == a->cap_touched) {
		a->cap_touched = a->cap_touched ? 2 * a->cap_touched : 32;
		a->touched = xrealloc(a->touched,
				      a->cap_touched * sizeof(*a->touched));
	}
	a->touched[a->n_touched++] = *v;
}

static void journal_stop(struct allocator *a)
{
	a->journaling = false;
	a->n_touched = 0;
}

void allocator_repair_begin(struct allocator *a)
{
	pthread_mutex_lock(&a->lock);
	a->journaling = true;
	a->n_touched = 0;
	pthread_mutex_unlock(&a->lock);
}

void allocator_repair_end(struct allocator *a)
{
	pthread_mutex_lock(&a->lock);
	journal_stop(a);
	pthread_mutex_unlock(&a->lock);
}

/* The pass's input: every configured range with its current record. */
struct inputs {
	struct repair_range ranges[REPAIR_MAX_RANGES];
	enum allocator_range which[REPAIR_MAX_RANGES];
	struct allocdb_entry *record[REPAIR_MAX_RANGES]; /* owned */
	size_t n;
};

static void inputs_release(struct inputs *in)
{
	for (size_t i = 0; i < in->n; i++)
		allocdb_entries_free(in->record[i], in->ranges[i].n_record);
}

static enum err read_inputs(struct allocator *a, struct inputs *in,
			    struct errbuf *eb)
{
	for (int r = 0; r < ALLOCATOR_NRANGES; r++) {
		struct repair_range *rr = &in->ranges[in->n];
		enum err e;

		if (!allocator_has_range(a, (enum allocator_range)r))
			continue;
		memset(rr, 0, sizeof(*rr));
		rr->name = allocator__range_names[r];
		if (r == ALLOCATOR_NODEPORT) {
			rr->kind = REPAIR_RANGE_PORT;
			rr->ports = *portalloc_range(a->ports);
		} else {
			rr->kind = REPAIR_RANGE_IP;
			rr->cidr = *ipalloc_cidr(a->ip[r]);
		}
		e = allocdb_list(a->db, rr->name, &in->record[in->n],
				 &rr->n_record, eb);
		if (e != ERR_OK)
			return e;
		rr->record = in->record[in->n];
		in->which[in->n++] = (enum allocator_range)r;
	}
	return ERR_OK;
}

static int entry_cmp(const void *x, const void *y)
{
	const struct allocdb_entry *a = x, *b = y;

	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static const struct allocdb_entry *record_at(const struct repair_range *rr,
					     uint64_t off)
{
	struct allocdb_entry key = {.offset = off};

	if (rr->n_record == 0)
		return NULL;
	return bsearch(&key, rr->record, rr->n_record, sizeof(key),
		       entry_cmp);
}

static void entry_dup(struct allocdb_entry *dst,
		      const struct allocdb_entry *src)
{
	*dst = *src;
	dst->ns = xstrdup(src->ns ? src->ns : "");
	dst->name = xstrdup(src->name ? src->name : "");
	dst->uid = xstrdup(src->uid ? src->uid : "");
	dst->field = xstrdup(src->field ? src->field : "");
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Makes the bits and entries of the sorted, unique offsets t[0 .. nt)
 * what the record holds now: one filter of the pass's entries, one
 * append, one sort, however long the journal. */
static void keep_current(struct repair_range_result *res,
			 const struct repair_range *rr, const uint64_t *t,
			 size_t nt)
{
	size_t j = 0;

	for (size_t i = 0; i < res->n_entries; i++) {
		if (bsearch(&res->entries[i].offset, t, nt, sizeof(*t),
			    u64_cmp)) {
			allocdb_entry_release(&res->entries[i]);
			continue;
		}
		res->entries[j++] = res->entries[i];
	}
	res->entries =
	    xrealloc(res->entries, (j + nt + 1) * sizeof(*res->entries));
	res->n_entries = j;
	for (size_t k = 0; k < nt; k++) {
		const struct allocdb_entry *now = record_at(rr, t[k]);
		uint64_t bit = (uint64_t)1 << (t[k] % 64);

		if (now) {
			entry_dup(&res->entries[res->n_entries++], now);
			res->words[t[k] / 64] |= bit;
		} else {
			res->words[t[k] / 64] &= ~bit;
		}
	}
	qsort(res->entries, res->n_entries, sizeof(*res->entries), entry_cmp);
	j = 0;
	for (size_t i = 0; i < res->n_freed; i++)
		if (!bsearch(&res->freed[i], t, nt, sizeof(*t), u64_cmp))
			res->freed[j++] = res->freed[i];
	res->n_freed = j;
}

/* Drops the "not allocated" events about journaled values. */
static void drop_events(struct repair_result *out,
			const struct allocator__val *v, const char *range)
{
	size_t j = 0;

	for (size_t i = 0; i < out->n_events; i++) {
		struct repair_event *e = &out->events[i];

		if (e->range && strcmp(e->range, range) == 0 &&
		    e->offset == (int64_t)v->offset) {
			free(e->ns);
			free(e->name);
			free(e->uid);
			free(e->message);
			continue;
		}
		out->events[j++] = *e;
	}
	for (size_t i = 0; i < out->nranges; i++)
		if (strcmp(out->ranges[i].name, range) == 0)
			out->ranges[i].errors[REPAIR_ERR_REPAIR] -=
			    MIN(out->ranges[i].errors[REPAIR_ERR_REPAIR],
				(uint64_t)(out->n_events - j));
	out->n_events = j;
}

static uint64_t popcount_words(const uint64_t *w, size_t n)
{
	uint64_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += (uint64_t)__builtin_popcountll(w[i]);
	return c;
}

static int val_cmp(const void *x, const void *y)
{
	const struct allocator__val *a = x, *b = y;

	if (a->range != b->range)
		return a->range < b->range ? -1 : 1;
	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Sorts the journal and drops repeats (a value set, then cleared). */
static size_t journal_unique(struct allocator *a)
{
	size_t n = 0;

	if (a->n_touched)
		qsort(a->touched, a->n_touched, sizeof(*a->touched), val_cmp);
	for (size_t i = 0; i < a->n_touched; i++)
		if (n == 0 || val_cmp(&a->touched[n - 1], &a->touched[i]) != 0)
			a->touched[n++] = a->touched[i];
	return a->n_touched = n;
}

/* Journaled values keep their current state (see the file comment). */
static void apply_journal(struct allocator *a, struct repair *r,
			  const struct inputs *in, struct repair_result *out)
{
	size_t n = journal_unique(a);
	uint64_t *t = xcalloc(n ? n : 1, sizeof(*t));

	for (size_t i = 0; i < in->n; i++) {
		size_t nt = 0;

		for (size_t k = 0; k < n; k++) {
			const struct allocator__val *v = &a->touched[k];

			if (v->range != in->which[i])
				continue;
			t[nt++] = v->offset; /* sorted: the journal is */
			drop_events(out, v, in->ranges[i].name);
			repair_forget(r, in->ranges[i].name, v->offset);
		}
		if (nt)
			keep_current(&out->ranges[i], &in->ranges[i], t, nt);
	}
	free(t);
	for (size_t i = 0; i < in->n; i++) {
		struct repair_range_result *res = &out->ranges[i];
		uint64_t used = popcount_words(res->words, res->nwords);

		res->available += res->allocated;
		res->available -= MIN(res->available, used);
		res->allocated = used;
	}
}

/* The bitmaps follow the written result; tentative entries whose value
 * was freed go too. */
static void follow(struct allocator *a, const struct inputs *in,
		   const struct repair_result *out)
{
	struct errbuf eb = ERRBUF_INIT;

	for (size_t i = 0; i < in->n; i++) {
		const struct repair_range_result *res = &out->ranges[i];
		enum allocator_range k = in->which[i];

		if (k == ALLOCATOR_NODEPORT)
			BUG_ON(portalloc_load_words(a->ports, res->words,
						    res->nwords, &eb) != ERR_OK);
		else
			BUG_ON(ipalloc_load_words(a->ip[k], res->words,
						  res->nwords, &eb) != ERR_OK);
		for (size_t f = 0; f < res->n_freed; f++) {
			struct allocator__val v = {k, res->freed[f]};

			allocator__tent_drop(a, &v);
		}
	}
}

static enum err pass_locked(struct allocator *a, struct repair *r,
			    const struct repair_input *pin, struct inputs *in,
			    struct repair_result *out, struct errbuf *eb)
{
	struct allocdb_content c[REPAIR_MAX_RANGES];
	enum err e = repair_pass(r, pin, out, eb);

	if (e != ERR_OK)
		return e;
	apply_journal(a, r, in, out);
	repair_result_contents(out, c);
	e = allocdb_replace(a->db, c, out->nranges, pin->now_ms, eb);
	if (e != ERR_OK) {
		repair_result_release(out);
		return e;
	}
	follow(a, in, out);
	return ERR_OK;
}

enum err allocator_repair(struct allocator *a, struct repair *r,
			  const struct kube_service *const *services,
			  size_t n_services, int64_t list_ms,
			  struct repair_result *out, struct errbuf *eb)
{
	struct inputs in = {0};
	struct repair_input pin = {
	    .services = services,
	    .n_services = n_services,
	    .list_ms = list_ms,
	    .fresh = true, /* a quorum list, taken after the journal began */
	    .grace_ms = REPAIR_GRACE_MIN_MS,
	    .now_ms = clock_now_ms(),
	};
	enum err e;

	pthread_mutex_lock(&a->lock);
	e = read_inputs(a, &in, eb);
	pin.ranges = in.ranges;
	pin.nranges = in.n;
	if (e == ERR_OK)
		e = pass_locked(a, r, &pin, &in, out, eb);
	journal_stop(a);
	pthread_mutex_unlock(&a->lock);
	inputs_release(&in);
	return e;
}
