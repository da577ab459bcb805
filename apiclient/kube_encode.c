/*
 * kube_encode: JSON for the objects we write (apiclient.md §1.7, §1.10,
 * §1.11): EndpointSlices, Leases and events.k8s.io/v1 Events, written by a
 * small hand writer over struct buf. false is written explicitly, only
 * truly unset optionals are omitted (§4.4); EndpointSlice conditions are
 * always written.
 *
 * If the output buffer reaches its maximum the rest is dropped and the
 * JSON is incomplete (the server rejects it); callers size it generously.
 * Reentrant; no shared state.
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

#define EVENT_NOTE_MAX 1024

/* ---- UTF-8 --------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xBF;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

size_t kube__utf8_cut(const char *s, size_t n, size_t max)
{
	size_t cut = max;

	if (n <= max)
		return n;
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

void kube__copy_trunc(char *dst, size_t cap, const char *s, size_t n)
{
	size_t m = kube__utf8_cut(s, n, cap - 1);

	memcpy(dst, s, m);
	dst[m] = '\0';
}

/* ---- Writer -------------------------------------------------------------- */

static void add(struct buf *b, const char *s, size_t n)
{
	if (buf_add(b, s, n) != ERR_OK)
		return; /* full: the caller's buffer is too small (see top) */
}

