/*
 * explain: why each selected pod of a Service is or is not an endpoint.
 * Each pod is judged with epslice's own per-pod rules in the order the
 * reconcile applies them (membership, node, then addresses per type),
 * so the verdict is the controller's; the slices that hold the pod are
 * found by targetRef in our cached slices of the Service.
 *
 * The JSON goes through a small writer that keeps the first buffer error
 * and tracks commas per nesting level.
 *
 * Thread safety: references taken from the stores are held for one call.
 */
#include "base.h"
#include "explain.h"

#include "epslice.h"
#include "kube.h"

/* ---- A minimal JSON writer --------------------------------------------- */

#define JW_DEPTH 16

struct jw {
	struct buf *out;
	enum err err;
	int depth;
	bool first[JW_DEPTH]; /* no member written yet at this level */
};

static void jw_raw(struct jw *w, const char *s)
{
	if (w->err == ERR_OK)
		w->err = buf_adds(w->out, s);
}

static void jw_quoted(struct jw *w, const char *s)
{
	struct buf q;

	buf_init(&q, BUF_MAX_DEFAULT);
	kube_json_quote(&q, s ? s : "");
	if (w->err == ERR_OK)
		w->err = buf_add(w->out, q.data, q.len);
	buf_release(&q);
}

/* The comma and "key": before a value (key NULL inside arrays). */
static void jw_key(struct jw *w, const char *key)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			jw_raw(w, ",");
		w->first[w->depth] = false;
	}
	if (key) {
		jw_quoted(w, key);
		jw_raw(w, ":");
	}
}

static void jw_open(struct jw *w, const char *key, const char *bracket)
{
	jw_key(w, key);
	jw_raw(w, bracket);
	BUG_ON(w->depth + 1 >= JW_DEPTH);
	w->first[++w->depth] = true;
}

static void jw_close(struct jw *w, const char *bracket)
{
	w->depth--;
	jw_raw(w, bracket);
}

static void jw_obj(struct jw *w, const char *key)
{
	jw_open(w, key, "{");
}

static void jw_arr(struct jw *w, const char *key)
{
	jw_open(w, key, "[");
}

static void jw_end_obj(struct jw *w)
{
	jw_close(w, "}");
}

static void jw_end_arr(struct jw *w)
{
	jw_close(w, "]");
}

/* A string, or null when s is NULL. */
static void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	if (s)
		jw_quoted(w, s);
	else
		jw_raw(w, "null");
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_raw(w, v ? "true" : "false");
}

static void jw_int(struct jw *w, const char *key, long long v)
{
	char tmp[32];

	(void)snprintf(tmp, sizeof(tmp), "%lld", v);
	jw_key(w, key);
	jw_raw(w, tmp);
}

static void jw_reason(struct jw *w, const char *code, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
static void jw_reason(struct jw *w, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jw_obj(w, NULL);
	jw_str(w, "code", code);
	jw_str(w, "message", msg);
	jw_end_obj(w);
}

/* ---- Inputs ------------------------------------------------------------- */

struct inputs {
	const struct explain_sources *src;
	const char *managed_by;
	const struct kube_service *svc;
	struct store_list pods;	  /* selected, sorted by name */
	struct store_list slices; /* ours for this Service, sorted by name */
	size_t n_types;
	enum kube_address_type types[2];
};

static int cmp_name(const void *pa, const void *pb)
{
	const struct kube_object *a = *(const struct kube_object *const *)pa;
	const struct kube_object *b = *(const struct kube_object *const *)pb;

	return strcmp(a->meta.name, b->meta.name);
}

/* Keeps the items for which keep() is true (dropping the others'
 * references), then sorts them by name. */
static void filter_sort(struct store_list *l,
			bool (*keep)(const struct inputs *, const struct kube_object *),
			const struct inputs *in)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (keep(in, l->items[i]))
			l->items[n++] = l->items[i];
		else
			kube_object_unref(l->items[i]);
	}
	l->n = n;
	if (n > 1)
		qsort(l->items, n, sizeof(struct kube_object *), cmp_name);
}

static bool selected_pod(const struct inputs *in, const struct kube_object *o)
{
	const struct kube_meta *m = &in->svc->obj.meta;

	return str_eq(o->meta.ns, m->ns) &&
	       epslice_selector_matches(&in->svc->selector, &o->meta.labels);
}

