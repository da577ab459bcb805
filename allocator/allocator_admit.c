/*
 * allocator_admit: the admission side of the allocator (allocator.md
 * §8.4). admission_plan decides; this file reserves the explicit values
 * first, then picks the dynamic ones (reusing the tentative reservation
 * of a retried or re-invoked request), persists every new value of the
 * request in one allocdb transaction before answering, and builds the
 * JSON Patch with admission_patch.
 *
 * Locking: the whole reservation, from the first bit to the tentative
 * map update, runs under a->lock, so no two requests see the same free
 * bit; planning and patch building run outside it.
 */
#include "base.h"
#include "allocator.h"

#include "allocator_internal.h"
#include "webhook.h"

#define FIELD_LEN 64
#define MSG_LEN	  768

/* One value this request answers with. */
struct pick {
	struct allocator__val v;
	char field[FIELD_LEN];
	bool fresh;   /* allocated by this request (else reused) */
	bool dynamic; /* chosen by us (else requested): the metric scope */
};

/* The reservation of one request; lives on the caller's stack. */
struct txn {
	struct allocator *a;
	const struct kube_service *svc;
	const char *ns, *name, *uid; /* owner in the record */
	bool reuse;		     /* the key is usable (name known) */
	struct pick *picks;	     /* owned */
	size_t n;
	struct webhook_response *resp;
	bool dry_run; /* nothing durable, nothing counted */
};

static struct pick *add_pick(struct txn *t, const struct allocator__val *v,
			     const char *field, bool fresh)
{
	struct pick *p;

	t->picks = xrealloc(t->picks, (t->n + 1) * sizeof(*t->picks));
	p = &t->picks[t->n++];
	p->v = *v;
	p->fresh = fresh;
	p->dynamic = false;
	(void)snprintf(p->field, sizeof(p->field), "%s", field);
	return p;
}

static bool picked(const struct txn *t, const struct allocator__val *v)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->picks[i].v.range == v->range &&
		    t->picks[i].v.offset == v->offset)
			return true;
	return false;
}

static void rollback(struct txn *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->picks[i].fresh)
			allocator__clear_bit(t->a, &t->picks[i].v);
}

/* A value of this request's own earlier, unconfirmed reservation. */
static bool ours(struct txn *t, const struct allocator__val *v)
{
	return t->reuse && !picked(t, v) &&
	       allocator__tent_find_value(t->a, t->ns, t->name, t->uid, v);
}

/* Upstream counts failed allocations per range and scope, not dry runs. */
static void count_error(struct txn *t, enum allocator_range r, bool dynamic)
{
	if (!t->dry_run)
		t->a->alloc_errors[r][dynamic ? ALLOCATOR_DYNAMIC
					      : ALLOCATOR_STATIC]++;
}

static void deny_500(struct txn *t, const char *what)
{
	webhook_response_deny(t->resp, 500, "InternalError",
			      "Internal error occurred: %s", what);
}

static void ips_json(const struct kube_service *s, char *out, size_t n)
{
	size_t off = (size_t)snprintf(out, n, "[");

	/* The API server copies clusterIP into clusterIPs before admission;
	 * a request that did not (replay, tests) shows the same list. */
	if (s->n_cluster_ips == 0 && s->cluster_ip && s->cluster_ip[0]) {
		(void)snprintf(out, n, "[\"%s\"]", s->cluster_ip);
		return;
	}
	for (uint32_t i = 0; i < s->n_cluster_ips && off < n; i++)
		off += (size_t)snprintf(out + off, n - off, "%s\"%s\"",
					i ? ", " : "", s->cluster_ips[i]);
	if (off < n)
		(void)snprintf(out + off, n - off, "]");
}