static void adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* Appends s[0..n) quoted; invalid UTF-8 becomes U+FFFD (Go's encoding/json). */
static void quote_n(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	adds(out, "\"");
	while (i < n) {
		size_t len = utf8_seq(p + i, n - i);
		char esc[7] = {'\\', 'u', '0', '0', 0, 0, 0};

		if (len && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\') {
			i += len;
			run += len;
			continue;
		}
		add(out, s + i - run, run);
		run = 0;
		if (!len) {
			adds(out, "\\ufffd");
		} else if (p[i] == '"' || p[i] == '\\') {
			esc[1] = (char)p[i];
			add(out, esc, 2);
		} else if (p[i] == '\n' || p[i] == '\t' || p[i] == '\r') {
			esc[1] = (char)(p[i] == '\n'   ? 'n'
					: p[i] == '\t' ? 't'
							: 'r');
			add(out, esc, 2);
		} else {
			esc[4] = hex[p[i] >> 4];
			esc[5] = hex[p[i] & 15];
			add(out, esc, 6);
		}
		i++;
	}
	add(out, s + n - run, run);
	adds(out, "\"");
}

void kube_json_quote(struct buf *out, const char *s)
{
	quote_n(out, s ? s : "", s ? strlen(s) : 0);
}

struct jw {
	struct buf *b;
	bool comma; /* a value precedes at this level */
};

static void jw_key(struct jw *w, const char *k)
{
	if (w->comma)
		adds(w->b, ",");
	if (k) {
		kube_json_quote(w->b, k);
		adds(w->b, ":");
	}
	w->comma = false;
}

/* Opens "{" or "[" as the value of k (or as an array element if k NULL). */
static void jw_open(struct jw *w, const char *k, const char *c)
{
	jw_key(w, k);
	adds(w->b, c);
	w->comma = false;
}

static void jw_close(struct jw *w, const char *c)
{
	adds(w->b, c);
	w->comma = true;
}

/* Writes "k":"v", or nothing when v is NULL. */
static void jw_str(struct jw *w, const char *k, const char *v)
{
	if (!v)
		return;
	jw_key(w, k);
	kube_json_quote(w->b, v);
	w->comma = true;
}

static void jw_int(struct jw *w, const char *k, long long v)
{
	char tmp[32];

	jw_key(w, k);
	(void)snprintf(tmp, sizeof(tmp), "%lld", v);
	adds(w->b, tmp);
	w->comma = true;
}

static void jw_bool(struct jw *w, const char *k, bool v)
{
	jw_key(w, k);
	adds(w->b, v ? "true" : "false");
	w->comma = true;
}

static void jw_time(struct jw *w, const char *k, int64_t ms, bool micro)
{
	char tmp[CLOCK_RFC3339_LEN];

	clock_format_rfc3339(ms, micro, tmp);
	jw_str(w, k, tmp);
}

static void jw_labels(struct jw *w, const char *k, const struct kube_labels *l)
{
	if (!l->n)
		return;
	jw_open(w, k, "{");
	for (uint32_t i = 0; i < l->n; i++)
		jw_str(w, l->items[i].key, l->items[i].value);
	jw_close(w, "}");
}

static bool set(const char *s)
{
	return s && *s;
}

static void jw_owners(struct jw *w, const struct kube_meta *m)
{
	if (!m->n_owners)
		return;
	jw_open(w, "ownerReferences", "[");
	for (uint32_t i = 0; i < m->n_owners; i++) {
		const struct kube_owner_ref *o = &m->owners[i];

		jw_open(w, NULL, "{");
		jw_str(w, "apiVersion", o->api_version);
		jw_str(w, "kind", o->kind);
		jw_str(w, "name", o->name);
		jw_str(w, "uid", o->uid);
		if (o->controller != KUBE_UNSET)
			jw_bool(w, "controller", o->controller == KUBE_TRUE);
		if (o->block_owner_deletion != KUBE_UNSET)
			jw_bool(w, "blockOwnerDeletion",
				o->block_owner_deletion == KUBE_TRUE);
		jw_close(w, "}");
	}
	jw_close(w, "]");
}

static void jw_meta(struct jw *w, const struct kube_meta *m, bool owners)
{
	jw_open(w, "metadata", "{");
	if (set(m->name))
		jw_str(w, "name", m->name);
	if (set(m->generate_name))
		jw_str(w, "generateName", m->generate_name);
	if (set(m->ns))
		jw_str(w, "namespace", m->ns);
	/* uid acts as a precondition on PUT; the server ignores generation
	 * and creationTimestamp there. They make listings complete. */
	if (set(m->uid))
		jw_str(w, "uid", m->uid);
	if (set(m->resource_version))
		jw_str(w, "resourceVersion", m->resource_version);
	if (m->generation > 0)
		jw_int(w, "generation", m->generation);
	if (m->creation_ms > 0)
		jw_time(w, "creationTimestamp", m->creation_ms, false);
	jw_labels(w, "labels", &m->labels);
	jw_labels(w, "annotations", &m->annotations);
	if (owners)
		jw_owners(w, m);
	jw_close(w, "}");
}

/* ---- EndpointSlice ------------------------------------------------------- */

static void jw_names(struct jw *w, const char *k, const char *const *v,
		     uint32_t n)
{
	jw_open(w, k, "[");
	for (uint32_t i = 0; i < n; i++) {
		jw_open(w, NULL, "{");
		jw_str(w, "name", v[i]);
		jw_close(w, "}");
	}
	jw_close(w, "]");
}

static void jw_endpoint_refs(struct jw *w, const struct kube_endpoint *ep)
{
	if (ep->target.kind) {
		jw_open(w, "targetRef", "{");
		jw_str(w, "kind", ep->target.kind);
		jw_str(w, "namespace", ep->target.ns);
		jw_str(w, "name", ep->target.name);
		jw_str(w, "uid", ep->target.uid);
		jw_close(w, "}");
	}
	if (ep->has_hints || ep->n_hint_zones || ep->n_hint_nodes) {
		jw_open(w, "hints", "{");
		if (ep->n_hint_zones)
			jw_names(w, "forZones", ep->hint_zones,
				 ep->n_hint_zones);
		if (ep->n_hint_nodes)
			jw_names(w, "forNodes", ep->hint_nodes,
				 ep->n_hint_nodes);
		jw_close(w, "}");
	}
}

/* Absent ready/serving mean true, absent terminating false (§1.7). */
static void jw_endpoint(struct jw *w, const struct kube_endpoint *ep)
{
	jw_open(w, NULL, "{");
	jw_open(w, "addresses", "[");
	for (uint32_t i = 0; i < ep->n_addresses; i++) {
		jw_key(w, NULL);
		kube_json_quote(w->b, ep->addresses[i]);
		w->comma = true;
	}
	jw_close(w, "]");
	jw_open(w, "conditions", "{");
	jw_bool(w, "ready", ep->ready != KUBE_FALSE);
	jw_bool(w, "serving", ep->serving != KUBE_FALSE);
	jw_bool(w, "terminating", ep->terminating == KUBE_TRUE);
	jw_close(w, "}");
	jw_str(w, "hostname", ep->hostname);
	jw_str(w, "nodeName", ep->node_name);
	jw_str(w, "zone", ep->zone);
	jw_endpoint_refs(w, ep);
	jw_close(w, "}");
}

void kube_endpointslice_encode(const struct kube_endpointslice *s,
			       struct buf *out)
{
	struct jw w = {.b = out};

	jw_open(&w, NULL, "{");
	jw_str(&w, "apiVersion", "discovery.k8s.io/v1");
	jw_str(&w, "kind", "EndpointSlice");
	jw_meta(&w, &s->obj.meta, true);
	jw_str(&w, "addressType", kube_address_type_name(s->address_type));
	jw_open(&w, "endpoints", "[");
	for (uint32_t i = 0; i < s->n_endpoints; i++)
		jw_endpoint(&w, &s->endpoints[i]);
	jw_close(&w, "]");
	jw_open(&w, "ports", "[");
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct kube_slice_port *p = &s->ports[i];

		jw_open(&w, NULL, "{");
		jw_str(&w, "name", p->name);
		jw_str(&w, "protocol", kube_protocol_name(p->protocol));
		if (p->has_port)
			jw_int(&w, "port", p->port);
		jw_str(&w, "appProtocol", p->app_protocol);
		jw_close(&w, "}");
	}
	jw_close(&w, "]");
	jw_close(&w, "}");
}

