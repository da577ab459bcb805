/*
 * repair_collect: the first half of a repair pass (allocator.md §4.3,
 * §8.6): every Service's ClusterIPs and node ports are allocated in the
 * rebuilt sets, with upstream's events (reasons, actions and messages of
 * ipallocator/controller/repair.go and portallocator/controller/repair.go)
 * for values that are not valid, out of range, duplicated or missing from
 * the record. Services are taken in the order repair.h defines, so the
 * "later" Service of a duplicate is deterministic. One owner; no locking.
 */
#include "base.h"
#include "repair.h"

#include "repair_internal.h"

/* Upstream's messages, one literal each so they can be grepped. */
/* clang-format off */
#define MSG_IP_NOT_VALID "Cluster IP %s is not a valid IP; please recreate service"
#define MSG_IP_FAMILY "Cluster IP %s(%s) is of ip family that is no longer configured on cluster; please recreate service"
#define MSG_IP_NOT_ALLOCATED "Cluster IP [%s]:%s is not allocated; repairing"
#define MSG_IP_DUPLICATE "Cluster IP [%s]:%s was assigned to multiple services; please recreate service"
#define MSG_IP_OUT_OF_RANGE "Cluster IP [%s]:%s is not within the service CIDR %s; please recreate service"
#define MSG_IP_FULL "Service CIDR %s is full; you must widen the CIDR in order to create new services for Cluster IP [%s]:%s"
#define MSG_IP_UNKNOWN "Unable to allocate cluster IP [%s]:%s due to an unknown error"
#define MSG_PORT_NOT_ALLOCATED "Port %d is not allocated; repairing"
#define MSG_PORT_DUPLICATE "Port %d was assigned to multiple services; please recreate service"
#define MSG_PORT_OUT_OF_RANGE "Port %d is not within the port range %s; please recreate service"
#define MSG_PORT_FULL "Port range %s is full; you must widen the port range in order to create new services"
#define MSG_PORT_UNKNOWN "Unable to allocate port %d due to an unknown error"
/* clang-format on */

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* creationTimestamp, then namespace, then name (repair.h). */
static int svc_cmp(const void *a, const void *b)
{
	const struct kube_meta *x =
	    &(*(const struct kube_service *const *)a)->obj.meta;
	const struct kube_meta *y =
	    &(*(const struct kube_service *const *)b)->obj.meta;
	int c;

	if (x->creation_ms != y->creation_ms)
		return x->creation_ms < y->creation_ms ? -1 : 1;
	c = cmp_str(x->ns, y->ns);
	return c ? c : cmp_str(x->name, y->name);
}

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

/* Queues an event regarding s; msg is taken. */
static void event(struct repair__pass *p, const struct kube_service *s,
		  const char *reason, const char *action, char *msg)
{
	struct repair_event *e;

	if (p->n_ev == p->cap_ev) {
		p->cap_ev = p->cap_ev ? 2 * p->cap_ev : 8;
		p->ev = xrealloc(p->ev, p->cap_ev * sizeof(*p->ev));
	}
	e = &p->ev[p->n_ev++];
	e->ns = dup_or_empty(s->obj.meta.ns);
	e->name = dup_or_empty(s->obj.meta.name);
	e->uid = dup_or_empty(s->obj.meta.uid);
	e->reason = reason;
	e->action = action;
	e->message = msg;
	e->range = NULL;
	e->offset = -1;
}

/* A "not allocated; repairing" event, tied to its value. */
static void event_not_allocated(struct repair__pass *p,
				const struct repair__range *rr, uint64_t off,
				const struct kube_service *s,
				const char *reason, const char *action,
				char *msg)
{
	event(p, s, reason, action, msg);
	p->ev[p->n_ev - 1].range = rr->in->name;
	p->ev[p->n_ev - 1].offset = (int64_t)off;
}

/* Records value off of rr as used by s through field (taken). A value
 * missing from the record is repaired: counted, and event/reason given. */
static bool in_use(struct repair__range *rr, uint64_t off,
		   const struct kube_service *s, char *field)
{
	struct allocdb_entry *e;

	if (rr->n_used == rr->cap_used) {
		rr->cap_used = rr->cap_used ? 2 * rr->cap_used : 16;
		rr->used = xrealloc(rr->used, rr->cap_used * sizeof(*rr->used));
	}
	e = &rr->used[rr->n_used++];
	e->offset = off;
	e->ns = dup_or_empty(s->obj.meta.ns);
	e->name = dup_or_empty(s->obj.meta.name);
	e->uid = dup_or_empty(s->obj.meta.uid);
	e->field = field;
	e->taken_ms = 0; /* the record's time, or now; set by repair.c */
	e->confirmed = true;
	if (repair__bit(rr->stored, off))
		return true;
	rr->res->errors[REPAIR_ERR_REPAIR]++;
	return false;
}