static bool our_slice(const struct inputs *in, const struct kube_object *o)
{
	const struct kube_meta *m = &in->svc->obj.meta;

	return str_eq(o->meta.ns, m->ns) &&
	       str_eq(kube_labels_get(&o->meta.labels, EPSLICE_LABEL_SERVICE_NAME),
		      m->name) &&
	       str_eq(kube_labels_get(&o->meta.labels, EPSLICE_LABEL_MANAGED_BY),
		      in->managed_by);
}

static void list_by(struct store *s, const char *index, const char *key,
		    struct store_list *out)
{
	int id = store_index_id(s, index);

	if (id >= 0)
		store_list_index(s, id, key, out);
	else
		store_list_all(s, out);
}

static void gather(struct inputs *in)
{
	const struct kube_meta *m = &in->svc->obj.meta;
	char key[512];

	memset(&in->pods, 0, sizeof(in->pods));
	memset(&in->slices, 0, sizeof(in->slices));
	if (epslice_service_managed(in->svc)) {
		list_by(in->src->pods, "namespace", m->ns, &in->pods);
		filter_sort(&in->pods, selected_pod, in);
	}
	if (in->src->slices) {
		(void)snprintf(key, sizeof(key), "%s/%s", m->ns, m->name);
		list_by(in->src->slices, "service", key, &in->slices);
		filter_sort(&in->slices, our_slice, in);
	}
	in->n_types = epslice_address_types(in->svc, in->types);
}

/* ---- The Service ----------------------------------------------------------- */

static const char *svc_type_name(enum kube_service_type t)
{
	static const char *const names[] = { "ClusterIP", "NodePort",
					     "LoadBalancer", "ExternalName" };

	return names[t];
}

static const char *family_name(enum kube_ip_family f)
{
	return f == KUBE_FAMILY_IPV6 ? "IPv6" : f == KUBE_FAMILY_IPV4 ? "IPv4"
								       : "Unknown";
}

static void write_target_port(struct jw *w, const struct kube_service_port *p)
{
	if (p->target_port_name)
		jw_str(w, "targetPort", p->target_port_name);
	else
		jw_int(w, "targetPort",
		       p->target_port_num ? p->target_port_num : p->port);
}

static void write_svc_ports(struct jw *w, const struct kube_service *s)
{
	jw_arr(w, "ports");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct kube_service_port *p = &s->ports[i];

		jw_obj(w, NULL);
		jw_str(w, "name", p->name ? p->name : "");
		jw_str(w, "protocol", kube_protocol_name(p->protocol));
		jw_int(w, "port", p->port);
		write_target_port(w, p);
		jw_end_obj(w);
	}
	jw_end_arr(w);
}

static void write_selector(struct jw *w, const struct kube_service *s)
{
	if (!s->has_selector) {
		jw_str(w, "selector", NULL);
		return;
	}
	jw_obj(w, "selector");
	for (uint32_t i = 0; i < s->selector.n; i++)
		jw_str(w, s->selector.items[i].key, s->selector.items[i].value);
	jw_end_obj(w);
}

static void write_service(struct jw *w, const struct inputs *in)
{
	const struct kube_service *s = in->svc;
	bool managed = epslice_service_managed(s);

	jw_obj(w, "service");
	jw_str(w, "namespace", s->obj.meta.ns);
	jw_str(w, "name", s->obj.meta.name);
	jw_str(w, "uid", s->obj.meta.uid);
	jw_str(w, "type", svc_type_name(s->type));
	jw_str(w, "clusterIP", s->cluster_ip);
	jw_arr(w, "ipFamilies");
	for (uint32_t i = 0; i < s->n_families; i++)
		jw_str(w, NULL, family_name(s->families[i]));
	jw_end_arr(w);
	jw_arr(w, "addressTypes");
	for (size_t i = 0; i < in->n_types; i++)
		jw_str(w, NULL, kube_address_type_name(in->types[i]));
	jw_end_arr(w);
	write_selector(w, s);
	jw_bool(w, "publishNotReadyAddresses", s->publish_not_ready);
	jw_bool(w, "terminating", s->obj.meta.deletion_ms != 0);
	write_svc_ports(w, s);
	jw_bool(w, "managed", managed);
	if (!managed)
		jw_str(w, "unmanagedReason",
		       s->type == KUBE_SVC_EXTERNAL_NAME
			   ? "type ExternalName: the controller leaves it alone"
			   : "no selector: slices come from users or the mirroring controller");
	jw_end_obj(w);
}

