/*
 * allocator_observe: the watch path of the allocator (allocator.md §8.5).
 * Every value a Service version carries is marked allocated and
 * confirmed (values the apiserver chose itself are imported); values the
 * previous version carried and this one does not (admission_released) are
 * released, but only from this Service, so a duplicate held by another
 * Service stays for the repair loop to report.
 *
 * Locking: everything runs under a->lock; the record is written first and
 * the bitmaps follow only when its transaction committed.
 */
#include "base.h"
#include "allocator.h"

#include "allocator_internal.h"

#define FIELD_LEN 64

struct obs_item {
	struct allocator__val v;
	char field[FIELD_LEN];
	bool set; /* SET (new bit) or CLEAR */
};

struct obs {
	struct allocator *a;
	struct obs_item *carried; /* owned: values the new version holds */
	size_t n_carried;
	struct obs_item *released; /* owned: to clear from this Service */
	size_t n_released;
};

static bool listed(const struct obs_item *v, size_t n,
		   const struct allocator__val *x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].v.range == x->range && v[i].v.offset == x->offset)
			return true;
	return false;
}

static void push(struct obs_item **v, size_t *n, const struct allocator__val *x,
		 const char *field)
{
	if (listed(*v, *n, x))
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].v = *x;
	(*v)[*n].set = false;
	(void)snprintf((*v)[*n].field, FIELD_LEN, "%s", field);
	(*n)++;
}

static void collect_carried(struct obs *o, const struct kube_service *s)
{
	struct allocator__val x;
	char field[FIELD_LEN];

	for (uint32_t i = 0; i < s->n_cluster_ips; i++) {
		(void)snprintf(field, sizeof(field), "spec.clusterIPs[%u]", i);
		if (allocator__ip_val(o->a, s->cluster_ips[i], &x))
			push(&o->carried, &o->n_carried, &x, field);
	}
	if (s->n_cluster_ips == 0 && allocator__ip_val(o->a, s->cluster_ip, &x))
		push(&o->carried, &o->n_carried, &x, "spec.clusterIP");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		(void)snprintf(field, sizeof(field), "spec.ports[%u].nodePort",
			       i);
		if (allocator__port_val(o->a, s->ports[i].node_port, &x))
			push(&o->carried, &o->n_carried, &x, field);
	}
	if (allocator__port_val(o->a, s->health_check_node_port, &x))
		push(&o->carried, &o->n_carried, &x,
		     "spec.healthCheckNodePort");
}

/* Whether the record holds x for ns/name (only those are released). */
static bool owned_by(struct obs *o, const struct allocator__val *x,
		     const struct kube_meta *m)
{
	struct allocdb_entry e;
	bool mine;

	if (allocdb_lookup(o->a->db, allocator__range_names[x->range],
			   x->offset, &e, NULL) != ERR_OK)
		return false;
	mine = strcmp(e.ns, m->ns) == 0 && strcmp(e.name, m->name) == 0;
	allocdb_entry_release(&e);
	return mine;
}

static void collect_released(struct obs *o, const struct kube_service *old,
			     const struct kube_service *new)
{
	struct admission_values rel = ADMISSION_VALUES_INIT;
	struct allocator__val x;

	admission_released(old, new, &rel);
	for (uint32_t i = 0; i < rel.n_ips; i++)
		if (allocator__ip_val(o->a, rel.ips[i], &x) &&
		    owned_by(o, &x, &old->obj.meta))
			push(&o->released, &o->n_released, &x, "");
	for (uint32_t i = 0; i < rel.n_ports; i++)
		if (allocator__port_val(o->a, rel.ports[i], &x) &&
		    owned_by(o, &x, &old->obj.meta))
			push(&o->released, &o->n_released, &x, "");
	admission_values_release(&rel);
}

