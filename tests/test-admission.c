/*
 * Unit tests of admission (allocator.md §2.6-§2.11, §3.3-§3.8, §7.2,
 * §8.4, §10): one table row per rule, each its own TAP case. A row gives
 * the cluster, the operation, the new and old spec (JSON with ' for ",
 * wrapped into a Service named "web") and the expected plan rendered as:
 *   fam=IPv4,IPv6/Prefer   resolved ipFamilies / ipFamilyPolicy
 *   up | down              dual-stack upgrade / downgrade
 *   rip=IPv4:10.0.0.1@0    explicit clusterIPs[0] to reserve
 *   rport=30100@1 | @hc    explicit nodePort of spec.ports[1] / health check
 *   nip=IPv6@1             dynamic IP need for clusterIPs[1]
 *   nport=53@0 | nport=hc  dynamic node port need (service port, ports[i])
 *   set=0:n0 | set=0:30053 spec.ports[0].nodePort := need 0 / a value
 *   refill=<path>:<json>   refill from oldObject
 *   skip                   empty plan, left to the apiserver
 *   deny:<message>         denial (always 422 Invalid)
 * Then exact JSON Patch texts, the RFC 6901 escaper and the watch path's
 * admission_released.
 */
#include "base.h"
#include "admission.h"
#include "kube.h"
#include "unit.h"

enum cluster {
	V4,	  /* 10.96.0.0/12 */
	V6,	  /* fd00::/108 */
	DUAL,	  /* IPv4 primary, IPv6 secondary */
	DUAL6,	  /* IPv6 primary, IPv4 secondary */
	V4_NOPORT /* IPv4, node ports and health checks not ours */
};

static struct admission_config config(enum cluster cl)
{
	struct admission_config c = {.n_families = 1,
				     .families = {KUBE_FAMILY_IPV4},
				     .node_ports = true,
				     .health_check_ports = true};

	if (cl == V6 || cl == DUAL6)
		c.families[0] = KUBE_FAMILY_IPV6;
	if (cl == DUAL || cl == DUAL6) {
		c.n_families = 2;
		c.families[1] =
		    cl == DUAL ? KUBE_FAMILY_IPV6 : KUBE_FAMILY_IPV4;
	}
	if (cl == V4_NOPORT)
		c.node_ports = c.health_check_ports = false;
	return c;
}

/* A Service named web from a spec with ' for ". */
static struct kube_service *svc(const char *spec)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = NULL;
	char *json =
	    xasprintf("{'metadata':{'name':'web','namespace':'default',"
		      "'uid':'u1'},'spec':%s}",
		      spec);

	for (char *s = json; *s; s++)
		if (*s == '\'')
			*s = '"';
	if (kube_object_decode(KUBE_KIND_SERVICE, json, strlen(json), &o,
			       &eb) != ERR_OK) {
		free(json);
		unit_fail(__FILE__, __LINE__, "decode: %s", eb.msg);
	}
	free(json);
	return (struct kube_service *)o;
}

static void unref(struct kube_service *s)
{
	if (s)
		kube_object_unref(&s->obj);
}

/* buf_detach re-initialises b; release that too. */
static char *take(struct buf *b)
{
	char *s = buf_detach(b, NULL);

	buf_release(b);
	return s;
}

static const char *fam(enum kube_ip_family f)
{
	return f == KUBE_FAMILY_IPV6 ? "IPv6" : "IPv4";
}

static const char *pol(enum kube_family_policy p)
{
	static const char *const n[] = {"Unset", "Single", "Prefer", "Require"};
	return n[p];
}

