/*
 * Unit tests of allocctl, the allocator as a running controller, against
 * a scripted API server (fake_http) that does not allocate: admission
 * waits for leadership and the takeover repair pass (the webhook's
 * /readyz follows), the repair pass lists Services and imports their
 * values, a Service that arrives without values is filled and patched
 * with a resourceVersion test, and lost leadership closes admission at
 * once.
 *
 * FAKES: fake_http
 */
#include "base.h"
#include "allocctl.h"

#include <curl/curl.h>

#include "apiclient.h"
#include "fakes/fake_http.h"
#include "informer.h"
#include "kubeconfig.h"
#include "metrics.h"
#include "store.h"
#include "unit.h"

#define WAIT_MS 10000

/* What the fake API server lists: one Service with values, one without. */
#define LIST_BODY                                                              \
	"{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":{"      \
	"\"resourceVersion\":\"10\"},\"items\":[{\"metadata\":{\"name\":"     \
	"\"old\",\"namespace\":\"default\",\"uid\":\"u-old\","               \
	"\"resourceVersion\":\"5\"},\"spec\":{\"clusterIP\":\"10.96.7.7\","   \
	"\"clusterIPs\":[\"10.96.7.7\"],\"ports\":[{\"port\":80}]}}]}"

#define BARE_JSON                                                              \
	"{\"metadata\":{\"name\":\"bare\",\"namespace\":\"default\","          \
	"\"uid\":\"u-bare\",\"resourceVersion\":\"11\"},\"spec\":{\"type\":"  \
	"\"NodePort\",\"ports\":[{\"port\":80}]}}"

static struct {
	struct fake_http *srv;
	struct kubeconfig *cfg;
	struct apiclient *api;
	struct store *services;
	struct allocctl *c;
	char *dir;
} fx;

static struct fake_http_response *handle(void *ctx,
					 const struct fake_http_request *req)
{
	struct fake_http_response *r = fake_http_response_new(200);

	(void)ctx;
	fake_http_response_header(r, "Content-Type: application/json");
	if (str_eq(req->method, "GET"))
		fake_http_response_body(r, LIST_BODY);
	else
		fake_http_response_body(r, BARE_JSON);
	return r;
}

static void setup(void)
{
	struct apiclient_options ao = APICLIENT_OPTIONS_DEFAULT;
	struct errbuf eb = ERRBUF_INIT;
	char *yaml, *db;
	struct allocctl_options o = {
	    .alloc = {.service_cidrs = "10.96.0.0/16"},
	    .bind_address = "127.0.0.1",
	};

	fx.srv = fake_http_new();
	fake_http_set_handler(fx.srv, handle, NULL);
	yaml = xasprintf("apiVersion: v1\nkind: Config\nclusters:\n"
			 "- name: fake\n  cluster: {server: \"%s\"}\n"
			 "users:\n- name: t\n  user: {token: t}\n"
			 "contexts:\n- name: fake\n"
			 "  context: {cluster: fake, user: t}\n"
			 "current-context: fake\n",
			 fake_http_url(fx.srv));
	CHECK_OK(kubeconfig_parse("/tmp/fake-kubeconfig", yaml, strlen(yaml),
				  NULL, &fx.cfg, &eb));
	free(yaml);
	ao.qps = 0;
	CHECK_OK(apiclient_new(fx.cfg, &ao, &fx.api, &eb));
	fx.services = store_new(KUBE_KIND_SERVICE);
	fx.dir = unit_tmpdir("test-allocctl");
	db = xasprintf("%s/alloc.db", fx.dir);
	o.alloc.db_path = db;
	o.api = fx.api;
	o.services = fx.services;
	if (allocctl_new(&o, &fx.c, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "allocctl_new: %s", eb.msg);
	free(db);
	CHECK_OK(allocctl_start(fx.c, &eb));
}

static void teardown(void)
{
	allocctl_free(fx.c);
	store_free(fx.services);
	apiclient_free(fx.api);
	kubeconfig_free(fx.cfg);
	fake_http_free(fx.srv);
	unit_rmtree(fx.dir);
	memset(&fx, 0, sizeof(fx));
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static long readyz(void)
{
	char url[64];
	CURL *h = curl_easy_init();
	long code = 0;

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz",
		       allocctl_webhook_port(fx.c));
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	if (curl_easy_perform(h) == CURLE_OK)
		(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	return code;
}

static bool wait_admitting(bool want)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (allocctl_admitting(fx.c) == want)
			return true;
		clock_sleep_ms(10);
	}
	return false;
}

static struct kube_object *decode(const char *json)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = NULL;

	if (kube_object_decode(KUBE_KIND_SERVICE, json, strlen(json), &o,
			       &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "decode: %s", eb.msg);
	return o;
}

/* The first request with method m, or NULL. */
static const struct fake_http_request *find(const char *m)
{
	for (unsigned i = 0; i < fake_http_count(fx.srv); i++) {
		const struct fake_http_request *r = fake_http_request(fx.srv, i);

		if (r && str_eq(r->method, m))
			return r;
	}
	return NULL;
}

static unsigned count_of(const char *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fake_http_count(fx.srv); i++) {
		const struct fake_http_request *r = fake_http_request(fx.srv, i);

		n += r && str_eq(r->method, m);
	}
	return n;
}

