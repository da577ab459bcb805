/*
 * replay: the trace driver of `svc-controllers replay` (see replay.h). Each
 * line is peeked for its event type and object kind, decoded by the kube
 * stream decoder of that kind, applied to the in-memory API, and the
 * controllers are run to quiescence every sync_every events. Services
 * take the admission path of replay_admit.c first. One thread.
 */
#include "base.h"
#include "replay.h"

#include <errno.h>
#include <yajl/yajl_parse.h>

#include "allocator.h"
#include "epsctl.h"
#include "informer.h"
#include "memapi.h"
#include "replay_internal.h"

#define QUIESCE_ROUNDS 10000

struct replay {
	const struct replay_options *opts;
	struct memapi *api;
	struct epsctl *ctl;
	struct allocator *alloc; /* admission and watch of Services */
	uint64_t events;
	uint64_t malformed;
	uint64_t skipped;
	uint64_t denied;	 /* Services admission refused */
	uint64_t failed;	 /* events a patch or record failure dropped */
	uint64_t syncs;
	/* Still in the trace's leading run of ADDED events: the state that
	 * existed at the start, which a controller lists before it acts. */
	bool initial;
};

/* ---- Peeking at a line: "type" and "object.kind" -------------------- */

struct peek {
	int depth;
	bool key_type;	/* the next value is the top-level "type" */
	bool key_kind;	/* the next value is object.kind */
	bool in_object; /* the current depth-1 key is "object" */
	char type[16];
	char kind[32];
};

static int peek_string(void *ctx, const unsigned char *s, size_t n)
{
	struct peek *p = ctx;
	char *dst = p->key_type ? p->type : p->key_kind ? p->kind : NULL;
	size_t cap = p->key_type ? sizeof(p->type) : sizeof(p->kind);

	if (dst) {
		n = MIN(n, cap - 1);
		memcpy(dst, s, n);
		dst[n] = '\0';
	}
	p->key_type = p->key_kind = false;
	return 1;
}

static int peek_key(void *ctx, const unsigned char *s, size_t n)
{
	struct peek *p = ctx;

	p->key_type = p->depth == 1 && n == 4 && memcmp(s, "type", 4) == 0;
	p->key_kind = p->depth == 2 && p->in_object && n == 4 &&
		      memcmp(s, "kind", 4) == 0;
	if (p->depth == 1)
		p->in_object = n == 6 && memcmp(s, "object", 6) == 0;
	return 1;
}

static int peek_open(void *ctx)
{
	struct peek *p = ctx;

	p->depth++;
	p->key_type = p->key_kind = false;
	return 1;
}

static int peek_close(void *ctx)
{
	((struct peek *)ctx)->depth--;
	return 1;
}

static int peek_scalar(void *ctx)
{
	struct peek *p = ctx;

	p->key_type = p->key_kind = false;
	return 1;
}

static int peek_bool(void *ctx, int b)
{
	(void)b;
	return peek_scalar(ctx);
}

static int peek_num(void *ctx, const char *s, size_t n)
{
	(void)s;
	(void)n;
	return peek_scalar(ctx);
}

static const yajl_callbacks peek_cb = {
	peek_scalar, peek_bool, NULL,	   NULL,       peek_num,  peek_string,
	peek_open,   peek_key,	peek_close, peek_open, peek_close,
};

