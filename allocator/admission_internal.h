#ifndef CTRL_ADMISSION_INTERNAL_H
#define CTRL_ADMISSION_INTERNAL_H

/*
 * admission_internal: what the admission*.c files share. A view is the
 * mutable copy of a Service's allocation fields on which the plan replays
 * upstream's refill, normalisation and defaulting; it borrows the strings
 * of its record and owns only np[].
 */

#include "admission.h"

struct admission__view {
	const struct kube_service *svc;
	enum kube_service_type type;
	const char *cip; /* spec.clusterIP; "" when absent */
	uint32_t n_ips;	 /* spec.clusterIPs, at most 2 kept */
	const char *ips[2];
	bool too_many_ips; /* more than 2 clusterIPs given */
	uint32_t n_fam;
	enum kube_ip_family fam[2];
	enum kube_family_policy policy;
	int32_t hc; /* spec.healthCheckNodePort */
	uint32_t n_ports;
	int32_t *np;	 /* owned: spec.ports[i].nodePort */
	bool *np_refill; /* owned: np[i] was refilled from old */
};

#define ADMISSION__MAX_ERRS 4
struct admission__errs {
	uint32_t n;
	char field[128];		     /* of the first error */
	char text[ADMISSION__MAX_ERRS][256]; /* "field: Type: detail" */
};

struct admission__ctx {
	const struct admission_config *cfg;
	enum admission_op op;
	struct admission__view v; /* the new object, as it evolves */
	struct admission__view o; /* the old object (UPDATE) */
	bool has_old;
	bool refill_cip, refill_ips, refill_hc;
	bool skip_ips; /* no IP work (headless, matching PreferDualStack) */
	struct admission__errs errs;
	struct admission_plan *p;
};

/* Family of an IP literal; KUBE_FAMILY_UNKNOWN if it is none. */
enum kube_ip_family admission__ip_family(const char *ip);
const char *admission__family_name(enum kube_ip_family f);
bool admission__family_configured(const struct admission_config *cfg,
				  enum kube_ip_family f);
/* Adds one field error; the first one names the denial's field. */
void admission__err(struct admission__ctx *c, const char *field,
		    const char *fmt, ...) ATTR_PRINTF(3, 4);
/* Turns the collected errors into the plan's denial (upstream's
 * errors.NewInvalid wording). */
void admission__deny(struct admission__ctx *c);

/* ipFamilyPolicy / ipFamilies resolution (upstream initIPFamilyFields). */
void admission__families(struct admission__ctx *c);
/* clusterIP reservations and needs (allocClusterIPs, updateClusterIPs). */
void admission__plan_ips(struct admission__ctx *c);

/* Node ports and the health-check port (admission_ports.c). */
void admission__refill_ports(struct admission__ctx *c);
void admission__drop_type_fields(struct admission__ctx *c);
bool admission__check_ports(struct admission__ctx *c);
void admission__plan_ports(struct admission__ctx *c);
void admission__plan_health_check(struct admission__ctx *c);
bool admission__needs_node_ports(enum kube_service_type t);
bool admission__needs_health_check(const struct kube_service *s);

/* Builds plan->refills from the refill flags (admission_patch.c). */
void admission__build_refills(struct admission__ctx *c);

#endif /* CTRL_ADMISSION_INTERNAL_H */
