/*
 * hints: topology hints (endpointslice.md §6). NEEDSWORK: this first
 * version only strips hints (§6.4), the default heuristic; the
 * topology-mode Auto allocation and trafficDistribution land next.
 */
#include "base.h"
#include "hints.h"

#include <pthread.h>

struct hints {
	pthread_mutex_t lock;
};

struct hints *hints_new(void)
{
	struct hints *h = xcalloc(1, sizeof(*h));

	pthread_mutex_init(&h->lock, NULL);
	return h;
}

void hints_free(struct hints *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void hints_set_nodes(struct hints *h, const struct kube_node *const *nodes,
		     size_t n)
{
	(void)h;
	(void)nodes;
	(void)n;
}

static bool slice_has_hints(const struct kube_endpointslice *s)
{
	for (uint32_t i = 0; i < s->n_endpoints; i++)
		if (s->endpoints[i].has_hints)
			return true;
	return false;
}

void hints_strip(struct epslice_work *w)
{
	for (size_t i = 0; i < w->n_create; i++)
		for (uint32_t e = 0; e < w->create[i]->n_endpoints; e++)
			epslice_set_hints(w->create[i], e, NULL, 0, NULL, 0);
	for (size_t i = 0; i < w->n_update; i++)
		for (uint32_t e = 0; e < w->update[i]->n_endpoints; e++)
			epslice_set_hints(w->update[i], e, NULL, 0, NULL, 0);
	for (size_t i = 0; i < w->n_unchanged;) {
		struct kube_endpointslice *s;

		if (!slice_has_hints(w->unchanged[i])) {
			i++;
			continue;
		}
		s = epslice_work_promote(w, i);
		for (uint32_t e = 0; e < s->n_endpoints; e++)
			epslice_set_hints(s, e, NULL, 0, NULL, 0);
	}
}

void hints_apply(struct hints *h, const struct kube_service *svc,
		 struct epslice_work *w)
{
	(void)h;
	(void)svc;
	hints_strip(w);
}

void hints_overloaded(struct hints *h,
		      void (*fn)(void *ctx, const char *ns, const char *name),
		      void *ctx)
{
	(void)h;
	(void)fn;
	(void)ctx;
}

void hints_forget(struct hints *h, const char *ns, const char *name)
{
	(void)h;
	(void)ns;
	(void)name;
}

size_t hints_count_traffic_distribution(struct hints *h, const char *value)
{
	(void)h;
	(void)value;
	return 0;
}
