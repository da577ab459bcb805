/*
 * Unit tests of apiclient against fake_http, an in-process HTTP/1.1
 * server on 127.0.0.1: the status → enum err mapping with the Status kept
 * in the result and the errbuf, the retry rules (429 and Retry-After, 5xx
 * by verb, transport errors for GET only, one retry after a 401 with a
 * re-read token file), the headers on the wire, query encoding, the rate
 * limiter, DELETE preconditions, cancellation of a held stream and
 * streaming of a chunked body (apiclient.md §1.7, §1.8, §2.3, §3).
 * No case asserts a duration; waits on other threads are bounded hang
 * guards.
 * FAKES: fake_http
 */
#include "base.h"
#include "apiclient.h"
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "fakes/fake_http.h"
#include "kubeconfig.h"

#define HANG_GUARD_MS 10000
#define POD_PATH "/api/v1/namespaces/default/pods/web-1"

/*
 * The fixture is global so that a case ended by a failed check (a
 * longjmp) leaves nothing running: the next setup, and main, tear down
 * what is left.
 */
static struct {
	struct fake_http *srv;
	struct kubeconfig *cfg;
	struct apiclient *api;
	char token_path[64]; /* "" unless a token file was created */
} fx;

static void teardown(void)
{
	apiclient_free(fx.api);
	kubeconfig_free(fx.cfg);
	fake_http_free(fx.srv);
	if (fx.token_path[0])
		(void)unlink(fx.token_path);
	memset(&fx, 0, sizeof(fx));
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	BUG_ON(!f);
	BUG_ON(fputs(text, f) < 0);
	BUG_ON(fclose(f) != 0);
}

/* Options for fast tests: no rate limit, short retry waits. */
static struct apiclient_options fast_opts(void)
{
	struct apiclient_options o = APICLIENT_OPTIONS_DEFAULT;

	o.qps = 0;
	o.max_attempts = 3;
	o.retry_max_wait_ms = 20;
	o.request_timeout_ms = HANG_GUARD_MS;
	o.connect_timeout_ms = HANG_GUARD_MS;
	return o;
}

/*
 * A server, a kubeconfig pointing at it (a static token, or a tokenFile
 * holding `file_token` when that is not NULL) and a client.
 */
static void setup_with(const struct apiclient_options *opts,
		       const char *file_token)
{
	struct errbuf eb = ERRBUF_INIT;
	char *yaml;
	char *user;

	teardown();
	fx.srv = fake_http_new();
	if (file_token) {
		(void)snprintf(fx.token_path, sizeof(fx.token_path),
			       "/tmp/test-apiclient-token-%ld", (long)getpid());
		write_file(fx.token_path, file_token);
		user = xasprintf("tokenFile: %s", fx.token_path);
	} else {
		user = xstrdup("token: static-token");
	}
	yaml = xasprintf("apiVersion: v1\n"
			 "kind: Config\n"
			 "clusters:\n"
			 "- name: fake\n"
			 "  cluster:\n"
			 "    server: %s\n"
			 "users:\n"
			 "- name: tester\n"
			 "  user:\n"
			 "    %s\n"
			 "contexts:\n"
			 "- name: fake\n"
			 "  context: {cluster: fake, user: tester, namespace: default}\n"
			 "current-context: fake\n",
			 fake_http_url(fx.srv), user);
	free(user);
	CHECK_OK(kubeconfig_parse("/tmp/fake-kubeconfig", yaml, strlen(yaml),
				  NULL, &fx.cfg, &eb));
	free(yaml);
	CHECK_OK(apiclient_new(fx.cfg, opts, &fx.api, &eb));
}

static void setup(void)
{
	struct apiclient_options o = fast_opts();

	setup_with(&o, NULL);
}

/* ---- Bodies ---------------------------------------------------------- */

static char *pod_json(const char *name, const char *rv)
{
	return xasprintf(
		"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
		"\"name\":\"%s\",\"namespace\":\"default\","
		"\"uid\":\"6f1c2a9e-3b1d-4c59-9a57-%012d\","
		"\"resourceVersion\":\"%s\","
		"\"creationTimestamp\":\"2024-05-01T10:00:00Z\","
		"\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"5d8f7c9b6\"}},"
		"\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"web\","
		"\"image\":\"nginx:1.25\",\"ports\":[{\"name\":\"http\","
		"\"containerPort\":8080,\"protocol\":\"TCP\"}]}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.7\","
		"\"podIPs\":[{\"ip\":\"10.244.1.7\"}],\"conditions\":[{"
		"\"type\":\"Ready\",\"status\":\"True\","
		"\"lastTransitionTime\":\"2024-05-01T10:00:05Z\"}]}}",
		name, (int)strlen(name), rv);
}