/* Upstream alloc.go allocIPs: 422 on spec.clusterIPs. */
static bool reserve_ip(struct txn *t, const struct admission_ip *r)
{
	struct errbuf eb = ERRBUF_INIT;
	struct allocator__val v;
	struct cidr_addr addr;
	char field[FIELD_LEN], list[256];
	struct ipalloc *ia;
	enum err e = cidr_addr_parse(r->ip, &addr, &eb);

	(void)snprintf(field, sizeof(field), "spec.clusterIPs[%u]", r->index);
	ia = t->a->ip[r->family == KUBE_FAMILY_IPV6 ? ALLOCATOR_IPV6
						    : ALLOCATOR_IPV4];
	if (e == ERR_OK && allocator__ip_val(t->a, r->ip, &v) && ours(t, &v)) {
		add_pick(t, &v, field, false);
		return true;
	}
	if (e == ERR_OK && !ia)
		e = errbuf_set(&eb, ERR_INVALID, "family not configured");
	if (e == ERR_OK)
		e = ipalloc_allocate(ia, &addr, &eb);
	if (e == ERR_OK && allocator__ip_val(t->a, r->ip, &v)) {
		add_pick(t, &v, field, true);
		return true;
	}
	ips_json(t->svc, list, sizeof(list));
	count_error(t, r->family == KUBE_FAMILY_IPV6 ? ALLOCATOR_IPV6
						       : ALLOCATOR_IPV4,
		    false);
	webhook_response_deny(t->resp, 422, "Invalid",
			      "Service \"%s\" is invalid: spec.clusterIPs: "
			      "Invalid value: %s: failed to allocate IP %s: %s",
			      t->svc->obj.meta.name, list, r->ip, eb.msg);
	return false;
}

static void port_field(int32_t index, char out[FIELD_LEN])
{
	if (index == ADMISSION_HEALTH_CHECK)
		(void)snprintf(out, FIELD_LEN, "spec.healthCheckNodePort");
	else
		(void)snprintf(out, FIELD_LEN, "spec.ports[%d].nodePort",
			       index);
}

/* Upstream initNodePorts (422 on the port) and allocHealthCheckNodePort
 * (500). */
static bool reserve_port(struct txn *t, const struct admission_port *r)
{
	struct errbuf eb = ERRBUF_INIT;
	struct allocator__val v;
	char field[FIELD_LEN], msg[MSG_LEN];
	bool in = allocator__port_val(t->a, r->node_port, &v);

	port_field(r->index, field);
	if (in && ours(t, &v)) {
		add_pick(t, &v, field, false);
		return true;
	}
	if (portalloc_allocate(t->a->ports, r->node_port, &eb) == ERR_OK &&
	    in) {
		add_pick(t, &v, field, true);
		return true;
	}
	count_error(t, ALLOCATOR_NODEPORT, false);
	if (r->index == ADMISSION_HEALTH_CHECK) {
		(void)snprintf(msg, sizeof(msg),
			       "failed to allocate requested HealthCheck "
			       "NodePort %d: %s",
			       r->node_port, eb.msg);
		deny_500(t, msg);
		return false;
	}
	webhook_response_deny(t->resp, 422, "Invalid",
			      "Service \"%s\" is invalid: %s: Invalid value: "
			      "%d: %s",
			      t->svc->obj.meta.name, field, r->node_port,
			      eb.msg);
	return false;
}

/* The tentative value of this key for field, if still set and unused. */
static bool reuse_need(struct txn *t, const char *field, enum allocator_range r,
		       struct allocator__val *out)
{
	struct allocator__tent *tent;

	if (!t->reuse)
		return false;
	tent =
	    allocator__tent_find_field(t->a, t->ns, t->name, t->uid, field, r);
	if (!tent)
		return false;
	out->range = r;
	out->offset = tent->offset;
	return !picked(t, out);
}

static bool need_ip(struct txn *t, const struct admission_ip_need *n,
		    struct admission_values *vals)
{
	enum allocator_range r =
	    n->family == KUBE_FAMILY_IPV6 ? ALLOCATOR_IPV6 : ALLOCATOR_IPV4;
	char field[FIELD_LEN], text[CIDR_ADDR_STRLEN];
	struct allocator__val v;
	struct cidr_addr addr;
	bool fresh = false;

