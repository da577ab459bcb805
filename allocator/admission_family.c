/*
 * admission_family: ipFamilyPolicy/ipFamilies resolution and the
 * clusterIP part of the plan, replaying alloc.go initIPFamilyFields,
 * allocClusterIPs and updateClusterIPs (allocator.md §2.8-§2.11). Errors
 * carry upstream's field paths and texts verbatim. Pure; no locks.
 */
#include "base.h"
#include "admission.h"

#include "admission_internal.h"

static const char *policy_name(enum kube_family_policy p)
{
	switch (p) {
	case KUBE_POLICY_PREFER_DUAL_STACK:
		return "PreferDualStack";
	case KUBE_POLICY_REQUIRE_DUAL_STACK:
		return "RequireDualStack";
	default:
		return "SingleStack";
	}
}

static enum kube_ip_family other_family(enum kube_ip_family f)
{
	return f == KUBE_FAMILY_IPV4 ? KUBE_FAMILY_IPV6 : KUBE_FAMILY_IPV4;
}

static bool same_ips(const struct admission__view *a,
		     const struct admission__view *b)
{
	if (a->n_ips != b->n_ips)
		return false;
	for (uint32_t i = 0; i < a->n_ips; i++)
		if (strcmp(a->ips[i], b->ips[i]) != 0)
			return false;
	return true;
}

static bool same_families(const struct admission__view *a,
			  const struct admission__view *b)
{
	return a->n_fam == b->n_fam &&
	       memcmp(a->fam, b->fam, a->n_fam * sizeof(a->fam[0])) == 0;
}

static bool is_headless(const struct admission__view *v)
{
	return v->n_ips > 0 && strcmp(v->ips[0], "None") == 0;
}

/* upstream isMatchingPreferDualStackClusterIPFields: no automatic up- or
 * downgrade of an unchanged PreferDualStack Service (§2.8). */
static bool matching_prefer(const struct admission__ctx *c)
{
	const struct admission__view *v = &c->v, *o = &c->o;

	if (!c->has_old || v->policy == KUBE_POLICY_UNSET)
		return false;
	if (o->type != v->type || v->type == KUBE_SVC_EXTERNAL_NAME)
		return false;
	if (v->policy != KUBE_POLICY_PREFER_DUAL_STACK)
		return false;
	if (o->policy != KUBE_POLICY_UNSET &&
	    o->policy != KUBE_POLICY_PREFER_DUAL_STACK)
		return false;
	return same_ips(o, v) && same_families(o, v);
}

static void default_policy(struct admission__ctx *c)
{
	struct admission__view *v = &c->v;

	if (v->policy != KUBE_POLICY_UNSET)
		return;
	if (c->has_old && c->o.policy != KUBE_POLICY_UNSET)
		v->policy = c->o.policy;
	else if (strcmp(v->cip, "None") == 0 && v->svc->selector.n == 0)
		v->policy = KUBE_POLICY_REQUIRE_DUAL_STACK;
	else
		v->policy = KUBE_POLICY_SINGLE_STACK;
}

/* Update-only: trim on a SingleStack downgrade, refuse a shortened list
 * under a dual-stack policy. */
static void update_prep(struct admission__ctx *c)
{
	struct admission__view *v = &c->v, *o = &c->o;
	const char *pol = policy_name(v->policy);

	if (v->policy == KUBE_POLICY_SINGLE_STACK) {
		if (same_ips(o, v) && v->n_ips > 1)
			v->n_ips = 1;
		if (same_families(o, v) && v->n_fam > 1)
			v->n_fam = 1;
		return;
	}
	if (v->n_ips > 0 && v->n_ips < o->n_ips)
		admission__err(c, "spec.ipFamilyPolicy",
			       "Invalid value: \"%s\": must be 'SingleStack' "
			       "to release the secondary cluster IP",
			       pol);
	if (v->n_fam > 0 && v->n_fam < o->n_fam)
		admission__err(c, "spec.ipFamilyPolicy",
			       "Invalid value: \"%s\": must be 'SingleStack' "
			       "to release the secondary IP family",
			       pol);
}

static void single_stack_check(struct admission__ctx *c)
{
	const struct admission__view *v = &c->v;

	if (v->policy != KUBE_POLICY_SINGLE_STACK)
		return;
	if (v->n_ips == 2)
		admission__err(c, "spec.ipFamilyPolicy",
			       "Invalid value: \"SingleStack\": must be "
			       "'RequireDualStack' or 'PreferDualStack' when "
			       "multiple cluster IPs are specified");
	if (v->n_fam == 2)
		admission__err(c, "spec.ipFamilyPolicy",
			       "Invalid value: \"SingleStack\": must be "
			       "'RequireDualStack' or 'PreferDualStack' when "
			       "multiple IP families are specified");
}

/* The Go JSON of spec.clusterIPs, as field.Invalid prints a slice. */
static void ips_json(const struct admission__view *v, char *out, size_t n)
{
	size_t off = (size_t)snprintf(out, n, "[");

	for (uint32_t i = 0; i < v->n_ips && off < n; i++)
		off += (size_t)snprintf(out + off, n - off, "%s\"%s\"",
					i ? "," : "", v->ips[i]);
	if (off < n)
		(void)snprintf(out + off, n - off, "]");
}

