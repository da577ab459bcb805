/*
 * epslice_desired: the desired state of one address type
 * (endpointslice.md §1.2–§4.2): which pods count, the endpoint built from
 * each, the ports resolved per pod and their order-insensitive key,
 * endpoint identity and equality, and the desired labels.
 *
 * Invariant: desired endpoints and keys live in the reconcile's scratch
 * arena; group arrays are heap memory freed by epslice__groups_release.
 * Thread safety: one reconcile, one thread.
 */
#include "base.h"
#include "epslice.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "epslice_internal.h"

/* ---- Small helpers ----------------------------------------------------- */

static const char *nz(const char *s)
{
	return s ? s : "";
}

static bool set(const char *s)
{
	return s && *s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void add(struct buf *b, const char *s)
{
	/* The buffer's maximum is far above any key; a failure is a bug. */
	BUG_ON(buf_adds(b, s) != ERR_OK);
}

static void addc(struct buf *b, char c)
{
	BUG_ON(buf_add(b, &c, 1) != ERR_OK);
}

/* ---- Addresses (§1.3) --------------------------------------------------- */

enum err epslice__canon_ip(const char *ip, enum kube_ip_family *family,
			   char out[64])
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1) {
		*family = KUBE_FAMILY_IPV4;
		return inet_ntop(AF_INET, a, out, 64) ? ERR_OK : ERR_INVALID;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return ERR_INVALID;
	/* Go's To4() treats IPv4-mapped addresses as IPv4 (PR #130101). */
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(void *)a)) {
		*family = KUBE_FAMILY_IPV4;
		return inet_ntop(AF_INET, a + 12, out, 64) ? ERR_OK
							   : ERR_INVALID;
	}
	*family = KUBE_FAMILY_IPV6;
	return inet_ntop(AF_INET6, a, out, 64) ? ERR_OK : ERR_INVALID;
}

enum err epslice_canon_ip(const char *ip, enum kube_ip_family *family,
			  char out[64])
{
	return epslice__canon_ip(ip, family, out);
}

/* Addresses of pod p for type t, canonical and sorted (upstream sorts them
 * in place when it hashes the endpoint). */
static void pod_addresses(struct kube_object *o, const struct kube_pod *p,
			  enum kube_address_type t, struct kube_endpoint *ep)
{
	enum kube_ip_family want =
	    t == KUBE_ADDR_IPV6 ? KUBE_FAMILY_IPV6 : KUBE_FAMILY_IPV4;
	const char **v = kube_alloc(o, (p->n_ips + 1) * sizeof(*v));
	uint32_t n = 0;

	for (uint32_t i = 0; i < p->n_ips; i++) {
		enum kube_ip_family f;
		char tmp[64];

		if (epslice__canon_ip(p->ips[i], &f, tmp) != ERR_OK) {
			log_warn("skipping unparsable pod ip pod=%s/%s ip=%s",
				 p->obj.meta.ns, p->obj.meta.name, p->ips[i]);
			continue;
		}
		if (f == want)
			v[n++] = kube_set_str(o, tmp);
	}
	qsort(v, n, sizeof(*v), cmp_str);
	ep->addresses = v;
	ep->n_addresses = n;
}

/* ---- Membership and endpoints (§1.2, §2) -------------------------------- */

enum epslice_exclusion epslice_pod_exclusion(const struct kube_pod *p)
{
	if (p->phase == KUBE_POD_SUCCEEDED || p->phase == KUBE_POD_FAILED)
		return EPSLICE_EXCLUDED_TERMINAL;
	return p->n_ips > 0 ? EPSLICE_INCLUDED : EPSLICE_EXCLUDED_NO_IP;
}

void epslice_pod_conditions(const struct kube_service *svc,
			    const struct kube_pod *p,
			    struct epslice_conditions *out)
{
	out->serving = p->ready == KUBE_TRUE;
	out->terminating = p->obj.meta.deletion_ms != 0;
	out->ready = svc->publish_not_ready ||
		     (out->serving && !out->terminating);
}

