/*
 * repair: the driver of one pure repair pass and the leak counters kept
 * between passes (allocator.md §4.3 step 5, §8.6). A pass builds the
 * rebuilt sets from the Services (repair_collect.c), then walks the record:
 * values in use take the record's time, unused young values are kept, and
 * leak candidates advance their counter 2 -> 1 -> 0 -> freed (upstream
 * numRepairsBeforeLeakCleanup = 3). The new counters replace the old ones
 * only when the whole pass succeeds, so an aborted pass changes nothing.
 * One owner; no locking.
 */
#include "base.h"
#include "repair.h"

#include "repair_internal.h"

/* upstream numRepairsBeforeLeakCleanup */
#define LEAK_START (3 - 1)

struct leak {
	char *range; /* owned */
	uint64_t offset;
	int count; /* 0..LEAK_START - 1 after a pass */
};

struct repair {
	struct leak *v; /* owned, sorted by (range, offset) */
	size_t n;
};

/* The counters being built by one pass. */
struct leaks {
	struct leak *v;
	size_t n;
	size_t cap;
};

struct repair *repair_new(void)
{
	return xcalloc(1, sizeof(struct repair));
}

static void leaks_free(struct leak *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].range);
	free(v);
}

void repair_free(struct repair *r)
{
	if (!r)
		return;
	leaks_free(r->v, r->n);
	free(r);
}

static int leak_cmp(const void *a, const void *b)
{
	const struct leak *x = a;
	const struct leak *y = b;
	int c = strcmp(x->range, y->range);

	if (c)
		return c;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static const struct leak *leak_find(const struct repair *r, const char *range,
				    uint64_t offset)
{
	struct leak key = {.range = (char *)range, .offset = offset};

	if (r->n == 0)
		return NULL;
	return bsearch(&key, r->v, r->n, sizeof(*r->v), leak_cmp);
}

int repair_leak_counter(const struct repair *r, const char *range,
			uint64_t offset)
{
	const struct leak *l = leak_find(r, range, offset);

	return l ? l->count : -1;
}

void repair_forget(struct repair *r, const char *range, uint64_t offset)
{
	const struct leak *l = leak_find(r, range, offset);
	size_t i;

	if (!l)
		return;
	i = (size_t)(l - r->v);
	free(r->v[i].range);
	memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof(*r->v));
	r->n--;
}

size_t repair_leak_count(const struct repair *r)
{
	return r->n;
}

const char *repair_error_type_name(enum repair_error_type t)
{
	static const char *const names[REPAIR_ERR__COUNT] = {
	    "leak",	 "repair",  "full",    "outOfRange",
	    "duplicate", "invalid", "unknown",
	};

	BUG_ON((unsigned)t >= REPAIR_ERR__COUNT);
	return names[t];
}

static void leaks_add(struct leaks *l, const char *range, uint64_t offset,
		      int count)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].range = xstrdup(range);
	l->v[l->n].offset = offset;
	l->v[l->n].count = count;
	l->n++;
}

/* ---- Input checks and set-up ------------------------------------------- */

/* Two IP ranges of one family, or two ranges of one name. */
static bool clash(const struct repair_range *a, const struct repair_range *b)
{
	return strcmp(a->name, b->name) == 0 ||
	       (a->kind == REPAIR_RANGE_IP && b->kind == REPAIR_RANGE_IP &&
		a->cidr.addr.family == b->cidr.addr.family);
}

static enum err check_range(const struct repair_input *in, size_t i,
			    size_t *nport, struct errbuf *eb)
{
	const struct repair_range *a = &in->ranges[i];

	if (!a->name || !*a->name)
		return errbuf_set(eb, ERR_INVALID,
				  "repair: range %zu has no name", i);
	if (a->kind == REPAIR_RANGE_PORT && ++*nport > 1)
		return errbuf_set(eb, ERR_INVALID,
				  "repair: range %s: a second port range",
				  a->name);
	for (size_t j = 0; j < i; j++)
		if (clash(a, &in->ranges[j]))
			return errbuf_set(
			    eb, ERR_INVALID,
			    "repair: range %s: name or family of %s", a->name,
			    in->ranges[j].name);
	return ERR_OK;
}