/* ---- Service (replay listings, allocator patches) ------------------------ */

static const char *service_type_name(enum kube_service_type t)
{
	static const char *const names[] = { "ClusterIP", "NodePort",
					     "LoadBalancer", "ExternalName" };

	return names[t];
}

static const char *family_name(enum kube_ip_family f)
{
	return f == KUBE_FAMILY_IPV6 ? "IPv6" : "IPv4";
}

static const char *policy_name(enum kube_family_policy p)
{
	static const char *const names[] = { NULL, "SingleStack",
					     "PreferDualStack",
					     "RequireDualStack" };

	return names[p];
}

static void jw_service_port(struct jw *w, const struct kube_service_port *p)
{
	jw_open(w, NULL, "{");
	jw_str(w, "name", p->name);
	jw_str(w, "protocol", kube_protocol_name(p->protocol));
	jw_str(w, "appProtocol", p->app_protocol);
	jw_int(w, "port", p->port);
	if (p->target_port_name)
		jw_str(w, "targetPort", p->target_port_name);
	else if (p->target_port_num)
		jw_int(w, "targetPort", p->target_port_num);
	if (p->node_port)
		jw_int(w, "nodePort", p->node_port);
	jw_close(w, "}");
}

static void jw_service_ips(struct jw *w, const struct kube_service *s)
{
	jw_str(w, "clusterIP", s->cluster_ip);
	if (s->n_cluster_ips) {
		jw_open(w, "clusterIPs", "[");
		for (uint32_t i = 0; i < s->n_cluster_ips; i++)
			jw_str(w, NULL, s->cluster_ips[i]);
		jw_close(w, "]");
	}
	if (s->n_families) {
		jw_open(w, "ipFamilies", "[");
		for (uint32_t i = 0; i < s->n_families; i++)
			jw_str(w, NULL, family_name(s->families[i]));
		jw_close(w, "]");
	}
	jw_str(w, "ipFamilyPolicy", policy_name(s->family_policy));
}