/* Missing ipFamilies[i] are inferred from clusterIPs[i]. */
static void infer_families(struct admission__ctx *c)
{
	struct admission__view *v = &c->v;
	char field[40], json[120];

	for (uint32_t i = 0; i < v->n_ips; i++) {
		enum kube_ip_family f = admission__ip_family(v->ips[i]);

		if (strcmp(v->ips[i], "None") == 0)
			break;
		if (i < v->n_fam)
			continue;
		if (!admission__family_configured(c->cfg, f)) {
			(void)snprintf(field, sizeof(field),
				       "spec.clusterIPs[%u]", i);
			ips_json(v, json, sizeof(json));
			admission__err(c, field,
				       "Invalid value: %s: %s is not "
				       "configured on this cluster",
				       json, admission__family_name(f));
		} else {
			v->fam[v->n_fam++] = f;
		}
	}
}

static void cluster_checks(struct admission__ctx *c)
{
	const struct admission__view *v = &c->v;
	char field[40];

	if (v->policy == KUBE_POLICY_REQUIRE_DUAL_STACK &&
	    c->cfg->n_families < 2)
		admission__err(
		    c, "spec.ipFamilyPolicy",
		    "Invalid value: \"RequireDualStack\": this cluster is not "
		    "configured for dual-stack services");
	for (uint32_t i = 0; i < v->n_fam; i++) {
		if (admission__family_configured(c->cfg, v->fam[i]))
			continue;
		(void)snprintf(field, sizeof(field), "spec.ipFamilies[%u]", i);
		admission__err(
		    c, field,
		    "Invalid value: \"%s\": not configured on this cluster",
		    admission__family_name(v->fam[i]));
	}
}

static void publish(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;

	p->policy = c->v.policy;
	p->n_families = c->v.n_fam;
	for (uint32_t i = 0; i < c->v.n_fam; i++)
		p->families[i] = c->v.fam[i];
}

void admission__families(struct admission__ctx *c)
{
	struct admission__view *v = &c->v;

	if (matching_prefer(c)) {
		c->skip_ips = true;
		publish(c);
		return;
	}
	default_policy(c);
	if (c->has_old)
		update_prep(c);
	single_stack_check(c);
	infer_families(c);
	if (c->errs.n)
		goto out_deny;
	if (strcmp(v->cip, "None") == 0 && v->svc->selector.n == 0) {
		/* Headless + selectorless: both families even on a
		 * single-stack cluster; no allocation. */
		if (v->n_fam == 0)
			v->fam[v->n_fam++] = c->cfg->families[0];
		if (v->n_fam < 2 && v->policy != KUBE_POLICY_SINGLE_STACK)
			v->fam[v->n_fam++] = other_family(v->fam[0]);
		c->skip_ips = true;
		publish(c);
		return;
	}
	cluster_checks(c);
	if (c->errs.n)
		goto out_deny;
	if (v->n_fam == 0)
		v->fam[v->n_fam++] = c->cfg->families[0];
	if (v->policy != KUBE_POLICY_SINGLE_STACK && v->n_fam == 1 &&
	    c->cfg->n_families == 2)
		v->fam[v->n_fam++] = other_family(v->fam[0]);
	publish(c);
	return;
out_deny:
	admission__deny(c);
}

/* clusterIPs[i] for family i: reserve a given IP, else need one. */
static void plan_slot(struct admission__ctx *c, uint32_t i)
{
	struct admission_plan *p = c->p;
	const struct admission__view *v = &c->v;

	if (i < v->n_ips && *v->ips[i]) {
		struct admission_ip *r = &p->reserve_ips[p->n_reserve_ips++];

		r->family = p->families[i];
		r->index = i;
		r->ip = xstrdup(v->ips[i]);
		return;
	}
	p->ip_needs[p->n_ip_needs].family = p->families[i];
	p->ip_needs[p->n_ip_needs].index = i;
	free(p->slots[i].ip);
	p->slots[i].ip = NULL;
	p->slots[i].need = (int32_t)p->n_ip_needs++;
}

/* Slots start as the (refilled, trimmed) clusterIPs of the new object. */
static void init_slots(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;
	const struct admission__view *v = &c->v;

	p->n_slots = v->n_ips;
	for (uint32_t i = 0; i < v->n_ips; i++) {
		p->slots[i].ip = xstrdup(v->ips[i]);
		p->slots[i].need = -1;
	}
	p->set_cluster_ip = c->refill_cip;
	p->set_cluster_ips = c->refill_ips;
	p->had_cluster_ip = v->svc->cluster_ip != NULL;
	p->had_cluster_ips = v->svc->n_cluster_ips > 0;
	p->had_families = v->svc->n_families > 0;
}

/* Which slots this request fills: all on create (or from ExternalName),
 * the secondary on an upgrade, none otherwise. */
static void choose_slots(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;
	const struct admission__view *o = &c->o;
	bool fresh = !c->has_old || o->type == KUBE_SVC_EXTERNAL_NAME;

	if (fresh) {
		for (uint32_t i = 0; i < p->n_families; i++)
			plan_slot(c, i);
		return;
	}
	if (is_headless(o))
		return;
	if (o->n_fam == 2 && p->n_families == 1)
		p->downgrade = true;
	if (o->n_fam == 1 && p->n_families == 2) {
		p->upgrade = true;
		plan_slot(c, 1);
	}
}

void admission__plan_ips(struct admission__ctx *c)
{
	struct admission_plan *p = c->p;

	init_slots(c);
	if (c->skip_ips || is_headless(&c->v))
		return;
	choose_slots(c);
	if (p->n_ip_needs == 0)
		return;
	if (p->n_slots < p->n_families)
		p->n_slots = p->n_families;
	p->set_cluster_ips = true;
	if (p->slots[0].need >= 0)
		p->set_cluster_ip = true;
	p->set_families = c->v.svc->n_families != p->n_families;
}