static enum err check_ranges(const struct repair_input *in, struct errbuf *eb)
{
	size_t nport = 0;
	enum err e = ERR_OK;

	if (in->nranges == 0 || in->nranges > REPAIR_MAX_RANGES)
		return errbuf_set(eb, ERR_INVALID,
				  "repair: %zu ranges given, want 1 to %d",
				  in->nranges, REPAIR_MAX_RANGES);
	for (size_t i = 0; e == ERR_OK && i < in->nranges; i++)
		e = check_range(in, i, &nport, eb);
	return e;
}

static enum err setup_range(struct repair__range *rr,
			    const struct repair_range *in,
			    struct repair_range_result *res, struct errbuf *eb)
{
	enum err e;

	rr->in = in;
	rr->res = res;
	res->name = in->name;
	if (in->kind == REPAIR_RANGE_IP) {
		e = ipalloc_new(&in->cidr, &rr->ia, eb);
		if (e)
			return e;
		rr->max = ipalloc_geom(rr->ia)->max;
	} else {
		rr->pa = portalloc_new(&in->ports);
		rr->max = in->ports.size;
	}
	rr->stored = xcalloc((size_t)(rr->max / 64 + 1), sizeof(uint64_t));
	for (size_t i = 0; i < in->n_record; i++) {
		uint64_t off = in->record[i].offset;

		if (off >= rr->max)
			return errbuf_set(
			    eb, ERR_INVALID,
			    "repair: range %s: offset %llu >= %llu", in->name,
			    (unsigned long long)off,
			    (unsigned long long)rr->max);
		rr->stored[off / 64] |= (uint64_t)1 << (off % 64);
	}
	return ERR_OK;
}

static void entry_copy(struct allocdb_entry *dst,
		       const struct allocdb_entry *src)
{
	dst->offset = src->offset;
	dst->ns = xstrdup(src->ns ? src->ns : "");
	dst->name = xstrdup(src->name ? src->name : "");
	dst->uid = xstrdup(src->uid ? src->uid : "");
	dst->field = xstrdup(src->field ? src->field : "");
	dst->taken_ms = src->taken_ms;
	dst->confirmed = src->confirmed;
}

static void entries_free(struct allocdb_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].ns);
		free(v[i].name);
		free(v[i].uid);
		free(v[i].field);
	}
	free(v);
}

static void pass_release(struct repair__pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct repair__range *rr = &p->rr[i];

		ipalloc_free(rr->ia);
		portalloc_free(rr->pa);
		free(rr->stored);
		entries_free(rr->used, rr->n_used);
	}
	for (size_t i = 0; i < p->n_ev; i++) {
		free(p->ev[i].ns);
		free(p->ev[i].name);
		free(p->ev[i].uid);
		free(p->ev[i].message);
	}
	free(p->ev);
}

/* ---- The record walk ------------------------------------------------- */

static const uint64_t *rebuilt_words(const struct repair__range *rr, size_t *n)
{
	return rr->ia ? ipalloc_words(rr->ia, n) : portalloc_words(rr->pa, n);
}

static enum err keep_offset(struct repair__range *rr, uint64_t off)
{
	struct cidr_addr a;