static bool sets_hostname(const struct kube_pod *p,
			  const struct kube_service *svc)
{
	return set(p->hostname) && str_eq(p->subdomain, svc->obj.meta.name) &&
	       str_eq(p->obj.meta.ns, svc->obj.meta.ns);
}

/* Upstream podToEndpoint; strings in o's arena. */
static void build_endpoint(struct kube_object *o,
			   const struct kube_service *svc,
			   const struct kube_pod *p,
			   const struct kube_node *node,
			   enum kube_address_type t, struct kube_endpoint *ep)
{
	struct epslice_conditions c;

	epslice_pod_conditions(svc, p, &c);
	memset(ep, 0, sizeof(*ep));
	pod_addresses(o, p, t, ep);
	ep->serving = c.serving ? KUBE_TRUE : KUBE_FALSE;
	ep->terminating = c.terminating ? KUBE_TRUE : KUBE_FALSE;
	ep->ready = c.ready ? KUBE_TRUE : KUBE_FALSE;
	if (sets_hostname(p, svc))
		ep->hostname = kube_set_str(o, p->hostname);
	if (set(p->node_name))
		ep->node_name = kube_intern(o, p->node_name);
	if (node && set(node->zone))
		ep->zone = kube_intern(o, node->zone);
	ep->target.kind = "Pod";
	ep->target.ns = kube_intern(o, p->obj.meta.ns);
	ep->target.name = kube_set_str(o, p->obj.meta.name);
	ep->target.uid = kube_set_str(o, p->obj.meta.uid);
}

/* ---- Identity and equality (§3.3) --------------------------------------- */

const char *epslice__ep_id(struct kube_object *o,
			   const struct kube_endpoint *ep)
{
	const char **v = xcalloc(ep->n_addresses + 1, sizeof(*v));
	struct buf b;
	const char *id;

	for (uint32_t i = 0; i < ep->n_addresses; i++)
		v[i] = nz(ep->addresses[i]);
	qsort(v, ep->n_addresses, sizeof(*v), cmp_str);
	buf_init(&b, BUF_MAX_DEFAULT);
	for (uint32_t i = 0; i < ep->n_addresses; i++) {
		add(&b, v[i]);
		addc(&b, ',');
	}
	addc(&b, '\x1f');
	add(&b, nz(ep->hostname));
	addc(&b, '\x1f');
	add(&b, nz(ep->target.ns));
	addc(&b, '/');
	add(&b, nz(ep->target.name));
	id = kube_set_str(o, b.data);
	buf_release(&b);
	free(v);
	return id;
}

/* *string fields: nil differs from "". */
static bool ptr_eq(const char *a, const char *b)
{
	return str_eq(a, b);
}

bool epslice__ep_equal(const struct kube_endpoint *a,
		       const struct kube_endpoint *b)
{
	if (!ptr_eq(a->node_name, b->node_name) || !ptr_eq(a->zone, b->zone))
		return false;
	if (a->ready != b->ready || a->serving != b->serving ||
	    a->terminating != b->terminating)
		return false;
	if ((a->target.kind == NULL) != (b->target.kind == NULL))
		return false;
	/* ObjectReference fields are plain strings: absent == "". The
	 * resourceVersion is not compared (issue #50936). */
	return !strcmp(nz(a->target.kind), nz(b->target.kind)) &&
	       !strcmp(nz(a->target.ns), nz(b->target.ns)) &&
	       !strcmp(nz(a->target.name), nz(b->target.name)) &&
	       !strcmp(nz(a->target.uid), nz(b->target.uid));
}

/* ---- Ports (§3.1, §3.2) -------------------------------------------------- */

