/*
 * webhook_response: the JSON Patch builder and the AdmissionReview v1
 * response encoder (allocator.md §8.4). The patch is built as JSON text as
 * the caller adds operations, so encoding a response is one base64 pass;
 * the response echoes request.uid, carries the patch only when allowed and
 * non-empty, and a status only when denied.
 *
 * One thread per patch or response.
 */
#include "base.h"
#include "webhook.h"

#include "kube.h"

/* Patches are small (a few IPs and ports); the limit only catches bugs. */
#define PATCH_MAX ((size_t)1 << 20)

void webhook_patch_init(struct webhook_patch *p)
{
	buf_init(&p->ops, PATCH_MAX);
	p->n = 0;
}

void webhook_patch_release(struct webhook_patch *p)
{
	buf_release(&p->ops);
	p->n = 0;
}

/* Appends a buf that cannot fail: our own bounded text. */
static void add(struct buf *b, const char *s)
{
	BUG_ON(buf_adds(b, s) != ERR_OK);
}

static void op_head(struct webhook_patch *p, enum webhook_patch_op op,
		    const char *path)
{
	if (p->n++)
		add(&p->ops, ",");
	add(&p->ops, op == WEBHOOK_PATCH_REPLACE
			 ? "{\"op\":\"replace\",\"path\":"
			 : "{\"op\":\"add\",\"path\":");
	kube_json_quote(&p->ops, path);
	add(&p->ops, ",\"value\":");
}

void webhook_patch_str(struct webhook_patch *p, enum webhook_patch_op op,
		       const char *path, const char *value)
{
	op_head(p, op, path);
	kube_json_quote(&p->ops, value);
	add(&p->ops, "}");
}

void webhook_patch_int(struct webhook_patch *p, enum webhook_patch_op op,
		       const char *path, long long value)
{
	op_head(p, op, path);
	BUG_ON(buf_addf(&p->ops, "%lld}", value) != ERR_OK);
}

void webhook_patch_strv(struct webhook_patch *p, enum webhook_patch_op op,
			const char *path, const char *const *values, size_t n)
{
	op_head(p, op, path);
	add(&p->ops, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			add(&p->ops, ",");
		kube_json_quote(&p->ops, values[i]);
	}
	add(&p->ops, "]}");
}

void webhook_patch_encode(const struct webhook_patch *p, struct buf *out)
{
	BUG_ON(buf_adds(out, "[") != ERR_OK);
	BUG_ON(buf_add(out, p->ops.data, p->ops.len) != ERR_OK);
	BUG_ON(buf_adds(out, "]") != ERR_OK);
}

void webhook_response_init(struct webhook_response *r)
{
	memset(r, 0, sizeof(*r));
	r->allowed = true;
	webhook_patch_init(&r->patch);
}

void webhook_response_release(struct webhook_response *r)
{
	free(r->reason);
	free(r->message);
	for (size_t i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	webhook_patch_release(&r->patch);
	memset(r, 0, sizeof(*r));
}

static char *vformat(const char *fmt, va_list ap) ATTR_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *s;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	BUG_ON(n < 0);
	s = xmalloc((size_t)n + 1);
	(void)vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

void webhook_response_deny(struct webhook_response *r, int code,
			   const char *reason, const char *fmt, ...)
{
	va_list ap;

	r->allowed = false;
	r->code = code;
	free(r->reason);
	r->reason = xstrdup(reason ? reason : "");
	free(r->message);
	va_start(ap, fmt);
	r->message = vformat(fmt, ap);
	va_end(ap);
}

void webhook_response_warn(struct webhook_response *r, const char *fmt, ...)
{
	va_list ap;

	r->warnings =
	    xrealloc(r->warnings, (r->n_warnings + 1) * sizeof(*r->warnings));
	va_start(ap, fmt);
	r->warnings[r->n_warnings++] = vformat(fmt, ap);
	va_end(ap);
}

static void encode_status(const struct webhook_response *r, struct buf *out)
{
	BUG_ON(buf_addf(out, ",\"status\":{\"code\":%d", r->code) != ERR_OK);
	if (r->message) {
		add(out, ",\"message\":");
		kube_json_quote(out, r->message);
	}
	if (r->reason && r->reason[0]) {
		add(out, ",\"reason\":");
		kube_json_quote(out, r->reason);
	}
	add(out, "}");
}

static void encode_patch(const struct webhook_response *r, struct buf *out)
{
	struct buf json;

	buf_init(&json, PATCH_MAX + 2);
	webhook_patch_encode(&r->patch, &json);
	add(out, ",\"patchType\":\"JSONPatch\",\"patch\":\"");
	base64_encode(out, json.data, json.len);
	add(out, "\"");
	buf_release(&json);
}

void webhook_response_encode(const struct webhook_response *r, const char *uid,
			     struct buf *out)
{
	add(out, "{\"apiVersion\":\"admission.k8s.io/v1\","
		 "\"kind\":\"AdmissionReview\",\"response\":{\"uid\":");
	kube_json_quote(out, uid ? uid : "");
	add(out, r->allowed ? ",\"allowed\":true" : ",\"allowed\":false");
	if (!r->allowed)
		encode_status(r, out);
	else if (r->patch.n)
		encode_patch(r, out);
	if (r->n_warnings) {
		add(out, ",\"warnings\":[");
		for (size_t i = 0; i < r->n_warnings; i++) {
			if (i)
				add(out, ",");
			kube_json_quote(out, r->warnings[i]);
		}
		add(out, "]");
	}
	add(out, "}}");
}