	(void)snprintf(field, sizeof(field), "spec.clusterIPs[%u]", n->index);
	if (!reuse_need(t, field, r, &v)) {
		if (!t->a->ip[r] ||
		    ipalloc_allocate_next(t->a->ip[r], &addr, NULL) != ERR_OK) {
			if (t->a->ip[r])
				count_error(t, r, true);
			deny_500(t, ALLOCATOR_MSG_IP_FULL);
			return false;
		}
		cidr_addr_format(&addr, text);
		BUG_ON(!allocator__ip_val(t->a, text, &v));
		fresh = true;
	}
	add_pick(t, &v, field, fresh)->dynamic = true;
	allocator__val_text(t->a, &v, text);
	admission_values_add_ip(vals, text);
	return true;
}

static bool need_port(struct txn *t, const struct admission_port_need *n,
		      struct admission_values *vals)
{
	char field[FIELD_LEN];
	struct allocator__val v;
	bool fresh = false;
	int port;

	port_field(n->index, field);
	if (!reuse_need(t, field, ALLOCATOR_NODEPORT, &v)) {
		if (portalloc_allocate_next(t->a->ports, &port, NULL) !=
		    ERR_OK) {
			count_error(t, ALLOCATOR_NODEPORT, true);
			deny_500(t, ALLOCATOR_MSG_PORT_FULL);
			return false;
		}
		BUG_ON(!allocator__port_val(t->a, port, &v));
		fresh = true;
	}
	add_pick(t, &v, field, fresh)->dynamic = true;
	admission_values_add_port(
	    vals, (int32_t)(portalloc_range(t->a->ports)->base + v.offset));
	return true;
}

/* Explicit values first (§3.4's recommendation), then the needs. */
static bool reserve_all(struct txn *t, const struct admission_plan *p,
			struct admission_values *vals)
{
	for (uint32_t i = 0; i < p->n_reserve_ips; i++)
		if (!reserve_ip(t, &p->reserve_ips[i]))
			return false;
	for (uint32_t i = 0; i < p->n_reserve_ports; i++)
		if (!reserve_port(t, &p->reserve_ports[i]))
			return false;
	for (uint32_t i = 0; i < p->n_ip_needs; i++)
		if (!need_ip(t, &p->ip_needs[i], vals))
			return false;
	for (uint32_t i = 0; i < p->n_port_needs; i++)
		if (!need_port(t, &p->port_needs[i], vals))
			return false;
	return true;
}

/* One allocdb transaction for every fresh value of the request. */
static enum err persist(struct txn *t, struct errbuf *eb)
{
	struct allocdb_change *ch = xcalloc(t->n ? t->n : 1, sizeof(*ch));
	size_t n = 0;
	enum err e;

	for (size_t i = 0; i < t->n; i++) {
		if (!t->picks[i].fresh)
			continue;
		ch[n].range = allocator__range_names[t->picks[i].v.range];
		ch[n].offset = t->picks[i].v.offset;
		ch[n].op = ALLOCDB_SET;
		ch[n].ns = t->ns;
		ch[n].name = t->name;
		ch[n].uid = t->uid;
		ch[n++].field = t->picks[i].field;
	}
	e = n ? allocdb_apply(t->a->db, ch, n, eb) : ERR_OK;
	free(ch);
	return e;
}

/* After the commit: the tentative map, the counters, and the journal of
 * a repair pass in progress. */
static void remember(struct txn *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct pick *p = &t->picks[i];

		if (!p->fresh)
			continue;
		if (t->reuse)
			allocator__tent_add(t->a, t->ns, t->name, t->uid,
					    p->field, &p->v);
		t->a->allocs[p->v.range][p->dynamic ? ALLOCATOR_DYNAMIC
						    : ALLOCATOR_STATIC]++;
		allocator__touch(t->a, &p->v);
	}
}

