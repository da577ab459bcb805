/*
 * kube_decode_pod: the Pod schema and its handlers (apiclient.md §4.3).
 * Kept: spec.nodeName/hostname/subdomain, container ports of containers[]
 * and of initContainers[] with restartPolicy Always (sidecars), status
 * phase, pod IPs and the Ready condition. Ports wait in scratch vectors
 * (names in d->tmp): an init container's restartPolicy may follow its
 * ports, and the final array, equal in every pod of a template, is
 * interned whole when the pod ends (kube__intern_ports).
 */
#include "base.h"
#include "kube.h"

#include "kube_internal.h"

enum {
	P_SPEC = KN_KIND_BASE,
	P_NODE_NAME,
	P_HOSTNAME,
	P_SUBDOMAIN,
	P_CONTAINERS,
	P_CONTAINER,
	P_INITS,
	P_INIT,
	P_RESTART_POLICY,
	P_PORTS,
	P_PORT,
	P_PORT_NAME,
	P_PORT_NUM,
	P_PORT_PROTO,
	P_STATUS,
	P_PHASE,
	P_POD_IP,
	P_POD_IPS,
	P_POD_IPS_ELEM,
	P_POD_IPS_IP,
	P_CONDS,
	P_COND,
	P_COND_TYPE,
	P_COND_STATUS,
	P_COND_LTT,
};

/* Scratch vectors. */
#define V_PORTS	   2 /* struct pend_port of containers[] */
#define V_SIDECARS 3 /* struct pend_port of sidecars */
#define V_PENDING  4 /* struct pend_port of the current init container */
#define V_IPS	   5 /* const char * */
#define V_FINAL	   6 /* struct kube_container_port, built at the end */

struct pend_port {
	int32_t port;
	enum kube_protocol protocol;
	bool has_name;
	size_t name_off; /* in d->tmp */
	size_t name_len;
};

static const struct kube__node port_fields[] = {
    KNODE("name", KS_STR, P_PORT_NAME, NULL),
    KNODE("containerPort", KS_INT, P_PORT_NUM, NULL),
    KNODE("protocol", KS_STR, P_PORT_PROTO, NULL),
    KNODE_END,
};
static const struct kube__node port_node =
    KNODE(NULL, KS_MAP, P_PORT, port_fields);

static const struct kube__node container_fields[] = {
    KNODE("ports", KS_ARRAY, P_PORTS, &port_node),
    KNODE_END,
};
static const struct kube__node container_node =
    KNODE(NULL, KS_MAP, P_CONTAINER, container_fields);

static const struct kube__node init_fields[] = {
    KNODE("ports", KS_ARRAY, P_PORTS, &port_node),
    KNODE("restartPolicy", KS_STR, P_RESTART_POLICY, NULL),
    KNODE_END,
};
static const struct kube__node init_node =
    KNODE(NULL, KS_MAP, P_INIT, init_fields);

static const struct kube__node spec_fields[] = {
    KNODE("nodeName", KS_STR, P_NODE_NAME, NULL),
    KNODE("hostname", KS_STR, P_HOSTNAME, NULL),
    KNODE("subdomain", KS_STR, P_SUBDOMAIN, NULL),
    KNODE("containers", KS_ARRAY, P_CONTAINERS, &container_node),
    KNODE("initContainers", KS_ARRAY, P_INITS, &init_node),
    KNODE_END,
};

static const struct kube__node pod_ip_fields[] = {
    KNODE("ip", KS_STR, P_POD_IPS_IP, NULL),
    KNODE_END,
};
static const struct kube__node pod_ip_node =
    KNODE(NULL, KS_MAP, P_POD_IPS_ELEM, pod_ip_fields);

static const struct kube__node cond_fields[] = {
    KNODE("type", KS_STR, P_COND_TYPE, NULL),
    KNODE("status", KS_STR, P_COND_STATUS, NULL),
    KNODE("lastTransitionTime", KS_STR, P_COND_LTT, NULL),
    KNODE_END,
};
static const struct kube__node cond_node =
    KNODE(NULL, KS_MAP, P_COND, cond_fields);

