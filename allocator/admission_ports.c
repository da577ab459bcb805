/*
 * admission_ports: spec.ports[].nodePort and spec.healthCheckNodePort in
 * the plan, replaying upstream's patchAllocatedValues refill by port
 * name, the strategy's dropTypeDependentFields, alloc.go initNodePorts
 * (create: one number per service port number, shared across protocols),
 * updateNodePorts (update: no sharing), allocHealthCheckNodePort and
 * updateHealthCheckNodePort (allocator.md §3.3-§3.8). Explicit values are
 * listed for reservation before any dynamic need (§3.4 Recommendation).
 * Pure; no locks.
 */
#include "base.h"
#include "admission.h"

#include "admission_internal.h"

bool admission__needs_node_ports(enum kube_service_type t)
{
	return t == KUBE_SVC_NODE_PORT || t == KUBE_SVC_LOAD_BALANCER;
}

/* upstream apiservice.NeedsHealthCheck. */
bool admission__needs_health_check(const struct kube_service *s)
{
	return s->type == KUBE_SVC_LOAD_BALANCER &&
	       str_eq(s->external_traffic_policy, "Local");
}

/* upstream shouldAllocateNodePorts; v1 defaulting sets the LB flag true. */
static bool should_allocate(const struct kube_service *s)
{
	if (s->type == KUBE_SVC_NODE_PORT)
		return true;
	return s->type == KUBE_SVC_LOAD_BALANCER &&
	       s->allocate_lb_node_ports != KUBE_FALSE;
}

static bool has_port(const int32_t *np, uint32_t n, int32_t value)
{
	for (uint32_t i = 0; i < n; i++)
		if (np[i] == value)
			return true;
	return false;
}

static const char *port_name(const struct kube_service_port *p)
{
	return p->name ? p->name : "";
}

/* The old nodePort of the last old port named name (a Go map), or 0. */
static int32_t old_by_name(const struct admission__view *o, const char *name)
{
	int32_t val = 0;

	for (uint32_t i = 0; i < o->n_ports; i++)
		if (strcmp(port_name(&o->svc->ports[i]), name) == 0)
			val = o->np[i];
	return val;
}

void admission__refill_ports(struct admission__ctx *c)
{
	struct admission__view *v = &c->v, *o = &c->o;
	const struct admission_config *cfg = c->cfg;

	if (cfg->node_ports && admission__needs_node_ports(o->type) &&
	    admission__needs_node_ports(v->type)) {
		/* Upstream patchAllocatedValues: the ports old and new both
		 * use are fixed before any refill, so TCP and UDP twins that
		 * share one node port both get it back. */
		int32_t *given = xmemdup(v->np, v->n_ports * sizeof(*v->np));

		for (uint32_t i = 0; i < v->n_ports; i++) {
			int32_t val;

			if (v->np[i] != 0)
				continue;
			val = old_by_name(o, port_name(&v->svc->ports[i]));
			if (val == 0 || has_port(given, v->n_ports, val))
				continue;
			v->np[i] = val;
			v->np_refill[i] = true;
		}
		free(given);
	}
	if (cfg->health_check_ports && admission__needs_health_check(o->svc) &&
	    admission__needs_health_check(v->svc) && v->hc == 0 && o->hc) {
		v->hc = o->hc;
		c->refill_hc = true;
	}
}

static bool old_covers_new(const struct admission__view *o,
			   const struct admission__view *v)
{
	for (uint32_t i = 0; i < v->n_ports; i++)
		if (v->np[i] && !has_port(o->np, o->n_ports, v->np[i]))
			return false;
	return true;
}

void admission__drop_type_fields(struct admission__ctx *c)
{
	struct admission__view *v = &c->v, *o = &c->o;

	if (admission__needs_node_ports(o->type) &&
	    !admission__needs_node_ports(v->type) && old_covers_new(o, v))
		memset(v->np, 0, v->n_ports * sizeof(*v->np));
	if (admission__needs_health_check(o->svc) &&
	    !admission__needs_health_check(v->svc) && v->hc == o->hc)
		v->hc = 0;
}

/* validation.go: nodePort on type ClusterIP, duplicate (protocol, port). */
static void port_errors(struct admission__ctx *c)
{
	const struct admission__view *v = &c->v;
	const struct kube_service_port *ports = v->svc->ports;
	char field[48];

	for (uint32_t i = 0; i < v->n_ports; i++) {
		if (v->type != KUBE_SVC_CLUSTER_IP || v->np[i] == 0)
			continue;
		(void)snprintf(field, sizeof(field), "spec.ports[%u].nodePort",
			       i);
		admission__err(
		    c, field,
		    "Forbidden: may not be used when `type` is 'ClusterIP'");
	}
	for (uint32_t i = 0; i < v->n_ports; i++) {
		for (uint32_t j = 0; j < i && v->np[i]; j++) {
			if (v->np[j] != v->np[i] ||
			    ports[j].protocol != ports[i].protocol)
				continue;
			(void)snprintf(field, sizeof(field),
				       "spec.ports[%u].nodePort", i);
			admission__err(c, field, "Duplicate value: %d",
				       v->np[i]);
			break;
		}
	}
}

/* Rejections upstream names that we do not: leave them to it. */
static const char *port_pass(const struct admission__ctx *c)
{
	const struct admission__view *v = &c->v;

	if (admission__needs_node_ports(v->type) && v->n_ips > 0 &&
	    strcmp(v->ips[0], "None") == 0)
		return "headless NodePort/LoadBalancer: left to the apiserver";
	if (v->hc && !admission__needs_health_check(v->svc))
		return "healthCheckNodePort without LoadBalancer+Local: left "
		       "to the apiserver";
	if (v->hc && has_port(v->np, v->n_ports, v->hc))
		return "healthCheckNodePort equals a nodePort: left to the "
		       "apiserver";
	return NULL;
}