static void jw_service_spec(struct jw *w, const struct kube_service *s)
{
	jw_open(w, "spec", "{");
	if (s->has_selector) {
		jw_open(w, "selector", "{");
		for (uint32_t i = 0; i < s->selector.n; i++)
			jw_str(w, s->selector.items[i].key,
			       s->selector.items[i].value);
		jw_close(w, "}");
	}
	jw_str(w, "type", service_type_name(s->type));
	jw_service_ips(w, s);
	if (s->n_ports) {
		jw_open(w, "ports", "[");
		for (uint32_t i = 0; i < s->n_ports; i++)
			jw_service_port(w, &s->ports[i]);
		jw_close(w, "]");
	}
	if (s->publish_not_ready)
		jw_bool(w, "publishNotReadyAddresses", true);
	jw_str(w, "externalName", s->external_name);
	jw_str(w, "externalTrafficPolicy", s->external_traffic_policy);
	jw_str(w, "internalTrafficPolicy", s->internal_traffic_policy);
	if (s->health_check_node_port)
		jw_int(w, "healthCheckNodePort", s->health_check_node_port);
	if (s->allocate_lb_node_ports != KUBE_UNSET)
		jw_bool(w, "allocateLoadBalancerNodePorts",
			s->allocate_lb_node_ports == KUBE_TRUE);
	jw_str(w, "trafficDistribution", s->traffic_distribution);
	jw_close(w, "}");
}

void kube_service_encode(const struct kube_service *s, struct buf *out)
{
	struct jw w = {.b = out};

	jw_open(&w, NULL, "{");
	jw_str(&w, "apiVersion", "v1");
	jw_str(&w, "kind", "Service");
	jw_meta(&w, &s->obj.meta, false);
	jw_service_spec(&w, s);
	jw_close(&w, "}");
}

/* ---- Lease and Event ----------------------------------------------------- */

void kube_lease_encode(const struct kube_lease *l, struct buf *out)
{
	struct jw w = {.b = out};

	jw_open(&w, NULL, "{");
	jw_str(&w, "apiVersion", "coordination.k8s.io/v1");
	jw_str(&w, "kind", "Lease");
	jw_meta(&w, &l->obj.meta, false);
	jw_open(&w, "spec", "{");
	jw_str(&w, "holderIdentity", l->holder_identity);
	if (l->lease_duration_s > 0)
		jw_int(&w, "leaseDurationSeconds", l->lease_duration_s);
	if (l->acquire_ms)
		jw_time(&w, "acquireTime", l->acquire_ms, true);
	if (l->renew_ms)
		jw_time(&w, "renewTime", l->renew_ms, true);
	jw_int(&w, "leaseTransitions", l->lease_transitions);
	jw_close(&w, "}");
	jw_close(&w, "}");
}

static const char *api_version_of(enum kube_kind kind)
{
	switch (kind) {
	case KUBE_KIND_ENDPOINTSLICE:
		return "discovery.k8s.io/v1";
	case KUBE_KIND_LEASE:
		return "coordination.k8s.io/v1";
	default:
		return "v1";
	}
}

static void jw_note(struct jw *w, const char *note)
{
	size_t n;

	if (!note)
		return;
	n = kube__utf8_cut(note, strlen(note), EVENT_NOTE_MAX);
	jw_key(w, "note");
	quote_n(w->b, note, n);
	w->comma = true;
}

void kube_event_encode(const struct kube_event_record *e, struct buf *out)
{
	struct jw w = {.b = out};

	jw_open(&w, NULL, "{");
	jw_str(&w, "apiVersion", "events.k8s.io/v1");
	jw_str(&w, "kind", "Event");
	jw_open(&w, "metadata", "{");
	jw_str(&w, "name", e->name);
	jw_str(&w, "namespace", set(e->ns) ? e->ns : "default");
	jw_close(&w, "}");
	jw_time(&w, "eventTime", e->event_ms, true);
	jw_str(&w, "reportingController", e->reporting_controller);
	jw_str(&w, "reportingInstance", e->reporting_instance);
	jw_str(&w, "action", e->action);
	jw_str(&w, "reason", e->reason);
	jw_str(&w, "type", e->type ? e->type : "Normal");
	jw_note(&w, e->note);
	jw_open(&w, "regarding", "{");
	jw_str(&w, "apiVersion", api_version_of(e->regarding_kind));
	jw_str(&w, "kind", kube_kind_name(e->regarding_kind));
	if (set(e->regarding_ns))
		jw_str(&w, "namespace", e->regarding_ns);
	jw_str(&w, "name", e->regarding_name);
	jw_str(&w, "uid", e->regarding_uid);
	jw_close(&w, "}");
	jw_close(&w, "}");
}