static const struct kube__node status_fields[] = {
    KNODE("phase", KS_STR, P_PHASE, NULL),
    KNODE("podIP", KS_STR, P_POD_IP, NULL),
    KNODE("podIPs", KS_ARRAY, P_POD_IPS, &pod_ip_node),
    KNODE("conditions", KS_ARRAY, P_CONDS, &cond_node),
    KNODE_END,
};

static const struct kube__node pod_fields[] = {
    KNODE("metadata", KS_MAP, KN_META, kube__meta_fields),
    KNODE("spec", KS_MAP, P_SPEC, spec_fields),
    KNODE("status", KS_MAP, P_STATUS, status_fields),
    KNODE_END,
};
static const struct kube__node pod_root =
    KNODE(NULL, KS_MAP, KN_ROOT, pod_fields);

static struct kube_pod *pod_of(struct kube__dec *d)
{
	return (struct kube_pod *)(void *)d->obj;
}

static void *last(struct kube__dec *d, int vec)
{
	struct kube__vec *v = &d->vec[vec];

	BUG_ON(v->n == 0);
	return v->p + (v->n - 1) * v->size;
}

static enum kube_pod_phase parse_phase(const struct kube__val *v)
{
	static const char *const names[] = {"Unknown", "Pending", "Running",
					    "Succeeded", "Failed"};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (kube__val_is(v, names[i]))
			return (enum kube_pod_phase)i;
	return KUBE_POD_UNKNOWN;
}

static enum err tmp_save(struct kube__dec *d, const struct kube__val *v,
			 size_t *off)
{
	*off = d->tmp.len;
	return buf_add(&d->tmp, v->s, v->len);
}

static enum err port_scalar(struct kube__dec *d, unsigned id,
			    const struct kube__val *v)
{
	struct pend_port *p = last(d, d->st.pod.in_init ? V_PENDING : V_PORTS);

	switch (id) {
	case P_PORT_NAME:
		p->has_name = true;
		p->name_len = v->len;
		return tmp_save(d, v, &p->name_off);
	case P_PORT_NUM:
		return kube__val_int32(d, v, &p->port);
	default:
		return kube__val_protocol(d, v, &p->protocol);
	}
}

static enum err status_scalar(struct kube__dec *d, unsigned id,
			      const struct kube__val *v)
{
	struct kube__pod_state *st = &d->st.pod;
	const char **ip;

	switch (id) {
	case P_PHASE:
		pod_of(d)->phase = parse_phase(v);
		return ERR_OK;
	case P_POD_IP:
		st->has_podip = v->len > 0;
		st->podip_len = v->len;
		return tmp_save(d, v, &st->podip_off);
	case P_POD_IPS_IP:
		ip = kube__vec_push(&d->vec[V_IPS], sizeof(*ip));
		*ip = kube__val_str(d, v);
		return ERR_OK;
	case P_COND_TYPE:
		st->cond_ready = kube__val_is(v, "Ready");
		return ERR_OK;
	case P_COND_STATUS:
		st->cond_status = kube__cond_status(v);
		return ERR_OK;
	case P_COND_LTT:
		return kube__val_time(d, v, &st->cond_ltt);
	default:
		return ERR_OK;
	}
}

static enum err pod_scalar(struct kube__dec *d, const struct kube__node *n,
			   const struct kube__val *v)
{
	struct kube_pod *p = pod_of(d);

	switch (n->id) {
	case P_NODE_NAME:
		p->node_name = v->len ? kube__val_intern(d, v) : NULL;
		return ERR_OK;
	case P_HOSTNAME:
		p->hostname = kube__val_str(d, v);
		return ERR_OK;
	case P_SUBDOMAIN:
		p->subdomain = kube__val_str(d, v);
		return ERR_OK;
	case P_RESTART_POLICY:
		d->st.pod.init_always = kube__val_is(v, "Always");
		return ERR_OK;
	case P_PORT_NAME:
	case P_PORT_NUM:
	case P_PORT_PROTO:
		return port_scalar(d, n->id, v);
	default:
		return status_scalar(d, n->id, v);
	}
}