static void sp(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void sp(struct buf *b, const char *fmt, ...)
{
	char tmp[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	BUG_ON(buf_addf(b, "%s%s", b->len ? " " : "", tmp) != ERR_OK);
}

static void render_needs(struct buf *b, const struct admission_plan *p)
{
	for (uint32_t i = 0; i < p->n_reserve_ips; i++)
		sp(b, "rip=%s:%s@%u", fam(p->reserve_ips[i].family),
		   p->reserve_ips[i].ip, p->reserve_ips[i].index);
	for (uint32_t i = 0; i < p->n_reserve_ports; i++) {
		if (p->reserve_ports[i].index == ADMISSION_HEALTH_CHECK)
			sp(b, "rport=%d@hc", p->reserve_ports[i].node_port);
		else
			sp(b, "rport=%d@%d", p->reserve_ports[i].node_port,
			   p->reserve_ports[i].index);
	}
	for (uint32_t i = 0; i < p->n_ip_needs; i++)
		sp(b, "nip=%s@%u", fam(p->ip_needs[i].family),
		   p->ip_needs[i].index);
	for (uint32_t i = 0; i < p->n_port_needs; i++) {
		if (p->port_needs[i].index == ADMISSION_HEALTH_CHECK)
			sp(b, "nport=hc");
		else
			sp(b, "nport=%d@%d", p->port_needs[i].port,
			   p->port_needs[i].index);
	}
}

static char *render(const struct admission_plan *p)
{
	struct buf b;

	buf_init(&b, 1 << 16);
	if (p->denied) {
		sp(&b, "deny:%s", p->denial.message);
		return take(&b);
	}
	if (p->n_families) {
		sp(&b, "fam=%s%s%s/%s", fam(p->families[0]),
		   p->n_families > 1 ? "," : "",
		   p->n_families > 1 ? fam(p->families[1]) : "",
		   pol(p->policy));
	}
	if (p->upgrade)
		sp(&b, "up");
	if (p->downgrade)
		sp(&b, "down");
	render_needs(&b, p);
	for (uint32_t i = 0; i < p->n_port_sets; i++) {
		if (p->port_sets[i].need >= 0)
			sp(&b, "set=%u:n%d", p->port_sets[i].index,
			   p->port_sets[i].need);
		else
			sp(&b, "set=%u:%d", p->port_sets[i].index,
			   p->port_sets[i].value);
	}
	for (uint32_t i = 0; i < p->n_refills; i++)
		sp(&b, "refill=%s:%s", p->refills[i].path, p->refills[i].value);
	if (p->note)
		sp(&b, "skip");
	return take(&b);
}

struct row {
	const char *name;
	enum cluster cl;
	enum admission_op op;
	const char *new_spec;
	const char *old_spec; /* UPDATE only */
	const char *want;
};

static void run_row(const struct row *r)
{
	struct admission_config cfg = config(r->cl);
	struct kube_service *n = svc(r->new_spec);
	struct kube_service *o = r->old_spec ? svc(r->old_spec) : NULL;
	struct admission_plan p;
	struct errbuf eb = ERRBUF_INIT;
	char *got;

	CHECK_OK(admission_plan(&cfg, r->op, n, o, &p, &eb));
	got = render(&p);
	if (!str_eq(got, r->want)) {
		unit_fail(__FILE__, __LINE__, "%s:\n  got  %s\n  want %s",
			  r->name, got, r->want);
	}
	CHECK_INT_EQ(p.denied ? p.denial.code : 422, 422);
	/* A plan without needs must patch with no values at all. */
	if (!p.denied && p.n_ip_needs == 0 && p.n_port_needs == 0) {
		struct buf b;

		buf_init(&b, 1 << 16);
		CHECK_OK(admission_patch(&p, NULL, &b));
		CHECK(admission_plan_empty(&p) == (strcmp(b.data, "[]") == 0));
		buf_release(&b);
	}
	free(got);
	admission_plan_release(&p);
	unref(n);
	unref(o);
}

#define C ADMISSION_CREATE
#define U ADMISSION_UPDATE

/* Stored objects as the apiserver keeps them. */
#define IPS_V4                                                                 \
	"'clusterIP':'10.96.0.5','clusterIPs':['10.96.0.5'],"                  \
	"'ipFamilies':['IPv4']"
#define OLD_V4 IPS_V4 ",'ipFamilyPolicy':'SingleStack'"
#define IPS_DUAL                                                               \
	"'clusterIP':'10.96.0.5','clusterIPs':['10.96.0.5',"                   \
	"'fd00::5'],'ipFamilies':['IPv4','IPv6']"
#define OLD_NP                                                                 \
	"{'type':'NodePort'," OLD_V4 ",'ports':["                              \
	"{'name':'http','port':80,'nodePort':30001},"                          \
	"{'name':'https','port':443,'nodePort':30002}]}"
#define OLD_LB_LOCAL                                                           \
	"{'type':'LoadBalancer'," OLD_V4 ","                                   \
	"'externalTrafficPolicy':'Local',"                                     \
	"'healthCheckNodePort':30010,"                                         \
	"'allocateLoadBalancerNodePorts':true,"                                \
	"'ports':[{'name':'http','port':80,'nodePort':30001}]}"
#define DENY "deny:Service \"web\" is invalid: "

/* clang-format off */
#define PLAN_ROWS(X)                                                         \
/* §2.8 create defaulting and family resolution */                          \
X(create_clusterip_v4, V4, C, "{}", NULL,                                   \
  "fam=IPv4/Single nip=IPv4@0")                                             \
X(create_clusterip_v6_only, V6, C, "{}", NULL,                              \
  "fam=IPv6/Single nip=IPv6@0")                                             \
X(create_clusterip_v6_primary, DUAL6, C, "{}", NULL,                        \
  "fam=IPv6/Single nip=IPv6@0")                                             \
X(create_prefer_dual_on_dual, DUAL, C,                                      \
  "{'ipFamilyPolicy':'PreferDualStack'}", NULL,                             \
  "fam=IPv4,IPv6/Prefer nip=IPv4@0 nip=IPv6@1")                             \
X(create_prefer_dual_on_v6_primary, DUAL6, C,                               \
  "{'ipFamilyPolicy':'PreferDualStack'}", NULL,                             \
  "fam=IPv6,IPv4/Prefer nip=IPv6@0 nip=IPv4@1")                             \
X(create_prefer_dual_on_single, V4, C,                                      \
  "{'ipFamilyPolicy':'PreferDualStack'}", NULL,                             \
  "fam=IPv4/Prefer nip=IPv4@0")                                             \
X(create_require_dual_on_single_denied, V4, C,                              \
  "{'ipFamilyPolicy':'RequireDualStack'}", NULL,                            \
  DENY "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": "         \
  "this cluster is not configured for dual-stack services")                 \
X(create_require_dual_on_dual, DUAL, C,                                     \
  "{'ipFamilyPolicy':'RequireDualStack'}", NULL,                            \
  "fam=IPv4,IPv6/Require nip=IPv4@0 nip=IPv6@1")                            \
X(create_secondary_family_first, DUAL, C,                                   \
  "{'ipFamilies':['IPv6'],'ipFamilyPolicy':'PreferDualStack'}", NULL,       \
  "fam=IPv6,IPv4/Prefer nip=IPv6@0 nip=IPv4@1")                             \
X(create_family_not_configured_denied, V4, C,                               \
  "{'ipFamilies':['IPv6']}", NULL,                                          \
  DENY "spec.ipFamilies[0]: Invalid value: \"IPv6\": "                      \
  "not configured on this cluster")                                         \
/* §2.6 requested IPs */                                                    \
X(create_explicit_cluster_ip, V4, C, "{'clusterIP':'10.96.0.10'}", NULL,    \
  "fam=IPv4/Single rip=IPv4:10.96.0.10@0")                                  \
X(create_explicit_cluster_ips_both, DUAL, C,                                \
  "{'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10','fd00::10'],"       \
  "'ipFamilyPolicy':'PreferDualStack'}", NULL,                              \
  "fam=IPv4,IPv6/Prefer rip=IPv4:10.96.0.10@0 rip=IPv6:fd00::10@1")         \
X(create_explicit_primary_dynamic_secondary, DUAL, C,                       \
  "{'clusterIP':'10.96.0.10','ipFamilyPolicy':'RequireDualStack'}", NULL,   \
  "fam=IPv4,IPv6/Require rip=IPv4:10.96.0.10@0 nip=IPv6@1")                 \
X(create_ip_family_not_configured_denied, V4, C,                            \
  "{'clusterIP':'fd00::10','clusterIPs':['fd00::10']}", NULL,               \
  DENY "spec.clusterIPs[0]: Invalid value: [\"fd00::10\"]: "                \
  "IPv6 is not configured on this cluster")                                 \
X(create_single_stack_two_ips_denied, DUAL, C,                              \
  "{'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.10','fd00::10'],"       \
  "'ipFamilyPolicy':'SingleStack'}", NULL,                                  \
  DENY "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be "      \
  "'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs "      \
  "are specified")                                                          \
X(create_malformed_ip_left_to_apiserver, V4, C,                             \
  "{'clusterIP':'10.96.0.300'}", NULL, "skip")                              \
X(create_mismatched_cluster_ip_left_to_apiserver, DUAL, C,                  \
  "{'clusterIP':'10.96.0.10','clusterIPs':['10.96.0.11']}", NULL, "skip")   \
/* §2.9 headless and ExternalName */                                        \
X(create_headless_with_selector, DUAL, C,                                   \
  "{'clusterIP':'None','selector':{'app':'web'}}", NULL,                    \
  "fam=IPv4/Single")                                                        \
X(create_headless_selectorless_requires_dual, V4, C,                        \
  "{'clusterIP':'None'}", NULL, "fam=IPv4,IPv6/Require")                    \
X(create_headless_selectorless_single_stack, V4, C,                         \
  "{'clusterIP':'None','ipFamilyPolicy':'SingleStack'}", NULL,              \
  "fam=IPv4/Single")                                                        \
X(create_external_name_untouched, DUAL, C,                                  \
  "{'type':'ExternalName','externalName':'db.example.com'}", NULL, "skip")  \
X(create_headless_nodeport_left_to_apiserver, V4, C,                        \
  "{'type':'NodePort','clusterIP':'None','selector':{'a':'b'},"             \
  "'ports':[{'port':80}]}", NULL, "skip")                                   \
/* §3.3-§3.4 node ports on create */                                        \
X(create_nodeport_tcp_udp_share_one_need, V4, C,                            \
  "{'type':'NodePort','ports':[{'name':'dns','port':53},"                   \
  "{'name':'dns-udp','port':53,'protocol':'UDP'},{'name':'w','port':80}]}", \
  NULL, "fam=IPv4/Single nip=IPv4@0 nport=53@0 nport=80@2 set=0:n0 "        \
  "set=1:n0 set=2:n1")                                                      \
X(create_nodeport_explicit_reserved_first, V4, C,                           \
  "{'type':'NodePort','ports':[{'name':'a','port':80},"                     \
  "{'name':'b','port':443,'nodePort':30100}]}", NULL,                       \
  "fam=IPv4/Single rport=30100@1 nip=IPv4@0 nport=80@0 set=0:n0")           \
X(create_nodeport_twin_reuses_explicit, V4, C,                              \
  "{'type':'NodePort','ports':[{'name':'a','port':53},"                     \
  "{'name':'b','port':53,'protocol':'UDP','nodePort':30053}]}", NULL,       \
  "fam=IPv4/Single rport=30053@1 nip=IPv4@0 set=0:30053")                   \
X(create_nodeport_same_value_two_protocols, V4, C,                          \
  "{'type':'NodePort','ports':[{'name':'a','port':53,'nodePort':30053},"    \
  "{'name':'b','port':53,'protocol':'UDP','nodePort':30053}]}", NULL,       \
  "fam=IPv4/Single rport=30053@0 nip=IPv4@0")                               \
X(create_nodeport_duplicate_denied, V4, C,                                  \
  "{'type':'NodePort','ports':[{'name':'a','port':80,'nodePort':30100},"    \
  "{'name':'b','port':81,'nodePort':30100}]}", NULL,                        \
  DENY "spec.ports[1].nodePort: Duplicate value: 30100")                    \
X(create_nodeport_on_clusterip_denied, V4, C,                               \
  "{'ports':[{'port':80,'nodePort':30100}]}", NULL,                         \
  DENY "spec.ports[0].nodePort: Forbidden: may not be used when "           \
  "`type` is 'ClusterIP'")                                                  \
X(create_lb_without_node_port_allocation, V4, C,                            \
  "{'type':'LoadBalancer','allocateLoadBalancerNodePorts':false,"           \
  "'ports':[{'name':'a','port':80},{'name':'b','port':443,"                 \
  "'nodePort':30443}]}", NULL,                                              \
  "fam=IPv4/Single rport=30443@1 nip=IPv4@0")                               \
X(create_lb_local_gets_health_check, V4, C,                                 \
  "{'type':'LoadBalancer','externalTrafficPolicy':'Local',"                 \
  "'allocateLoadBalancerNodePorts':true,'ports':[{'port':80}]}", NULL,      \
  "fam=IPv4/Single nip=IPv4@0 nport=80@0 nport=hc set=0:n0")                \
X(create_lb_local_explicit_health_check, V4, C,                             \
  "{'type':'LoadBalancer','externalTrafficPolicy':'Local',"                 \
  "'healthCheckNodePort':30999,'ports':[{'port':80}]}", NULL,               \
  "fam=IPv4/Single rport=30999@hc nip=IPv4@0 nport=80@0 set=0:n0")          \
X(create_lb_no_allocation_still_health_check, V4, C,                        \
  "{'type':'LoadBalancer','externalTrafficPolicy':'Local',"                 \
  "'allocateLoadBalancerNodePorts':false,'ports':[{'port':80}]}", NULL,     \
  "fam=IPv4/Single nip=IPv4@0 nport=hc")                                    \
X(create_lb_cluster_policy_no_health_check, V4, C,                          \
  "{'type':'LoadBalancer','externalTrafficPolicy':'Cluster',"               \
  "'ports':[{'port':80}]}", NULL,                                           \
  "fam=IPv4/Single nip=IPv4@0 nport=80@0 set=0:n0")                         \
X(create_health_check_without_local_left_to_apiserver, V4, C,               \
  "{'type':'NodePort','healthCheckNodePort':30999,'ports':[{'port':80}]}",  \
  NULL, "skip")                                                             \
X(create_node_ports_not_ours, V4_NOPORT, C,                                 \
  "{'type':'LoadBalancer','externalTrafficPolicy':'Local',"                 \
  "'ports':[{'port':80,'nodePort':30100}]}", NULL,                          \
  "fam=IPv4/Single nip=IPv4@0")                                             \
/* §7.2 / §2.10 refills on UPDATE (kubectl apply / replace omissions) */    \
X(update_omitted_cluster_ips_refilled, V4, U, "{}", "{" OLD_V4 "}",         \
  "fam=IPv4/Single refill=/spec/clusterIP:\"10.96.0.5\" "                   \
  "refill=/spec/clusterIPs:[\"10.96.0.5\"]")                                \
X(update_omitted_node_ports_refilled, V4, U,                                \
  "{'type':'NodePort','ports':[{'name':'http','port':80},"                  \
  "{'name':'https','port':443}]}", OLD_NP,                                  \
  "fam=IPv4/Single set=0:30001 set=1:30002 "                                \
  "refill=/spec/clusterIP:\"10.96.0.5\" "                                   \
  "refill=/spec/clusterIPs:[\"10.96.0.5\"] "                                \
  "refill=/spec/ports/0/nodePort:30001 "                                    \
  "refill=/spec/ports/1/nodePort:30002")                                    \
X(update_omitted_health_check_refilled, V4, U,                              \
  "{'type':'LoadBalancer'," OLD_V4 ",'externalTrafficPolicy':'Local',"      \
  "'allocateLoadBalancerNodePorts':true,"                                   \
  "'ports':[{'name':'http','port':80,'nodePort':30001}]}", OLD_LB_LOCAL,    \
  "fam=IPv4/Single refill=/spec/healthCheckNodePort:30010")                 \
X(update_reordered_names_keep_values, V4, U,                                \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'https','port':443},"     \
  "{'name':'http','port':80}]}", OLD_NP,                                    \
  "fam=IPv4/Single set=0:30002 set=1:30001 "                                \
  "refill=/spec/ports/0/nodePort:30002 refill=/spec/ports/1/nodePort:30001")\
X(update_single_unnamed_port_keeps_value, V4, U,                            \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'port':8080}]}",                 \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'port':80,'nodePort':30001}]}",  \
  "fam=IPv4/Single set=0:30001 refill=/spec/ports/0/nodePort:30001")        \
X(update_renamed_port_gets_new_value, V4, U,                                \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'web','port':80}]}",      \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'http','port':80,"        \
  "'nodePort':30001}]}",                                                    \
  "fam=IPv4/Single nport=80@0 set=0:n0")                                    \
X(update_twins_sharing_a_node_port_both_refilled, V4, U,                    \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'dns','port':53,"        \
  "'protocol':'TCP'},{'name':'dns-udp','port':53,'protocol':'UDP'}]}",      \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'dns','port':53,"        \
  "'protocol':'TCP','nodePort':30053},{'name':'dns-udp','port':53,"         \
  "'protocol':'UDP','nodePort':30053}]}",                                   \
  "fam=IPv4/Single set=0:30053 set=1:30053 "                                \
  "refill=/spec/ports/0/nodePort:30053 refill=/spec/ports/1/nodePort:30053")\
X(update_refill_skips_value_used_elsewhere, V4, U,                          \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'http','port':80},"      \
  "{'name':'alt','port':8080,'nodePort':30001}]}", OLD_NP,                  \
  "fam=IPv4/Single nport=80@0 set=0:n0")                                    \
