/*
 * kube_decode_node: the Node and Lease schemas (apiclient.md §4.3, §1.11)
 * and the Kubernetes quantity parser used for status.allocatable.cpu.
 * Nodes keep all their labels; zone and the control-plane role are read
 * from them when the object ends.
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

enum {
	N_STATUS = KN_KIND_BASE,
	N_CONDS,
	N_COND,
	N_COND_TYPE,
	N_COND_STATUS,
	N_ALLOCATABLE,
	L_SPEC,
	L_HOLDER,
	L_DURATION,
	L_ACQUIRE,
	L_RENEW,
	L_TRANSITIONS,
};

#define ZONE_LABEL	   "topology.kubernetes.io/zone"
#define ROLE_CONTROL_PLANE "node-role.kubernetes.io/control-plane"
#define ROLE_MASTER	   "node-role.kubernetes.io/master"

/* ---- Quantities --------------------------------------------------------- */

__extension__ typedef unsigned __int128 u128;

struct suffix {
	const char *s;
	uint64_t num; /* value = number * num / den */
	uint64_t den;
};

static const struct suffix suffixes[] = {
    {"", 1, 1},
    {"n", 1, 1000000000},
    {"u", 1, 1000000},
    {"m", 1, 1000},
    {"k", 1000, 1},
    {"M", 1000000, 1},
    {"G", 1000000000, 1},
    {"T", 1000000000000, 1},
    {"P", 1000000000000000, 1},
    {"E", 1000000000000000000, 1},
    {"Ki", (uint64_t)1 << 10, 1},
    {"Mi", (uint64_t)1 << 20, 1},
    {"Gi", (uint64_t)1 << 30, 1},
    {"Ti", (uint64_t)1 << 40, 1},
    {"Pi", (uint64_t)1 << 50, 1},
    {"Ei", (uint64_t)1 << 60, 1},
};

/* Digits with an optional fraction: mantissa and count of fraction digits. */
static size_t parse_decimal(const char *s, size_t n, uint64_t *mant,
			    unsigned *frac)
{
	size_t i = 0, digits = 0;
	bool dot = false;

	*mant = 0;
	*frac = 0;
	for (; i < n; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			break;
		if (++digits > 18)
			return 0;
		*mant = *mant * 10 + (uint64_t)(s[i] - '0');
		*frac += dot;
	}
	return digits ? i : 0;
}

/* Upstream resource.Quantity.MilliValue (rounds up); no exponents. */
enum err kube__quantity_milli(const char *s, size_t n, int64_t *out)
{
	uint64_t mant;
	unsigned frac;
	size_t used = parse_decimal(s, n, &mant, &frac);
	u128 num, den = 1, milli;

	if (!used)
		return ERR_INVALID;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		const struct suffix *x = &suffixes[i];

		if (strlen(x->s) != n - used ||
		    memcmp(x->s, s + used, n - used) != 0)
			continue;
		for (unsigned f = 0; f < frac; f++)
			den *= 10;
		den *= x->den;
		if (__builtin_mul_overflow((u128)mant * 1000, (u128)x->num,
					   &num) ||
		    num > ~(u128)0 - den)
			return ERR_INVALID;
		milli = (num + den - 1) / den;
		if (milli > INT64_MAX)
			return ERR_INVALID;
		*out = (int64_t)milli;
		return ERR_OK;
	}
	return ERR_INVALID;
}

/* ---- Node --------------------------------------------------------------- */

static const struct kube__node cond_fields[] = {
    KNODE("type", KS_STR, N_COND_TYPE, NULL),
    KNODE("status", KS_STR, N_COND_STATUS, NULL),
    KNODE_END,
};
static const struct kube__node cond_node =
    KNODE(NULL, KS_MAP, N_COND, cond_fields);

static const struct kube__node node_status_fields[] = {
    KNODE("conditions", KS_ARRAY, N_CONDS, &cond_node),
    KNODE("allocatable", KS_STRMAP, N_ALLOCATABLE, NULL),
    KNODE_END,
};

static const struct kube__node node_fields[] = {
    KNODE("metadata", KS_MAP, KN_META, kube__meta_fields),
    KNODE("status", KS_MAP, N_STATUS, node_status_fields),
    KNODE_END,
};
static const struct kube__node node_root =
    KNODE(NULL, KS_MAP, KN_ROOT, node_fields);