/* Upstream FindPort: containers first, then sidecar init containers. */
bool epslice_find_port(const struct kube_pod *p,
		       const struct kube_service_port *sp, int32_t *out)
{
	if (!sp->target_port_name) {
		/* An unset targetPort defaults to the Service port. */
		*out = sp->target_port_num ? sp->target_port_num : sp->port;
		return true;
	}
	for (int sidecar = 0; sidecar < 2; sidecar++) {
		for (uint32_t i = 0; i < p->n_ports; i++) {
			const struct kube_container_port *cp = &p->ports[i];

			if (cp->sidecar != (sidecar == 1) ||
			    !str_eq(cp->name, sp->target_port_name) ||
			    cp->protocol != sp->protocol)
				continue;
			*out = cp->port;
			return true;
		}
	}
	return false;
}

/* Upstream getEndpointPorts into out (room for svc->n_ports). */
static uint32_t pod_ports(const struct kube_service *svc,
			  const struct kube_pod *p, struct kube_slice_port *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < svc->n_ports; i++) {
		const struct kube_service_port *sp = &svc->ports[i];
		int32_t port;

		if (!epslice_find_port(p, sp, &port)) {
			log_v(4, "no port %s for pod=%s/%s service=%s/%s",
			      sp->target_port_name, p->obj.meta.ns,
			      p->obj.meta.name, svc->obj.meta.ns,
			      svc->obj.meta.name);
			continue;
		}
		out[n] = (struct kube_slice_port){
		    .name = nz(sp->name),
		    .protocol = sp->protocol,
		    .has_port = true,
		    .port = port,
		    .app_protocol = sp->app_protocol,
		};
		n++;
	}
	return n;
}

static int cmp_app(const char *a, const char *b)
{
	if (!a || !b)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int cmp_port(const void *pa, const void *pb)
{
	const struct kube_slice_port *a = pa, *b = pb;
	int c = strcmp(nz(a->name), nz(b->name));

	if (c)
		return c;
	if (a->protocol != b->protocol)
		return a->protocol < b->protocol ? -1 : 1;
	if (a->has_port != b->has_port)
		return a->has_port ? 1 : -1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return cmp_app(a->app_protocol, b->app_protocol);
}

static void key_add_port(struct buf *b, const struct kube_slice_port *p)
{
	char tmp[32];

	add(b, nz(p->name));
	addc(b, '\x1f');
	add(b, kube_protocol_name(p->protocol));
	addc(b, '\x1f');
	(void)snprintf(tmp, sizeof(tmp), "%d", (int)p->port);
	add(b, p->has_port ? tmp : "-");
	addc(b, '\x1f');
	if (p->app_protocol) {
		addc(b, '+');
		add(b, p->app_protocol);
	} else {
		addc(b, '-');
	}
	addc(b, '\x1e');
}

const char *epslice__port_key(struct kube_object *o,
			      const struct kube_slice_port *ports, uint32_t n)
{
	struct kube_slice_port *v = xcalloc(n + 1, sizeof(*v));
	struct buf b;
	const char *key;

	if (n)
		memcpy(v, ports, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_port);
	buf_init(&b, BUF_MAX_DEFAULT);
	addc(&b, 'P');
	for (uint32_t i = 0; i < n; i++)
		key_add_port(&b, &v[i]);
	key = kube_set_str(o, b.data);
	buf_release(&b);
	free(v);
	return key;
}

/* ---- Groups ----------------------------------------------------------- */

static struct epslice__group *group_get(struct epslice__ctx *ctx,
					struct epslice__type *t,
					const struct kube_slice_port *ports,
					uint32_t n)
{
	const char *key = epslice__port_key(ctx->scratch, ports, n);
	struct epslice__group *g;

	for (size_t i = 0; i < t->n_groups; i++)
		if (!strcmp(t->groups[i].key, key))
			return &t->groups[i];
	t->groups = xrealloc(t->groups, (t->n_groups + 1) * sizeof(*g));
	g = &t->groups[t->n_groups++];
	memset(g, 0, sizeof(*g));
	g->key = key;
	g->n_ports = n;
	g->ports = kube_alloc(ctx->scratch, (n + 1) * sizeof(*g->ports));
	for (uint32_t i = 0; i < n; i++) {
		g->ports[i] = ports[i];
		g->ports[i].name = kube_set_str(ctx->scratch, ports[i].name);
		g->ports[i].app_protocol =
		    kube_set_str(ctx->scratch, ports[i].app_protocol);
	}
	/* New slices carry the ports in the key's (sorted) order. */
	qsort(g->ports, n, sizeof(*g->ports), cmp_port);
	return g;
}

static void group_add(struct epslice__group *g, const struct kube_endpoint *ep,
		      const char *id)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->eps = xrealloc(g->eps, g->cap * sizeof(*g->eps));
	}
	g->eps[g->n] = (struct epslice__dep){.ep = *ep, .id = id};
	g->n++;
}