X(update_add_port_needs_one, V4, U,                                         \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'http','port':80},"      \
  "{'name':'https','port':443},{'name':'metrics','port':9090}]}", OLD_NP,   \
  "fam=IPv4/Single nport=9090@2 set=0:30001 set=1:30002 set=2:n0 "          \
  "refill=/spec/ports/0/nodePort:30001 refill=/spec/ports/1/nodePort:30002")\
X(update_explicit_new_node_port_reserved, V4, U,                            \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'http','port':80,"       \
  "'nodePort':30001},{'name':'https','port':443,'nodePort':30200}]}",       \
  OLD_NP, "fam=IPv4/Single rport=30200@1")                                  \
/* §2.10 type changes */                                                    \
X(update_clusterip_to_nodeport_no_sharing, V4, U,                           \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'d','port':53},"          \
  "{'name':'u','port':53,'protocol':'UDP'}]}",                              \
  "{" OLD_V4 ",'ports':[{'name':'d','port':53},"                            \
  "{'name':'u','port':53,'protocol':'UDP'}]}",                              \
  "fam=IPv4/Single nport=53@0 nport=53@1 set=0:n0 set=1:n1")                \
X(update_nodeport_to_clusterip_wipes, V4, U,                                \
  "{'type':'ClusterIP'," OLD_V4 ",'ports':[{'name':'http','port':80,"      \
  "'nodePort':30001},{'name':'https','port':443,'nodePort':30002}]}",       \
  OLD_NP, "fam=IPv4/Single")                                                \
X(update_nodeport_to_clusterip_new_value_denied, V4, U,                     \
  "{'type':'ClusterIP'," OLD_V4 ",'ports':[{'name':'http','port':80,"      \
  "'nodePort':30005}]}", OLD_NP,                                            \
  DENY "spec.ports[0].nodePort: Forbidden: may not be used when "           \
  "`type` is 'ClusterIP'")                                                  \
X(update_nodeport_to_lb_local_needs_health_check, V4, U,                    \
  "{'type':'LoadBalancer'," OLD_V4 ",'externalTrafficPolicy':'Local',"      \
  "'allocateLoadBalancerNodePorts':true,'ports':["                          \
  "{'name':'http','port':80,'nodePort':30001},"                             \
  "{'name':'https','port':443,'nodePort':30002}]}", OLD_NP,                 \
  "fam=IPv4/Single nport=hc")                                               \
X(update_lb_local_to_cluster_drops_health_check, V4, U,                     \
  "{'type':'LoadBalancer'," OLD_V4 ",'externalTrafficPolicy':'Cluster',"    \
  "'healthCheckNodePort':30010,'allocateLoadBalancerNodePorts':true,"       \
  "'ports':[{'name':'http','port':80,'nodePort':30001}]}", OLD_LB_LOCAL,    \
  "fam=IPv4/Single")                                                        \
X(update_health_check_immutable_denied, V4, U,                              \
  "{'type':'LoadBalancer'," OLD_V4 ",'externalTrafficPolicy':'Local',"      \
  "'healthCheckNodePort':30011,'allocateLoadBalancerNodePorts':true,"       \
  "'ports':[{'name':'http','port':80,'nodePort':30001}]}", OLD_LB_LOCAL,    \
  DENY "spec.healthCheckNodePort: Forbidden: field is immutable")           \
X(update_lb_alloc_false_still_refilled, V4, U,                              \
  "{'type':'LoadBalancer'," OLD_V4 ",'allocateLoadBalancerNodePorts':false,"\
  "'ports':[{'name':'http','port':80},{'name':'new','port':81}]}",          \
  "{'type':'LoadBalancer'," OLD_V4 ",'allocateLoadBalancerNodePorts':true," \
  "'ports':[{'name':'http','port':80,'nodePort':30001}]}",                  \
  "fam=IPv4/Single set=0:30001 refill=/spec/ports/0/nodePort:30001")        \
X(update_external_name_to_clusterip_allocates, DUAL, U,                     \
  "{'type':'ClusterIP','ipFamilyPolicy':'PreferDualStack'}",                \
  "{'type':'ExternalName','externalName':'db.example.com'}",                \
  "fam=IPv4,IPv6/Prefer nip=IPv4@0 nip=IPv6@1")                             \
X(update_to_external_name_nothing, V4, U,                                   \
  "{'type':'ExternalName','externalName':'db.example.com'}", OLD_NP,        \
  "skip")                                                                   \
/* §2.8 / §2.11 upgrade and downgrade */                                    \
X(update_single_to_prefer_upgrade, DUAL, U,                                 \
  "{" IPS_V4 ",'ipFamilyPolicy':'PreferDualStack'}", "{" OLD_V4 "}",        \
  "fam=IPv4,IPv6/Prefer up nip=IPv6@1")                                     \
X(update_upgrade_with_omitted_ips, DUAL, U,                                 \
  "{'ipFamilyPolicy':'RequireDualStack'}", "{" OLD_V4 "}",                  \
  "fam=IPv4,IPv6/Require up nip=IPv6@1 "                                    \
  "refill=/spec/clusterIP:\"10.96.0.5\" "                                   \
  "refill=/spec/clusterIPs:[\"10.96.0.5\"]")                                \
