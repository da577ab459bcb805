/*
 * epslice_finalize: the end of one address type's reconcile
 * (endpointslice.md §5.2 step 5, §5.4): the placeholder slice (and the
 * cancelled delete of an equal one, PR #110365), recycling create+delete
 * pairs into updates, the trigger-time annotation, and moving the work
 * into the plan in write order.
 *
 * Invariant: records move into the plan with the reference the type's
 * work held; deletes take a new reference on the existing slice.
 * Thread safety: one reconcile, one thread.
 */
#include "base.h"
#include "epslice.h"

#include "epslice_internal.h"
#include "triggertime.h"

/* ---- Placeholder (§5.2 step 5) --------------------------------------------
 */

static const char *nz(const char *s)
{
	return s ? s : "";
}

static bool owners_equal(const struct kube_meta *a, const struct kube_meta *b)
{
	if (a->n_owners != b->n_owners)
		return false;
	for (uint32_t i = 0; i < a->n_owners; i++) {
		const struct kube_owner_ref *x = &a->owners[i],
					    *y = &b->owners[i];

		if (!str_eq(nz(x->api_version), nz(y->api_version)) ||
		    !str_eq(nz(x->kind), nz(y->kind)) ||
		    !str_eq(nz(x->name), nz(y->name)) ||
		    !str_eq(nz(x->uid), nz(y->uid)) ||
		    x->controller != y->controller ||
		    x->block_owner_deletion != y->block_owner_deletion)
			return false;
	}
	return true;
}

/* Upstream placeholderSliceCompare: name, annotations, resourceVersion and
 * timestamps are ignored; nil lists equal empty ones. */
static bool placeholder_equal(const struct kube_endpointslice *s,
			      const struct kube_endpointslice *ph)
{
	return !strcmp(s->obj.meta.ns, ph->obj.meta.ns) &&
	       kube_labels_equal(&s->obj.meta.labels, &ph->obj.meta.labels) &&
	       owners_equal(&s->obj.meta, &ph->obj.meta) &&
	       s->address_type == ph->address_type && s->n_ports == 0 &&
	       s->n_endpoints == 0;
}

void epslice__placeholder(struct epslice__ctx *ctx, struct epslice__type *t)
{
	struct kube_endpointslice *ph;

	if (t->n_existing != t->del.n || t->create.n > 0)
		return;
	ph = epslice__new_slice(ctx, t->type, NULL, 0);
	if (t->del.n == 1 && placeholder_equal(t->del.p[0], ph)) {
		/* Do not rewrite an equal placeholder (issue #108231). */
		t->del.n = 0;
		kube_object_unref(&ph->obj);
		return;
	}
	epslice__vec_push(&t->create, ph);
}

/* ---- Recycling (§5.4 step 1) -----------------------------------------------
 */

/* The last create takes over each owned delete of the same address type;
 * the object written stays the fresh one, with the old name only. */
static void recycle(struct epslice__ctx *ctx, struct epslice__type *t)
{
	for (size_t i = 0; i < t->del.n && t->create.n > 0;) {
		const struct kube_endpointslice *d = t->del.p[i];
		struct kube_endpointslice *c = t->create.p[t->create.n - 1];

		if (d->address_type != c->address_type ||
		    !epslice_owned_by(d, ctx->svc)) {
			i++;
			continue;
		}
		c->obj.meta.name = kube_set_str(&c->obj, d->obj.meta.name);
		t->create.n--;
		epslice__vec_push(&t->update, c);
		memmove(&t->del.p[i], &t->del.p[i + 1],
			(t->del.n - i - 1) * sizeof(void *));
		t->del.n--;
	}
}

/* ---- The plan -------------------------------------------------------------
 */

static void plan_push(struct kube_object ***arr, size_t *n,
		      struct kube_object *o)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof(struct kube_object *));
	(*arr)[(*n)++] = o;
}

void epslice__finalize(struct epslice__ctx *ctx, struct epslice__type *t)
{
	struct epslice_plan *plan = ctx->plan;
	char ts[CLOCK_RFC3339_LEN];
	const char *value = NULL;

	recycle(ctx, t);
	if (ctx->in->trigger_ms) {
		/* §4.3: RFC 3339 UTC, fraction trimmed as Go's RFC3339Nano. */
		triggertime_format(ctx->in->trigger_ms, ts);
		value = ts;
	}
	for (size_t i = 0; i < t->create.n; i++) {
		struct kube_object *o = t->create.p[i];

		/* No creates for a terminating Service (issue #91287). */
		if (kube_object_deleting(&ctx->svc->obj)) {
			kube_object_unref(o);
			continue;
		}
		epslice__set_annotation(o, EPSLICE_ANN_TRIGGER_TIME, value);
		plan_push(&plan->creates, &plan->n_creates, o);
	}
	for (size_t i = 0; i < t->update.n; i++) {
		struct kube_object *o = t->update.p[i];

		epslice__set_annotation(o, EPSLICE_ANN_TRIGGER_TIME, value);
		plan_push(&plan->updates, &plan->n_updates, o);
	}
	for (size_t i = 0; i < t->del.n; i++) {
		const struct kube_endpointslice *s = t->del.p[i];

		plan_push(
		    &plan->deletes, &plan->n_deletes,
		    kube_object_ref((struct kube_object *)(uintptr_t)&s->obj));
	}
	t->create.n = 0;
	t->update.n = 0;
	t->del.n = 0;
}