/* A Status as the API server writes it, with one cause. */
static char *status_json(int code, const char *reason, const char *message)
{
	return xasprintf(
		"{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
		"\"status\":\"Failure\",\"message\":\"%s\",\"reason\":\"%s\","
		"\"details\":{\"name\":\"web-1\",\"kind\":\"pods\",\"causes\":[{"
		"\"reason\":\"FieldValueInvalid\",\"message\":\"Invalid value: 0\","
		"\"field\":\"spec.containers[0].ports[0].containerPort\"}]},"
		"\"code\":%d}",
		message, reason, code);
}

static void push_status(int code, const char *reason, const char *message,
			const char *extra_header)
{
	struct fake_http_response *r = fake_http_response_new(code);
	char *body = status_json(code, reason, message);

	if (extra_header)
		fake_http_response_header(r, extra_header);
	fake_http_response_body(r, body);
	free(body);
	fake_http_push(fx.srv, r);
}

static void push_pod(int code)
{
	char *body = pod_json("web-1", "1001");

	fake_http_push_json(fx.srv, code, body);
	free(body);
}

static enum err do_req(enum apiclient_method m, const char *body,
		       struct buf *resp, struct apiclient_result *res,
		       struct errbuf *eb)
{
	return apiclient_do(fx.api,
			    &(struct apiclient_request){
				    .method = m,
				    .path = POD_PATH,
				    .body = body,
				    .body_len = body ? strlen(body) : 0,
			    },
			    resp, res, eb);
}

/* ---- Status codes → enum err (apiclient.md §1.8) --------------------- */

static void check_success(int code)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct buf resp;

	setup();
	buf_init(&resp, 0);
	push_pod(code);
	CHECK_OK(do_req(APICLIENT_GET, NULL, &resp, &res, &eb));
	CHECK_INT_EQ(res.http_code, code);
	CHECK_INT_EQ(res.attempts, 1);
	CHECK_CONTAINS(resp.data, "\"name\":\"web-1\"");
	CHECK_INT_EQ(res.status.code, 0);
	buf_release(&resp);
	teardown();
}

static void check_status(int code, const char *reason, enum err want)
{
	struct apiclient_options o = fast_opts();
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct fake_http_response *r;
	char *msg = xasprintf("pods web-1: answer %d %s", code, reason);
	char *body = status_json(code, reason, msg);
	char *want_eb = xasprintf("GET " POD_PATH ": %d %s: %s", code, reason,
				  msg);
	int answers = code == 401 ? 2 : 1; /* a 401 is retried once */

	o.max_attempts = 1;
	setup_with(&o, NULL);
	for (int i = 0; i < answers; i++) {
		r = fake_http_response_new(code);
		fake_http_response_header(r, "Audit-Id: 0b5e7a52-audit");
		fake_http_response_body(r, body);
		fake_http_push(fx.srv, r);
	}
	CHECK_ERR(do_req(APICLIENT_GET, NULL, NULL, &res, &eb), want);
	CHECK_INT_EQ(fake_http_count(fx.srv), answers);
	CHECK_INT_EQ(res.attempts, answers);
	CHECK_INT_EQ(res.http_code, code);
	CHECK_INT_EQ(res.status.code, code);
	CHECK_STR_EQ(res.status.reason, reason);
	CHECK_STR_EQ(res.status.message, msg);
	CHECK_INT_EQ(res.status.n_causes, 1);
	CHECK_STR_EQ(res.status.causes[0].type, "FieldValueInvalid");
	CHECK_STR_EQ(res.status.causes[0].field,
		     "spec.containers[0].ports[0].containerPort");
	CHECK_STR_EQ(res.status.causes[0].message, "Invalid value: 0");
	CHECK_STR_EQ(res.audit_id, "0b5e7a52-audit");
	CHECK_STR_EQ(eb.msg, want_eb);
	CHECK_ERR(apiclient_err_from_http(code, reason), want);
	free(want_eb);
	free(body);
	free(msg);
	teardown();
}

static void status_200_ok(void) { check_success(200); }
static void status_201_created(void) { check_success(201); }
static void status_400_bad_request(void)
{
	check_status(400, "BadRequest", ERR_BAD_REQUEST);
}
static void status_401_unauthorized(void)
{
	check_status(401, "Unauthorized", ERR_UNAUTHORIZED);
}
static void status_403_forbidden(void)
{
	check_status(403, "Forbidden", ERR_FORBIDDEN);
}
static void status_404_not_found(void)
{
	check_status(404, "NotFound", ERR_NOT_FOUND);
}
static void status_409_conflict(void)
{
	check_status(409, "Conflict", ERR_CONFLICT);
}
static void status_409_already_exists(void)
{
	check_status(409, "AlreadyExists", ERR_ALREADY_EXISTS);
}
static void status_410_gone(void) { check_status(410, "Expired", ERR_GONE); }
static void status_422_invalid(void)
{
	check_status(422, "Invalid", ERR_UNPROCESSABLE);
}
static void status_429_too_many(void)
{
	check_status(429, "TooManyRequests", ERR_TOO_MANY_REQUESTS);
}
static void status_500_internal(void)
{
	check_status(500, "InternalError", ERR_SERVER);
}
static void status_503_unavailable(void)
{
	check_status(503, "ServiceUnavailable", ERR_SERVER);
}
static void status_504_timeout(void)
{
	check_status(504, "Timeout", ERR_TIMEOUT);
}

