/*
 * admission_patch: turns a plan plus the values the allocators chose into
 * RFC 6902 JSON Patch text (paths escaped per RFC 6901), lists the plan's
 * refills as patch-ready items, and computes what the watch path releases
 * (allocator.md §8.4, §8.5). Pure; no locks.
 */
#include "base.h"
#include "admission.h"

#include "admission_internal.h"

void admission_values_add_ip(struct admission_values *v, const char *ip)
{
	v->ips = xrealloc(v->ips, (v->n_ips + 1) * sizeof(*v->ips));
	v->ips[v->n_ips++] = xstrdup(ip);
}

void admission_values_add_port(struct admission_values *v, int32_t port)
{
	v->ports = xrealloc(v->ports, (v->n_ports + 1) * sizeof(*v->ports));
	v->ports[v->n_ports++] = port;
}

void admission_values_release(struct admission_values *v)
{
	if (!v)
		return;
	for (uint32_t i = 0; i < v->n_ips; i++)
		free(v->ips[i]);
	free(v->ips);
	free(v->ports);
	memset(v, 0, sizeof(*v));
}

enum err admission_pointer_add(struct buf *out, const char *segment)
{
	struct buf tmp;
	enum err e = ERR_OK;

	buf_init(&tmp, BUF_MAX_DEFAULT);
	e = buf_adds(&tmp, "/");
	for (const char *s = segment; !e && *s; s++) {
		if (*s == '~')
			e = buf_adds(&tmp, "~0");
		else if (*s == '/')
			e = buf_adds(&tmp, "~1");
		else
			e = buf_add(&tmp, s, 1);
	}
	if (!e)
		e = buf_add(out, tmp.data, tmp.len);
	buf_release(&tmp);
	return e;
}

/* Our scratch buffers have the default 64 MiB limit, which a Service's
 * few fields cannot reach. */
static void put(struct buf *b, const char *s)
{
	BUG_ON(buf_adds(b, s) != ERR_OK);
}

static void put_int(struct buf *b, int32_t v)
{
	BUG_ON(buf_addf(b, "%d", v) != ERR_OK);
}

/* buf_detach re-initialises b; release that too. */
static char *take(struct buf *b)
{
	char *s = buf_detach(b, NULL);

	buf_release(b);
	return s;
}

/* ---- Refill items ------------------------------------------------------ */

static void add_refill(struct admission_plan *p, char *path, char *value)
{
	p->refills =
	    xrealloc(p->refills, (p->n_refills + 1) * sizeof(*p->refills));
	p->refills[p->n_refills].path = path;
	p->refills[p->n_refills++].value = value;
}

static char *quoted(const char *s)
{
	struct buf b;

	buf_init(&b, BUF_MAX_DEFAULT);
	kube_json_quote(&b, s);
	return take(&b);
}

static char *ips_array(const struct admission__view *v)
{
	struct buf b;

	buf_init(&b, BUF_MAX_DEFAULT);
	put(&b, "[");
	for (uint32_t i = 0; i < v->n_ips; i++) {
		if (i)
			put(&b, ",");
		kube_json_quote(&b, v->ips[i]);
	}
	put(&b, "]");
	return take(&b);
}

void admission__build_refills(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;
	const struct admission__view *v = &c->v;

	if (c->refill_cip)
		add_refill(p, xstrdup("/spec/clusterIP"), quoted(v->cip));
	if (c->refill_ips)
		add_refill(p, xstrdup("/spec/clusterIPs"), ips_array(v));
	for (uint32_t i = 0; i < v->n_ports; i++) {
		if (!v->np_refill[i])
			continue;
		add_refill(p, xasprintf("/spec/ports/%u/nodePort", i),
			   xasprintf("%d", v->np[i]));
	}
	if (c->refill_hc)
		add_refill(p, xstrdup("/spec/healthCheckNodePort"),
			   xasprintf("%d", v->hc));
}

/* ---- Patch ------------------------------------------------------------- */

static void op_head(struct buf *b, bool replace, const char *path)
{
	put(b, b->len > 1 ? ",{\"op\":\"" : "{\"op\":\"");
	put(b, replace ? "replace" : "add");
	put(b, "\",\"path\":\"");
	put(b, path);
	put(b, "\",\"value\":");
}

/* The chosen value of need k; admission_patch checked the counts. */
static const char *val_ip(const struct admission_values *vals, int32_t k)
{
	BUG_ON(k < 0 || (uint32_t)k >= vals->n_ips || !vals->ips);
	return vals->ips[k];
}

static int32_t val_port(const struct admission_values *vals, int32_t k)
{
	BUG_ON(k < 0 || (uint32_t)k >= vals->n_ports || !vals->ports);
	return vals->ports[k];
}

static const char *slot_ip(const struct admission_plan *p, uint32_t i,
			   const struct admission_values *vals)
{
	const struct admission_ip_slot *s = &p->slots[i];

	return s->need >= 0 ? val_ip(vals, s->need) : s->ip;
}