bool admission__check_ports(struct admission__ctx *c)
{
	const char *note;

	if (c->has_old && admission__needs_health_check(c->o.svc) &&
	    admission__needs_health_check(c->v.svc) && c->v.hc != c->o.hc)
		admission__err(c, "spec.healthCheckNodePort",
			       "Forbidden: field is immutable");
	port_errors(c);
	if (c->errs.n) {
		admission__deny(c);
		return false;
	}
	note = port_pass(c);
	if (note) {
		admission_plan_release(c->p);
		c->p->note = note;
		c->p->health_check_need = -1;
		return false;
	}
	return true;
}

static void reserve_port(struct admission_plan *p, int32_t value, int32_t index)
{
	for (uint32_t i = 0; i < p->n_reserve_ports; i++)
		if (p->reserve_ports[i].node_port == value)
			return;
	p->reserve_ports =
	    xrealloc(p->reserve_ports,
		     (p->n_reserve_ports + 1) * sizeof(*p->reserve_ports));
	p->reserve_ports[p->n_reserve_ports].node_port = value;
	p->reserve_ports[p->n_reserve_ports++].index = index;
}

static int32_t add_need(struct admission_plan *p, int32_t index, int32_t port)
{
	p->port_needs = xrealloc(p->port_needs, (p->n_port_needs + 1) *
						    sizeof(*p->port_needs));
	p->port_needs[p->n_port_needs].index = index;
	p->port_needs[p->n_port_needs].port = port;
	return (int32_t)p->n_port_needs++;
}

static void add_set(struct admission_plan *p, uint32_t index, int32_t value,
		    int32_t need)
{
	p->port_sets = xrealloc(p->port_sets,
				(p->n_port_sets + 1) * sizeof(*p->port_sets));
	p->port_sets[p->n_port_sets].index = index;
	p->port_sets[p->n_port_sets].value = value;
	p->port_sets[p->n_port_sets++].need = need;
}

/* upstream findRequestedNodePort: the first explicit value of a port
 * number. */
static int32_t requested(const struct admission__view *v, int32_t port)
{
	for (uint32_t i = 0; i < v->n_ports; i++)
		if (v->svc->ports[i].port == port && v->np[i])
			return v->np[i];
	return 0;
}

/* A dynamic need already planned for this service port number. */
static int32_t need_for(const struct admission_plan *p, int32_t port)
{
	for (uint32_t k = 0; k < p->n_port_needs; k++)
		if (p->port_needs[k].port == port)
			return (int32_t)k;
	return -1;
}

/* initNodePorts: ports with the same number share one value. */
static void plan_create(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;
	const struct admission__view *v = &c->v;
	bool dyn = should_allocate(v->svc);

	for (uint32_t i = 0; i < v->n_ports; i++)
		if (v->np[i])
			reserve_port(p, v->np[i], (int32_t)i);
	for (uint32_t i = 0; i < v->n_ports && dyn; i++) {
		int32_t port = v->svc->ports[i].port, val, k;

		if (v->np[i])
			continue;
		val = requested(v, port);
		if (val) {
			add_set(p, i, val, -1);
			continue;
		}
		k = need_for(p, port);
		if (k < 0)
			k = add_need(p, (int32_t)i, port);
		add_set(p, i, 0, k);
	}
}

/* updateNodePorts: new explicit values are claimed, zeros get their own
 * value each (no sharing on update, §3.5). */
static void plan_update(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;
	const struct admission__view *v = &c->v, *o = &c->o;
	bool dyn = should_allocate(v->svc);

	for (uint32_t i = 0; i < v->n_ports; i++) {
		if (v->np_refill[i])
			add_set(p, i, v->np[i], -1);
		else if (v->np[i] && !has_port(o->np, o->n_ports, v->np[i]))
			reserve_port(p, v->np[i], (int32_t)i);
	}
	for (uint32_t i = 0; i < v->n_ports && dyn; i++) {
		if (v->np[i] == 0)
			add_set(p, i, 0,
				add_need(p, (int32_t)i, v->svc->ports[i].port));
	}
}

static int cmp_set(const void *a, const void *b)
{
	const struct admission_port_set *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

void admission__plan_ports(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;

	if (!c->cfg->node_ports || !admission__needs_node_ports(c->v.type))
		return;
	if (c->has_old)
		plan_update(c);
	else
		plan_create(c);
	if (p->n_port_sets > 1)
		qsort(p->port_sets, p->n_port_sets, sizeof(*p->port_sets),
		      cmp_set);
}

void admission__plan_health_check(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;
	const struct admission__view *v = &c->v;
	bool was = c->has_old && admission__needs_health_check(c->o.svc);

	if (!c->cfg->health_check_ports ||
	    !admission__needs_health_check(v->svc))
		return;
	if (was) {
		/* Needed before and after: immutable, refilled if omitted. */
		p->set_health_check = c->refill_hc;
		p->health_check = v->hc;
		return;
	}
	if (v->hc) {
		reserve_port(p, v->hc, ADMISSION_HEALTH_CHECK);
		return;
	}
	p->set_health_check = true;
	p->health_check_need = add_need(p, ADMISSION_HEALTH_CHECK, 0);
}