/* A proxy's HTML error page is no Status: the code still maps, the
 * result's Status stays empty. */
static void status_not_json(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct fake_http_response *r;

	setup();
	r = fake_http_response_new(403);
	fake_http_response_header(r, "Content-Type: text/html");
	fake_http_response_body(r, "<html><body>denied</body></html>");
	fake_http_push(fx.srv, r);
	CHECK_ERR(do_req(APICLIENT_GET, NULL, NULL, &res, &eb), ERR_FORBIDDEN);
	CHECK_INT_EQ(res.http_code, 403);
	CHECK_STR_EQ(res.status.reason, "");
	CHECK_CONTAINS(eb.msg, "GET " POD_PATH ": 403 ");
	teardown();
}

/* ---- Retries ---------------------------------------------------------- */

static void retry_429_honours_retry_after(void)
{
	struct apiclient_options o = fast_opts();
	struct apiclient_result res;
	struct apiclient_stats st;
	struct errbuf eb = ERRBUF_INIT;
	struct buf resp;

	o.retry_max_wait_ms = 30000; /* let Retry-After: 1 through */
	setup_with(&o, NULL);
	buf_init(&resp, 0);
	push_status(429, "TooManyRequests", "too many requests, retry later",
		    "Retry-After: 1");
	push_pod(200);
	CHECK_OK(do_req(APICLIENT_GET, NULL, &resp, &res, &eb));
	CHECK_INT_EQ(fake_http_count(fx.srv), 2);
	CHECK_INT_EQ(res.attempts, 2);
	CHECK_INT_EQ(res.http_code, 200);
	CHECK_CONTAINS(resp.data, "\"resourceVersion\":\"1001\"");
	/* The Status of the 429 must not leak into a success. */
	CHECK_STR_EQ(res.status.reason, "");
	apiclient_stats(fx.api, &st);
	CHECK_INT_EQ(st.requests, 2);
	CHECK_INT_EQ(st.retries, 1);
	CHECK_INT_EQ(st.by_class[4], 1);
	CHECK_INT_EQ(st.by_class[2], 1);
	buf_release(&resp);
	teardown();
}

static void post_503_without_retry_after_not_retried(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	setup();
	push_status(503, "ServiceUnavailable", "the server is shutting down",
		    NULL);
	push_pod(201);
	CHECK_ERR(do_req(APICLIENT_POST, "{\"kind\":\"Pod\"}", NULL, &res, &eb),
		  ERR_SERVER);
	CHECK_INT_EQ(fake_http_count(fx.srv), 1);
	CHECK_INT_EQ(res.attempts, 1);
	CHECK_INT_EQ(res.http_code, 503);
	teardown();
}

static void post_503_with_retry_after_retried(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	setup();
	push_status(503, "ServiceUnavailable", "the server is shutting down",
		    "Retry-After: 1");
	push_pod(201);
	CHECK_OK(do_req(APICLIENT_POST, "{\"kind\":\"Pod\"}", NULL, &res, &eb));
	CHECK_INT_EQ(fake_http_count(fx.srv), 2);
	CHECK_INT_EQ(res.attempts, 2);
	CHECK_INT_EQ(res.http_code, 201);
	CHECK_STR_EQ(fake_http_request(fx.srv, 1)->method, "POST");
	CHECK_STR_EQ(fake_http_request(fx.srv, 1)->body, "{\"kind\":\"Pod\"}");
	teardown();
}

static void get_500_retried_until_max_attempts(void)
{
	struct apiclient_result res;
	struct apiclient_stats st;
	struct errbuf eb = ERRBUF_INIT;

	setup(); /* max_attempts 3 */
	for (int i = 0; i < 3; i++)
		push_status(500, "InternalError", "etcdserver: leader changed",
			    NULL);
	push_pod(200); /* must not be reached */
	CHECK_ERR(do_req(APICLIENT_GET, NULL, NULL, &res, &eb), ERR_SERVER);
	CHECK_INT_EQ(fake_http_count(fx.srv), 3);
	CHECK_INT_EQ(res.attempts, 3);
	CHECK_STR_EQ(res.status.message, "etcdserver: leader changed");
	CHECK_CONTAINS(eb.msg, "500 InternalError: etcdserver: leader changed");
	apiclient_stats(fx.api, &st);
	CHECK_INT_EQ(st.retries, 2);
	CHECK_INT_EQ(st.by_class[5], 3);
	teardown();
}