static enum err pod_open(struct kube__dec *d, const struct kube__node *n)
{
	struct kube__pod_state *st = &d->st.pod;

	switch (n->id) {
	case P_INIT:
		st->in_init = true;
		st->init_always = false;
		d->vec[V_PENDING].n = 0;
		break;
	case P_PORT:
		(void)kube__vec_push(&d->vec[st->in_init ? V_PENDING : V_PORTS],
				     sizeof(struct pend_port));
		break;
	case P_COND:
		st->cond_ready = false;
		st->cond_status = KUBE_UNSET;
		st->cond_ltt = 0;
		break;
	default:
		break;
	}
	return ERR_OK;
}

/* Upstream: sidecars are init containers with restartPolicy Always. */
static void init_done(struct kube__dec *d)
{
	struct kube__vec *pend = &d->vec[V_PENDING];
	struct kube__pod_state *st = &d->st.pod;

	for (size_t i = 0; st->init_always && i < pend->n; i++)
		memcpy(kube__vec_push(&d->vec[V_SIDECARS], pend->size),
		       pend->p + i * pend->size, pend->size);
	pend->n = 0;
	st->in_init = false;
	st->init_always = false;
}

/* Appends the ports waiting in vec to V_FINAL, names interned. */
static void ports_final(struct kube__dec *d, int vec, bool sidecar)
{
	struct kube__vec *v = &d->vec[vec];

	for (size_t i = 0; i < v->n; i++) {
		const struct pend_port *pp = (const void *)(v->p + i * v->size);
		struct kube_container_port *cp =
		    kube__vec_push(&d->vec[V_FINAL], sizeof(*cp));

		cp->name = pp->has_name
			       ? kube__intern_take(d->tmp.data + pp->name_off,
						   pp->name_len)
			       : NULL;
		cp->port = pp->port;
		cp->protocol = pp->protocol;
		cp->sidecar = sidecar;
	}
	v->n = 0;
}

static void pod_finish(struct kube__dec *d)
{
	struct kube_pod *p = pod_of(d);
	struct kube__vec *fin = &d->vec[V_FINAL];
	struct kube__pod_state *st = &d->st.pod;

	ports_final(d, V_PORTS, false);
	ports_final(d, V_SIDECARS, true);
	p->n_ports = (uint32_t)fin->n;
	p->ports = (struct kube_container_port *)kube__intern_ports(
	    d->obj, (const void *)fin->p, p->n_ports);
	fin->n = 0;
	if (d->vec[V_IPS].n == 0 && st->has_podip) {
		const char *ip = kube__strn(d->obj, d->tmp.data + st->podip_off,
					    st->podip_len);

		*(const char **)kube__vec_push(&d->vec[V_IPS], sizeof(ip)) = ip;
	}
	p->ips = kube__vec_commit(&d->vec[V_IPS], d->obj, &p->n_ips);
	d->obj = kube__seal(d->obj);
}

static enum err pod_close(struct kube__dec *d, const struct kube__node *n)
{
	struct kube_pod *p = pod_of(d);

	switch (n->id) {
	case P_INIT:
		init_done(d);
		break;
	case P_COND:
		if (d->st.pod.cond_ready) {
			p->ready = d->st.pod.cond_status;
			p->ready_transition_ms = d->st.pod.cond_ltt;
		}
		break;
	case KN_ROOT:
		pod_finish(d);
		break;
	default:
		break;
	}
	return ERR_OK;
}

const struct kube__schema kube__pod_schema = {
    .name = "Pod",
    .kind = KUBE_KIND_POD,
    .rec_size = sizeof(struct kube_pod),
    .root = &pod_root,
    .scalar = pod_scalar,
    .open = pod_open,
    .close = pod_close,
};
