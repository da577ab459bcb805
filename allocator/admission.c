/*
 * admission: the entry point of the pure admission decision. It builds a
 * view of the new (and old) Service, replays upstream's UPDATE refill of
 * omitted clusterIP/clusterIPs (service/storage/storage.go
 * patchAllocatedValues, normalizeClusterIPs; allocator.md §2.8, §7.2),
 * pre-validates loosely like alloc.go initIPFamilyFields, then hands over
 * to the family, IP and port planners. Invariant: a denial or an empty
 * "leave it to the apiserver" answer never carries any planned value.
 * No locks, no I/O.
 */
#include "base.h"
#include "admission.h"

#include "admission_internal.h"

#include <arpa/inet.h>

enum kube_ip_family admission__ip_family(const char *ip)
{
	unsigned char b[16];

	if (!ip || !*ip)
		return KUBE_FAMILY_UNKNOWN;
	if (inet_pton(AF_INET, ip, b) == 1)
		return KUBE_FAMILY_IPV4;
	if (inet_pton(AF_INET6, ip, b) == 1)
		return KUBE_FAMILY_IPV6;
	return KUBE_FAMILY_UNKNOWN;
}

const char *admission__family_name(enum kube_ip_family f)
{
	return f == KUBE_FAMILY_IPV6 ? "IPv6" : "IPv4";
}

bool admission__family_configured(const struct admission_config *cfg,
				  enum kube_ip_family f)
{
	for (uint32_t i = 0; i < cfg->n_families; i++)
		if (cfg->families[i] == f)
			return true;
	return false;
}

void admission__err(struct admission__ctx *c, const char *field,
		    const char *fmt, ...)
{
	struct admission__errs *e = &c->errs;
	char detail[200];
	va_list ap;

	if (e->n == 0)
		(void)snprintf(e->field, sizeof(e->field), "%s", field);
	if (e->n >= ADMISSION__MAX_ERRS)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	(void)snprintf(e->text[e->n++], sizeof(e->text[0]), "%s: %s", field,
		       detail);
}

/* Frees the arrays a plan owns; the scalars stay. */
static void plan_free_arrays(struct admission_plan *p)
{
	for (uint32_t i = 0; i < p->n_refills; i++) {
		free(p->refills[i].path);
		free(p->refills[i].value);
	}
	for (uint32_t i = 0; i < p->n_reserve_ips; i++)
		free(p->reserve_ips[i].ip);
	for (uint32_t i = 0; i < p->n_slots; i++)
		free(p->slots[i].ip);
	free(p->refills);
	free(p->reserve_ports);
	free(p->port_needs);
	free(p->port_sets);
}

void admission_plan_release(struct admission_plan *plan)
{
	if (!plan)
		return;
	plan_free_arrays(plan);
	memset(plan, 0, sizeof(*plan));
}

/* Empties the plan but for note (leave the request to the apiserver). */
static void plan_clear(struct admission_plan *p, const char *note)
{
	admission_plan_release(p);
	p->note = note;
	p->health_check_need = -1;
}

/* upstream errors.NewInvalid: one error as is, several as "[a, b]". */
void admission__deny(struct admission__ctx *c)
{
	struct admission__errs *e = &c->errs;
	struct admission_denial *d;
	const char *name = c->v.svc->obj.meta.name;
	char list[ADMISSION__MAX_ERRS * 260] = "";
	size_t off = 0;

	plan_clear(c->p, NULL);
	c->p->denied = true;
	d = &c->p->denial;
	for (uint32_t i = 0; i < e->n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? ", " : "", e->text[i]);
	d->code = 422;
	(void)snprintf(d->reason, sizeof(d->reason), "Invalid");
	(void)snprintf(d->field, sizeof(d->field), "%s", e->field);
	(void)snprintf(d->message, sizeof(d->message),
		       "Service \"%s\" is invalid: %s%s%s", name ? name : "",
		       e->n > 1 ? "[" : "", list, e->n > 1 ? "]" : "");
}

static void view_init(struct admission__view *v, const struct kube_service *s)
{
	memset(v, 0, sizeof(*v));
	v->svc = s;
	v->type = s->type;
	v->cip = s->cluster_ip ? s->cluster_ip : "";
	v->too_many_ips = s->n_cluster_ips > 2;
	v->n_ips = MIN(s->n_cluster_ips, 2u);
	for (uint32_t i = 0; i < v->n_ips; i++)
		v->ips[i] = s->cluster_ips[i];
	v->n_fam = MIN(s->n_families, 2u);
	for (uint32_t i = 0; i < v->n_fam; i++)
		v->fam[i] = s->families[i];
	v->policy = s->family_policy;
	v->hc = s->health_check_node_port;
	v->n_ports = s->n_ports;
	v->np = xcalloc(s->n_ports + 1, sizeof(*v->np));
	v->np_refill = xcalloc(s->n_ports + 1, sizeof(*v->np_refill));
	for (uint32_t i = 0; i < s->n_ports; i++)
		v->np[i] = s->ports[i].node_port;
}

static void view_release(struct admission__view *v)
{
	free(v->np);
	free(v->np_refill);
	v->np = NULL;
	v->np_refill = NULL;
}

/*
 * patchAllocatedValues for clusterIP/clusterIPs: both types need a
 * clusterIP (neither is ExternalName), so omitted values come back from
 * the old object. normalizeClusterIPs adds nothing beyond this once
 * clusterIP has been refilled.
 */
