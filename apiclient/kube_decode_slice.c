/*
 * kube_decode_slice: the EndpointSlice schema and its handlers
 * (apiclient.md §1.7, §4.3): everything in struct kube_endpointslice plus
 * all annotations and ownerReferences, since upstream's updates copy the
 * existing slice. Conditions stay tri-state: absent is KUBE_UNSET.
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

enum {
	E_ADDRESS_TYPE = KN_KIND_BASE,
	E_ENDPOINTS,
	E_EP,
	E_ADDRESSES,
	E_ADDRESS,
	E_CONDITIONS,
	E_READY,
	E_SERVING,
	E_TERMINATING,
	E_HOSTNAME,
	E_NODE_NAME,
	E_ZONE,
	E_TARGET,
	E_T_KIND,
	E_T_NS,
	E_T_NAME,
	E_T_UID,
	E_HINTS,
	E_FOR_ZONES,
	E_FOR_ZONE,
	E_FZ_NAME,
	E_FOR_NODES,
	E_FOR_NODE,
	E_FN_NAME,
	E_PORTS,
	E_PORT,
	E_P_NAME,
	E_P_PROTO,
	E_P_PORT,
	E_P_APP,
};

#define V_EPS	2 /* struct kube_endpoint */
#define V_ADDRS 3 /* const char * of the current endpoint */
#define V_HZ	4 /* const char *, hints.forZones */
#define V_HN	5 /* const char *, hints.forNodes */
#define V_PORTS 6 /* struct kube_slice_port */

static const struct kube__node address_node =
    KNODE(NULL, KS_STR, E_ADDRESS, NULL);

static const struct kube__node cond_fields[] = {
    KNODE("ready", KS_BOOL, E_READY, NULL),
    KNODE("serving", KS_BOOL, E_SERVING, NULL),
    KNODE("terminating", KS_BOOL, E_TERMINATING, NULL),
    KNODE_END,
};

static const struct kube__node target_fields[] = {
    KNODE("kind", KS_STR, E_T_KIND, NULL),
    KNODE("namespace", KS_STR, E_T_NS, NULL),
    KNODE("name", KS_STR, E_T_NAME, NULL),
    KNODE("uid", KS_STR, E_T_UID, NULL),
    KNODE_END,
};

static const struct kube__node for_zone_fields[] = {
    KNODE("name", KS_STR, E_FZ_NAME, NULL),
    KNODE_END,
};
static const struct kube__node for_zone_node =
    KNODE(NULL, KS_MAP, E_FOR_ZONE, for_zone_fields);
static const struct kube__node for_node_fields[] = {
    KNODE("name", KS_STR, E_FN_NAME, NULL),
    KNODE_END,
};
static const struct kube__node for_node_node =
    KNODE(NULL, KS_MAP, E_FOR_NODE, for_node_fields);

static const struct kube__node hints_fields[] = {
    KNODE("forZones", KS_ARRAY, E_FOR_ZONES, &for_zone_node),
    KNODE("forNodes", KS_ARRAY, E_FOR_NODES, &for_node_node),
    KNODE_END,
};

static const struct kube__node ep_fields[] = {
    KNODE("addresses", KS_ARRAY, E_ADDRESSES, &address_node),
    KNODE("conditions", KS_MAP, E_CONDITIONS, cond_fields),
    KNODE("hostname", KS_STR, E_HOSTNAME, NULL),
    KNODE("nodeName", KS_STR, E_NODE_NAME, NULL),
    KNODE("zone", KS_STR, E_ZONE, NULL),
    KNODE("targetRef", KS_MAP, E_TARGET, target_fields),
    KNODE("hints", KS_MAP, E_HINTS, hints_fields),
    KNODE_END,
};
static const struct kube__node ep_node = KNODE(NULL, KS_MAP, E_EP, ep_fields);

static const struct kube__node port_fields[] = {
    KNODE("name", KS_STR, E_P_NAME, NULL),
    KNODE("protocol", KS_STR, E_P_PROTO, NULL),
    KNODE("port", KS_INT, E_P_PORT, NULL),
    KNODE("appProtocol", KS_STR, E_P_APP, NULL),
    KNODE_END,
};
static const struct kube__node port_node =
    KNODE(NULL, KS_MAP, E_PORT, port_fields);

static const struct kube__node slice_fields[] = {
    KNODE("metadata", KS_MAP, KN_META, kube__meta_fields_owners),
    KNODE("addressType", KS_STR, E_ADDRESS_TYPE, NULL),
    KNODE("endpoints", KS_ARRAY, E_ENDPOINTS, &ep_node),
    KNODE("ports", KS_ARRAY, E_PORTS, &port_node),
    KNODE_END,
};
static const struct kube__node slice_root =
    KNODE(NULL, KS_MAP, KN_ROOT, slice_fields);

static struct kube_endpointslice *slice_of(struct kube__dec *d)
{
	return (struct kube_endpointslice *)(void *)d->obj;
}

static void *last(struct kube__dec *d, int vec)
{
	struct kube__vec *v = &d->vec[vec];

	BUG_ON(v->n == 0);
	return v->p + (v->n - 1) * v->size;
}

static void push_str(struct kube__dec *d, int vec, const char *s)
{
	*(const char **)kube__vec_push(&d->vec[vec], sizeof(s)) = s;
}

