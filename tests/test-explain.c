/*
 * Unit tests of explain: stores filled from JSON records, the document
 * parsed back with yajl's tree parser, and each pod's verdict and reasons
 * checked against endpointslice.md §1.2, §1.3, §2 and §3.1: ready, not
 * ready, terminating, Failed, no IP, unknown node with and without
 * publishNotReadyAddresses, a missing family, an unresolved named port,
 * and the slice that holds the pod; plus unmanaged and missing Services.
 */
#include "base.h"
#include "unit.h"

#include <yajl/yajl_tree.h>

#include "epslice.h"
#include "explain.h"

struct fixture {
	struct store *services, *pods, *nodes, *slices;
	yajl_val doc;
};

static struct fixture fx;

static void setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.services = store_new(KUBE_KIND_SERVICE);
	fx.pods = store_new(KUBE_KIND_POD);
	fx.nodes = store_new(KUBE_KIND_NODE);
	fx.slices = store_new(KUBE_KIND_ENDPOINTSLICE);
	(void)store_add_index(fx.pods, "namespace", store_index_namespace);
	(void)store_add_index(fx.slices, "service", store_index_service_name);
}

static void teardown(void)
{
	yajl_tree_free(fx.doc);
	store_free(fx.services);
	store_free(fx.pods);
	store_free(fx.nodes);
	store_free(fx.slices);
}

static void add(struct store *s, enum kube_kind kind, const char *json)
{
	struct kube_object *o = NULL;
	struct errbuf eb = ERRBUF_INIT;

	if (kube_object_decode(kind, json, strlen(json), &o, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "decode: %s", eb.msg);
	store_upsert(s, o, NULL);
}

static void add_node(const char *name, const char *zone)
{
	char j[512];

	(void)snprintf(j, sizeof(j),
		       "{\"metadata\":{\"name\":\"%s\",\"uid\":\"n-%s\",\"labels\":{\"topology.kubernetes.io/zone\":\"%s\"}}}",
		       name, name, zone);
	add(fx.nodes, KUBE_KIND_NODE, j);
}

/* spec_extra and status are JSON members without braces. */
static void add_pod(const char *name, const char *meta_extra,
		    const char *spec, const char *status)
{
	char j[2048];

	(void)snprintf(j, sizeof(j),
		       "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"ns\",\"uid\":\"p-%s\",\"labels\":{\"app\":\"web\"}%s},"
		       "\"spec\":{%s},\"status\":{%s}}",
		       name, name, meta_extra, spec, status);
	add(fx.pods, KUBE_KIND_POD, j);
}

#define CONTAINERS                                                           \
	"\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}]"
#define RUNNING(ip, ready)                                                   \
	"\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"" ip "\"}],"          \
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"" ready "\"}]"

static void add_service(const char *spec)
{
	char j[2048];

	(void)snprintf(j, sizeof(j),
		       "{\"metadata\":{\"name\":\"web\",\"namespace\":\"ns\",\"uid\":\"svc-web\"},\"spec\":{%s}}",
		       spec);
	add(fx.services, KUBE_KIND_SERVICE, j);
}

#define SVC_V4                                                               \
	"\"selector\":{\"app\":\"web\"},\"clusterIP\":\"10.96.0.1\",\"ipFamilies\":[\"IPv4\"]," \
	"\"ports\":[{\"name\":\"web\",\"port\":80,\"targetPort\":\"http\"}]"

static enum err explain(void)
{
	struct explain_sources src = { fx.services, fx.pods, fx.nodes, fx.slices };
	char err[256];
	struct buf b;
	enum err e;

	buf_init(&b, BUF_MAX_DEFAULT);
	e = explain_service(&src, "ns", "web", NULL, &b);
	yajl_tree_free(fx.doc);
	fx.doc = yajl_tree_parse(b.data, err, sizeof(err));
	if (!fx.doc)
		unit_fail(__FILE__, __LINE__, "not JSON (%s): %s", err, b.data);
	buf_release(&b);
	return e;
}

static yajl_val get(yajl_val v, const char *a, const char *b, yajl_type t)
{
	const char *path[] = { a, b, NULL };
	yajl_val r = yajl_tree_get(v, path, t);

	if (!r)
		unit_fail(__FILE__, __LINE__, "no %s.%s", a, b ? b : "");
	return r;
}

static const char *str(yajl_val v, const char *a, const char *b)
{
	return YAJL_GET_STRING(get(v, a, b, yajl_t_string));
}

static bool boolean(yajl_val v, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };

	if (yajl_tree_get(v, path, yajl_t_true))
		return true;
	if (!yajl_tree_get(v, path, yajl_t_false))
		unit_fail(__FILE__, __LINE__, "no boolean %s.%s", a, b ? b : "");
	return false;
}