/* Fills p from line; false if the line is not a JSON document. */
static bool peek_line(const char *line, size_t n, struct peek *p)
{
	yajl_handle h = yajl_alloc(&peek_cb, NULL, p);
	bool ok;

	memset(p, 0, sizeof(*p));
	ok = yajl_parse(h, (const unsigned char *)line, n) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

static bool kind_of(const char *name, enum kube_kind *out)
{
	for (int k = 0; k < KUBE_KIND__COUNT; k++)
		if (strcmp(name, kube_kind_name((enum kube_kind)k)) == 0) {
			*out = (enum kube_kind)k;
			return true;
		}
	return false;
}

/* ---- Decoding and applying one line ----------------------------------- */

struct line_ctx {
	struct kube_object *obj;
	enum kube_event_type type;
};

static enum err take_event(void *ctx, struct kube_event *ev)
{
	struct line_ctx *lc = ctx;

	lc->type = ev->type;
	kube_object_unref(lc->obj);
	lc->obj = ev->obj;
	ev->obj = NULL;
	return ERR_OK;
}

static enum err decode_line(enum kube_kind kind, const char *line, size_t n,
			    struct line_ctx *lc, struct errbuf *eb)
{
	struct kube_stream_options so = { .kind = kind,
					  .mode = KUBE_STREAM_WATCH,
					  .on_event = take_event,
					  .ctx = lc };
	struct kube_stream *s = kube_stream_new(&so);
	enum err e = kube_stream_feed(s, line, n, eb);

	if (e == ERR_OK)
		e = kube_stream_finish(s, eb);
	kube_stream_free(s);
	return e;
}

/* Delivers notifications and runs syncs until neither produces more. */
static void quiesce(struct replay *r)
{
	for (int round = 0; round < QUIESCE_ROUNDS; round++) {
		size_t d = memapi_deliver(r->api);
		size_t s = epsctl_run_until_idle(r->ctl);

		r->syncs += s;
		if (d == 0 && s == 0)
			return;
	}
	log_error("replay: no quiescence after %d rounds", QUIESCE_ROUNDS);
}

static void malformed(struct replay *r, unsigned long lineno, const char *why)
{
	r->malformed++;
	log_error("%s:%lu: %s; line skipped", r->opts->trace, lineno, why);
}

/*
 * Decodes one line into an event; returns NULL with the event in lc, or
 * why the line is malformed. *skip is set for kinds replay ignores.
 */
static const char *read_event(const char *line, size_t n, struct line_ctx *lc,
			      bool *skip, struct errbuf *eb)
{
	enum kube_kind kind;
	struct peek p;

	if (!peek_line(line, n, &p))
		return "not a JSON document";
	if (!p.kind[0])
		return "object.kind is missing";
	if (!kind_of(p.kind, &kind) || kind == KUBE_KIND_LEASE) {
		*skip = true;
		return NULL;
	}
	if (decode_line(kind, line, n, lc, eb) != ERR_OK || !lc->obj)
		return eb->msg[0] ? eb->msg : "no object";
	if (lc->type != KUBE_EVENT_ADDED && lc->type != KUBE_EVENT_MODIFIED &&
	    lc->type != KUBE_EVENT_DELETED)
		return "type must be ADDED, MODIFIED or DELETED";
	return NULL;
}

/* A refused event is logged as any other kind's; a failure also makes the
 * exit status 1, since the output then misses a change the trace made. */
static void apply_service(struct replay *r, const struct line_ctx *lc,
			  unsigned long lineno)
{
	struct errbuf eb = ERRBUF_INIT;

	switch (replay__service_event(r->alloc, r->api, lc->type, lc->obj,
				      lineno, &eb)) {
	case REPLAY__STORED:
		break;
	case REPLAY__DENIED:
		r->denied++;
		break;
	case REPLAY__REFUSED:
		log_warn("%s:%lu: %s", r->opts->trace, lineno, eb.msg);
		break;
	case REPLAY__FAILED:
		r->failed++;
		log_error("%s:%lu: %s; event skipped", r->opts->trace, lineno,
			  eb.msg);
		break;
	}
}

static void apply_line(struct replay *r, const char *line, size_t n,
		       unsigned long lineno)
{
	struct line_ctx lc = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	bool skip = false;
	const char *why = read_event(line, n, &lc, &skip, &eb);

	if (why || skip) {
		kube_object_unref(lc.obj);
		if (why)
			malformed(r, lineno, why);
		else
			r->skipped++;
		return;
	}
	if (r->initial && lc.type != KUBE_EVENT_ADDED) {
		/* The initial state is complete: the controllers start, as
		 * they do once their caches have synced. */
		r->initial = false;
		quiesce(r);
	}
	if (lc.obj->kind == KUBE_KIND_SERVICE)
		apply_service(r, &lc, lineno);
	else if (memapi_apply(r->api, lc.type, lc.obj, &eb) != ERR_OK)
		log_warn("%s:%lu: %s", r->opts->trace, lineno, eb.msg);
	r->events++;
}

/* ---- Output ---------------------------------------------------------------- */

static int cmp_object(const void *a, const void *b)
{
	const struct kube_object *x = *(const struct kube_object *const *)a;
	const struct kube_object *y = *(const struct kube_object *const *)b;
	int c = strcmp(x->meta.ns, y->meta.ns);

	return c ? c : strcmp(x->meta.name, y->meta.name);
}

static void encode_item(const struct kube_object *o, struct buf *out)
{
	if (o->kind == KUBE_KIND_ENDPOINTSLICE)
		kube_endpointslice_encode(kube_endpointslice(o), out);
	else
		kube_service_encode(kube_service(o), out);
}

/* Appends the items of a kind, sorted by namespace/name. */
static void add_items(struct replay *r, enum kube_kind kind, struct buf *out,
		      bool *first)
{
	struct store_list l;

	store_list_all(memapi_store(r->api, kind), &l);
	qsort(l.items, l.n, sizeof(struct kube_object *), cmp_object);
	for (size_t i = 0; i < l.n; i++) {
		if (!*first)
			BUG_ON(buf_adds(out, ",\n") != ERR_OK);
		*first = false;
		encode_item(l.items[i], out);
	}
	store_list_release(&l);
}

static enum err print_list(struct replay *r)
{
	const char *what = r->opts->print;
	struct buf out;
	bool first = true;
	enum err e = ERR_OK;

	buf_init(&out, (size_t)1 << 34);
	BUG_ON(buf_adds(&out, "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[\n") != ERR_OK);
	if (strcmp(what, "services") == 0 || strcmp(what, "all") == 0)
		add_items(r, KUBE_KIND_SERVICE, &out, &first);
	if (strcmp(what, "endpointslices") == 0 || strcmp(what, "all") == 0)
		add_items(r, KUBE_KIND_ENDPOINTSLICE, &out, &first);
	BUG_ON(buf_adds(&out, "\n],\"metadata\":{\"resourceVersion\":\"\"}}\n") != ERR_OK);
	if (fwrite(out.data, 1, out.len, r->opts->out) != out.len ||
	    fflush(r->opts->out) != 0)
		e = ERR_IO;
	buf_release(&out);
	return e;
}

static void print_stats(struct replay *r, double secs)
{
	struct memapi_stats ms;
	struct epsctl_stats cs;

	memapi_stats(r->api, &ms);
	epsctl_stats(r->ctl, &cs);
	(void)fprintf(stderr,
		      "replay: events=%llu malformed=%llu skipped=%llu seconds=%.3f events_per_second=%.0f\n"
		      "replay: syncs=%llu success=%llu error=%llu stale=%llu endpoints_added=%llu endpoints_removed=%llu\n"
		      "replay: writes create/EndpointSlice=%llu update/EndpointSlice=%llu delete/EndpointSlice=%llu rejected=%llu events_recorded=%llu\n"
		      "replay: services=%llu denied=%llu failed=%llu\n",
		      (unsigned long long)r->events,
		      (unsigned long long)r->malformed,
		      (unsigned long long)r->skipped, secs,
		      secs > 0 ? (double)r->events / secs : 0.0,
		      (unsigned long long)r->syncs,
		      (unsigned long long)cs.syncs_success,
		      (unsigned long long)cs.syncs_error,
		      (unsigned long long)cs.syncs_stale,
		      (unsigned long long)cs.endpoints_added,
		      (unsigned long long)cs.endpoints_removed,
		      (unsigned long long)ms.creates[KUBE_KIND_ENDPOINTSLICE],
		      (unsigned long long)ms.updates[KUBE_KIND_ENDPOINTSLICE],
		      (unsigned long long)ms.deletes[KUBE_KIND_ENDPOINTSLICE],
		      (unsigned long long)ms.rejected,
		      (unsigned long long)ms.events_recorded,
		      (unsigned long long)store_count(
			  memapi_store(r->api, KUBE_KIND_SERVICE)),
		      (unsigned long long)r->denied,
		      (unsigned long long)r->failed);
}

/* ---- The run ---------------------------------------------------------------- */

static void wire(struct replay *r)
{
	static const enum kube_kind kinds[] = { KUBE_KIND_POD, KUBE_KIND_SERVICE,
						KUBE_KIND_ENDPOINTSLICE,
						KUBE_KIND_NODE };
	void (*const fns[])(struct epsctl *, struct informer_handlers *) = {
		epsctl_pod_handlers, epsctl_service_handlers,
		epsctl_slice_handlers, epsctl_node_handlers
	};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct informer_handlers h;

		fns[i](r->ctl, &h);
		memapi_add_handlers(r->api, kinds[i], &h);
	}
}