static void test_admission_waits_for_takeover_repair(void)
{
	struct buf page;
	struct metrics_writer w = METRICS_WRITER_INIT(&page);

	setup();
	CHECK(!allocctl_admitting(fx.c));
	CHECK_INT_EQ(readyz(), 503);
	CHECK_INT_EQ(count_of("GET"), 0); /* a standby does not repair */
	allocctl_lead(fx.c);
	CHECK(wait_admitting(true));
	CHECK_INT_EQ(readyz(), 200);
	/* The pass listed every Service with a quorum read and imported the
	 * listed value as "not allocated; repairing". */
	CHECK_NOT_NULL(find("GET"));
	CHECK_CONTAINS(find("GET")->target, "/api/v1/services?limit=500");
	CHECK_NULL(strstr(find("GET")->target, "resourceVersion"));
	buf_init(&page, 0);
	allocctl_metrics(fx.c, &w);
	CHECK_OK(w.err);
	CHECK_CONTAINS(page.data,
		       "svc_controllers_clusterip_allocator_allocated_ips{cidr=\"10.96.0.0/16\"} 1\n");
	CHECK_CONTAINS(page.data,
		       "svc_controllers_clusterip_repair_ip_errors_total{type=\"repair\"} 1\n");
	CHECK_CONTAINS(page.data, "svc_controllers_allocator_admitting 1\n");
	buf_release(&page);
	allocctl_unlead(fx.c);
	CHECK(!allocctl_admitting(fx.c));
	CHECK_INT_EQ(readyz(), 503);
	teardown();
}

static bool patched(void)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (find("PATCH"))
			return true;
		clock_sleep_ms(10);
	}
	return false;
}

static void test_fills_what_the_api_server_left_out(void)
{
	struct informer_handlers h;
	struct kube_object *bare = decode(BARE_JSON);
	const struct fake_http_request *p;

	setup();
	store_upsert(fx.services, kube_object_ref(bare), NULL);
	allocctl_service_handlers(fx.c, &h);
	/* Not yet admitting: nothing is filled. */
	h.on_add(h.ctx, bare);
	allocctl_lead(fx.c);
	CHECK(wait_admitting(true));
	h.on_update(h.ctx, bare, bare);
	CHECK(patched());
	p = find("PATCH");
	CHECK_STR_EQ(p->path, "/api/v1/namespaces/default/services/bare");
	CHECK_STR_EQ(fake_http_header(p, "Content-Type"),
		     "application/json-patch+json");
	CHECK_CONTAINS(p->body, "{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":\"11\"}");
	CHECK_CONTAINS(p->body, "\"path\":\"/spec/clusterIPs\",\"value\":[\"10.96.");
	CHECK_CONTAINS(p->body, "\"path\":\"/spec/ports/0/nodePort\"");
	CHECK_INT_EQ(count_of("PATCH"), 1);
	kube_object_unref(bare);
	teardown();
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_admission_waits_for_takeover_repair),
	    UNIT_CASE(test_fills_what_the_api_server_left_out),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = unit_main(argc, argv, "allocctl", cases, ARRAY_SIZE(cases));
	curl_global_cleanup();
	return rc;
}