X(update_upgrade_explicit_secondary, DUAL, U,                               \
  "{'clusterIP':'10.96.0.5','clusterIPs':['10.96.0.5','fd00::9'],"          \
  "'ipFamilyPolicy':'RequireDualStack'}", "{" OLD_V4 "}",                   \
  "fam=IPv4,IPv6/Require up rip=IPv6:fd00::9@1")                            \
X(update_upgrade_on_single_stack_denied, V4, U,                             \
  "{" IPS_V4 ",'ipFamilyPolicy':'RequireDualStack'}", "{" OLD_V4 "}",       \
  DENY "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": "         \
  "this cluster is not configured for dual-stack services")                 \
X(update_prefer_dual_unchanged_not_upgraded, DUAL, U,                       \
  "{" IPS_V4 ",'ipFamilyPolicy':'PreferDualStack'}",                        \
  "{" IPS_V4 ",'ipFamilyPolicy':'PreferDualStack'}", "fam=IPv4/Prefer")     \
X(update_prefer_dual_not_downgraded, V4, U,                                 \
  "{" IPS_DUAL ",'ipFamilyPolicy':'PreferDualStack'}",                      \
  "{" IPS_DUAL ",'ipFamilyPolicy':'PreferDualStack'}",                      \
  "fam=IPv4,IPv6/Prefer")                                                   \
X(update_policy_inherited, DUAL, U, "{" IPS_DUAL "}",                       \
  "{" IPS_DUAL ",'ipFamilyPolicy':'RequireDualStack'}",                     \
  "fam=IPv4,IPv6/Require")                                                  \
X(update_require_to_single_downgrade, DUAL, U,                              \
  "{" IPS_DUAL ",'ipFamilyPolicy':'SingleStack'}",                          \
  "{" IPS_DUAL ",'ipFamilyPolicy':'RequireDualStack'}",                     \
  "fam=IPv4/Single down")                                                   \
X(update_shorten_without_single_stack_denied, DUAL, U,                      \
  "{'clusterIP':'10.96.0.5','clusterIPs':['10.96.0.5'],"                    \
  "'ipFamilies':['IPv4','IPv6'],'ipFamilyPolicy':'RequireDualStack'}",      \
  "{" IPS_DUAL ",'ipFamilyPolicy':'RequireDualStack'}",                     \
  DENY "spec.ipFamilyPolicy: Invalid value: \"RequireDualStack\": must be " \
  "'SingleStack' to release the secondary cluster IP")                      \