/* The first request of a fresh client uses a fresh connection, so libcurl
 * does not replay it by itself when the server hangs up. */
static void transport_error_get_retried(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct buf resp;

	setup();
	buf_init(&resp, 0);
	fake_http_push(fx.srv, fake_http_response_new(FAKE_HTTP_DROP));
	push_pod(200);
	CHECK_OK(do_req(APICLIENT_GET, NULL, &resp, &res, &eb));
	CHECK_INT_EQ(fake_http_count(fx.srv), 2);
	CHECK_INT_EQ(res.attempts, 2);
	CHECK_CONTAINS(resp.data, "\"name\":\"web-1\"");
	buf_release(&resp);
	teardown();
}

static void transport_error_post_not_retried(void)
{
	struct apiclient_result res;
	struct apiclient_stats st;
	struct errbuf eb = ERRBUF_INIT;

	setup();
	fake_http_push(fx.srv, fake_http_response_new(FAKE_HTTP_DROP));
	push_pod(201);
	CHECK_ERR(do_req(APICLIENT_POST, "{\"kind\":\"Pod\"}", NULL, &res, &eb),
		  ERR_TRANSPORT);
	CHECK_INT_EQ(fake_http_count(fx.srv), 1);
	CHECK_INT_EQ(res.attempts, 1);
	CHECK_INT_EQ(res.http_code, 0);
	CHECK_CONTAINS(eb.msg, "POST " POD_PATH ": ");
	apiclient_stats(fx.api, &st);
	CHECK_INT_EQ(st.by_class[0], 1);
	teardown();
}

/* ---- 401: invalidate the credential, re-read the token file, once ----- */

struct rotate_ctx {
	const char *path;
	atomic_int seen;
};

/* First answer: rotate the token file, then 401; later ones: 200. */
static struct fake_http_response *rotate_then_ok(void *ctx,
						 const struct fake_http_request *q)
{
	struct rotate_ctx *rc = ctx;
	struct fake_http_response *r;
	char *body;

	(void)q;
	if (atomic_fetch_add(&rc->seen, 1) == 0) {
		write_file(rc->path, "token-two\n");
		r = fake_http_response_new(401);
		body = status_json(401, "Unauthorized", "Unauthorized");
	} else {
		r = fake_http_response_new(200);
		body = pod_json("web-1", "1001");
	}
	fake_http_response_body(r, body);
	free(body);
	return r;
}

static void unauthorized_rereads_token_file(void)
{
	struct apiclient_options o = fast_opts();
	struct rotate_ctx rc;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	o.max_attempts = 1; /* the 401 retry is not a retryable answer */
	setup_with(&o, "token-one\n");
	rc.path = fx.token_path;
	atomic_init(&rc.seen, 0);
	fake_http_set_handler(fx.srv, rotate_then_ok, &rc);
	CHECK_OK(do_req(APICLIENT_GET, NULL, NULL, &res, &eb));
	CHECK_INT_EQ(fake_http_count(fx.srv), 2);
	CHECK_INT_EQ(res.attempts, 2);
	CHECK_STR_EQ(fake_http_header(fake_http_request(fx.srv, 0),
				      "Authorization"),
		     "Bearer token-one");
	CHECK_STR_EQ(fake_http_header(fake_http_request(fx.srv, 1),
				      "Authorization"),
		     "Bearer token-two");
	teardown();
}

static void unauthorized_twice_retried_once(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	setup(); /* max_attempts 3: still only one 401 retry */
	push_status(401, "Unauthorized", "Unauthorized", NULL);
	push_status(401, "Unauthorized", "Unauthorized", NULL);
	push_pod(200);
	CHECK_ERR(do_req(APICLIENT_GET, NULL, NULL, &res, &eb),
		  ERR_UNAUTHORIZED);
	CHECK_INT_EQ(fake_http_count(fx.srv), 2);
	CHECK_INT_EQ(res.attempts, 2);
	CHECK_STR_EQ(fake_http_header(fake_http_request(fx.srv, 1),
				      "Authorization"),
		     "Bearer static-token");
	teardown();
}

/* ---- Headers on the wire ---------------------------------------------- */

static void patch_sends_one_content_type(void)
{
	const char *patch = "{\"metadata\":{\"labels\":{\"tier\":null}}}";
	const struct fake_http_request *q;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct buf body;

	setup();
	buf_init(&body, 0);
	CHECK_OK(buf_adds(&body, patch));
	push_pod(200);
	CHECK_OK(apiclient_patch(fx.api, KUBE_KIND_POD, "default", "web-1",
				 APICLIENT_PATCH_MERGE, &body, &res,
				 &eb));
	q = fake_http_request(fx.srv, 0);
	CHECK_NOT_NULL(q);
	CHECK_STR_EQ(q->method, "PATCH");
	CHECK_STR_EQ(q->path, POD_PATH);
	CHECK_INT_EQ(fake_http_header_count(q, "Content-Type"), 1);
	CHECK_STR_EQ(fake_http_header(q, "Content-Type"),
		     "application/merge-patch+json");
	CHECK_INT_EQ(fake_http_header_count(q, "Accept"), 1);
	CHECK_STR_EQ(fake_http_header(q, "Accept"), "application/json");
	CHECK_STR_EQ(q->body, patch);
	buf_release(&body);
	teardown();
}