static void write_slices(struct jw *w, const struct inputs *in)
{
	jw_arr(w, "slices");
	for (size_t i = 0; i < in->slices.n; i++) {
		const struct kube_endpointslice *s =
		    kube_endpointslice(in->slices.items[i]);

		jw_obj(w, NULL);
		jw_str(w, "name", s->obj.meta.name);
		jw_str(w, "addressType", kube_address_type_name(s->address_type));
		jw_int(w, "endpoints", s->n_endpoints);
		jw_bool(w, "deleting", s->obj.meta.deletion_ms != 0);
		jw_end_obj(w);
	}
	jw_end_arr(w);
}

/* ---- One pod ----------------------------------------------------------------- */

static const char *phase_name(enum kube_pod_phase p)
{
	static const char *const names[] = { "Unknown", "Pending", "Running",
					     "Succeeded", "Failed" };

	return names[p];
}

/* The verdict of one pod, computed before it is written. */
struct judgement {
	enum epslice_exclusion excl;
	bool node_known;
	const char *zone;
	bool family_ok[2];	/* per in->types[i]: at least one address */
	bool any_family;
	bool endpoint;
};

static bool node_known(const struct inputs *in, const struct kube_pod *p,
		       const char **zone)
{
	struct kube_object *o;

	*zone = NULL;
	if (!in->src->nodes || !p->node_name || !*p->node_name)
		return false;
	o = store_get(in->src->nodes, "", p->node_name);
	if (!o)
		return false;
	/* Zones are interned: the string outlives this reference. */
	*zone = kube_node(o)->zone;
	kube_object_unref(o);
	return true;
}

static bool has_family(const struct kube_pod *p, enum kube_address_type t)
{
	enum kube_ip_family want =
	    t == KUBE_ADDR_IPV6 ? KUBE_FAMILY_IPV6 : KUBE_FAMILY_IPV4;

	for (uint32_t i = 0; i < p->n_ips; i++) {
		enum kube_ip_family f;
		char tmp[64];

		if (epslice_canon_ip(p->ips[i], &f, tmp) == ERR_OK && f == want)
			return true;
	}
	return false;
}

static void judge(const struct inputs *in, const struct kube_pod *p,
		  struct judgement *j)
{
	memset(j, 0, sizeof(*j));
	j->excl = epslice_pod_exclusion(p);
	j->node_known = node_known(in, p, &j->zone);
	for (size_t i = 0; i < in->n_types; i++) {
		j->family_ok[i] = has_family(p, in->types[i]);
		j->any_family |= j->family_ok[i];
	}
	j->endpoint = j->excl == EPSLICE_INCLUDED &&
		      (j->node_known || in->svc->publish_not_ready) &&
		      j->any_family;
}

static void write_reasons(struct jw *w, const struct inputs *in,
			  const struct kube_pod *p, const struct judgement *j)
{
	const char *node = p->node_name && *p->node_name ? p->node_name : NULL;

	jw_arr(w, "reasons");
	if (j->excl == EPSLICE_EXCLUDED_TERMINAL)
		jw_reason(w, "terminal_phase",
			  "phase %s: terminal pods are never endpoints",
			  phase_name(p->phase));
	else if (j->excl == EPSLICE_EXCLUDED_NO_IP)
		jw_reason(w, "no_ip", "no IP yet: status.podIP and status.podIPs are empty");
	else if (!j->node_known && !in->svc->publish_not_ready)
		jw_reason(w, "node_not_found",
			  node ? "node %s is not in the node cache: the pod is skipped and the Service's sync fails and is retried"
			       : "%s: the pod is skipped and the Service's sync fails and is retried",
			  node ? node : "no spec.nodeName");
	else if (!j->any_family)
		for (size_t i = 0; i < in->n_types; i++)
			jw_reason(w, "no_address_of_family",
				  "no %s address among the pod's IPs",
				  kube_address_type_name(in->types[i]));
	jw_end_arr(w);
}