struct id_ref {
	const char *id;
	size_t idx;
};

/* Orders by identity, then position. */
static int cmp_id_ref(const void *pa, const void *pb)
{
	const struct id_ref *a = pa, *b = pb;
	int c = strcmp(a->id, b->id);

	if (c)
		return c;
	return a->idx < b->idx ? -1 : (a->idx > b->idx);
}

/* Sorts the identity index; equal identities collapse, the last wins. */
static void group_index(struct epslice__group *g)
{
	struct id_ref *v = xcalloc(g->n + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		v[i] = (struct id_ref){g->eps[i].id, i};
	qsort(v, g->n, sizeof(*v), cmp_id_ref);
	g->by_id = xcalloc(g->n + 1, sizeof(*g->by_id));
	for (size_t i = 0; i < g->n; i++) {
		if (i + 1 < g->n && !strcmp(v[i].id, v[i + 1].id)) {
			g->eps[v[i].idx].dead = true;
			continue;
		}
		g->by_id[n++] = v[i].idx;
	}
	g->n_live = n;
	free(v);
}

struct epslice__dep *epslice__group_find(struct epslice__group *g,
					 const char *id)
{
	size_t lo = 0, hi = g->n_live;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct epslice__dep *d = &g->eps[g->by_id[mid]];
		int c = strcmp(d->id, id);

		if (c == 0)
			return d->taken ? NULL : d;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void epslice__groups_release(struct epslice__type *t)
{
	for (size_t i = 0; i < t->n_groups; i++) {
		free(t->groups[i].eps);
		free(t->groups[i].by_id);
	}
	free(t->groups);
	t->groups = NULL;
	t->n_groups = 0;
}

/* ---- The desired state (§5.2 step 2) ------------------------------------ */

static void note_missing_node(struct epslice__ctx *ctx,
			      const struct kube_pod *p)
{
	const struct kube_meta *m = &ctx->svc->obj.meta;

	if (ctx->plan->missing_node)
		return;
	ctx->plan->missing_node = true;
	(void)snprintf(ctx->plan->missing_node_detail,
		       sizeof(ctx->plan->missing_node_detail),
		       "skipping Pod %s for Service %s/%s: Node %s Not Found",
		       p->obj.meta.name, m->ns, m->name, nz(p->node_name));
}

static const struct kube_node *lookup_node(struct epslice__ctx *ctx,
					   const struct kube_pod *p)
{
	if (!ctx->in->node || !set(p->node_name))
		return NULL;
	return ctx->in->node(ctx->in->node_ctx, p->node_name);
}

static void desired_pod(struct epslice__ctx *ctx, struct epslice__type *t,
			const struct kube_pod *p, struct kube_slice_port *tmp)
{
	const struct kube_service *svc = ctx->svc;
	struct epslice__group *g;
	const struct kube_node *node;
	struct kube_endpoint ep;

	/* The group is registered even when the pod is then skipped. */
	g = group_get(ctx, t, tmp, pod_ports(svc, p, tmp));
	node = lookup_node(ctx, p);
	if (!node && !svc->publish_not_ready) {
		log_v(2, "skipping pod=%s/%s node=%s not found", p->obj.meta.ns,
		      p->obj.meta.name, nz(p->node_name));
		note_missing_node(ctx, p);
		return;
	}
	build_endpoint(ctx->scratch, svc, p, node, t->type, &ep);
	if (ep.n_addresses > 0)
		group_add(g, &ep, epslice__ep_id(ctx->scratch, &ep));
}

void epslice__desired(struct epslice__ctx *ctx, struct epslice__type *t)
{
	struct kube_slice_port *tmp =
	    xcalloc(ctx->svc->n_ports + 1, sizeof(*tmp));

	for (size_t i = 0; i < ctx->n_pods; i++)
		if (epslice_pod_exclusion(ctx->pods[i]) == EPSLICE_INCLUDED)
			desired_pod(ctx, t, ctx->pods[i], tmp);
	free(tmp);
	for (size_t i = 0; i < t->n_groups; i++)
		group_index(&t->groups[i]);
}

/* ---- Labels (§4.2) ------------------------------------------------------ */

static bool reserved(const char *key)
{
	return !strcmp(key, EPSLICE_LABEL_SERVICE_NAME) ||
	       !strcmp(key, EPSLICE_LABEL_MANAGED_BY) ||
	       !strcmp(key, EPSLICE_LABEL_HEADLESS);
}

static int cmp_label(const void *pa, const void *pb)
{
	const struct kube_label *a = pa, *b = pb;

	return strcmp(a->key, b->key);
}

static bool service_ip_set(const struct kube_service *svc)
{
	return set(svc->cluster_ip) && strcmp(svc->cluster_ip, "None") != 0;
}

void epslice__desired_labels(struct epslice__ctx *ctx, struct kube_object *o,
			     struct kube_labels *out)
{
	const struct kube_labels *sl = &ctx->svc->obj.meta.labels;
	struct kube_label *v = kube_alloc(o, (sl->n + 3) * sizeof(*v));
	uint32_t n = 0;

	for (uint32_t i = 0; i < sl->n; i++) {
		if (reserved(sl->items[i].key)) {
			log_v(2, "service=%s/%s uses reserved label %s",
			      ctx->svc->obj.meta.ns, ctx->svc->obj.meta.name,
			      sl->items[i].key);
			continue;
		}
		v[n].key = kube_intern(o, sl->items[i].key);
		v[n++].value = kube_intern(o, sl->items[i].value);
	}
	v[n].key = kube_intern(o, EPSLICE_LABEL_SERVICE_NAME);
	v[n++].value = kube_intern(o, ctx->svc->obj.meta.name);
	v[n].key = kube_intern(o, EPSLICE_LABEL_MANAGED_BY);
	v[n++].value = kube_intern(o, ctx->cfg->managed_by);
	if (!service_ip_set(ctx->svc)) {
		v[n].key = kube_intern(o, EPSLICE_LABEL_HEADLESS);
		v[n++].value = kube_intern(o, "");
	}
	qsort(v, n, sizeof(*v), cmp_label);
	out->items = v;
	out->n = n;
}

/* The next non-reserved label at or after *i, or NULL. */
static const struct kube_label *next_plain(const struct kube_labels *l,
					   uint32_t *i)
{
	while (*i < l->n && reserved(l->items[*i].key))
		(*i)++;
	return *i < l->n ? &l->items[(*i)++] : NULL;
}

bool epslice__labels_changed(const struct kube_labels *slice,
			     const struct kube_labels *svc)
{
	uint32_t i = 0, j = 0;

	for (;;) {
		const struct kube_label *a = next_plain(slice, &i);
		const struct kube_label *b = next_plain(svc, &j);

		if (!a || !b)
			return a != b;
		if (!str_eq(a->key, b->key) || !str_eq(a->value, b->value))
			return true;
	}
}