static void put_sends_json_content_type(void)
{
	const struct fake_http_request *q;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct buf body;
	char *pod = pod_json("web-1", "1000");

	setup();
	buf_init(&body, 0);
	CHECK_OK(buf_adds(&body, pod));
	push_status(409, "Conflict",
		    "Operation cannot be fulfilled on pods \\\"web-1\\\": the object has been modified",
		    NULL);
	CHECK_ERR(apiclient_update(fx.api, KUBE_KIND_POD, "default", "web-1",
				   &body, NULL, &res, &eb),
		  ERR_CONFLICT);
	q = fake_http_request(fx.srv, 0);
	CHECK_NOT_NULL(q);
	CHECK_STR_EQ(q->method, "PUT");
	CHECK_INT_EQ(fake_http_header_count(q, "Content-Type"), 1);
	CHECK_STR_EQ(fake_http_header(q, "Content-Type"), "application/json");
	CHECK_STR_EQ(q->body, pod);
	CHECK_CONTAINS(eb.msg, "PUT " POD_PATH ": 409 Conflict: ");
	CHECK_CONTAINS(eb.msg, "the object has been modified");
	free(pod);
	buf_release(&body);
	teardown();
}

static void user_agent_and_auth(void)
{
	const struct fake_http_request *q;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	setup();
	push_pod(200);
	CHECK_OK(do_req(APICLIENT_GET, NULL, NULL, &res, &eb));
	q = fake_http_request(fx.srv, 0);
	CHECK_NOT_NULL(q);
	CHECK(str_has_prefix(fake_http_header(q, "User-Agent"),
			     "svc-controllers/"));
	CHECK_CONTAINS(fake_http_header(q, "User-Agent"), " (linux/");
	CHECK_STR_EQ(fake_http_header(q, "Authorization"),
		     "Bearer static-token");
	CHECK_INT_EQ(fake_http_header_count(q, "Content-Type"), 0);
	teardown();
}

/* ---- Query encoding --------------------------------------------------- */

static void query_encoding(void)
{
	const char *sel = "app in (web, api),tier!=db,env=prod";
	const struct fake_http_request *q;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct buf query;
	char *got;

	setup();
	buf_init(&query, 0);
	apiclient_query_add(&query, "labelSelector", sel);
	apiclient_query_add(&query, "fieldSelector", "spec.nodeName=node-1");
	apiclient_query_add(&query, "limit", "500");
	CHECK_STR_EQ(query.data,
		     "labelSelector=app%20in%20%28web%2C%20api%29%2Ctier%21%3Ddb%2Cenv%3Dprod"
		     "&fieldSelector=spec.nodeName%3Dnode-1&limit=500");
	fake_http_push_json(fx.srv, 200,
			    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\","
			    "\"metadata\":{\"resourceVersion\":\"77\"},\"items\":[]}");
	CHECK_OK(apiclient_do(fx.api,
			      &(struct apiclient_request){
				      .method = APICLIENT_GET,
				      .path = "/api/v1/pods",
				      .query = query.data,
			      },
			      NULL, &res, &eb));
	q = fake_http_request(fx.srv, 0);
	CHECK_NOT_NULL(q);
	CHECK_STR_EQ(q->path, "/api/v1/pods");
	CHECK_STR_EQ(q->query, query.data);
	got = fake_http_query_param(q, "labelSelector");
	CHECK_STR_EQ(got, sel);
	free(got);
	got = fake_http_query_param(q, "fieldSelector");
	CHECK_STR_EQ(got, "spec.nodeName=node-1");
	free(got);
	buf_release(&query);
	teardown();
}

/* ---- Rate limiter ----------------------------------------------------- */

static struct fake_http_response *always_pod(void *ctx,
					     const struct fake_http_request *q)
{
	struct fake_http_response *r = fake_http_response_new(200);
	char *body = pod_json("web-1", "1001");

	(void)ctx;
	(void)q;
	fake_http_response_body(r, body);
	free(body);
	return r;
}