static void refill_ips(struct admission__ctx *c)
{
	struct admission__view *v = &c->v, *o = &c->o;

	if (o->type == KUBE_SVC_EXTERNAL_NAME)
		return;
	if (!*v->cip && *o->cip) {
		v->cip = o->cip;
		c->refill_cip = true;
	}
	if (v->n_ips == 0 && !v->too_many_ips && o->n_ips > 0) {
		v->n_ips = o->n_ips;
		for (uint32_t i = 0; i < o->n_ips; i++)
			v->ips[i] = o->ips[i];
		c->refill_ips = true;
	}
}

/* Create-side normalizeClusterIPs: a lone clusterIP fills clusterIPs. */
static void normalize_create(struct admission__view *v)
{
	if (*v->cip && v->n_ips == 0 && !v->too_many_ips) {
		v->ips[0] = v->cip;
		v->n_ips = 1;
	}
}

static bool families_valid(const struct admission__view *v)
{
	for (uint32_t i = 0; i < v->n_fam; i++) {
		if (v->fam[i] == KUBE_FAMILY_UNKNOWN)
			return false;
		if (i > 0 && v->fam[i] == v->fam[0])
			return false;
	}
	return v->svc->n_families <= 2;
}

/*
 * The part of upstream's ValidateServiceClusterIPsRelatedFields we rely
 * on. Anything it rejects is left to the apiserver, which names the
 * error itself (§2.6 step 1).
 */
static const char *loose_validate(const struct admission__view *v)
{
	if (v->too_many_ips)
		return "more than 2 clusterIPs: left to the apiserver";
	if (*v->cip && (v->n_ips == 0 || strcmp(v->cip, v->ips[0]) != 0))
		return "clusterIP does not match clusterIPs[0]: left to the "
		       "apiserver";
	if (!*v->cip && v->n_ips > 0)
		return "clusterIPs without clusterIP: left to the apiserver";
	if (!families_valid(v))
		return "invalid ipFamilies: left to the apiserver";
	for (uint32_t i = 0; i < v->n_ips; i++) {
		enum kube_ip_family f = admission__ip_family(v->ips[i]);

		if (strcmp(v->ips[i], "None") == 0 && i == 0 && v->n_ips == 1)
			continue;
		if (f == KUBE_FAMILY_UNKNOWN)
			return "invalid clusterIPs: left to the apiserver";
		if (i < v->n_fam && v->fam[i] != f)
			return "clusterIPs do not match ipFamilies: left to "
			       "the apiserver";
		if (i == 1 && admission__ip_family(v->ips[0]) == f)
			return "two clusterIPs of one family: left to the "
			       "apiserver";
	}
	return NULL;
}

static enum err check_args(const struct admission_config *cfg,
			   enum admission_op op,
			   const struct kube_service *new_svc,
			   const struct kube_service *old_svc,
			   struct errbuf *eb)
{
	if (!cfg || cfg->n_families < 1 || cfg->n_families > 2)
		return errbuf_set(eb, ERR_INVALID,
				  "admission: configure 1 or 2 IP families");
	for (uint32_t i = 0; i < cfg->n_families; i++)
		if (cfg->families[i] == KUBE_FAMILY_UNKNOWN)
			return errbuf_set(eb, ERR_INVALID,
					  "admission: families[%u] unknown", i);
	if (cfg->n_families == 2 && cfg->families[0] == cfg->families[1])
		return errbuf_set(eb, ERR_INVALID,
				  "admission: two families of one kind");
	if (!new_svc)
		return errbuf_set(eb, ERR_INVALID, "admission: no object");
	if (op == ADMISSION_UPDATE && !old_svc)
		return errbuf_set(eb, ERR_INVALID,
				  "admission: UPDATE without oldObject");
	return ERR_OK;
}

/* The planning steps after the views are ready; false stops early. */
static void plan_steps(struct admission__ctx *c)
{
	const char *note;

	if (c->has_old) {
		refill_ips(c);
		admission__refill_ports(c);
		admission__drop_type_fields(c);
	} else {
		normalize_create(&c->v);
	}
	note = loose_validate(&c->v);
	if (note) {
		plan_clear(c->p, note);
		return;
	}
	admission__families(c);
	if (c->p->denied || c->p->note)
		return;
	if (!admission__check_ports(c))
		return;
	admission__plan_ips(c);
	admission__plan_ports(c);
	admission__plan_health_check(c);
	if (!c->p->note)
		admission__build_refills(c);
}

enum err admission_plan(const struct admission_config *cfg,
			enum admission_op op,
			const struct kube_service *new_svc,
			const struct kube_service *old_svc,
			struct admission_plan *out, struct errbuf *eb)
{
	struct admission_plan p = {0};
	struct admission__ctx c = {0};
	enum err e = check_args(cfg, op, new_svc, old_svc, eb);

	if (e)
		return e;
	p.health_check_need = -1;
	c.cfg = cfg;
	c.op = op;
	c.p = &p;
	c.has_old = op == ADMISSION_UPDATE;
	if (new_svc->type == KUBE_SVC_EXTERNAL_NAME) {
		/* alloc.go: ExternalName gets neither IPs nor ports. */
		p.note = "ExternalName: nothing to allocate";
		*out = p;
		return ERR_OK;
	}
	view_init(&c.v, new_svc);
	if (c.has_old)
		view_init(&c.o, old_svc);
	plan_steps(&c);
	view_release(&c.v);
	view_release(&c.o);
	*out = p;
	return ERR_OK;
}

bool admission_plan_empty(const struct admission_plan *plan)
{
	return !plan->denied && !plan->set_cluster_ip &&
	       !plan->set_cluster_ips && !plan->set_families &&
	       plan->n_port_sets == 0 && !plan->set_health_check;
}
