/*
 * itlib_audit: the API server as the witness of who wrote what. It reads
 * the audit log hack/local-cluster makes kube-apiserver write to
 * $IT_CLUSTER_DIR/audit.log (one JSON line per write request, level
 * Metadata, written before the response is sent) and filters its entries
 * by User-Agent, resource, namespace and response code.
 *
 * Only whole lines are read; a line the server is still appending is left
 * for the next read. Offsets assume one file: rotation (at 200 MB) is not
 * followed. Test-thread only, as the checks are.
 */
#include "base.h"
#include "itlib.h"

#include <yajl/yajl_tree.h>

#define AUDIT_FILE "audit.log"

static char *audit_path(void)
{
	const char *dir = getenv("IT_CLUSTER_DIR");

	return dir && *dir ? xasprintf("%s/" AUDIT_FILE, dir) : NULL;
}

size_t it_audit_offset(void)
{
	char *path = audit_path();
	struct buf text;
	size_t n;

	if (!path)
		return 0;
	buf_init(&text, 0);
	it_read_file(path, &text);
	n = text.len;
	buf_release(&text);
	free(path);
	return n;
}

static const char *str_at(yajl_val doc, const char *a, const char *b)
{
	const char *path[] = {a, b, NULL};
	yajl_val v = yajl_tree_get(doc, path, yajl_t_string);

	return v ? YAJL_GET_STRING(v) : "";
}

/* "2026-11-22T20:46:49.031909Z" to microseconds since the epoch. */
static int64_t parse_us(const char *s)
{
	const char *dot = strchr(s, '.');
	int64_t ms = 0, us = 0;

	if (clock_parse_rfc3339(s, &ms) != ERR_OK)
		return 0;
	/* clock_parse_rfc3339 keeps milliseconds; digits 4 to 6 are ours. */
	if (dot && strlen(dot) > 6 && dot[4] >= '0' && dot[4] <= '9' &&
	    dot[5] >= '0' && dot[5] <= '9' && dot[6] >= '0' && dot[6] <= '9')
		us =
		    (dot[4] - '0') * 100 + (dot[5] - '0') * 10 + (dot[6] - '0');
	return ms * 1000 + us;
}

static enum err decode_line(const char *line, struct it_audit_entry *e,
			    struct errbuf *eb)
{
	static const char *code_path[] = {"responseStatus", "code", NULL};
	char why[256] = "";
	yajl_val doc = yajl_tree_parse(line, why, sizeof(why));
	yajl_val code;

	if (!doc)
		return errbuf_set(eb, ERR_DECODE, "audit line: %s", why);
	e->verb = xstrdup(str_at(doc, "verb", NULL));
	e->resource = xstrdup(str_at(doc, "objectRef", "resource"));
	e->subresource = xstrdup(str_at(doc, "objectRef", "subresource"));
	e->ns = xstrdup(str_at(doc, "objectRef", "namespace"));
	e->name = xstrdup(str_at(doc, "objectRef", "name"));
	e->user_agent = xstrdup(str_at(doc, "userAgent", NULL));
	code = yajl_tree_get(doc, code_path, yajl_t_number);
	e->code =
	    code && YAJL_IS_INTEGER(code) ? (int)YAJL_GET_INTEGER(code) : 0;
	e->received_us =
	    parse_us(str_at(doc, "requestReceivedTimestamp", NULL));
	yajl_tree_free(doc);
	return ERR_OK;
}

static void entry_release(struct it_audit_entry *e)
{
	free(e->verb);
	free(e->resource);
	free(e->subresource);
	free(e->ns);
	free(e->name);
	free(e->user_agent);
}

/* Decodes the whole lines of text[0, len) into a. */
static enum err decode_lines(const char *text, size_t len, struct it_audit *a,
			     struct errbuf *eb)
{
	size_t cap = 0, at = 0;

	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n;
		char *line;
		enum err e;

		if (!nl)
			break;
		n = (size_t)(nl - (text + at));
		if (a->n == cap) {
			cap = cap ? cap * 2 : 256;
			a->items = xrealloc(a->items, cap * sizeof(*a->items));
		}
		line = xstrndup(text + at, n);
		e = n ? decode_line(line, &a->items[a->n], eb) : ERR_OK;
		free(line);
		if (e != ERR_OK)
			return e;
		a->n += n ? 1 : 0;
		at += n + 1;
	}
	a->end += at;
	return ERR_OK;
}

enum err it_audit_read(size_t from, struct it_audit *out, struct errbuf *eb)
{
	char *path = audit_path();
	struct it_audit a = {.end = from};
	struct buf text;
	enum err e;

	if (!path)
		return errbuf_set(eb, ERR_INVALID,
				  "IT_CLUSTER_DIR is not set: no audit log");
	buf_init(&text, 0);
	it_read_file(path, &text);
	if (text.len < from)
		e = errbuf_set(eb, ERR_IO,
			       "%s shrank below offset %zu (rotated?)", path,
			       from);
	else
		e = decode_lines(text.data + from, text.len - from, &a, eb);
	buf_release(&text);
	free(path);
	if (e != ERR_OK) {
		it_audit_release(&a);
		return e;
	}
	*out = a;
	return ERR_OK;
}

void it_audit_release(struct it_audit *a)
{
	for (size_t i = 0; i < a->n; i++)
		entry_release(&a->items[i]);
	free(a->items);
	memset(a, 0, sizeof(*a));
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool it_audit_match(const struct it_audit_entry *e,
		    const struct it_audit_filter *f)
{
	bool ok = e->code >= 200 && e->code < 300;

	return (!f->ua_suffix || has_suffix(e->user_agent, f->ua_suffix)) &&
	       (!f->resource || str_eq(e->resource, f->resource)) &&
	       (!f->ns || str_eq(e->ns, f->ns)) &&
	       (!f->not_ns || !str_eq(e->ns, f->not_ns)) &&
	       (f->result != IT_AUDIT_OK || ok) &&
	       (f->result != IT_AUDIT_FAILED || !ok);
}

size_t it_audit_count(const struct it_audit *a, const struct it_audit_filter *f)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += it_audit_match(&a->items[i], f) ? 1 : 0;
	return n;
}

void it_audit_print(const struct it_audit *a, const struct it_audit_filter *f,
		    size_t max)
{
	for (size_t i = 0; i < a->n && max > 0; i++) {
		const struct it_audit_entry *e = &a->items[i];

		if (!it_audit_match(e, f))
			continue;
		printf("#     %s %s%s%s %s/%s code=%d at=%lld ua=%s\n", e->verb,
		       e->resource, *e->subresource ? "/" : "", e->subresource,
		       e->ns, *e->name ? e->name : "(generated)", e->code,
		       (long long)e->received_us, e->user_agent);
		max--;
	}
}