static void rate_limiter_throttles(void)
{
	struct apiclient_options o = fast_opts();
	struct apiclient_result res;
	struct apiclient_stats st;
	struct errbuf eb = ERRBUF_INIT;

	o.qps = 5;
	o.burst = 2;
	setup_with(&o, NULL);
	fake_http_set_handler(fx.srv, always_pod, NULL);
	for (int i = 0; i < 6; i++)
		CHECK_OK(do_req(APICLIENT_GET, NULL, NULL, &res, &eb));
	apiclient_stats(fx.api, &st);
	CHECK_INT_EQ(st.requests, 6);
	CHECK_INT_EQ(st.by_method[APICLIENT_GET], 6);
	CHECK(st.throttled_ns > 0);
	CHECK_INT_EQ(fake_http_count(fx.srv), 6);
	teardown();
}

/* Watches bypass the limiter: a burst of 1 and 3 watches, no wait. */
static void watch_not_throttled(void)
{
	struct apiclient_options o = fast_opts();
	struct apiclient_result res;
	struct apiclient_stats st;
	struct errbuf eb = ERRBUF_INIT;

	o.qps = 2; /* a throttled second request would wait 500 ms */
	o.burst = 1;
	setup_with(&o, NULL);
	for (int i = 0; i < 3; i++) {
		struct fake_http_response *r = fake_http_response_new(200);

		fake_http_response_chunk(r, "{}\n", 3);
		fake_http_push(fx.srv, r);
		CHECK_OK(apiclient_do(fx.api,
				      &(struct apiclient_request){
					      .method = APICLIENT_GET,
					      .path = "/api/v1/pods",
					      .query = "watch=1",
					      .watch = true,
				      },
				      NULL, &res, &eb));
	}
	apiclient_stats(fx.api, &st);
	CHECK_INT_EQ(st.requests, 3);
	CHECK_INT_EQ(st.throttled_ns, 0);
	teardown();
}

/* ---- DELETE with preconditions ---------------------------------------- */

static void delete_preconditions_404_ok(void)
{
	const struct fake_http_request *q;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	setup();
	push_status(404, "NotFound", "pods \\\"web-1\\\" not found", NULL);
	CHECK_OK(apiclient_delete(fx.api, KUBE_KIND_POD, "default", "web-1",
				  "6f1c2a9e-uid", "1001", &res, &eb));
	CHECK_INT_EQ(res.http_code, 404);
	q = fake_http_request(fx.srv, 0);
	CHECK_NOT_NULL(q);
	CHECK_STR_EQ(q->method, "DELETE");
	CHECK_STR_EQ(q->path, POD_PATH);
	CHECK_INT_EQ(fake_http_header_count(q, "Content-Type"), 1);
	CHECK_STR_EQ(fake_http_header(q, "Content-Type"), "application/json");
	CHECK_STR_EQ(q->body,
		     "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
		     "\"preconditions\":{\"uid\":\"6f1c2a9e-uid\","
		     "\"resourceVersion\":\"1001\"}}");
	teardown();
}

static void delete_precondition_conflict(void)
{
	const struct fake_http_request *q;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	setup();
	push_status(409, "Conflict",
		    "Precondition failed: UID in precondition: 6f1c2a9e-uid, UID in object meta: other",
		    NULL);
	CHECK_ERR(apiclient_delete(fx.api, KUBE_KIND_POD, "default", "web-1",
				   "6f1c2a9e-uid", NULL, &res, &eb),
		  ERR_CONFLICT);
	CHECK_CONTAINS(eb.msg, "DELETE " POD_PATH ": 409 Conflict: Precondition failed");
	q = fake_http_request(fx.srv, 0);
	CHECK_NOT_NULL(q);
	CHECK_STR_EQ(q->body,
		     "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
		     "\"preconditions\":{\"uid\":\"6f1c2a9e-uid\"}}");
	teardown();
}

/* ---- Streams: cancellation and arbitrary chunking ---------------------- */

struct sink {
	struct buf data;
	atomic_size_t n;	/* bytes received, for other threads */
	size_t release_at;	/* release the server's wait at this many bytes */
	bool released;
};

static enum err sink_data(void *ctx, const char *data, size_t n)
{
	struct sink *s = ctx;
	enum err e = buf_add(&s->data, data, n);

	atomic_fetch_add(&s->n, n);
	if (s->release_at && !s->released && s->data.len >= s->release_at) {
		s->released = true;
		fake_http_release(fx.srv);
	}
	return e;
}

struct watcher {
	struct sink sink;
	atomic_bool cancel;
	struct apiclient_result res;
	struct errbuf eb;
	enum err e;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done; /* guarded by lock */
};

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;

	w->e = apiclient_do(fx.api,
			    &(struct apiclient_request){
				    .method = APICLIENT_GET,
				    .path = "/api/v1/pods",
				    .query = "watch=1&allowWatchBookmarks=true",
				    .watch = true,
				    .on_data = sink_data,
				    .ctx = &w->sink,
				    .cancel = &w->cancel,
			    },
			    NULL, &w->res, &w->eb);
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Waits for the watcher to finish, at most ms; true if it did. */
static bool watcher_wait(struct watcher *w, int ms)
{
	struct timespec ts;
	bool done;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &ts) != 0)
			break;
	done = w->done;
	pthread_mutex_unlock(&w->lock);
	return done;
}