static void write_notes(struct jw *w, const struct inputs *in,
			const struct kube_pod *p, const struct judgement *j)
{
	jw_arr(w, "notes");
	if (j->excl == EPSLICE_INCLUDED && !j->node_known &&
	    in->svc->publish_not_ready)
		jw_reason(w, "node_not_found_kept",
			  "node %s is not in the node cache; kept because publishNotReadyAddresses is set (no zone)",
			  p->node_name && *p->node_name ? p->node_name : "(none)");
	for (size_t i = 0; j->any_family && i < in->n_types; i++)
		if (!j->family_ok[i])
			jw_reason(w, "no_address_of_family",
				  "no %s address: not in the %s slices",
				  kube_address_type_name(in->types[i]),
				  kube_address_type_name(in->types[i]));
	for (uint32_t i = 0; i < p->n_ips; i++) {
		enum kube_ip_family f;
		char tmp[64];

		if (epslice_canon_ip(p->ips[i], &f, tmp) != ERR_OK)
			jw_reason(w, "unparsable_ip", "IP %s does not parse and is skipped",
				  p->ips[i]);
	}
	for (uint32_t i = 0; i < in->svc->n_ports; i++) {
		const struct kube_service_port *sp = &in->svc->ports[i];
		int32_t port;

		if (!epslice_find_port(p, sp, &port))
			jw_reason(w, "port_unresolved",
				  "Service port %s: no container port named %s with protocol %s; omitted for this pod",
				  sp->name ? sp->name : "\"\"",
				  sp->target_port_name,
				  kube_protocol_name(sp->protocol));
	}
	jw_end_arr(w);
}

static void write_conditions(struct jw *w, const struct inputs *in,
			     const struct kube_pod *p)
{
	struct epslice_conditions c;

	epslice_pod_conditions(in->svc, p, &c);
	jw_obj(w, "conditions");
	jw_bool(w, "ready", c.ready);
	jw_bool(w, "serving", c.serving);
	jw_bool(w, "terminating", c.terminating);
	jw_end_obj(w);
}

static void write_addresses(struct jw *w, const struct inputs *in,
			    const struct kube_pod *p,
			    const struct judgement *j)
{
	jw_arr(w, "addressTypes");
	for (size_t t = 0; t < in->n_types; t++) {
		enum kube_ip_family want = in->types[t] == KUBE_ADDR_IPV6
					       ? KUBE_FAMILY_IPV6
					       : KUBE_FAMILY_IPV4;

		jw_obj(w, NULL);
		jw_str(w, "addressType", kube_address_type_name(in->types[t]));
		jw_arr(w, "addresses");
		for (uint32_t i = 0; i < p->n_ips; i++) {
			enum kube_ip_family f;
			char ip[64];

			if (epslice_canon_ip(p->ips[i], &f, ip) == ERR_OK &&
			    f == want)
				jw_str(w, NULL, ip);
		}
		jw_end_arr(w);
		jw_bool(w, "included", j->endpoint && j->family_ok[t]);
		jw_end_obj(w);
	}
	jw_end_arr(w);
}

static void write_ports(struct jw *w, const struct inputs *in,
			const struct kube_pod *p)
{
	jw_arr(w, "ports");
	for (uint32_t i = 0; i < in->svc->n_ports; i++) {
		const struct kube_service_port *sp = &in->svc->ports[i];
		bool ok;
		int32_t port = 0;

		ok = epslice_find_port(p, sp, &port);
		jw_obj(w, NULL);
		jw_str(w, "name", sp->name ? sp->name : "");
		jw_str(w, "protocol", kube_protocol_name(sp->protocol));
		write_target_port(w, sp);
		jw_bool(w, "resolved", ok);
		if (ok)
			jw_int(w, "port", port);
		else
			jw_str(w, "reason", "no container or sidecar port with this name and protocol: omitted for this pod");
		jw_end_obj(w);
	}
	jw_end_arr(w);
}

static bool holds(const struct kube_endpoint *ep, const struct kube_pod *p)
{
	return str_eq(ep->target.kind, "Pod") &&
	       str_eq(ep->target.ns, p->obj.meta.ns) &&
	       str_eq(ep->target.name, p->obj.meta.name);
}