static enum err setup(struct replay *r, struct errbuf *eb)
{
	struct epsctl_options co = {
		.cfg = { r->opts->max_per_slice, r->opts->managed_by },
		.workers = 1,
		.immediate = true,
	};
	struct allocator_options ao = {
		.service_cidrs = r->opts->service_cidrs
					 ? r->opts->service_cidrs
					 : REPLAY_SERVICE_CIDRS_DEFAULT,
		.node_port_range = r->opts->node_port_range
					   ? r->opts->node_port_range
					   : REPLAY_NODE_PORT_RANGE_DEFAULT,
		.db_path = ":memory:",
	};
	struct epsctl_sources src;
	struct epsctl_writer w;
	enum err e;

	/* Its errors name the flag and the value. */
	e = allocator_new(&ao, &r->alloc, eb);
	if (e != ERR_OK)
		return e;
	r->api = memapi_new(r->opts->seed);
	src = (struct epsctl_sources){
		memapi_store(r->api, KUBE_KIND_POD),
		memapi_store(r->api, KUBE_KIND_SERVICE),
		memapi_store(r->api, KUBE_KIND_NODE),
		memapi_store(r->api, KUBE_KIND_ENDPOINTSLICE),
	};
	memapi_writer(r->api, &w);
	if (epsctl_new(&co, &src, &w, &r->ctl) != ERR_OK)
		return errbuf_set(eb, ERR_INVALID,
				  "invalid --max-endpoints-per-slice %d: want 1..1000",
				  r->opts->max_per_slice);
	wire(r);
	return ERR_OK;
}

