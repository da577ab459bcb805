#ifndef CTRL_ADMISSION_H
#define CTRL_ADMISSION_H

/*
 * admission: the pure decision of what a Service CREATE or UPDATE needs
 * from the ClusterIP and NodePort allocators (allocator.md §2.6-§2.11,
 * §3.3-§3.8, §7.2, §8.4), with upstream's semantics and no knowledge of
 * how values are stored. No I/O, no clock, no allocator calls.
 *
 * Two steps, then the release side:
 *   1. admission_plan() simulates what kube-apiserver will do with the
 *      request after our mutating webhook: on UPDATE its
 *      patchAllocatedValues refill of omitted values from oldObject, the
 *      strategy's dropTypeDependentFields, initIPFamilyFields (§2.8) and
 *      the allocation transaction (alloc.go allocateCreate/allocateUpdate).
 *      The result lists the refills, the resolved ipFamilies and policy,
 *      the explicit values this request newly claims (to reserve first),
 *      the dynamic needs (to pick after), or a denial.
 *   2. The caller reserves the explicit values, picks one value per need
 *      (in plan order) and calls admission_patch() for the RFC 6902 JSON
 *      Patch text.
 *   3. admission_released() is for the watch path (§8.5): the values an
 *      old version of a Service carried that the new version (or nothing,
 *      on delete) no longer carries. Nothing is ever released at
 *      admission time (§1 item 5).
 *
 * Dry-run does not matter here: the plan for a dry-run request is the same
 * (upstream computes the same answer and only skips persistence, §2.7,
 * §3.9); whether reservations are persisted is the caller's business.
 * Idempotence: the plan is a deterministic function of its inputs, so a
 * re-invoked or retried request yields the same needs; returning the same
 * values for them is the allocator's job (keyed reservations, §8.4).
 *
 * Requests upstream would reject are either denied (only where the
 * rejection and its message can be named exactly) or answered with an
 * empty plan (no patch) so the apiserver reports its own error; `note`
 * then says why.
 *
 * Thread safety: all functions are reentrant; a plan or a values list
 * belongs to one thread at a time.
 */

#include "kube.h"

struct buf;
struct errbuf;

/* ---- Configuration ----------------------------------------------------- */

struct admission_config {
	uint32_t n_families;		 /* 1 or 2 */
	enum kube_ip_family families[2]; /* --service-cluster-ip-range order,
					  * primary (default) first */
	bool node_ports;		 /* plan spec.ports[].nodePort */
	bool health_check_ports;	 /* plan spec.healthCheckNodePort */
};

enum admission_op {
	ADMISSION_CREATE = 0,
	ADMISSION_UPDATE,
};

/* ---- The plan -------------------------------------------------------- */

/* One refill from oldObject, ready for a JSON Patch "add". */
struct admission_refill {
	char *path;  /* owned JSON pointer, e.g. "/spec/ports/1/nodePort" */
	char *value; /* owned JSON text, e.g. "30001" or "[\"10.0.0.5\"]" */
};

/* An explicit clusterIP this request newly claims (reserve it first). */
struct admission_ip {
	enum kube_ip_family family;
	uint32_t index; /* spec.clusterIPs index */
	char *ip;	/* owned */
};

/* An explicit node port this request newly claims (reserve it first). */
struct admission_port {
	int32_t node_port;
	int32_t index; /* spec.ports index, ADMISSION_HEALTH_CHECK for
			* spec.healthCheckNodePort */
};
#define ADMISSION_HEALTH_CHECK (-1)

/* A dynamic IP of `family` for spec.clusterIPs[index]. */
struct admission_ip_need {
	enum kube_ip_family family;
	uint32_t index;
};

/* A dynamic node port: for spec.ports[index] (the first port of its
 * service port number on CREATE, where same-number ports share it) or
 * ADMISSION_HEALTH_CHECK. */
struct admission_port_need {
	int32_t index;
	int32_t port; /* the service port number; 0 for the health check */
};

/* A spec.ports[index].nodePort the patch sets: a known value (refill or
 * a shared explicit one) or the value chosen for port need `need`. */
struct admission_port_set {
	uint32_t index;
	int32_t value; /* when need < 0 */
	int32_t need;  /* index into port_needs, or -1 */
};

/* A spec.clusterIPs[i] slot: a known IP or the value of IP need `need`. */
struct admission_ip_slot {
	char *ip;     /* owned; NULL when need >= 0 */
	int32_t need; /* index into ip_needs, or -1 */
};

struct admission_denial {
	int code;	   /* 422 */
	char reason[32];   /* "Invalid" */
	char field[128];   /* first field, e.g. "spec.ports[1].nodePort" */
	char message[512]; /* as upstream's errors.NewInvalid, e.g.
			    * "Service \"web\" is invalid:
			    * spec.ports[1].nodePort: Duplicate value: 30001" */
};

/*
 * Invariants: when denied, everything but `denial` and `note` is empty.
 * ip_needs and port_needs are in the order admission_patch() expects the
 * chosen values. Reservations never repeat a value the old object already
 * held (it is ours already). Nothing here describes releases.
 */
