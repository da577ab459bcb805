/*
 * epslice_place: churn-minimising placement of one port group's desired
 * endpoints into its existing slices (upstream reconcileByPortMapping,
 * endpointslice.md §5.3): update in place keeping the existing order, top
 * up the slices already being updated fullest first, put a small
 * remainder into the one unchanged slice that fits it best, else open new
 * slices of at most M endpoints.
 *
 * Slices are first planned as drafts (an original or none, and a list of
 * borrowed endpoints); records are built from the drafts at the end, so a
 * slice is copied once however often it is touched.
 * Thread safety: one reconcile, one thread.
 */
#include "base.h"
#include "epslice.h"

#include "epslice_internal.h"

struct draft {
	const struct kube_endpointslice *orig; /* NULL for a new slice */
	bool relabel;			       /* write the desired labels */
	struct epslice__vec eps; /* const struct kube_endpoint * */
};

/* Placement state of one group. */
struct place {
	struct epslice__ctx *ctx;
	struct epslice__type *t;
	struct epslice__group *g;
	size_t next;		    /* cursor into g->eps for popping */
	size_t left;		    /* |D|: live desired endpoints not placed */
	struct epslice__vec update; /* struct draft * */
	struct epslice__vec create; /* struct draft * */
	struct epslice__vec unchanged; /* const struct kube_endpointslice * */
};

static struct draft *draft_new(const struct kube_endpointslice *orig,
			       bool relabel)
{
	struct draft *d = xcalloc(1, sizeof(*d));

	d->orig = orig;
	d->relabel = relabel;
	return d;
}

static void draft_free(struct draft *d)
{
	epslice__vec_release(&d->eps);
	free(d);
}

/* Points the draft at the original's endpoints, hints included. */
static void draft_keep_endpoints(struct draft *d)
{
	d->eps.n = 0;
	for (uint32_t i = 0; i < d->orig->n_endpoints; i++)
		epslice__vec_push(&d->eps,
				  (void *)(uintptr_t)&d->orig->endpoints[i]);
}

/* Takes the next desired endpoint in pod order. */
static const struct kube_endpoint *pop(struct place *pl)
{
	struct epslice__group *g = pl->g;

	while (g->eps[pl->next].dead || g->eps[pl->next].taken)
		pl->next++;
	g->eps[pl->next].taken = true;
	pl->left--;
	return &g->eps[pl->next].ep;
}

static void fill(struct place *pl, struct draft *d)
{
	while (pl->left > 0 && d->eps.n < pl->ctx->max)
		epslice__vec_push(&d->eps, (void *)(uintptr_t)pop(pl));
}

/* ---- Step 1: walk the existing slices ------------------------------------ */

/* Keeps the slice's desired endpoints in order; true if any was updated or
 * removed. The first occurrence of an identity wins. */
static bool keep_desired(struct place *pl, const struct kube_endpointslice *s,
			 struct draft *d)
{
	bool changed = false;

	for (uint32_t i = 0; i < s->n_endpoints; i++) {
		const struct kube_endpoint *ep = &s->endpoints[i];
		struct epslice__dep *dep = epslice__group_find(
		    pl->g, epslice__ep_id(pl->ctx->scratch, ep));

		if (!dep) {
			changed = true;
			pl->t->removed++;
			continue;
		}
		dep->taken = true;
		pl->left--;
		epslice__vec_push(&d->eps, &dep->ep);
		if (!epslice__ep_equal(ep, &dep->ep))
			changed = true;
	}
	return changed;
}

static void walk_existing(struct place *pl,
			  const struct kube_endpointslice *const *existing,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct kube_endpointslice *s = existing[i];
		struct draft *d = draft_new(s, true);
		bool labels = epslice__labels_changed(
		    &s->obj.meta.labels, &pl->ctx->svc->obj.meta.labels);

		if (keep_desired(pl, s, d)) {
			if (d->eps.n == 0) {
				epslice__vec_push(&pl->t->del,
						  (void *)(uintptr_t)s);
				draft_free(d);
			} else {
				epslice__vec_push(&pl->update, d);
			}
		} else if (labels) {
			draft_keep_endpoints(d);
			epslice__vec_push(&pl->update, d);
		} else {
			epslice__vec_push(&pl->unchanged, (void *)(uintptr_t)s);
			draft_free(d);
		}
	}
}