static bool bit_set(struct allocator *a, const struct allocator__val *x)
{
	struct cidr_addr addr;

	if (x->range == ALLOCATOR_NODEPORT)
		return portalloc_has(
		    a->ports,
		    (int)(portalloc_range(a->ports)->base + x->offset));
	ipalloc_addr_at(a->ip[x->range], x->offset, &addr);
	return ipalloc_has(a->ip[x->range], &addr);
}

/* SETs for carried values not yet held, CLEARs for released ones, in one
 * transaction. */
static enum err apply_changes(struct obs *o, const struct kube_meta *m,
			      struct errbuf *eb)
{
	size_t cap = o->n_carried + o->n_released, n = 0;
	struct allocdb_change *ch = xcalloc(cap ? cap : 1, sizeof(*ch));
	enum err e;

	for (size_t i = 0; i < o->n_carried; i++) {
		struct obs_item *it = &o->carried[i];

		it->set = !bit_set(o->a, &it->v);
		if (!it->set)
			continue;
		ch[n] = (struct allocdb_change){
		    .range = allocator__range_names[it->v.range],
		    .offset = it->v.offset,
		    .op = ALLOCDB_SET,
		    .ns = m->ns,
		    .name = m->name,
		    .uid = m->uid,
		    .field = it->field,
		    .confirmed = true};
		n++;
	}
	for (size_t i = 0; i < o->n_released; i++, n++)
		ch[n] = (struct allocdb_change){
		    .range = allocator__range_names[o->released[i].v.range],
		    .offset = o->released[i].v.offset,
		    .op = ALLOCDB_CLEAR};
	e = n ? allocdb_apply(o->a->db, ch, n, eb) : ERR_OK;
	free(ch);
	return e;
}

/* After the commit: the bitmaps, the confirmations and the map. */
static void apply_memory(struct obs *o, const struct kube_meta *m)
{
	struct errbuf eb = ERRBUF_INIT;

	for (size_t i = 0; i < o->n_carried; i++) {
		struct obs_item *it = &o->carried[i];

		if (it->set) {
			BUG_ON(allocator__set_bit(o->a, &it->v) != ERR_OK);
			allocator__touch(o->a, &it->v);
			allocator__tent_drop(o->a, &it->v);
			continue;
		}
		/* Only a reservation of this process's admission is still
		 * unconfirmed: every other Service event (status, labels)
		 * costs no sqlite transaction. One reserved before a restart
		 * is confirmed by the next repair pass instead. */
		if (allocator__tent_drop(o->a, &it->v) &&
		    allocdb_confirm(o->a->db,
				    allocator__range_names[it->v.range],
				    it->v.offset, m->uid, &eb) != ERR_OK)
			log_v(2,
			      "allocator: not confirmed, left to repair: "
			      "service=%s/%s: %s",
			      m->ns, m->name, eb.msg);
	}
	for (size_t i = 0; i < o->n_released; i++) {
		allocator__clear_bit(o->a, &o->released[i].v);
		allocator__tent_drop(o->a, &o->released[i].v);
		allocator__touch(o->a, &o->released[i].v);
	}
}

enum err allocator_observe(struct allocator *a, const struct kube_service *old,
			   const struct kube_service *new)
{
	struct errbuf eb = ERRBUF_INIT;
	struct obs o = {.a = a};
	const struct kube_service *s = new ? new : old;
	enum err e = ERR_OK;

	if (!s)
		return ERR_OK;
	pthread_mutex_lock(&a->lock);
	if (new)
		collect_carried(&o, new);
	if (old)
		collect_released(&o, old, new);
	e = apply_changes(&o, &s->obj.meta, &eb);
	if (e == ERR_OK)
		apply_memory(&o, &s->obj.meta);
	pthread_mutex_unlock(&a->lock);
	if (e != ERR_OK)
		log_error("allocator: recording service=%s/%s failed: %s",
			  s->obj.meta.ns, s->obj.meta.name, eb.msg);
	free(o.carried);
	free(o.released);
	return e;
}