static void cancel_aborts_held_stream(void)
{
	static const char ev[] = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
				 "\"apiVersion\":\"v1\",\"metadata\":{"
				 "\"resourceVersion\":\"1200\"}}}\n";
	static struct watcher w; /* outlives the case if a guard fails */
	struct fake_http_response *r;
	pthread_t th;
	bool done;

	setup();
	memset(&w, 0, sizeof(w));
	buf_init(&w.sink.data, 0);
	atomic_init(&w.sink.n, 0);
	atomic_init(&w.cancel, false);
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	r = fake_http_response_new(200);
	fake_http_response_chunk(r, ev, sizeof(ev) - 1);
	fake_http_response_wait(r); /* held open: never released */
	fake_http_push(fx.srv, r);
	BUG_ON(pthread_create(&th, NULL, watcher_main, &w) != 0);
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	for (int i = 0; i < HANG_GUARD_MS / 10 &&
			atomic_load(&w.sink.n) < sizeof(ev) - 1;
	     i++)
		clock_sleep_ms(10);
	atomic_store(&w.cancel, true);
	done = watcher_wait(&w, HANG_GUARD_MS);
	if (!done)
		unit_fail(__FILE__, __LINE__,
			  "apiclient_do ignored its cancel flag");
	pthread_join(th, NULL);
	CHECK_ERR(w.e, ERR_SHUTDOWN);
	CHECK_INT_EQ(w.sink.data.len, sizeof(ev) - 1);
	CHECK_STR_EQ(w.sink.data.data, ev);
	CHECK_INT_EQ(w.res.attempts, 1);
	CHECK_INT_EQ(fake_http_count(fx.srv), 1);
	buf_release(&w.sink.data);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	teardown();
}

/*
 * A watch body cut inside tokens and across events; the server holds the
 * rest back until on_data has seen the first part, which proves the bytes
 * are streamed as they arrive rather than buffered to the end.
 */
static void stream_chunks_split_anywhere(void)
{
	static const char *const parts[] = {
		"{\"type\":\"ADD",
		"ED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"we",
		"b-1\",\"resourceVersion\":\"1\"}}}\n{\"type\":\"MODIFIED\",\"obj",
		"ect\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-1\",",
		"\"resourceVersion\":\"2\"}}}\n",
	};
	struct fake_http_response *r;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct sink sink = { .release_at = 0 };
	struct buf whole;

	setup();
	buf_init(&sink.data, 0);
	atomic_init(&sink.n, 0);
	buf_init(&whole, 0);
	r = fake_http_response_new(200);
	fake_http_response_header(r, "Audit-Id: 5c3d-watch");
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		fake_http_response_chunk(r, parts[i], strlen(parts[i]));
		CHECK_OK(buf_adds(&whole, parts[i]));
		if (i == 1) {
			sink.release_at = whole.len;
			fake_http_response_wait(r);
		} else {
			fake_http_response_pause(r, 5);
		}
	}
	fake_http_push(fx.srv, r);
	CHECK_OK(apiclient_do(fx.api,
			      &(struct apiclient_request){
				      .method = APICLIENT_GET,
				      .path = "/api/v1/pods",
				      .query = "watch=1",
				      .watch = true,
				      /* Fails rather than hangs if on_data only
				       * runs at the end of the body. */
				      .timeout_ms = HANG_GUARD_MS,
				      .on_data = sink_data,
				      .ctx = &sink,
			      },
			      NULL, &res, &eb));
	CHECK(sink.released);
	CHECK_INT_EQ(sink.data.len, whole.len);
	CHECK_STR_EQ(sink.data.data, whole.data);
	CHECK_STR_EQ(res.audit_id, "5c3d-watch");
	CHECK_INT_EQ(res.http_code, 200);
	buf_release(&whole);
	buf_release(&sink.data);
	teardown();
}

/* on_data failing ends the transfer with its error and no retry. */
static void stream_sink_error_stops(void)
{
	struct fake_http_response *r;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct sink sink = { .release_at = 0 };

	setup();
	buf_init(&sink.data, 4); /* too small: buf_add fails */
	atomic_init(&sink.n, 0);
	r = fake_http_response_new(200);
	fake_http_response_chunk(r, "{\"type\":\"ADDED\"}\n", 17);
	fake_http_push(fx.srv, r);
	CHECK_ERR(apiclient_do(fx.api,
			       &(struct apiclient_request){
				       .method = APICLIENT_GET,
				       .path = "/api/v1/pods",
				       .on_data = sink_data,
				       .ctx = &sink,
			       },
			       NULL, &res, &eb),
		  ERR_TOO_LARGE);
	CHECK_INT_EQ(res.attempts, 1);
	CHECK_INT_EQ(fake_http_count(fx.srv), 1);
	buf_release(&sink.data);
	teardown();
}

