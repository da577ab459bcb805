/*
 * apiclient_list: one consistent LIST of a collection into memory,
 * paginated (limit 500, continue tokens) and decoded as it streams with
 * kube_stream. Without resourceVersion the first page is a quorum read
 * and the continue tokens keep the later pages on its snapshot; a token
 * that expired meanwhile (410) starts the list over, a bounded number of
 * times. For whole-collection reads outside the informers (the allocator's
 * repair pass, tests), which need a fresh list rather than a cache.
 */
#include "base.h"
#include "apiclient.h"

#define PAGE	 "500"
#define ATTEMPTS 3

struct list_ctx {
	struct kube_stream *stream;
	struct apiclient_list *out;
	size_t cap;
	struct errbuf eb;
};

static enum err on_item(void *ctx, struct kube_event *ev)
{
	struct list_ctx *lc = ctx;
	struct apiclient_list *l = lc->out;

	if (ev->type != KUBE_EVENT_ADDED || !ev->obj)
		return ERR_OK;
	if (l->n == lc->cap) {
		lc->cap = lc->cap ? 2 * lc->cap : 64;
		l->items = xrealloc(l->items,
				    lc->cap * sizeof(struct kube_object *));
	}
	l->items[l->n++] = ev->obj;
	ev->obj = NULL;
	return ERR_OK;
}

static enum err on_bytes(void *ctx, const char *data, size_t n)
{
	struct list_ctx *lc = ctx;

	return kube_stream_feed(lc->stream, data, n, &lc->eb);
}

/* One page into lc->out; *cont gets the next continue token (owned). */
static enum err list_page(struct apiclient *c,
			  const struct apiclient_list_options *o,
			  const char *path, const char *cont_in,
			  struct list_ctx *lc, char **cont, struct errbuf *eb)
{
	struct kube_stream_options so = {.kind = o->kind,
					 .mode = KUBE_STREAM_LIST,
					 .on_event = on_item,
					 .ctx = lc};
	struct apiclient_result res;
	struct buf q;
	enum err e;

	buf_init(&q, 0);
	apiclient_query_add(&q, "limit", PAGE);
	if (cont_in && *cont_in)
		apiclient_query_add(&q, "continue", cont_in);
	if (o->label_selector)
		apiclient_query_add(&q, "labelSelector", o->label_selector);
	lc->stream = kube_stream_new(&so);
	lc->eb.msg[0] = '\0';
	e = apiclient_do(c,
			 &(struct apiclient_request){.method = APICLIENT_GET,
						     .path = path,
						     .query = q.data,
						     .on_data = on_bytes,
						     .ctx = lc,
						     .cancel = o->cancel},
			 NULL, &res, eb);
	if (e == ERR_OK)
		e = kube_stream_finish(lc->stream, &lc->eb);
	if (e != ERR_OK && lc->eb.msg[0])
		(void)errbuf_set(eb, e, "list %s: %s", path, lc->eb.msg);
	if (e == ERR_OK) {
		*cont = xstrdup(kube_stream_list_continue(lc->stream));
		(void)snprintf(lc->out->rv, sizeof(lc->out->rv), "%s",
			       kube_stream_list_rv(lc->stream));
	}
	kube_stream_free(lc->stream);
	lc->stream = NULL;
	buf_release(&q);
	return e;
}

/* Every page of one attempt. */
static enum err list_once(struct apiclient *c,
			  const struct apiclient_list_options *o,
			  const char *path, struct apiclient_list *l,
			  struct errbuf *eb)
{
	struct list_ctx lc = {.out = l};
	char *cont = NULL;
	enum err e;

	do {
		char *next = NULL;

		e = list_page(c, o, path, cont, &lc, &next, eb);
		free(cont);
		cont = next;
	} while (e == ERR_OK && cont && *cont);
	free(cont);
	return e;
}

enum err apiclient_list(struct apiclient *c,
			const struct apiclient_list_options *o,
			struct apiclient_list *out, struct errbuf *eb)
{
	struct apiclient_list l = {0};
	struct buf path;
	enum err e = ERR_GONE;

	buf_init(&path, 0);
	apiclient_path(&path, o->kind, o->ns, NULL);
	for (int i = 0; i < ATTEMPTS && e == ERR_GONE; i++) {
		apiclient_list_release(&l);
		e = list_once(c, o, path.data, &l, eb);
	}
	buf_release(&path);
	if (e != ERR_OK) {
		apiclient_list_release(&l);
		return e;
	}
	*out = l;
	return ERR_OK;
}

void apiclient_list_release(struct apiclient_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		kube_object_unref(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