static void emit_ips(struct buf *b, const struct admission_plan *p,
		     const struct admission_values *vals)
{
	if (p->set_cluster_ip) {
		op_head(b, p->had_cluster_ip, "/spec/clusterIP");
		kube_json_quote(b, slot_ip(p, 0, vals));
		put(b, "}");
	}
	if (p->set_cluster_ips) {
		op_head(b, p->had_cluster_ips, "/spec/clusterIPs");
		put(b, "[");
		for (uint32_t i = 0; i < p->n_slots; i++) {
			put(b, i ? "," : "");
			kube_json_quote(b, slot_ip(p, i, vals));
		}
		put(b, "]}");
	}
	if (p->set_families) {
		op_head(b, p->had_families, "/spec/ipFamilies");
		put(b, "[");
		for (uint32_t i = 0; i < p->n_families; i++) {
			put(b, i ? ",\"" : "\"");
			put(b, admission__family_name(p->families[i]));
			put(b, "\"");
		}
		put(b, "]}");
	}
}

static void emit_ports(struct buf *b, const struct admission_plan *p,
		       const struct admission_values *vals)
{
	char path[48];

	for (uint32_t i = 0; i < p->n_port_sets; i++) {
		const struct admission_port_set *s = &p->port_sets[i];

		(void)snprintf(path, sizeof(path), "/spec/ports/%u/nodePort",
			       s->index);
		op_head(b, false, path);
		put_int(b, s->need >= 0 ? val_port(vals, s->need) : s->value);
		put(b, "}");
	}
	if (p->set_health_check) {
		int32_t k = p->health_check_need;

		op_head(b, false, "/spec/healthCheckNodePort");
		put_int(b, k >= 0 ? val_port(vals, k) : p->health_check);
		put(b, "}");
	}
}

enum err admission_patch(const struct admission_plan *plan,
			 const struct admission_values *values,
			 struct buf *json_patch)
{
	static const struct admission_values none = ADMISSION_VALUES_INIT;
	struct buf b;
	enum err e;

	if (!values)
		values = &none;
	if (plan->denied || values->n_ips != plan->n_ip_needs ||
	    values->n_ports != plan->n_port_needs)
		return ERR_INVALID;
	for (uint32_t i = 0; i < values->n_ips; i++)
		if (!values->ips[i])
			return ERR_INVALID;
	buf_init(&b, BUF_MAX_DEFAULT);
	put(&b, "[");
	emit_ips(&b, plan, values);
	emit_ports(&b, plan, values);
	put(&b, "]");
	e = buf_add(json_patch, b.data, b.len);
	buf_release(&b);
	return e;
}

/* ---- Release (watch path) ---------------------------------------------- */

static bool ip_in(const struct kube_service *s, const char *ip)
{
	if (!s || s->type == KUBE_SVC_EXTERNAL_NAME)
		return false;
	if (str_eq(s->cluster_ip, ip))
		return true;
	for (uint32_t i = 0; i < s->n_cluster_ips; i++)
		if (str_eq(s->cluster_ips[i], ip))
			return true;
	return false;
}

static bool port_in(const struct kube_service *s, int32_t port)
{
	if (!s)
		return false;
	if (s->health_check_node_port == port)
		return true;
	for (uint32_t i = 0; i < s->n_ports; i++)
		if (s->ports[i].node_port == port)
			return true;
	return false;
}

static bool listed_ip(const struct admission_values *v, const char *ip)
{
	for (uint32_t i = 0; i < v->n_ips; i++)
		if (strcmp(v->ips[i], ip) == 0)
			return true;
	return false;
}

static bool listed_port(const struct admission_values *v, int32_t port)
{
	for (uint32_t i = 0; i < v->n_ports; i++)
		if (v->ports[i] == port)
			return true;
	return false;
}

static void release_ip(const struct kube_service *new_svc, const char *ip,
		       struct admission_values *out)
{
	if (!ip || !*ip || strcmp(ip, "None") == 0)
		return;
	if (!ip_in(new_svc, ip) && !listed_ip(out, ip))
		admission_values_add_ip(out, ip);
}

static void release_port(const struct kube_service *new_svc, int32_t port,
			 struct admission_values *out)
{
	if (port && !port_in(new_svc, port) && !listed_port(out, port))
		admission_values_add_port(out, port);
}

void admission_released(const struct kube_service *old_svc,
			const struct kube_service *new_svc,
			struct admission_values *out)
{
	if (old_svc->type != KUBE_SVC_EXTERNAL_NAME) {
		release_ip(new_svc, old_svc->cluster_ip, out);
		for (uint32_t i = 0; i < old_svc->n_cluster_ips; i++)
			release_ip(new_svc, old_svc->cluster_ips[i], out);
	}
	for (uint32_t i = 0; i < old_svc->n_ports; i++)
		release_port(new_svc, old_svc->ports[i].node_port, out);
	release_port(new_svc, old_svc->health_check_node_port, out);
}