/* ---- Whole collections ------------------------------------------------- */

static void push_pod_page(const char *name, const char *cont)
{
	char *pod = pod_json(name, "7");
	char *body = xasprintf("{\"kind\":\"PodList\",\"apiVersion\":\"v1\","
			       "\"metadata\":{\"resourceVersion\":\"100\","
			       "\"continue\":\"%s\"},\"items\":[%s]}",
			       cont, pod);

	fake_http_push_json(fx.srv, 200, body);
	free(body);
	free(pod);
}

static void list_pages_and_restarts_on_expired_continue(void)
{
	struct apiclient_list_options o = {KUBE_KIND_POD, "default", "app=web",
					   NULL};
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_list l;
	char *q;

	setup();
	push_pod_page("old-0", "c1");
	push_status(410, "Expired", "The provided continue parameter is too old",
		    NULL);
	push_pod_page("web-0", "c2");
	push_pod_page("web-1", "");
	CHECK_OK(apiclient_list(fx.api, &o, &l, &eb));
	/* The page of the expired snapshot is dropped, not merged. */
	CHECK_INT_EQ(l.n, 2);
	CHECK_STR_EQ(l.items[0]->meta.name, "web-0");
	CHECK_STR_EQ(l.items[1]->meta.name, "web-1");
	CHECK_STR_EQ(l.rv, "100");
	CHECK_INT_EQ(fake_http_count(fx.srv), 4);
	CHECK_STR_EQ(fake_http_request(fx.srv, 0)->path,
		     "/api/v1/namespaces/default/pods");
	q = fake_http_query_param(fake_http_request(fx.srv, 0), "limit");
	CHECK_STR_EQ(q, "500");
	free(q);
	CHECK_NULL(strstr(fake_http_request(fx.srv, 0)->query, "continue"));
	CHECK_NULL(strstr(fake_http_request(fx.srv, 0)->query,
			  "resourceVersion"));
	CHECK_CONTAINS(fake_http_request(fx.srv, 1)->query, "continue=c1");
	CHECK_NULL(strstr(fake_http_request(fx.srv, 2)->query, "continue"));
	CHECK_CONTAINS(fake_http_request(fx.srv, 3)->query, "continue=c2");
	CHECK_CONTAINS(fake_http_request(fx.srv, 3)->query,
		       "labelSelector=app%3Dweb");
	apiclient_list_release(&l);
	teardown();
}

static const struct unit_case cases[] = {
	UNIT_CASE(status_200_ok),
	UNIT_CASE(status_201_created),
	UNIT_CASE(status_400_bad_request),
	UNIT_CASE(status_401_unauthorized),
	UNIT_CASE(status_403_forbidden),
	UNIT_CASE(status_404_not_found),
	UNIT_CASE(status_409_conflict),
	UNIT_CASE(status_409_already_exists),
	UNIT_CASE(status_410_gone),
	UNIT_CASE(status_422_invalid),
	UNIT_CASE(status_429_too_many),
	UNIT_CASE(status_500_internal),
	UNIT_CASE(status_503_unavailable),
	UNIT_CASE(status_504_timeout),
	UNIT_CASE(status_not_json),
	UNIT_CASE(retry_429_honours_retry_after),
	UNIT_CASE(post_503_without_retry_after_not_retried),
	UNIT_CASE(post_503_with_retry_after_retried),
	UNIT_CASE(get_500_retried_until_max_attempts),
	UNIT_CASE(transport_error_get_retried),
	UNIT_CASE(transport_error_post_not_retried),
	UNIT_CASE(unauthorized_rereads_token_file),
	UNIT_CASE(unauthorized_twice_retried_once),
	UNIT_CASE(patch_sends_one_content_type),
	UNIT_CASE(put_sends_json_content_type),
	UNIT_CASE(user_agent_and_auth),
	UNIT_CASE(query_encoding),
	UNIT_CASE(rate_limiter_throttles),
	UNIT_CASE(watch_not_throttled),
	UNIT_CASE(delete_preconditions_404_ok),
	UNIT_CASE(delete_precondition_conflict),
	UNIT_CASE(cancel_aborts_held_stream),
	UNIT_CASE(stream_chunks_split_anywhere),
	UNIT_CASE(stream_sink_error_stops),
	UNIT_CASE(list_pages_and_restarts_on_expired_continue),
};

int main(int argc, char **argv)
{
	int rc;

	apiclient_global_init();
	rc = unit_main(argc, argv, "apiclient", cases, ARRAY_SIZE(cases));
	teardown();
	apiclient_global_cleanup();
	return rc;
}