static struct kube_node *node_of(struct kube__dec *d)
{
	return (struct kube_node *)(void *)d->obj;
}

static enum err node_scalar(struct kube__dec *d, const struct kube__node *n,
			    const struct kube__val *v)
{
	if (n->id == N_COND_TYPE)
		d->st.node.cond_ready = kube__val_is(v, "Ready");
	else if (n->id == N_COND_STATUS)
		d->st.node.cond_status = kube__cond_status(v);
	return ERR_OK;
}

static enum err node_entry(struct kube__dec *d, const struct kube__node *n,
			   const struct kube__val *v)
{
	(void)n;
	if (strcmp(d->key.data, "cpu") != 0)
		return ERR_OK;
	if (kube__quantity_milli(v->s, v->len, &node_of(d)->cpu_milli))
		return kube__dec_fail(d, ERR_DECODE,
				      "invalid quantity \"%.*s\"",
				      (int)MIN(v->len, 40), v->s);
	return ERR_OK;
}

static enum err node_open(struct kube__dec *d, const struct kube__node *n)
{
	if (n->id == N_COND) {
		d->st.node.cond_ready = false;
		d->st.node.cond_status = KUBE_UNSET;
	}
	return ERR_OK;
}

static enum err node_close(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_node *node = node_of(d);
	const struct kube_labels *l = &node->obj.meta.labels;

	if (n->id == N_COND && d->st.node.cond_ready) {
		node->ready = d->st.node.cond_status;
	} else if (n->id == KN_ROOT) {
		node->zone = kube_labels_get(l, ZONE_LABEL);
		node->control_plane = kube_labels_get(l, ROLE_CONTROL_PLANE) ||
				      kube_labels_get(l, ROLE_MASTER);
		d->obj = kube__seal(d->obj);
	}
	return ERR_OK;
}

const struct kube__schema kube__node_schema = {
    .name = "Node",
    .kind = KUBE_KIND_NODE,
    .rec_size = sizeof(struct kube_node),
    .root = &node_root,
    .scalar = node_scalar,
    .open = node_open,
    .close = node_close,
    .entry = node_entry,
};

/* ---- Lease -------------------------------------------------------------- */

static const struct kube__node lease_spec_fields[] = {
    KNODE("holderIdentity", KS_STR, L_HOLDER, NULL),
    KNODE("leaseDurationSeconds", KS_INT, L_DURATION, NULL),
    KNODE("acquireTime", KS_STR, L_ACQUIRE, NULL),
    KNODE("renewTime", KS_STR, L_RENEW, NULL),
    KNODE("leaseTransitions", KS_INT, L_TRANSITIONS, NULL),
    KNODE_END,
};

static const struct kube__node lease_fields[] = {
    KNODE("metadata", KS_MAP, KN_META, kube__meta_fields),
    KNODE("spec", KS_MAP, L_SPEC, lease_spec_fields),
    KNODE_END,
};
static const struct kube__node lease_root =
    KNODE(NULL, KS_MAP, KN_ROOT, lease_fields);

static enum err lease_scalar(struct kube__dec *d, const struct kube__node *n,
			     const struct kube__val *v)
{
	struct kube_lease *l = (struct kube_lease *)(void *)d->obj;

	switch (n->id) {
	case L_HOLDER:
		l->holder_identity = v->len ? kube__val_str(d, v) : NULL;
		return ERR_OK;
	case L_DURATION:
		return kube__val_int32(d, v, &l->lease_duration_s);
	case L_ACQUIRE:
		return kube__val_time(d, v, &l->acquire_ms);
	case L_RENEW:
		return kube__val_time(d, v, &l->renew_ms);
	case L_TRANSITIONS:
		return kube__val_int32(d, v, &l->lease_transitions);
	default:
		return ERR_OK;
	}
}

static enum err lease_close(struct kube__dec *d, const struct kube__node *n)
{
	if (n->id == KN_ROOT)
		d->obj = kube__seal(d->obj);
	return ERR_OK;
}

const struct kube__schema kube__lease_schema = {
    .name = "Lease",
    .kind = KUBE_KIND_LEASE,
    .rec_size = sizeof(struct kube_lease),
    .root = &lease_root,
    .scalar = lease_scalar,
    .close = lease_close,
};