	if (rr->pa)
		return portalloc_allocate(
		    rr->pa, (int)(rr->in->ports.base + off), NULL);
	ipalloc_addr_at(rr->ia, off, &a);
	return ipalloc_allocate(rr->ia, &a, NULL);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct allocdb_entry *x = a;
	const struct allocdb_entry *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void push_entry(struct repair_range_result *res, size_t *cap,
		       const struct allocdb_entry *src)
{
	if (res->n_entries == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		res->entries =
		    xrealloc(res->entries, *cap * sizeof(*res->entries));
	}
	entry_copy(&res->entries[res->n_entries++], src);
}

static void push_freed(struct repair_range_result *res, uint64_t off)
{
	res->freed =
	    xrealloc(res->freed, (res->n_freed + 1) * sizeof(*res->freed));
	res->freed[res->n_freed++] = off;
}

/* The in-use entry at off takes the record's time (the first record entry
 * wins when the record lists an offset twice). */
static void stamp_used(struct repair__range *rr, const struct allocdb_entry *x)
{
	struct allocdb_entry key = {.offset = x->offset};
	struct allocdb_entry *u;

	if (rr->n_used == 0)
		return;
	u = bsearch(&key, rr->used, rr->n_used, sizeof(*rr->used), entry_cmp);
	if (u && u->taken_ms == 0)
		u->taken_ms = x->taken_ms;
}

struct walk {
	const struct repair *r;
	const struct repair_input *in;
	struct leaks *next;
	uint64_t *seen; /* record offsets already handled */
	size_t cap;	/* of res->entries */
};

/* A candidate on a fresh list: counts down, or frees at 0 (upstream
 * repair.go step 5). Returns whether the value is kept. */
static bool count_down(struct walk *w, struct repair__range *rr,
		       const struct allocdb_entry *x, const struct leak *old)
{
	const char *name = rr->in->name;
	unsigned long long off = (unsigned long long)x->offset;
	int count = old ? old->count : LEAK_START;

	if (count == 0) {
		log_info("repair: %s %llu appears to have leaked: cleaning up",
			 name, off);
		rr->res->errors[REPAIR_ERR_LEAK]++;
		push_freed(rr->res, x->offset);
		return false;
	}
	if (!old)
		log_info(
		    "repair: %s %llu may have leaked: flagging for cleanup",
		    name, off);
	leaks_add(w->next, name, x->offset, count - 1);
	return true;
}

/* One unused record value: young, deferred, counted down or freed. */
static enum err unused_value(struct walk *w, struct repair__range *rr,
			     const struct allocdb_entry *x)
{
	int64_t grace = MAX(w->in->grace_ms, REPAIR_GRACE_MIN_MS);
	const struct leak *old = leak_find(w->r, rr->in->name, x->offset);
	struct repair_range_result *res = rr->res;

	if (x->taken_ms < w->in->list_ms - grace) {
		if (w->in->fresh) {
			if (!count_down(w, rr, x, old))
				return ERR_OK;
		} else {
			res->deferred++;
			if (old)
				leaks_add(w->next, rr->in->name, x->offset,
					  old->count);
		}
		res->leaks_pending++;
	}
	push_entry(res, &w->cap, x);
	return keep_offset(rr, x->offset);
}

static enum err walk_record(struct walk *w, struct repair__range *rr)
{
	const struct repair_range *in = rr->in;
	size_t n;
	enum err e = ERR_OK;

