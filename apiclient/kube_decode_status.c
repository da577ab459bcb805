/*
 * kube_decode_status: the metav1.Status schema (error bodies and watch
 * ERROR events): code, reason, message and details.causes[], truncated to
 * the fixed sizes of struct kube_status on UTF-8 boundaries.
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

enum {
	ST_KIND = KN_KIND_BASE,
	ST_CODE,
	ST_REASON,
	ST_MESSAGE,
	ST_DETAILS,
	ST_CAUSES,
	ST_CAUSE,
	ST_C_REASON,
	ST_C_FIELD,
	ST_C_MESSAGE,
};

static const struct kube__node cause_fields[] = {
    KNODE("reason", KS_STR, ST_C_REASON, NULL),
    KNODE("field", KS_STR, ST_C_FIELD, NULL),
    KNODE("message", KS_STR, ST_C_MESSAGE, NULL),
    KNODE_END,
};
static const struct kube__node cause_node =
    KNODE(NULL, KS_MAP, ST_CAUSE, cause_fields);

static const struct kube__node details_fields[] = {
    KNODE("causes", KS_ARRAY, ST_CAUSES, &cause_node),
    KNODE_END,
};

static const struct kube__node status_fields[] = {
    KNODE("kind", KS_STR, ST_KIND, NULL),
    KNODE("code", KS_INT, ST_CODE, NULL),
    KNODE("reason", KS_STR, ST_REASON, NULL),
    KNODE("message", KS_STR, ST_MESSAGE, NULL),
    KNODE("details", KS_MAP, ST_DETAILS, details_fields),
    KNODE_END,
};
static const struct kube__node status_root =
    KNODE(NULL, KS_MAP, KN_ROOT, status_fields);

#define COPY(dst, v) kube__copy_trunc(dst, sizeof(dst), (v)->s, (v)->len)

static enum err status_scalar(struct kube__dec *d, const struct kube__node *n,
			      const struct kube__val *v)
{
	struct kube_status *st = d->status;
	int c = d->st.status.cause;

	switch (n->id) {
	case ST_KIND:
		if (!kube__val_is(v, "Status"))
			return kube__dec_fail(d, ERR_DECODE,
					      "not a Status (kind \"%.*s\")",
					      (int)MIN(v->len, 40), v->s);
		return ERR_OK;
	case ST_CODE:
		if (v->i < 0 || v->i > 999)
			return kube__dec_fail(
			    d, ERR_DECODE, "integer %lld out of range", v->i);
		st->code = (int)v->i;
		return ERR_OK;
	case ST_REASON:
		COPY(st->reason, v);
		return ERR_OK;
	case ST_MESSAGE:
		COPY(st->message, v);
		return ERR_OK;
	default:
		break;
	}
	if (c < 0)
		return ERR_OK;
	if (n->id == ST_C_REASON)
		COPY(st->causes[c].type, v);
	else if (n->id == ST_C_FIELD)
		COPY(st->causes[c].field, v);
	else if (n->id == ST_C_MESSAGE)
		COPY(st->causes[c].message, v);
	return ERR_OK;
}

static enum err status_open(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_status *st = d->status;

	if (n->id == KN_ROOT) {
		memset(st, 0, sizeof(*st));
	} else if (n->id == ST_CAUSE) {
		if (st->n_causes < KUBE_STATUS_MAX_CAUSES)
			d->st.status.cause = (int)st->n_causes++;
		else
			d->st.status.cause = -1;
	}
	return ERR_OK;
}

const struct kube__schema kube__status_schema = {
    .name = "Status",
    .kind = -1,
    .rec_size = 0,
    .root = &status_root,
    .scalar = status_scalar,
    .open = status_open,
};