static const char *family_name(enum cidr_family f)
{
	return f == CIDR_FAMILY_V4 ? "IPv4" : "IPv6";
}

static struct repair__range *find_range(struct repair__pass *p,
					enum repair_range_kind kind,
					enum cidr_family f)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct repair_range *in = p->rr[i].in;

		if (in->kind == kind &&
		    (kind == REPAIR_RANGE_PORT || in->cidr.addr.family == f))
			return &p->rr[i];
	}
	return NULL;
}

/* Where "invalid" is counted: the primary (first) IP range. */
static void count_invalid(struct repair__pass *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (p->rr[i].in->kind == REPAIR_RANGE_IP) {
			p->rr[i].res->errors[REPAIR_ERR_INVALID]++;
			return;
		}
	}
}

/* The outcome of allocating a parsed, in-range IP (upstream's switch). */
static enum err ip_outcome(struct repair__pass *p, struct repair__range *rr,
			   const struct kube_service *s,
			   const struct cidr_addr *a, uint32_t i)
{
	const char *fam = family_name(rr->in->cidr.addr.family);
	char ip[CIDR_ADDR_STRLEN];
	char cs[CIDR_STRLEN];
	uint64_t off = 0;
	enum err e;

	cidr_addr_format(a, ip);
	(void)ipalloc_index(rr->ia, a, &off);
	e = ipalloc_allocate(rr->ia, a, NULL);
	if (e == ERR_CONFLICT) {
		rr->res->errors[REPAIR_ERR_DUPLICATE]++;
		event(p, s, REPAIR_CLUSTER_IP_ALREADY_ALLOCATED,
		      REPAIR_ACTION_IP_ALLOCATION,
		      xasprintf(MSG_IP_DUPLICATE, fam, ip));
		return ERR_OK;
	}
	if (e == ERR_EXHAUSTED) {
		cidr_format(&rr->in->cidr, cs);
		return errbuf_set(p->eb, e, MSG_IP_FULL, cs, fam, ip);
	}
	if (e)
		return errbuf_set(p->eb, e, MSG_IP_UNKNOWN, fam, ip);
	if (!in_use(rr, off, s, xasprintf("spec.clusterIPs[%u]", i)))
		event_not_allocated(p, rr, off, s, REPAIR_CLUSTER_IP_NOT_ALLOCATED,
		      REPAIR_ACTION_IP_ALLOCATION,
		      xasprintf(MSG_IP_NOT_ALLOCATED, fam, ip));
	return ERR_OK;
}

static enum err take_ip(struct repair__pass *p, const struct kube_service *s,
			const char *text, uint32_t i)
{
	struct repair__range *rr;
	struct cidr_addr a;
	char ip[CIDR_ADDR_STRLEN];
	char cs[CIDR_STRLEN];

	if (cidr_addr_parse(text, &a, NULL) != ERR_OK) {
		count_invalid(p);
		event(p, s, REPAIR_CLUSTER_IP_NOT_VALID,
		      REPAIR_ACTION_IP_VALIDATION,
		      xasprintf(MSG_IP_NOT_VALID, text));
		return ERR_OK;
	}
	cidr_addr_format(&a, ip);
	rr = find_range(p, REPAIR_RANGE_IP, a.family);
	if (!rr) {
		count_invalid(p);
		event(p, s, REPAIR_CLUSTER_IP_NOT_VALID,
		      REPAIR_ACTION_IP_VALIDATION,
		      xasprintf(MSG_IP_FAMILY, ip, family_name(a.family)));
		return ERR_OK;
	}
	if (!ipalloc_contains(rr->ia, &a)) {
		cidr_format(&rr->in->cidr, cs);
		rr->res->errors[REPAIR_ERR_OUT_OF_RANGE]++;
		event(p, s, REPAIR_CLUSTER_IP_OUT_OF_RANGE,
		      REPAIR_ACTION_IP_ALLOCATION,
		      xasprintf(MSG_IP_OUT_OF_RANGE, family_name(a.family), ip,
				cs));
		return ERR_OK;
	}
	return ip_outcome(p, rr, s, &a, i);
}

/* upstream IsServiceIPSet; ExternalName is skipped whatever it carries. */
static enum err take_ips(struct repair__pass *p, const struct kube_service *s)
{
	enum err e = ERR_OK;