static void run_lines(struct replay *r, FILE *f)
{
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		apply_line(r, line, (size_t)n, lineno);
		if (!r->initial && r->events % (uint64_t)r->opts->sync_every == 0)
			quiesce(r);
	}
	free(line);
	quiesce(r);
}

/* Reads and applies the whole trace; false if it could not be opened. */
static bool run_trace(struct replay *r)
{
	const char *path = r->opts->trace;
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char tmp[128];

	if (!f) {
		log_error("replay: cannot open trace %s: %s", path,
			  err_errno_str(errno, tmp, sizeof(tmp)));
		return false;
	}
	run_lines(r, f);
	if (f != stdin)
		(void)fclose(f); /* read-only: nothing to lose */
	return true;
}

/* Prints the result and the statistics; the exit status. */
static int finish(struct replay *r, int64_t start)
{
	int rc = 0;

	if (print_list(r) != ERR_OK) {
		log_error("replay: cannot write the output");
		rc = 1;
	}
	if (r->opts->stats)
		print_stats(r, (double)(clock_mono_ns() - start) / 1e9);
	if (r->malformed) {
		log_error("replay: %llu malformed lines skipped",
			  (unsigned long long)r->malformed);
		rc = 1;
	}
	if (r->failed) {
		log_error("replay: %llu Service events could not be applied",
			  (unsigned long long)r->failed);
		rc = 1;
	}
	return rc;
}

int replay_run(const struct replay_options *opts)
{
	struct replay r = { .opts = opts, .initial = true };
	struct errbuf eb = ERRBUF_INIT;
	int64_t start = clock_mono_ns();
	enum err e = setup(&r, &eb);
	int rc = 0;

	if (e != ERR_OK) {
		log_error("replay: %s", eb.msg);
		rc = e == ERR_INVALID ? 2 : 1;
	} else if (!run_trace(&r)) {
		rc = 1;
	} else {
		rc = finish(&r, start);
	}
	epsctl_free(r.ctl);
	memapi_free(r.api);
	allocator_free(r.alloc);
	return rc;
}