static yajl_val pod(const char *name)
{
	yajl_val pods = get(fx.doc, "pods", NULL, yajl_t_array);

	for (size_t i = 0; i < YAJL_GET_ARRAY(pods)->len; i++) {
		yajl_val p = YAJL_GET_ARRAY(pods)->values[i];

		if (!strcmp(str(p, "name", NULL), name))
			return p;
	}
	unit_fail(__FILE__, __LINE__, "pod %s not listed", name);
}

static size_t len(yajl_val v, const char *a)
{
	return YAJL_GET_ARRAY(get(v, a, NULL, yajl_t_array))->len;
}

static yajl_val item(yajl_val v, const char *a, size_t i)
{
	return YAJL_GET_ARRAY(get(v, a, NULL, yajl_t_array))->values[i];
}

/* The code of reasons[i] or notes[i]. */
static const char *code(yajl_val p, const char *list, size_t i)
{
	if (i >= len(p, list))
		unit_fail(__FILE__, __LINE__, "%s has no entry %zu", list, i);
	return str(item(p, list, i), "code", NULL);
}

/* ---- Cases ----------------------------------------------------------------- */

static void test_ready_and_held_by_slice(void)
{
	setup();
	add_node("n1", "z1");
	add_service(SVC_V4);
	add_pod("a", "", CONTAINERS, RUNNING("10.0.0.1", "True"));
	add(fx.slices, KUBE_KIND_ENDPOINTSLICE,
	    "{\"metadata\":{\"name\":\"web-x1\",\"namespace\":\"ns\",\"uid\":\"s1\",\"labels\":{"
	    "\"kubernetes.io/service-name\":\"web\",\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\"}},"
	    "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":true},"
	    "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":\"a\"}}]}");
	/* Someone else's slice of the same Service is not ours. */
	add(fx.slices, KUBE_KIND_ENDPOINTSLICE,
	    "{\"metadata\":{\"name\":\"web-other\",\"namespace\":\"ns\",\"uid\":\"s2\",\"labels\":{"
	    "\"kubernetes.io/service-name\":\"web\",\"endpointslice.kubernetes.io/managed-by\":\"someone-else\"}},"
	    "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],"
	    "\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"ns\",\"name\":\"a\"}}]}");
	CHECK_OK(explain());
	CHECK(boolean(fx.doc, "service", "managed"));
	CHECK_STR_EQ(str(pod("a"), "verdict", NULL), "endpoint");
	CHECK_INT_EQ(len(pod("a"), "reasons"), 0);
	CHECK(boolean(pod("a"), "conditions", "ready"));
	CHECK(boolean(pod("a"), "conditions", "serving"));
	CHECK(!boolean(pod("a"), "conditions", "terminating"));
	CHECK_STR_EQ(str(pod("a"), "zone", NULL), "z1");
	CHECK_INT_EQ(len(pod("a"), "slices"), 1);
	CHECK_STR_EQ(str(item(pod("a"), "slices", 0), "name", NULL), "web-x1");
	CHECK_STR_EQ(str(item(pod("a"), "slices", 0), "addressType", NULL), "IPv4");
	CHECK(boolean(item(pod("a"), "ports", 0), "resolved", NULL));
	CHECK_INT_EQ(YAJL_GET_INTEGER(get(item(pod("a"), "ports", 0), "port", NULL,
					  yajl_t_number)), 8080);
	CHECK_INT_EQ(len(fx.doc, "slices"), 1);
	teardown();
}