	if (s->type == KUBE_SVC_EXTERNAL_NAME || !s->cluster_ip ||
	    !*s->cluster_ip || strcmp(s->cluster_ip, "None") == 0)
		return ERR_OK;
	if (s->n_cluster_ips == 0)
		return take_ip(p, s, s->cluster_ip, 0);
	for (uint32_t i = 0; e == ERR_OK && i < s->n_cluster_ips; i++)
		e = take_ip(p, s, s->cluster_ips[i], i);
	return e;
}

/* field is taken. */
static enum err take_port(struct repair__pass *p, const struct kube_service *s,
			  int port, char *field)
{
	struct repair__range *rr = find_range(p, REPAIR_RANGE_PORT, 0);
	char rs[CIDR_PORT_RANGE_STRLEN];
	enum err e;

	if (!rr) {
		free(field);
		return ERR_OK;
	}
	cidr_port_range_format(&rr->in->ports, rs);
	if (!portalloc_contains(rr->pa, port)) {
		free(field);
		rr->res->errors[REPAIR_ERR_OUT_OF_RANGE]++;
		event(p, s, REPAIR_PORT_OUT_OF_RANGE,
		      REPAIR_ACTION_PORT_ALLOCATION,
		      xasprintf(MSG_PORT_OUT_OF_RANGE, port, rs));
		return ERR_OK;
	}
	e = portalloc_allocate(rr->pa, port, NULL);
	if (e == ERR_CONFLICT) {
		free(field);
		rr->res->errors[REPAIR_ERR_DUPLICATE]++;
		event(p, s, REPAIR_PORT_ALREADY_ALLOCATED,
		      REPAIR_ACTION_PORT_ALLOCATION,
		      xasprintf(MSG_PORT_DUPLICATE, port));
		return ERR_OK;
	}
	if (e) {
		free(field);
		if (e == ERR_EXHAUSTED)
			return errbuf_set(p->eb, e, MSG_PORT_FULL, rs);
		return errbuf_set(p->eb, e, MSG_PORT_UNKNOWN, port);
	}
	if (!in_use(rr, (uint64_t)port - rr->in->ports.base, s, field))
		event_not_allocated(p, rr, (uint64_t)port - rr->in->ports.base,
				    s, REPAIR_PORT_NOT_ALLOCATED,
		      REPAIR_ACTION_PORT_ALLOCATION,
		      xasprintf(MSG_PORT_NOT_ALLOCATED, port));
	return ERR_OK;
}

/* Whether ports[0 .. end) hold node port np, with protocol proto when
 * any is false. */
static bool has_node_port(const struct kube_service *s, uint32_t end,
			  int32_t np, bool any, enum kube_protocol proto)
{
	for (uint32_t j = 0; j < end; j++)
		if (s->ports[j].node_port == np &&
		    (any || s->ports[j].protocol == proto))
			return true;
	return false;
}

/* upstream collectServiceNodePorts (allocator.md §4.3). */
static enum err take_ports(struct repair__pass *p, const struct kube_service *s)
{
	int32_t hc = s->health_check_node_port;
	enum err e = ERR_OK;

	for (uint32_t i = 0; e == ERR_OK && i < s->n_ports; i++) {
		const struct kube_service_port *sp = &s->ports[i];

		if (sp->node_port == 0)
			continue;
		/* A twin on another protocol shares the number. */
		if (has_node_port(s, i, sp->node_port, true, 0) &&
		    !has_node_port(s, i, sp->node_port, false, sp->protocol))
			continue;
		e = take_port(p, s, sp->node_port,
			      xasprintf("spec.ports[%u].nodePort", i));
	}
	if (e || hc == 0)
		return e;
	/* The health check is assumed TCP (upstream's TODO). */
	if (has_node_port(s, s->n_ports, hc, true, 0) &&
	    !has_node_port(s, s->n_ports, hc, false, KUBE_PROTO_TCP))
		return ERR_OK;
	return take_port(p, s, hc, xstrdup("spec.healthCheckNodePort"));
}

enum err repair__collect(struct repair__pass *p)
{
	size_t n = p->in->n_services;
	const struct kube_service **v =
	    xcalloc(n ? n : 1, sizeof(const struct kube_service *));
	enum err e = ERR_OK;

	for (size_t i = 0; i < n; i++)
		v[i] = p->in->services[i];
	qsort(v, n, sizeof(const struct kube_service *), svc_cmp);
	for (size_t i = 0; e == ERR_OK && i < n; i++) {
		e = take_ips(p, v[i]);
		if (e == ERR_OK)
			e = take_ports(p, v[i]);
	}
	free(v);
	return e;
}