X(update_prefer_policy_omitted_upgrades_like_upstream, DUAL, U,           \
  "{" IPS_V4 "}", "{" IPS_V4 ",'ipFamilyPolicy':'PreferDualStack'}",        \
  "fam=IPv4,IPv6/Prefer up nip=IPv6@1")                                     \
X(update_downgrade_with_omitted_ips_trimmed, DUAL, U,                       \
  "{'ipFamilyPolicy':'SingleStack'}",                                       \
  "{" IPS_DUAL ",'ipFamilyPolicy':'RequireDualStack'}",                     \
  "fam=IPv4/Single down refill=/spec/clusterIP:\"10.96.0.5\" "              \
  "refill=/spec/clusterIPs:[\"10.96.0.5\"]")                                \
X(update_lb_to_nodeport_keeps_ports, V4, U,                                 \
  "{'type':'NodePort'," OLD_V4 ",'ports':[{'name':'http','port':80}]}",     \
  OLD_LB_LOCAL,                                                             \
  "fam=IPv4/Single set=0:30001 refill=/spec/ports/0/nodePort:30001")        \
X(update_headless_unchanged, DUAL, U,                                       \
  "{'clusterIP':'None','clusterIPs':['None'],'selector':{'a':'b'}}",        \
  "{'clusterIP':'None','clusterIPs':['None'],'ipFamilies':['IPv4'],"        \
  "'ipFamilyPolicy':'SingleStack','selector':{'a':'b'}}",                   \
  "fam=IPv4/Single")