	if (rr->n_used)
		qsort(rr->used, rr->n_used, sizeof(*rr->used), entry_cmp);
	w->seen = xcalloc((size_t)(rr->max / 64 + 1), sizeof(uint64_t));
	w->cap = 0;
	for (size_t i = 0; e == ERR_OK && i < in->n_record; i++) {
		const struct allocdb_entry *x = &in->record[i];

		if (repair__bit(rebuilt_words(rr, &n), x->offset) &&
		    !repair__bit(w->seen, x->offset))
			stamp_used(rr, x);
		else if (!repair__bit(w->seen, x->offset))
			e = unused_value(w, rr, x);
		w->seen[x->offset / 64] |= (uint64_t)1 << (x->offset % 64);
	}
	free(w->seen);
	return e;
}

/* Moves the in-use entries into the result and finishes the counts. */
static void finish_range(struct repair__range *rr, int64_t now_ms)
{
	struct repair_range_result *res = rr->res;
	const uint64_t *words;
	size_t n;

	res->entries =
	    xrealloc(res->entries,
		     (res->n_entries + rr->n_used + 1) * sizeof(*res->entries));
	for (size_t i = 0; i < rr->n_used; i++) {
		if (rr->used[i].taken_ms == 0)
			rr->used[i].taken_ms = now_ms;
		res->entries[res->n_entries++] = rr->used[i];
	}
	free(rr->used);
	rr->used = NULL;
	rr->n_used = 0;
	qsort(res->entries, res->n_entries, sizeof(*res->entries), entry_cmp);
	words = rebuilt_words(rr, &n);
	res->words = xcalloc(n ? n : 1, sizeof(*words));
	if (n)
		memcpy(res->words, words, n * sizeof(*words));
	res->nwords = n;
	res->allocated = rr->ia ? ipalloc_used(rr->ia) : portalloc_used(rr->pa);
	res->available =
	    rr->ia ? ipalloc_available(rr->ia) : portalloc_available(rr->pa);
}

/* ---- The pass -------------------------------------------------------- */

static enum err run(struct repair *r, struct repair__pass *p,
		    struct repair_result *res, struct leaks *next)
{
	struct walk w = {.r = r, .in = p->in, .next = next};
	enum err e;

	for (size_t i = 0; i < p->in->nranges; i++) {
		p->n++;
		e = setup_range(&p->rr[i], &p->in->ranges[i], &res->ranges[i],
				p->eb);
		if (e)
			return e;
	}
	res->nranges = p->n;
	e = repair__collect(p);
	for (size_t i = 0; e == ERR_OK && i < p->n; i++)
		e = walk_record(&w, &p->rr[i]);
	if (e && !p->eb->msg[0])
		(void)errbuf_set(p->eb, e, "repair: keeping a record value: %s",
				 err_str(e));
	for (size_t i = 0; e == ERR_OK && i < p->n; i++)
		finish_range(&p->rr[i], p->in->now_ms);
	return e;
}

enum err repair_pass(struct repair *r, const struct repair_input *in,
		     struct repair_result *out, struct errbuf *eb)
{
	struct errbuf local = ERRBUF_INIT;
	struct repair__pass p = {.in = in, .eb = eb ? eb : &local};
	struct repair_result res = {0};
	struct leaks next = {0};
	enum err e;

	if (eb)
		eb->msg[0] = '\0';
	e = check_ranges(in, eb);
	if (e == ERR_OK)
		e = run(r, &p, &res, &next);
	if (e) {
		pass_release(&p);
		repair_result_release(&res);
		leaks_free(next.v, next.n);
		return e;
	}
	res.events = p.ev;
	res.n_events = p.n_ev;
	p.ev = NULL;
	p.n_ev = 0;
	pass_release(&p);
	if (next.n)
		qsort(next.v, next.n, sizeof(*next.v), leak_cmp);
	leaks_free(r->v, r->n);
	r->v = next.v;
	r->n = next.n;
	*out = res;
	return ERR_OK;
}

void repair_result_release(struct repair_result *res)
{
	for (size_t i = 0; i < res->nranges; i++) {
		struct repair_range_result *rr = &res->ranges[i];

		free(rr->words);
		entries_free(rr->entries, rr->n_entries);
		free(rr->freed);
	}
	for (size_t i = 0; i < res->n_events; i++) {
		free(res->events[i].ns);
		free(res->events[i].name);
		free(res->events[i].uid);
		free(res->events[i].message);
	}
	free(res->events);
	memset(res, 0, sizeof(*res));
}

void repair_result_contents(const struct repair_result *res,
			    struct allocdb_content out[REPAIR_MAX_RANGES])
{
	for (size_t i = 0; i < res->nranges; i++) {
		out[i].range = res->ranges[i].name;
		out[i].entries = res->ranges[i].entries;
		out[i].n = res->ranges[i].n_entries;
	}
}