static enum err port_scalar(struct kube__dec *d, unsigned id,
			    const struct kube__val *v)
{
	struct kube_slice_port *p = last(d, V_PORTS);

	switch (id) {
	case E_P_NAME:
		p->name = kube__val_str(d, v);
		return ERR_OK;
	case E_P_PROTO:
		return kube__val_protocol(d, v, &p->protocol);
	case E_P_PORT:
		p->has_port = true;
		return kube__val_int32(d, v, &p->port);
	default:
		p->app_protocol = kube__val_str(d, v);
		return ERR_OK;
	}
}

static enum err target_scalar(struct kube__dec *d, unsigned id,
			      const struct kube__val *v)
{
	struct kube_endpoint *ep = last(d, V_EPS);

	switch (id) {
	case E_T_KIND:
		ep->target.kind = kube__val_str(d, v);
		break;
	case E_T_NS:
		ep->target.ns = kube__val_str(d, v);
		break;
	case E_T_NAME:
		ep->target.name = kube__val_str(d, v);
		break;
	case E_T_UID:
		ep->target.uid = kube__val_str(d, v);
		break;
	case E_FZ_NAME:
		push_str(d, V_HZ, kube__val_intern(d, v));
		break;
	case E_FN_NAME:
		push_str(d, V_HN, kube__val_intern(d, v));
		break;
	default:
		return port_scalar(d, id, v);
	}
	return ERR_OK;
}

static enum err address_type(struct kube__dec *d, const struct kube__val *v)
{
	/* A watch BOOKMARK's object is an empty EndpointSlice, which the
	 * apiserver writes with "addressType":"" (its Go zero value); real
	 * slices never have it (validation requires one of the three). */
	if (v->t == KV_STR && v->len == 0)
		return ERR_OK;
	for (int t = KUBE_ADDR_IPV4; t <= KUBE_ADDR_FQDN; t++) {
		if (kube__val_is(
			v, kube_address_type_name((enum kube_address_type)t))) {
			slice_of(d)->address_type = (enum kube_address_type)t;
			return ERR_OK;
		}
	}
	return kube__dec_fail(d, ERR_DECODE, "unknown address type \"%.*s\"",
			      (int)MIN(v->len, 40), v->s);
}

static enum err slice_scalar(struct kube__dec *d, const struct kube__node *n,
			     const struct kube__val *v)
{
	struct kube_endpoint *ep;

	if (n->id == E_ADDRESS_TYPE)
		return address_type(d, v);
	if (n->id == E_ADDRESS) {
		push_str(d, V_ADDRS, kube__val_str(d, v));
		return ERR_OK;
	}
	if (n->id < E_READY || n->id > E_ZONE)
		return target_scalar(d, n->id, v);
	ep = last(d, V_EPS);
	switch (n->id) {
	case E_READY:
		ep->ready = kube__val_tristate(v);
		break;
	case E_SERVING:
		ep->serving = kube__val_tristate(v);
		break;
	case E_TERMINATING:
		ep->terminating = kube__val_tristate(v);
		break;
	case E_HOSTNAME:
		ep->hostname = kube__val_str(d, v);
		break;
	case E_NODE_NAME:
		ep->node_name = kube__val_intern(d, v);
		break;
	default:
		ep->zone = kube__val_intern(d, v);
		break;
	}
	return ERR_OK;
}

static enum err slice_open(struct kube__dec *d, const struct kube__node *n)
{
	if (n->id == E_EP) {
		(void)kube__vec_push(&d->vec[V_EPS],
				     sizeof(struct kube_endpoint));
		d->vec[V_ADDRS].n = 0;
		d->vec[V_HZ].n = 0;
		d->vec[V_HN].n = 0;
	} else if (n->id == E_HINTS) {
		((struct kube_endpoint *)last(d, V_EPS))->has_hints = true;
	} else if (n->id == E_PORT) {
		(void)kube__vec_push(&d->vec[V_PORTS],
				     sizeof(struct kube_slice_port));
	}
	return ERR_OK;
}

static enum err slice_close(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_endpointslice *s = slice_of(d);
	struct kube_endpoint *ep;

	if (n->id == E_EP) {
		ep = last(d, V_EPS);
		ep->addresses = kube__vec_commit(&d->vec[V_ADDRS], d->obj,
						 &ep->n_addresses);
		ep->hint_zones =
		    kube__vec_commit(&d->vec[V_HZ], d->obj, &ep->n_hint_zones);
		ep->hint_nodes =
		    kube__vec_commit(&d->vec[V_HN], d->obj, &ep->n_hint_nodes);
	} else if (n->id == KN_ROOT) {
		s->endpoints =
		    kube__vec_commit(&d->vec[V_EPS], d->obj, &s->n_endpoints);
		s->ports =
		    kube__vec_commit(&d->vec[V_PORTS], d->obj, &s->n_ports);
		d->obj = kube__seal(d->obj);
	}
	return ERR_OK;
}

const struct kube__schema kube__slice_schema = {
    .name = "EndpointSlice",
    .kind = KUBE_KIND_ENDPOINTSLICE,
    .rec_size = sizeof(struct kube_endpointslice),
    .root = &slice_root,
    .scalar = slice_scalar,
    .open = slice_open,
    .close = slice_close,
};