/* clang-format on */

#define DEF_ROW(id, cl, op, n, o, want)                                        \
	static void test_##id(void)                                            \
	{                                                                      \
		static const struct row r = {#id, cl, op, n, o, want};         \
		run_row(&r);                                                   \
	}
PLAN_ROWS(DEF_ROW)

/* ---- JSON Patch text ------------------------------------------------- */

static char *plan_patch(enum cluster cl, enum admission_op op,
			const char *n_spec, const char *o_spec,
			const struct admission_values *vals)
{
	struct admission_config cfg = config(cl);
	struct kube_service *n = svc(n_spec);
	struct kube_service *o = o_spec ? svc(o_spec) : NULL;
	struct admission_plan p;
	struct buf b;

	buf_init(&b, 1 << 16);
	CHECK_OK(admission_plan(&cfg, op, n, o, &p, NULL));
	CHECK_OK(admission_patch(&p, vals, &b));
	admission_plan_release(&p);
	unref(n);
	unref(o);
	return take(&b);
}

static void test_patch_create_dual_nodeport_lb(void)
{
	struct admission_values v = ADMISSION_VALUES_INIT;
	char *got;

	admission_values_add_ip(&v, "10.96.0.200");
	admission_values_add_ip(&v, "fd00::c8");
	admission_values_add_port(&v, 31053);
	admission_values_add_port(&v, 31080);
	admission_values_add_port(&v, 31999);
	got = plan_patch(DUAL, C,
			 "{'type':'LoadBalancer','ipFamilyPolicy':"
			 "'PreferDualStack','externalTrafficPolicy':'Local',"
			 "'allocateLoadBalancerNodePorts':true,'ports':["
			 "{'name':'d','port':53},{'name':'u','port':53,"
			 "'protocol':'UDP'},{'name':'w','port':80}]}",
			 NULL, &v);
	CHECK_STR_EQ(got,
		     "[{\"op\":\"add\",\"path\":\"/spec/clusterIP\",\"value\":"
		     "\"10.96.0.200\"},"
		     "{\"op\":\"add\",\"path\":\"/spec/clusterIPs\",\"value\":"
		     "[\"10.96.0.200\",\"fd00::c8\"]},"
		     "{\"op\":\"add\",\"path\":\"/spec/ipFamilies\",\"value\":"
		     "[\"IPv4\",\"IPv6\"]},"
		     "{\"op\":\"add\",\"path\":\"/spec/ports/0/nodePort\","
		     "\"value\":31053},"
		     "{\"op\":\"add\",\"path\":\"/spec/ports/1/nodePort\","
		     "\"value\":31053},"
		     "{\"op\":\"add\",\"path\":\"/spec/ports/2/nodePort\","
		     "\"value\":31080},"
		     "{\"op\":\"add\",\"path\":\"/spec/healthCheckNodePort\","
		     "\"value\":31999}]");
	free(got);
	admission_values_release(&v);
}

static void test_patch_update_refill_and_upgrade(void)
{
	struct admission_values v = ADMISSION_VALUES_INIT;
	char *got;

	admission_values_add_ip(&v, "fd00::77");
	got = plan_patch(DUAL, U,
			 "{'clusterIP':'','ipFamilyPolicy':'RequireDualStack',"
			 "'ipFamilies':['IPv4']}",
			 "{" OLD_V4 "}", &v);
	CHECK_STR_EQ(got,
		     "[{\"op\":\"replace\",\"path\":\"/spec/clusterIP\","
		     "\"value\":\"10.96.0.5\"},"
		     "{\"op\":\"add\",\"path\":\"/spec/clusterIPs\",\"value\":"
		     "[\"10.96.0.5\",\"fd00::77\"]},"
		     "{\"op\":\"replace\",\"path\":\"/spec/ipFamilies\","
		     "\"value\":[\"IPv4\",\"IPv6\"]}]");
	free(got);
	admission_values_release(&v);
}

static void test_patch_update_refill_only(void)
{
	char *got = plan_patch(V4, U,
			       "{'type':'LoadBalancer','externalTrafficPolicy':"
			       "'Local','allocateLoadBalancerNodePorts':true,"
			       "'ports':[{'name':'http','port':80}]}",
			       OLD_LB_LOCAL, NULL);

	CHECK_STR_EQ(got,
		     "[{\"op\":\"add\",\"path\":\"/spec/clusterIP\",\"value\":"
		     "\"10.96.0.5\"},"
		     "{\"op\":\"add\",\"path\":\"/spec/clusterIPs\",\"value\":"
		     "[\"10.96.0.5\"]},"
		     "{\"op\":\"add\",\"path\":\"/spec/ports/0/nodePort\","
		     "\"value\":30001},"
		     "{\"op\":\"add\",\"path\":\"/spec/healthCheckNodePort\","
		     "\"value\":30010}]");
	free(got);
}

static void test_patch_nothing_to_do(void)
{
	char *got = plan_patch(V4, C, "{'clusterIP':'10.96.0.9'}", NULL, NULL);

	CHECK_STR_EQ(got, "[]");
	free(got);
}

static void test_patch_rejects_wrong_value_count(void)
{
	struct admission_config cfg = config(V4);
	struct kube_service *n =
	    svc("{'type':'NodePort','ports':[{'port':1}]}");
	struct admission_values v = ADMISSION_VALUES_INIT;
	struct admission_plan p;
	struct buf b;

	buf_init(&b, 1 << 10);
	CHECK_OK(admission_plan(&cfg, C, n, NULL, &p, NULL));
	admission_values_add_ip(&v, "10.96.0.1");
	CHECK_ERR(admission_patch(&p, &v, &b), ERR_INVALID);
	CHECK_INT_EQ(b.len, 0);
	admission_values_add_port(&v, 30500);
	admission_values_add_port(&v, 30501);
	CHECK_ERR(admission_patch(&p, &v, &b), ERR_INVALID);
	admission_values_release(&v);
	admission_values_add_ip(&v, "10.96.0.1");
	admission_values_add_port(&v, 30500);
	buf_release(&b);
	buf_init(&b, 16); /* too small for the patch */
	CHECK_ERR(admission_patch(&p, &v, &b), ERR_TOO_LARGE);
	CHECK_INT_EQ(b.len, 0);
	buf_release(&b);
	admission_values_release(&v);
	admission_plan_release(&p);
	unref(n);
}

static void test_patch_denied_plan_has_no_patch(void)
{
	struct admission_config cfg = config(V4);
	struct kube_service *n = svc("{'ipFamilyPolicy':'RequireDualStack'}");
	struct admission_plan p;
	struct buf b;

	buf_init(&b, 1 << 10);
	CHECK_OK(admission_plan(&cfg, C, n, NULL, &p, NULL));
	CHECK(p.denied);
	CHECK_INT_EQ(p.denial.code, 422);
	CHECK_STR_EQ(p.denial.reason, "Invalid");
	CHECK_STR_EQ(p.denial.field, "spec.ipFamilyPolicy");
	CHECK_INT_EQ(p.n_ip_needs, 0);
	CHECK_ERR(admission_patch(&p, NULL, &b), ERR_INVALID);
	buf_release(&b);
	admission_plan_release(&p);
	unref(n);
}

static void test_pointer_escape(void)
{
	struct buf b;

	buf_init(&b, 64);
	CHECK_OK(admission_pointer_add(&b, "spec"));
	CHECK_OK(admission_pointer_add(&b, "a/b~c"));
	CHECK_OK(admission_pointer_add(&b, ""));
	CHECK_OK(admission_pointer_add(&b, "~1"));
	CHECK_STR_EQ(b.data, "/spec/a~1b~0c//~01");
	buf_release(&b);
	buf_init(&b, 4);
	CHECK_ERR(admission_pointer_add(&b, "a/b"), ERR_TOO_LARGE);
	CHECK_INT_EQ(b.len, 0);
	buf_release(&b);
}

static void test_bad_arguments(void)
{
	struct admission_config cfg = config(V4);
	struct kube_service *n = svc("{}");
	struct admission_plan p;
	struct errbuf eb = ERRBUF_INIT;

	memset(&p, 0x5a, sizeof(p));
	CHECK_ERR(admission_plan(&cfg, U, n, NULL, &p, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "oldObject");
	CHECK_INT_EQ(p.n_refills, 0x5a5a5a5a); /* untouched */
	cfg.n_families = 0;
	CHECK_ERR(admission_plan(&cfg, C, n, NULL, &p, &eb), ERR_INVALID);
	cfg = config(DUAL);
	cfg.families[1] = KUBE_FAMILY_IPV4;
	CHECK_ERR(admission_plan(&cfg, C, n, NULL, &p, &eb), ERR_INVALID);
	unref(n);
}

/* Same inputs, same plan: a re-invoked webhook asks for the same needs. */
static void test_plan_deterministic(void)
{
	struct admission_config cfg = config(DUAL);
	struct kube_service *n = svc("{'type':'NodePort','ipFamilyPolicy':"
				     "'PreferDualStack','ports':[{'port':1}]}");
	struct admission_plan a, b;
	char *ra, *rb;

	CHECK_OK(admission_plan(&cfg, C, n, NULL, &a, NULL));
	CHECK_OK(admission_plan(&cfg, C, n, NULL, &b, NULL));
	ra = render(&a);
	rb = render(&b);
	CHECK_STR_EQ(ra, rb);
	free(ra);
	free(rb);
	admission_plan_release(&a);
	admission_plan_release(&b);
	admission_plan_release(NULL);
	unref(n);
}

/* ---- Release (watch path) ------------------------------------------- */

static char *released(const char *o_spec, const char *n_spec)
{
	struct kube_service *o = svc(o_spec);
	struct kube_service *n = n_spec ? svc(n_spec) : NULL;
	struct admission_values v = ADMISSION_VALUES_INIT;
	struct buf b;

	buf_init(&b, 1 << 12);
	admission_released(o, n, &v);
	for (uint32_t i = 0; i < v.n_ips; i++)
		sp(&b, "%s", v.ips[i]);
	for (uint32_t i = 0; i < v.n_ports; i++)
		sp(&b, "%d", v.ports[i]);
	admission_values_release(&v);
	unref(o);
	unref(n);
	return take(&b);
}

#define CHECK_RELEASED(o, n, want)                                             \
	do {                                                                   \
		char *got_ = released(o, n);                                   \
		CHECK_STR_EQ(got_, want);                                      \
		free(got_);                                                    \
	} while (0)

static void test_released_nodeport_to_clusterip(void)
{
	CHECK_RELEASED(OLD_NP, "{" OLD_V4 ",'ports':[{'port':80}]}",
		       "30001 30002");
}

static void test_released_to_external_name(void)
{
	CHECK_RELEASED(OLD_NP,
		       "{'type':'ExternalName','externalName':'x.example'}",
		       "10.96.0.5 30001 30002");
}

static void test_released_health_check_no_longer_needed(void)
{
	CHECK_RELEASED(OLD_LB_LOCAL,
		       "{'type':'LoadBalancer'," OLD_V4 ","
		       "'externalTrafficPolicy':'Cluster',"
		       "'ports':[{'name':'http','port':80,'nodePort':30001}]}",
		       "30010");
}

static void test_released_downgrade_secondary(void)
{
	CHECK_RELEASED("{" IPS_DUAL ",'ipFamilyPolicy':'RequireDualStack'}",
		       "{" OLD_V4 "}", "fd00::5");
}

static void test_released_upgrade_nothing(void)
{
	CHECK_RELEASED("{" OLD_V4 "}",
		       "{" IPS_DUAL ",'ipFamilyPolicy':'RequireDualStack'}",
		       "");
}

static void test_released_delete_everything_once(void)
{
	CHECK_RELEASED("{'type':'LoadBalancer'," IPS_DUAL ","
		       "'externalTrafficPolicy':'Local',"
		       "'healthCheckNodePort':30010,'ports':["
		       "{'name':'d','port':53,'nodePort':30053},"
		       "{'name':'u','port':53,'protocol':'UDP',"
		       "'nodePort':30053}]}",
		       NULL, "10.96.0.5 fd00::5 30053 30010");
}

static void test_released_headless_and_external_name(void)
{
	CHECK_RELEASED("{'clusterIP':'None','clusterIPs':['None']}", NULL, "");
	CHECK_RELEASED("{'type':'ExternalName','externalName':'x.example'}",
		       NULL, "");
}

static void test_released_port_renumbered(void)
{
	CHECK_RELEASED(OLD_NP,
		       "{'type':'NodePort'," OLD_V4 ",'ports':["
		       "{'name':'http','port':80,'nodePort':30001},"
		       "{'name':'https','port':443,'nodePort':30009}]}",
		       "30002");
}

#define ROW_CASE(id, ...) UNIT_CASE(test_##id),

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    PLAN_ROWS(ROW_CASE) UNIT_CASE(test_patch_create_dual_nodeport_lb),
	    UNIT_CASE(test_patch_update_refill_and_upgrade),
	    UNIT_CASE(test_patch_update_refill_only),
	    UNIT_CASE(test_patch_nothing_to_do),
	    UNIT_CASE(test_patch_rejects_wrong_value_count),
	    UNIT_CASE(test_patch_denied_plan_has_no_patch),
	    UNIT_CASE(test_pointer_escape),
	    UNIT_CASE(test_bad_arguments),
	    UNIT_CASE(test_plan_deterministic),
	    UNIT_CASE(test_released_nodeport_to_clusterip),
	    UNIT_CASE(test_released_to_external_name),
	    UNIT_CASE(test_released_health_check_no_longer_needed),
	    UNIT_CASE(test_released_downgrade_secondary),
	    UNIT_CASE(test_released_upgrade_nothing),
	    UNIT_CASE(test_released_delete_everything_once),
	    UNIT_CASE(test_released_headless_and_external_name),
	    UNIT_CASE(test_released_port_renumbered),
	};

	return unit_main(argc, argv, "admission", cases, ARRAY_SIZE(cases));
}