/* ---- Step 2: top up the slices being updated ----------------------------- */

/* Fullest first; a stable insertion sort keeps equal slices in order. */
static void sort_fullest_first(struct epslice__vec *v)
{
	for (size_t i = 1; i < v->n; i++) {
		struct draft *d = v->p[i];
		size_t j = i;

		for (; j > 0 && ((struct draft *)v->p[j - 1])->eps.n < d->eps.n;
		     j--)
			v->p[j] = v->p[j - 1];
		v->p[j] = d;
	}
}

static void top_up(struct place *pl)
{
	if (pl->left == 0 || pl->update.n == 0)
		return;
	sort_fullest_first(&pl->update);
	for (size_t i = 0; i < pl->update.n && pl->left > 0; i++)
		fill(pl, pl->update.p[i]);
}

/* ---- Step 3: place the rest ---------------------------------------------- */

/* Upstream getSliceToFill: the unchanged slice closest to full after taking
 * all of D without passing M; removes it from the list. */
static const struct kube_endpointslice *slice_to_fill(struct place *pl)
{
	size_t best = pl->unchanged.n, closest = pl->ctx->max;
	const struct kube_endpointslice *s;

	for (size_t i = 0; i < pl->unchanged.n; i++) {
		size_t len =
		    ((const struct kube_endpointslice *)pl->unchanged.p[i])
			->n_endpoints;

		if (len + pl->left > pl->ctx->max)
			continue;
		if (pl->ctx->max - (len + pl->left) < closest) {
			closest = pl->ctx->max - (len + pl->left);
			best = i;
			if (closest == 0)
				break;
		}
	}
	if (best == pl->unchanged.n)
		return NULL;
	s = pl->unchanged.p[best];
	memmove(&pl->unchanged.p[best], &pl->unchanged.p[best + 1],
		(pl->unchanged.n - best - 1) * sizeof(void *));
	pl->unchanged.n--;
	return s;
}

static void place_rest(struct place *pl)
{
	while (pl->left > 0) {
		const struct kube_endpointslice *s = NULL;
		struct draft *d;

		if (pl->left < pl->ctx->max && pl->unchanged.n > 0)
			s = slice_to_fill(pl);
		if (s) {
			/* Labels stay as they were: upstream copies the
			 * slice without relabelling it. */
			d = draft_new(s, false);
			draft_keep_endpoints(d);
			epslice__vec_push(&pl->update, d);
		} else {
			d = draft_new(NULL, false);
			epslice__vec_push(&pl->create, d);
		}
		fill(pl, d);
	}
}

/* ---- Records ------------------------------------------------------------- */

static struct kube_endpointslice *materialise(struct place *pl,
					      const struct draft *d)
{
	struct kube_endpointslice *s;

	if (d->orig) {
		s = epslice__clone(d->orig, false);
		if (d->relabel)
			epslice__set_labels(&s->obj, &pl->ctx->labels);
	} else {
		s = epslice__new_slice(pl->ctx, pl->t->type, pl->g->ports,
				       pl->g->n_ports);
	}
	epslice__set_endpoints(s, (const struct kube_endpoint *const *)d->eps.p,
			       d->eps.n);
	return s;
}

static void emit(struct place *pl)
{
	for (size_t i = 0; i < pl->update.n; i++) {
		epslice__vec_push(&pl->t->update,
				  materialise(pl, pl->update.p[i]));
		draft_free(pl->update.p[i]);
	}
	for (size_t i = 0; i < pl->create.n; i++) {
		epslice__vec_push(&pl->t->create,
				  materialise(pl, pl->create.p[i]));
		draft_free(pl->create.p[i]);
	}
	for (size_t i = 0; i < pl->unchanged.n; i++)
		epslice__vec_push(&pl->t->unchanged, pl->unchanged.p[i]);
	epslice__vec_release(&pl->update);
	epslice__vec_release(&pl->create);
	epslice__vec_release(&pl->unchanged);
}

void epslice__place(struct epslice__ctx *ctx, struct epslice__type *t,
		    struct epslice__group *g,
		    const struct kube_endpointslice *const *existing,
		    size_t n_existing)
{
	struct place pl = {.ctx = ctx, .t = t, .g = g, .left = g->n_live};

	walk_existing(&pl, existing, n_existing);
	t->added += pl.left;
	top_up(&pl);
	place_rest(&pl);
	emit(&pl);
}