static void write_holders(struct jw *w, const struct inputs *in,
			  const struct kube_pod *p)
{
	jw_arr(w, "slices");
	for (size_t i = 0; i < in->slices.n; i++) {
		const struct kube_endpointslice *s =
		    kube_endpointslice(in->slices.items[i]);

		for (uint32_t e = 0; e < s->n_endpoints; e++) {
			const struct kube_endpoint *ep = &s->endpoints[e];

			if (!holds(ep, p))
				continue;
			jw_obj(w, NULL);
			jw_str(w, "name", s->obj.meta.name);
			jw_str(w, "addressType",
			       kube_address_type_name(s->address_type));
			/* Absent on the wire: ready/serving true,
			 * terminating false (kube.h). */
			jw_bool(w, "ready", ep->ready != KUBE_FALSE);
			jw_bool(w, "serving", ep->serving != KUBE_FALSE);
			jw_bool(w, "terminating", ep->terminating == KUBE_TRUE);
			jw_end_obj(w);
		}
	}
	jw_end_arr(w);
}

static void write_pod(struct jw *w, const struct inputs *in,
		      const struct kube_pod *p, const struct judgement *j)
{
	jw_obj(w, NULL);
	jw_str(w, "name", p->obj.meta.name);
	jw_str(w, "phase", phase_name(p->phase));
	jw_str(w, "nodeName", p->node_name && *p->node_name ? p->node_name : NULL);
	jw_bool(w, "nodeKnown", j->node_known);
	jw_arr(w, "ips");
	for (uint32_t i = 0; i < p->n_ips; i++)
		jw_str(w, NULL, p->ips[i]);
	jw_end_arr(w);
	jw_str(w, "verdict", j->endpoint ? "endpoint" : "excluded");
	write_reasons(w, in, p, j);
	write_notes(w, in, p, j);
	if (j->endpoint) {
		write_conditions(w, in, p);
		jw_str(w, "zone", j->zone);
	}
	write_addresses(w, in, p, j);
	write_ports(w, in, p);
	write_holders(w, in, p);
	jw_end_obj(w);
}

static void write_pods(struct jw *w, const struct inputs *in)
{
	size_t n_ep = 0;

	jw_arr(w, "pods");
	for (size_t i = 0; i < in->pods.n; i++) {
		const struct kube_pod *p = kube_pod(in->pods.items[i]);
		struct judgement j;

		judge(in, p, &j);
		n_ep += j.endpoint;
		write_pod(w, in, p, &j);
	}
	jw_end_arr(w);
	jw_obj(w, "summary");
	jw_int(w, "selected", (long long)in->pods.n);
	jw_int(w, "endpoints", (long long)n_ep);
	jw_int(w, "excluded", (long long)(in->pods.n - n_ep));
	jw_end_obj(w);
}

/* ---- Entry ------------------------------------------------------------------ */

static enum err not_found(struct jw *w, const char *ns, const char *name)
{
	char msg[600];

	(void)snprintf(msg, sizeof(msg), "service %s/%s is not in the cache",
		       ns, name);
	jw_obj(w, NULL);
	jw_str(w, "kind", "Status");
	jw_str(w, "apiVersion", "v1");
	jw_str(w, "status", "Failure");
	jw_str(w, "reason", "NotFound");
	jw_str(w, "message", msg);
	jw_int(w, "code", 404);
	jw_end_obj(w);
	return w->err != ERR_OK ? w->err : ERR_NOT_FOUND;
}

enum err explain_service(const struct explain_sources *src, const char *ns,
			 const char *name, const char *managed_by,
			 struct buf *out)
{
	struct jw w = { .out = out };
	struct kube_object *svc = store_get(src->services, ns, name);
	struct inputs in = {
		.src = src,
		.managed_by = managed_by && *managed_by
				  ? managed_by
				  : EPSLICE_MANAGED_BY_DEFAULT,
	};

	if (!svc)
		return not_found(&w, ns, name);
	in.svc = kube_service(svc);
	gather(&in);
	jw_obj(&w, NULL);
	write_service(&w, &in);
	jw_str(&w, "managedBy", in.managed_by);
	write_slices(&w, &in);
	write_pods(&w, &in);
	jw_end_obj(&w);
	store_list_release(&in.pods);
	store_list_release(&in.slices);
	kube_object_unref(svc);
	return w.err;
}
