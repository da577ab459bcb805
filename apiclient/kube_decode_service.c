/*
 * kube_decode_service: the Service schema and its handlers (apiclient.md
 * §4.3): what the EndpointSlice controller and the allocators read from
 * spec. spec.selector absent and {} differ (has_selector).
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

enum {
	S_SPEC = KN_KIND_BASE,
	S_SELECTOR,
	S_TYPE,
	S_CLUSTER_IP,
	S_CLUSTER_IPS,
	S_CLUSTER_IPS_ELEM,
	S_FAMILIES,
	S_FAMILY,
	S_FAMILY_POLICY,
	S_PUBLISH_NOT_READY,
	S_TRAFFIC_DIST,
	S_EXT_POLICY,
	S_INT_POLICY,
	S_EXTERNAL_NAME,
	S_HEALTH_PORT,
	S_ALLOC_LB,
	S_EXTERNAL_IPS,
	S_EXTERNAL_IP,
	S_PORTS,
	S_PORT,
	S_PORT_NAME,
	S_PORT_PROTO,
	S_PORT_NUM,
	S_PORT_NODE,
	S_PORT_TARGET,
	S_PORT_APP,
};

#define V_PORTS 2 /* struct kube_service_port */
#define V_CIPS	3 /* const char * */

static const struct kube__node port_fields[] = {
    KNODE("name", KS_STR, S_PORT_NAME, NULL),
    KNODE("protocol", KS_STR, S_PORT_PROTO, NULL),
    KNODE("port", KS_INT, S_PORT_NUM, NULL),
    KNODE("nodePort", KS_INT, S_PORT_NODE, NULL),
    KNODE("targetPort", KS_INTSTR, S_PORT_TARGET, NULL),
    KNODE("appProtocol", KS_STR, S_PORT_APP, NULL),
    KNODE_END,
};
static const struct kube__node port_node =
    KNODE(NULL, KS_MAP, S_PORT, port_fields);
static const struct kube__node cip_node =
    KNODE(NULL, KS_STR, S_CLUSTER_IPS_ELEM, NULL);
static const struct kube__node family_node =
    KNODE(NULL, KS_STR, S_FAMILY, NULL);
static const struct kube__node external_ip_node =
    KNODE(NULL, KS_STR, S_EXTERNAL_IP, NULL);

static const struct kube__node spec_fields[] = {
    KNODE("selector", KS_STRMAP, S_SELECTOR, NULL),
    KNODE("type", KS_STR, S_TYPE, NULL),
    KNODE("clusterIP", KS_STR, S_CLUSTER_IP, NULL),
    KNODE("clusterIPs", KS_ARRAY, S_CLUSTER_IPS, &cip_node),
    KNODE("ipFamilies", KS_ARRAY, S_FAMILIES, &family_node),
    KNODE("ipFamilyPolicy", KS_STR, S_FAMILY_POLICY, NULL),
    KNODE("publishNotReadyAddresses", KS_BOOL, S_PUBLISH_NOT_READY, NULL),
    KNODE("trafficDistribution", KS_STR, S_TRAFFIC_DIST, NULL),
    KNODE("externalTrafficPolicy", KS_STR, S_EXT_POLICY, NULL),
    KNODE("internalTrafficPolicy", KS_STR, S_INT_POLICY, NULL),
    KNODE("externalName", KS_STR, S_EXTERNAL_NAME, NULL),
    KNODE("healthCheckNodePort", KS_INT, S_HEALTH_PORT, NULL),
    KNODE("allocateLoadBalancerNodePorts", KS_BOOL, S_ALLOC_LB, NULL),
    KNODE("externalIPs", KS_ARRAY, S_EXTERNAL_IPS, &external_ip_node),
    KNODE("ports", KS_ARRAY, S_PORTS, &port_node),
    KNODE_END,
};

static const struct kube__node service_fields[] = {
    KNODE("metadata", KS_MAP, KN_META, kube__meta_fields),
    KNODE("spec", KS_MAP, S_SPEC, spec_fields),
    KNODE_END,
};
static const struct kube__node service_root =
    KNODE(NULL, KS_MAP, KN_ROOT, service_fields);

static struct kube_service *svc_of(struct kube__dec *d)
{
	return (struct kube_service *)(void *)d->obj;
}

static enum err parse_type(struct kube__dec *d, const struct kube__val *v)
{
	static const char *const names[] = {"ClusterIP", "NodePort",
					    "LoadBalancer", "ExternalName"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (kube__val_is(v, names[i])) {
			svc_of(d)->type = (enum kube_service_type)i;
			return ERR_OK;
		}
	}
	return kube__dec_fail(d, ERR_DECODE, "unknown service type \"%.*s\"",
			      (int)MIN(v->len, 40), v->s);
}