struct admission_plan {
	bool denied;
	struct admission_denial denial;
	const char *note; /* static text: why the plan is empty, or NULL */

	/* Refills from oldObject (UPDATE), in patch order. */
	uint32_t n_refills;
	struct admission_refill *refills;

	/* ipFamilies / ipFamilyPolicy as upstream's defaulting will resolve
	 * them (§2.8); n_families 0 for ExternalName. */
	uint32_t n_families;
	enum kube_ip_family families[2];
	enum kube_family_policy policy;
	bool upgrade;	/* 1 -> 2 families: a secondary IP is planned */
	bool downgrade; /* 2 -> 1: the watch releases the secondary */

	/* Explicit values to reserve before any dynamic pick. */
	uint32_t n_reserve_ips;
	struct admission_ip reserve_ips[2];
	uint32_t n_reserve_ports;
	struct admission_port *reserve_ports;

	/* Dynamic needs, in value order. */
	uint32_t n_ip_needs;
	struct admission_ip_need ip_needs[2];
	uint32_t n_port_needs;
	struct admission_port_need *port_needs;

	/* What the patch writes (refills included). */
	bool set_cluster_ip;  /* /spec/clusterIP := slot 0 */
	bool set_cluster_ips; /* /spec/clusterIPs := all slots */
	bool set_families;    /* /spec/ipFamilies := families */
	uint32_t n_slots;
	struct admission_ip_slot slots[2];
	uint32_t n_port_sets;
	struct admission_port_set *port_sets;
	bool set_health_check; /* /spec/healthCheckNodePort */
	int32_t health_check;  /* when health_check_need < 0 */
	int32_t health_check_need;

	/* Whether the new object had the fields (for add vs replace). */
	bool had_cluster_ip, had_cluster_ips, had_families;
};

/*
 * Plans op for new_svc (old_svc: the stored object, UPDATE only; NULL on
 * CREATE). On ERR_OK *out is fully built (a denial is ERR_OK with
 * out->denied) and must be freed with admission_plan_release(). Returns
 * ERR_INVALID (eb names the problem) for a bad configuration or a missing
 * old_svc on UPDATE; *out is then untouched. Never blocks.
 */
enum err admission_plan(const struct admission_config *cfg,
			enum admission_op op,
			const struct kube_service *new_svc,
			const struct kube_service *old_svc,
			struct admission_plan *out, struct errbuf *eb) ATTR_WUR;
/* Frees what the plan owns and zeroes it; NULL and a zeroed plan are fine. */
void admission_plan_release(struct admission_plan *plan);
/* True when the plan writes nothing (answer without a patch); explicit
 * values may still be listed for reservation. */
bool admission_plan_empty(const struct admission_plan *plan);

/* ---- Values: chosen for needs, or released --------------------------- */

struct admission_values {
	uint32_t n_ips;
	char **ips; /* owned copies */
	uint32_t n_ports;
	int32_t *ports;
};
#define ADMISSION_VALUES_INIT                                                  \
	{                                                                      \
		0, NULL, 0, NULL                                               \
	}

void admission_values_add_ip(struct admission_values *v, const char *ip);
void admission_values_add_port(struct admission_values *v, int32_t port);
void admission_values_release(struct admission_values *v);

/* ---- Patch ------------------------------------------------------------ */

/*
 * Appends the JSON Patch array for plan to json_patch, values->ips[k]
 * answering plan->ip_needs[k] and values->ports[k] plan->port_needs[k].
 * Ops, in order: /spec/clusterIP, /spec/clusterIPs, /spec/ipFamilies,
 * /spec/ports/<i>/nodePort, /spec/healthCheckNodePort; "replace" for a
 * field the request carried, else "add". ipFamilyPolicy is never written.
 * An empty plan gives "[]". ERR_INVALID when the value counts do not match
 * the needs (or the plan is a denial); ERR_TOO_LARGE when json_patch is
 * full. Appends nothing on error.
 */
enum err admission_patch(const struct admission_plan *plan,
			 const struct admission_values *values,
			 struct buf *json_patch) ATTR_WUR;

/* Appends "/" and segment escaped per RFC 6901 ("~" -> "~0", "/" -> "~1"). */
enum err admission_pointer_add(struct buf *out, const char *segment) ATTR_WUR;

/* ---- Release (watch path) ---------------------------------------------- */

/*
 * Adds to out the clusterIPs and node ports (spec.ports[].nodePort and
 * healthCheckNodePort) old_svc carried that new_svc does not; new_svc
 * NULL means deleted (everything). Headless "None" and empty values are
 * never listed; each value at most once. Covers type changes (to ClusterIP
 * drops node ports, to ExternalName drops IPs), a healthCheckNodePort no
 * longer needed and a dual-stack downgrade, because the stored new object
 * no longer carries those values.
 */
void admission_released(const struct kube_service *old_svc,
			const struct kube_service *new_svc,
			struct admission_values *out);

#endif /* CTRL_ADMISSION_H */