static void test_not_ready_and_terminating(void)
{
	setup();
	add_node("n1", "z1");
	add_service(SVC_V4);
	add_pod("b", "", CONTAINERS, RUNNING("10.0.0.2", "False"));
	add_pod("c", ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\"", CONTAINERS,
		RUNNING("10.0.0.3", "True"));
	CHECK_OK(explain());
	CHECK_STR_EQ(str(pod("b"), "verdict", NULL), "endpoint");
	CHECK(!boolean(pod("b"), "conditions", "ready"));
	CHECK(!boolean(pod("b"), "conditions", "serving"));
	CHECK_STR_EQ(str(pod("c"), "verdict", NULL), "endpoint");
	CHECK(!boolean(pod("c"), "conditions", "ready"));
	CHECK(boolean(pod("c"), "conditions", "serving"));
	CHECK(boolean(pod("c"), "conditions", "terminating"));
	CHECK_INT_EQ(len(pod("c"), "slices"), 0);
	teardown();
}

static void test_failed_and_no_ip(void)
{
	setup();
	add_node("n1", "z1");
	add_service(SVC_V4);
	add_pod("d", "", CONTAINERS,
		"\"phase\":\"Failed\",\"podIPs\":[{\"ip\":\"10.0.0.4\"}]");
	add_pod("e", "", CONTAINERS, "\"phase\":\"Pending\"");
	/* Not selected: other labels, or another namespace. */
	add(fx.pods, KUBE_KIND_POD,
	    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"ns\",\"labels\":{\"app\":\"db\"}},\"status\":{\"podIP\":\"10.0.0.9\"}}");
	add(fx.pods, KUBE_KIND_POD,
	    "{\"metadata\":{\"name\":\"y\",\"namespace\":\"other\",\"labels\":{\"app\":\"web\"}},\"status\":{\"podIP\":\"10.0.0.8\"}}");
	CHECK_OK(explain());
	CHECK_INT_EQ(len(fx.doc, "pods"), 2);
	CHECK_STR_EQ(str(pod("d"), "verdict", NULL), "excluded");
	CHECK_STR_EQ(code(pod("d"), "reasons", 0), "terminal_phase");
	CHECK_CONTAINS(str(item(pod("d"), "reasons", 0), "message", NULL), "Failed");
	CHECK_STR_EQ(str(pod("e"), "verdict", NULL), "excluded");
	CHECK_STR_EQ(code(pod("e"), "reasons", 0), "no_ip");
	{
		const char *path[] = { "conditions", NULL };

		CHECK_NULL(yajl_tree_get(pod("e"), path, yajl_t_any));
	}
	CHECK_INT_EQ(YAJL_GET_INTEGER(get(fx.doc, "summary", "excluded", yajl_t_number)), 2);
	teardown();
}

static void test_unknown_node(void)
{
	setup();
	add_service(SVC_V4);
	add_pod("f", "", CONTAINERS, RUNNING("10.0.0.5", "False"));
	CHECK_OK(explain());
	CHECK(!boolean(pod("f"), "nodeKnown", NULL));
	CHECK_STR_EQ(str(pod("f"), "verdict", NULL), "excluded");
	CHECK_STR_EQ(code(pod("f"), "reasons", 0), "node_not_found");
	CHECK_CONTAINS(str(item(pod("f"), "reasons", 0), "message", NULL), "n1");
	teardown();

	setup();
	add_service(SVC_V4 ",\"publishNotReadyAddresses\":true");
	add_pod("f", "", CONTAINERS, RUNNING("10.0.0.5", "False"));
	CHECK_OK(explain());
	CHECK_STR_EQ(str(pod("f"), "verdict", NULL), "endpoint");
	CHECK_STR_EQ(code(pod("f"), "notes", 0), "node_not_found_kept");
	/* publishNotReadyAddresses makes it ready, though not serving. */
	CHECK(boolean(pod("f"), "conditions", "ready"));
	CHECK(!boolean(pod("f"), "conditions", "serving"));
	CHECK(YAJL_IS_NULL(get(pod("f"), "zone", NULL, yajl_t_any)));
	teardown();
}