/* Reserves under the lock; false when the answer carries no patch. */
static bool reserve_locked(struct txn *t, const struct admission_plan *p,
			   struct admission_values *vals, bool dry_run)
{
	struct errbuf eb = ERRBUF_INIT;
	bool ok;

	pthread_mutex_lock(&t->a->lock);
	ok = reserve_all(t, p, vals);
	if (ok && !dry_run && persist(t, &eb) != ERR_OK) {
		log_error("allocator: persisting reservations failed, "
			  "answering without a patch: service=%s/%s: %s",
			  t->ns, t->name, eb.msg);
		ok = false;
	}
	if (ok && !dry_run)
		remember(t);
	else
		rollback(t);
	pthread_mutex_unlock(&t->a->lock);
	return ok;
}

/* Moves admission_patch's "[…]" into the response's operations. */
static void set_patch(struct webhook_response *resp, const char *json)
{
	size_t len = strlen(json);
	const char *s = json;

	if (len <= 2)
		return;
	BUG_ON(buf_add(&resp->patch.ops, json + 1, len - 2) != ERR_OK);
	while ((s = strstr(s, "{\"op\":")) != NULL) {
		resp->patch.n++;
		s++;
	}
}

static void answer(const struct admission_plan *p,
		   const struct admission_values *vals,
		   struct webhook_response *resp)
{
	struct buf b;

	buf_init(&b, (size_t)1 << 20);
	if (admission_patch(p, vals, &b) == ERR_OK)
		set_patch(resp, b.data);
	else
		log_error("allocator: building the JSON patch failed");
	buf_release(&b);
}

static const char *first(const char *a, const char *b)
{
	return a && a[0] ? a : b ? b : "";
}

static void txn_init(struct txn *t, struct allocator *a,
		     const struct webhook_request *req,
		     struct webhook_response *resp)
{
	const struct kube_service *s = kube_service(req->object);
	const struct kube_meta *m = &s->obj.meta;

	memset(t, 0, sizeof(*t));
	t->a = a;
	t->svc = s;
	t->resp = resp;
	t->ns = first(m->ns, req->namespace);
	t->name = first(m->name, req->name);
	t->uid = m->uid ? m->uid : "";
	t->reuse = t->name[0] != 0;
	if (!t->reuse)
		t->name = m->generate_name && m->generate_name[0]
			      ? m->generate_name
			      : "-";
}

enum err allocator_admit(struct allocator *a, const struct webhook_request *req,
			 struct webhook_response *resp, struct errbuf *eb)
{
	struct admission_values vals = ADMISSION_VALUES_INIT;
	struct admission_plan plan;
	const struct kube_service *s, *old = NULL;
	enum admission_op op = req->operation == WEBHOOK_OP_UPDATE
				   ? ADMISSION_UPDATE
				   : ADMISSION_CREATE;
	struct txn t;
	enum err e;

	if ((req->operation != WEBHOOK_OP_CREATE &&
	     req->operation != WEBHOOK_OP_UPDATE) ||
	    !req->object || req->object->kind != KUBE_KIND_SERVICE)
		return ERR_OK;
	s = kube_service(req->object);
	if (req->old_object && req->old_object->kind == KUBE_KIND_SERVICE)
		old = kube_service(req->old_object);
	e = admission_plan(&a->cfg, op, s, op == ADMISSION_UPDATE ? old : NULL,
			   &plan, eb);
	if (e != ERR_OK)
		return e;
	if (plan.denied) {
		webhook_response_deny(resp, plan.denial.code,
				      plan.denial.reason, "%s",
				      plan.denial.message);
		goto out;
	}
	txn_init(&t, a, req, resp);
	t.dry_run = req->dry_run;
	if (reserve_locked(&t, &plan, &vals, req->dry_run))
		answer(&plan, &vals, resp);
	free(t.picks);
out:
	admission_values_release(&vals);
	admission_plan_release(&plan);
	return ERR_OK;
}