static enum kube_family_policy parse_policy(const struct kube__val *v)
{
	if (kube__val_is(v, "SingleStack"))
		return KUBE_POLICY_SINGLE_STACK;
	if (kube__val_is(v, "PreferDualStack"))
		return KUBE_POLICY_PREFER_DUAL_STACK;
	if (kube__val_is(v, "RequireDualStack"))
		return KUBE_POLICY_REQUIRE_DUAL_STACK;
	return KUBE_POLICY_UNSET;
}

static void add_family(struct kube_service *s, const struct kube__val *v)
{
	enum kube_ip_family f = KUBE_FAMILY_UNKNOWN;

	if (kube__val_is(v, "IPv4"))
		f = KUBE_FAMILY_IPV4;
	else if (kube__val_is(v, "IPv6"))
		f = KUBE_FAMILY_IPV6;
	if (s->n_families < ARRAY_SIZE(s->families))
		s->families[s->n_families++] = f;
}

static enum err port_scalar(struct kube__dec *d, unsigned id,
			    const struct kube__val *v)
{
	struct kube__vec *vec = &d->vec[V_PORTS];
	struct kube_service_port *p;

	BUG_ON(vec->n == 0);
	p = (void *)(vec->p + (vec->n - 1) * vec->size);
	switch (id) {
	case S_PORT_NAME:
		p->name = kube__val_str(d, v);
		return ERR_OK;
	case S_PORT_PROTO:
		return kube__val_protocol(d, v, &p->protocol);
	case S_PORT_NUM:
		return kube__val_int32(d, v, &p->port);
	case S_PORT_NODE:
		return kube__val_int32(d, v, &p->node_port);
	case S_PORT_TARGET:
		if (v->t == KV_STR) {
			p->target_port_name = kube__val_str(d, v);
			return ERR_OK;
		}
		return kube__val_int32(d, v, &p->target_port_num);
	default:
		p->app_protocol = kube__val_str(d, v);
		return ERR_OK;
	}
}

static enum err svc_scalar(struct kube__dec *d, const struct kube__node *n,
			   const struct kube__val *v)
{
	struct kube_service *s = svc_of(d);

	switch (n->id) {
	case S_TYPE:
		return parse_type(d, v);
	case S_CLUSTER_IP:
		s->cluster_ip = kube__val_str(d, v);
		return ERR_OK;
	case S_CLUSTER_IPS_ELEM:
		*(const char **)kube__vec_push(
		    &d->vec[V_CIPS], sizeof(char *)) = kube__val_str(d, v);
		return ERR_OK;
	case S_FAMILY:
		add_family(s, v);
		return ERR_OK;
	case S_FAMILY_POLICY:
		s->family_policy = parse_policy(v);
		return ERR_OK;
	case S_PUBLISH_NOT_READY:
		s->publish_not_ready = v->b;
		return ERR_OK;
	case S_TRAFFIC_DIST:
		s->traffic_distribution = kube__val_str(d, v);
		return ERR_OK;
	case S_EXT_POLICY:
		s->external_traffic_policy = kube__val_str(d, v);
		return ERR_OK;
	case S_INT_POLICY:
		s->internal_traffic_policy = kube__val_str(d, v);
		return ERR_OK;
	case S_EXTERNAL_NAME:
		s->external_name = kube__val_str(d, v);
		return ERR_OK;
	case S_HEALTH_PORT:
		return kube__val_int32(d, v, &s->health_check_node_port);
	case S_ALLOC_LB:
		s->allocate_lb_node_ports = kube__val_tristate(v);
		return ERR_OK;
	case S_EXTERNAL_IP:
		s->has_external_ips = true;
		return ERR_OK;
	default:
		return port_scalar(d, n->id, v);
	}
}

static enum err svc_entry(struct kube__dec *d, const struct kube__node *n,
			  const struct kube__val *v)
{
	(void)n;
	kube__labels_add(d, v);
	return ERR_OK;
}

static enum err svc_open(struct kube__dec *d, const struct kube__node *n)
{
	if (n->id == S_SELECTOR) {
		svc_of(d)->has_selector = true;
		kube__labels_reset(d);
	} else if (n->id == S_PORT) {
		(void)kube__vec_push(&d->vec[V_PORTS],
				     sizeof(struct kube_service_port));
	}
	return ERR_OK;
}

static enum err svc_close(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_service *s = svc_of(d);

	if (n->id == S_SELECTOR) {
		kube__labels_commit(d, &s->selector);
	} else if (n->id == KN_ROOT) {
		s->ports =
		    kube__vec_commit(&d->vec[V_PORTS], d->obj, &s->n_ports);
		s->cluster_ips = kube__vec_commit(&d->vec[V_CIPS], d->obj,
						  &s->n_cluster_ips);
		d->obj = kube__seal(d->obj);
	}
	return ERR_OK;
}

const struct kube__schema kube__service_schema = {
    .name = "Service",
    .kind = KUBE_KIND_SERVICE,
    .rec_size = sizeof(struct kube_service),
    .root = &service_root,
    .scalar = svc_scalar,
    .open = svc_open,
    .close = svc_close,
    .entry = svc_entry,
};