static void test_unresolved_named_port(void)
{
	setup();
	add_node("n1", "z1");
	add_service(SVC_V4);
	add_pod("g", "", "\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"metrics\",\"containerPort\":9090}]}]",
		RUNNING("10.0.0.6", "True"));
	CHECK_OK(explain());
	CHECK_STR_EQ(str(pod("g"), "verdict", NULL), "endpoint");
	CHECK(!boolean(item(pod("g"), "ports", 0), "resolved", NULL));
	CHECK_STR_EQ(str(item(pod("g"), "ports", 0), "targetPort", NULL), "http");
	CHECK_STR_EQ(code(pod("g"), "notes", 0), "port_unresolved");
	teardown();
}

static void test_families(void)
{
	setup();
	add_node("n1", "z1");
	add_service("\"selector\":{\"app\":\"web\"},\"clusterIP\":\"fd00::1\",\"ipFamilies\":[\"IPv6\"],\"ports\":[{\"port\":80}]");
	add_pod("h", "", CONTAINERS, RUNNING("10.0.0.7", "True"));
	CHECK_OK(explain());
	CHECK_STR_EQ(str(pod("h"), "verdict", NULL), "excluded");
	CHECK_STR_EQ(code(pod("h"), "reasons", 0), "no_address_of_family");
	CHECK_CONTAINS(str(item(pod("h"), "reasons", 0), "message", NULL), "IPv6");
	teardown();

	setup();
	add_node("n1", "z1");
	add_service("\"selector\":{\"app\":\"web\"},\"ipFamilies\":[\"IPv4\",\"IPv6\"],\"ports\":[{\"port\":80}]");
	add_pod("i", "", CONTAINERS,
		"\"phase\":\"Running\",\"podIPs\":[{\"ip\":\"::ffff:10.0.0.8\"}]");
	CHECK_OK(explain());
	CHECK_STR_EQ(str(pod("i"), "verdict", NULL), "endpoint");
	CHECK_STR_EQ(code(pod("i"), "notes", 0), "no_address_of_family");
	/* The IPv4-mapped address is written in its IPv4 form. */
	CHECK_STR_EQ(YAJL_GET_STRING(item(item(pod("i"), "addressTypes", 0), "addresses", 0)),
		     "10.0.0.8");
	CHECK(boolean(item(pod("i"), "addressTypes", 0), "included", NULL));
	CHECK(!boolean(item(pod("i"), "addressTypes", 1), "included", NULL));
	teardown();
}

static void test_unmanaged_and_missing(void)
{
	struct explain_sources src;
	struct buf b;

	setup();
	add_service("\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"port\":80}]");
	add_pod("a", "", CONTAINERS, RUNNING("10.0.0.1", "True"));
	CHECK_OK(explain());
	CHECK(!boolean(fx.doc, "service", "managed"));
	CHECK_CONTAINS(str(fx.doc, "service", "unmanagedReason"), "no selector");
	CHECK(YAJL_IS_NULL(get(fx.doc, "service", "selector", yajl_t_any)));
	CHECK_INT_EQ(len(fx.doc, "pods"), 0);
	teardown();

	setup();
	add_service("\"type\":\"ExternalName\",\"externalName\":\"example.com\",\"selector\":{\"app\":\"web\"}");
	CHECK_OK(explain());
	CHECK_CONTAINS(str(fx.doc, "service", "unmanagedReason"), "ExternalName");
	teardown();

	setup();
	CHECK_ERR(explain(), ERR_NOT_FOUND);
	CHECK_INT_EQ(YAJL_GET_INTEGER(get(fx.doc, "code", NULL, yajl_t_number)), 404);
	CHECK_STR_EQ(str(fx.doc, "reason", NULL), "NotFound");
	teardown();

	/* A full buffer is reported, not hidden. */
	setup();
	add_service(SVC_V4);
	src = (struct explain_sources){ fx.services, fx.pods, NULL, NULL };
	buf_init(&b, 64);
	CHECK_ERR(explain_service(&src, "ns", "web", NULL, &b), ERR_TOO_LARGE);
	buf_release(&b);
	teardown();
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_ready_and_held_by_slice),
		UNIT_CASE(test_not_ready_and_terminating),
		UNIT_CASE(test_failed_and_no_ip),
		UNIT_CASE(test_unknown_node),
		UNIT_CASE(test_unresolved_named_port),
		UNIT_CASE(test_families),
		UNIT_CASE(test_unmanaged_and_missing),
	};

	return unit_main(argc, argv, "explain", cases, ARRAY_SIZE(cases));
}
