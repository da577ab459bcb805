/*
 * Unit tests of webhook: the AdmissionReview codec (tests/data/admission),
 * the JSON Patch builder, the configuration printer, and the HTTPS server
 * on 127.0.0.1 with a throwaway CA made by the openssl command line at
 * start. Clients are libcurl (CAINFO = the test CA) and, for byte-level
 * misbehaviour, raw sockets and OpenSSL. Every wait is bounded.
 */
#include "base.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kube.h"
#include "unit.h"

static char tmpdir[64];
static char ca_file[128], cert_file[128], key_file[128];

/* ---- Fixture: certificates and a server ------------------------------ */

static int run(const char *fmt, ...) ATTR_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* A server key and certificate signed by the test CA, SAN 127.0.0.1. */
static int make_server_cert(const char *dir, int serial)
{
	return run("cd %s && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout new.key -out new.csr -subj /CN=127.0.0.1 2>/dev/null"
		   " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
		   " && openssl x509 -req -in new.csr -CA ca.crt -CAkey ca.key -set_serial %d -days 1 -extfile ext.cnf -out new.crt 2>/dev/null",
		   dir, serial);
}

static void make_certs(void)
{
	char tmpl[] = "/tmp/test-webhook-XXXXXX";

	BUG_ON(!mkdtemp(tmpl));
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	(void)snprintf(ca_file, sizeof(ca_file), "%s/ca.crt", tmpdir);
	(void)snprintf(cert_file, sizeof(cert_file), "%s/tls.crt", tmpdir);
	(void)snprintf(key_file, sizeof(key_file), "%s/tls.key", tmpdir);
	BUG_ON(run("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -subj /CN=test-ca -days 1 2>/dev/null",
		   tmpdir) != 0);
	BUG_ON(make_server_cert(tmpdir, 1001) != 0);
	BUG_ON(run("cd %s && mv new.crt tls.crt && mv new.key tls.key",
		   tmpdir) != 0);
}

static void remove_certs(void)
{
	if (tmpdir[0])
		(void)run("rm -rf %s", tmpdir);
}

static atomic_int mutate_calls;
static atomic_bool slow_started;

/* CREATE: patch clusterIP(s) and a nodePort; name "deny": deny; name
 * "slow": take 300 ms (stop with a request in flight). */
static void test_mutate(void *ctx, const struct webhook_request *req,
			struct webhook_response *resp)
{
	static const char *const ips[] = {"10.96.0.10"};

	(void)ctx;
	atomic_fetch_add(&mutate_calls, 1);
	if (str_eq(req->name, "deny")) {
		webhook_response_deny(resp, 422, "Invalid",
				      "spec.clusterIP: %s is out of range",
				      "1.2.3.4");
		return;
	}
	if (str_eq(req->name, "slow")) {
		atomic_store(&slow_started, true);
		clock_sleep_ms(300);
	}
	if (req->operation != WEBHOOK_OP_CREATE)
		return;
	webhook_patch_str(&resp->patch, WEBHOOK_PATCH_ADD, "/spec/clusterIP",
			  ips[0]);
	webhook_patch_strv(&resp->patch, WEBHOOK_PATCH_ADD, "/spec/clusterIPs",
			   ips, 1);
	webhook_patch_int(&resp->patch, WEBHOOK_PATCH_ADD,
			  "/spec/ports/0/nodePort", 30080);
}

static struct webhook *start(struct webhook_options *o)
{
	struct webhook *w = NULL;
	struct errbuf eb = ERRBUF_INIT;

	o->bind_address = "127.0.0.1";
	o->cert_file = cert_file;
	o->key_file = key_file;
	o->mutate = test_mutate;
	if (!o->idle_timeout_ms)
		o->idle_timeout_ms = 2000;
	if (webhook_new(o, &w, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "webhook_new: %s", eb.msg);
	CHECK(webhook_port(w) > 0);
	return w;
}

/* ---- Clients ----------------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == ERR_OK ? size * n : 0;
}

static CURL *client(void)
{
	CURL *c = curl_easy_init();

	BUG_ON(!c);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	return c;
}

/* One request; returns the HTTP status (0 on transport failure). */
static long request(CURL *c, int port, const char *path, const char *body,
		    size_t len, struct buf *out)
{
	char url[128];
	long status = 0;
	struct curl_slist *h = curl_slist_append(NULL,
						  "Content-Type: application/json");

	h = curl_slist_append(h, "Expect:");
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	buf_reset(out);
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body) {
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)len);
	} else {
		(void)curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return status;
}

static char *review(const char *op, const char *uid, const char *name)
{
	return xasprintf("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
			 "\"request\":{\"uid\":\"%s\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Service\"},"
			 "\"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"services\"},"
			 "\"name\":\"%s\",\"namespace\":\"default\",\"operation\":\"%s\","
			 "\"object\":{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\"},"
			 "\"spec\":{\"ports\":[{\"port\":80}],\"type\":\"NodePort\"}},\"oldObject\":null,\"dryRun\":false}}",
			 uid, name, op, name);
}

/* A raw TCP connection to the server (plain bytes, no TLS). */
static int tcp_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	BUG_ON(fd < 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	BUG_ON(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0);
	return fd;
}

/* Waits up to ms for the peer to close fd (reads and drops bytes). */
static bool closed_within(int fd, int ms)
{
	int64_t end = clock_mono_ns() + (int64_t)ms * 1000000;
	char tmp[4096];

	while (clock_mono_ns() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (poll(&pfd, 1, 50) > 0 && recv(fd, tmp, sizeof(tmp), 0) <= 0)
			return true;
	}
	return false;
}

/* A TLS client on fd; the handshake is done. */
static SSL *tls_connect(SSL_CTX **ctx, int fd)
{
	SSL *ssl;

	*ctx = SSL_CTX_new(TLS_client_method());
	BUG_ON(!*ctx);
	BUG_ON(SSL_CTX_load_verify_locations(*ctx, ca_file, NULL) != 1);
	SSL_CTX_set_verify(*ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(*ctx);
	BUG_ON(!ssl);
	(void)SSL_set_fd(ssl, fd);
	BUG_ON(SSL_connect(ssl) != 1);
	return ssl;
}

static long server_serial(int port)
{
	SSL_CTX *ctx;
	int fd = tcp_connect(port);
	SSL *ssl = tls_connect(&ctx, fd);
	X509 *cert = SSL_get1_peer_certificate(ssl);
	long serial = cert ? ASN1_INTEGER_get(X509_get_serialNumber(cert)) : -1;

	X509_free(cert);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(fd);
	return serial;
}

/* ---- Codec ------------------------------------------------------------- */

static void test_decode_create(void)
{
	struct webhook_request r;
	struct errbuf eb = ERRBUF_INIT;
	size_t n;
	char *data = unit_read_data("admission/create.json", &n);
	const struct kube_service *s;

	CHECK_OK(webhook_request_decode(data, n, &r, &eb));
	CHECK_STR_EQ(r.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
	CHECK_INT_EQ(r.operation, WEBHOOK_OP_CREATE);
	CHECK_STR_EQ(r.kind, "Service");
	CHECK_STR_EQ(r.kind_group, "");
	CHECK_STR_EQ(r.kind_version, "v1");
	CHECK_STR_EQ(r.resource, "services");
	CHECK_STR_EQ(r.sub_resource, "");
	CHECK_STR_EQ(r.name, "web");
	CHECK_STR_EQ(r.namespace, "default");
	CHECK(r.dry_run);
	CHECK_NULL(r.old_object);
	CHECK_NOT_NULL(r.object);
	s = kube_service(r.object);
	CHECK_STR_EQ(s->obj.meta.name, "web");
	CHECK_NULL(s->cluster_ip);
	CHECK_INT_EQ(s->n_ports, 2);
	CHECK_INT_EQ(s->ports[1].port, 53);
	webhook_request_release(&r);
	free(data);
}

static void test_decode_update_delete(void)
{
	struct webhook_request r;
	struct errbuf eb = ERRBUF_INIT;
	size_t n;
	char *data = unit_read_data("admission/update.json", &n);

	CHECK_OK(webhook_request_decode(data, n, &r, &eb));
	CHECK_INT_EQ(r.operation, WEBHOOK_OP_UPDATE);
	CHECK(!r.dry_run);
	CHECK_INT_EQ(kube_service(r.object)->type, KUBE_SVC_NODE_PORT);
	CHECK_NULL(kube_service(r.object)->cluster_ip);
	CHECK_STR_EQ(kube_service(r.old_object)->cluster_ip, "10.96.45.12");
	CHECK_INT_EQ(kube_service(r.old_object)->n_cluster_ips, 2);
	webhook_request_release(&r);
	free(data);
	data = unit_read_data("admission/delete.json", &n);
	CHECK_OK(webhook_request_decode(data, n, &r, &eb));
	CHECK_INT_EQ(r.operation, WEBHOOK_OP_DELETE);
	CHECK_NULL(r.object);
	CHECK_STR_EQ(kube_service(r.old_object)->obj.meta.uid,
		     "b7e6d5c4-a3b2-4c1d-9e0f-1a2b3c4d5e6f");
	webhook_request_release(&r);
	free(data);
}

static void check_bad(const char *json, const char *want)
{
	struct webhook_request r;
	struct errbuf eb = ERRBUF_INIT;

	memset(&r, 0x5a, sizeof(r));
	CHECK(webhook_request_decode(json, strlen(json), &r, &eb) != ERR_OK);
	CHECK_CONTAINS(eb.msg, want);
	CHECK(r.uid == (char *)0x5a5a5a5a5a5a5a5aULL); /* out not written */
}

#define HEAD "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","

static void test_decode_errors(void)
{
	check_bad("", "not valid JSON");
	check_bad("{\"request\":", "not valid JSON");
	check_bad("[1]", "expected an object");
	check_bad("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
		  "apiVersion");
	check_bad(HEAD "\"request\":{\"operation\":\"CREATE\"}}", "request.uid: missing");
	check_bad(HEAD "\"request\":{\"uid\":\"u\",\"operation\":\"PATCH\"}}",
		  "request.operation");
	check_bad(HEAD "\"request\":{\"uid\":7}}", "request.uid: expected a string");
	check_bad(HEAD "\"request\":{\"uid\":\"u\",\"dryRun\":\"yes\"}}",
		  "request.dryRun: expected a boolean");
	check_bad(HEAD "\"request\":{\"uid\":\"u\",\"kind\":\"Service\"}}",
		  "request.kind: expected an object");
	check_bad(HEAD "\"request\":{\"uid\":\"u\",\"kind\":{\"group\":[]}}}",
		  "request.kind.group: expected a string");
	check_bad(HEAD "\"request\":{\"uid\":\"u\",\"object\":[1]}}",
		  "request.object: expected an object");
	check_bad(HEAD "\"request\":{\"uid\":\"u\",\"operation\":\"CREATE\","
		       "\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Service\"},"
		       "\"object\":{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[{\"port\":\"80\"}]}}}}",
		  "request.object");
	check_bad(HEAD "\"request\":{\"uid\":\"u\"}", "not valid JSON");
	check_bad(HEAD "\"kind\":\"AdmissionReview\"}", "request: missing");
}

static void test_decode_skips_unknown(void)
{
	const char *json = HEAD "\"request\":{\"uid\":\"u\",\"operation\":\"CONNECT\","
			   "\"kind\":{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"},"
			   "\"userInfo\":{\"extra\":{\"a\":[[{\"uid\":1}]]}},"
			   "\"object\":{\"spec\":\"not a service\"}}}";
	struct webhook_request r;

	CHECK_OK(webhook_request_decode(json, strlen(json), &r, NULL));
	CHECK_INT_EQ(r.operation, WEBHOOK_OP_CONNECT);
	CHECK_NULL(r.object); /* not a core/v1 Service: not decoded */
	CHECK_STR_EQ(r.kind_group, "apps");
	webhook_request_release(&r);
}

static char *patch_of(const char *response)
{
	const char *p = strstr(response, "\"patch\":\"");
	const char *end;
	struct buf out;

	if (!p)
		return NULL;
	p += 9;
	end = strchr(p, '"');
	buf_init(&out, 0);
	char *s;

	BUG_ON(base64_decode(&out, p, (size_t)(end - p)) != ERR_OK);
	s = buf_detach(&out, NULL);
	buf_release(&out);
	return s;
}

#define PATCH_WANT                                                            \
	"[{\"op\":\"add\",\"path\":\"/spec/clusterIP\",\"value\":\"10.96.0.10\"},"  \
	"{\"op\":\"add\",\"path\":\"/spec/clusterIPs\",\"value\":[\"10.96.0.10\"]}," \
	"{\"op\":\"add\",\"path\":\"/spec/ports/0/nodePort\",\"value\":30080}]"

static void test_response_encode(void)
{
	struct webhook_response r;
	struct buf out;
	char *patch;

	buf_init(&out, 0);
	webhook_response_init(&r);
	webhook_response_encode(&r, "u-1", &out);
	CHECK_STR_EQ(out.data, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":{\"uid\":\"u-1\",\"allowed\":true}}");
	buf_reset(&out);
	{
		char name[] = "x";
		struct webhook_request req = {.name = name,
					      .operation = WEBHOOK_OP_CREATE};

		test_mutate(NULL, &req, &r);
	}
	webhook_patch_str(&r.patch, WEBHOOK_PATCH_REPLACE, "/metadata/annotations/a~1b", "q\"");
	webhook_response_warn(&r, "picked %s", "10.96.0.10");
	webhook_response_encode(&r, "u-2", &out);
	CHECK_CONTAINS(out.data, "\"uid\":\"u-2\",\"allowed\":true,\"patchType\":\"JSONPatch\",\"patch\":\"");
	CHECK_CONTAINS(out.data, "\"warnings\":[\"picked 10.96.0.10\"]}}");
	patch = patch_of(out.data);
	CHECK_CONTAINS(patch, "{\"op\":\"replace\",\"path\":\"/metadata/annotations/a~1b\",\"value\":\"q\\\"\"}]");
	free(patch);
	buf_reset(&out);
	webhook_response_deny(&r, 422, "Invalid", "spec.clusterIP: bad");
	webhook_response_encode(&r, "u-3", &out);
	CHECK_CONTAINS(out.data, "\"allowed\":false,\"status\":{\"code\":422,\"message\":\"spec.clusterIP: bad\",\"reason\":\"Invalid\"}");
	CHECK(!strstr(out.data, "patch"));
	webhook_response_release(&r);
	buf_release(&out);
}

static void test_config_print(void)
{
	struct webhook_config_options o = {.service_name = "svc-controllers",
					   .service_namespace = "kube-system",
					   .ca_file = ca_file};
	struct errbuf eb = ERRBUF_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	CHECK_OK(webhook_config_print(&o, f, &eb));
	(void)fclose(f);
	CHECK_CONTAINS(text, "kind: MutatingWebhookConfiguration\n");
	CHECK_CONTAINS(text, "        namespace: \"kube-system\"\n        name: \"svc-controllers\"\n        path: \"/mutate\"\n        port: 443\n");
	CHECK_CONTAINS(text, "      caBundle: \"LS0tLS1CRUdJTi");
	CHECK_CONTAINS(text, "operations: [\"CREATE\", \"UPDATE\"]");
	CHECK_CONTAINS(text, "sideEffects: NoneOnDryRun\n");
	CHECK_CONTAINS(text, "reinvocationPolicy: IfNeeded\n");
	CHECK_CONTAINS(text, "failurePolicy: Ignore\n");
	CHECK_CONTAINS(text, "timeoutSeconds: 10\n");
	CHECK_CONTAINS(text, "matchPolicy: Equivalent\n");
	free(text);
	o.url = "http://x";
	f = open_memstream(&text, &len);
	CHECK_ERR(webhook_config_print(&o, f, &eb), ERR_INVALID);
	o.service_name = NULL;
	CHECK_ERR(webhook_config_print(&o, f, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--url");
	o.url = "https://10.0.0.1:8443/mutate";
	o.failure_policy = WEBHOOK_FAILURE_FAIL;
	CHECK_OK(webhook_config_print(&o, f, &eb));
	(void)fclose(f);
	CHECK_CONTAINS(text, "      url: \"https://10.0.0.1:8443/mutate\"\n");
	CHECK_CONTAINS(text, "failurePolicy: Fail\n");
	free(text);
	o.ca_file = key_file;
	CHECK_ERR(webhook_config_print(&o, stdout, &eb), ERR_IO);
	CHECK_CONTAINS(eb.msg, "no PEM certificate");
}

/* ---- Server ------------------------------------------------------------ */

static void test_server_mutate_keepalive(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start(&o);
	CURL *c = client();
	struct buf out;
	long connects = -1;

	buf_init(&out, 0);
	for (int i = 0; i < 5; i++) {
		char uid[32];
		char *body, *patch;

		(void)snprintf(uid, sizeof(uid), "uid-%d", i);
		body = review("CREATE", uid, "web");
		CHECK_INT_EQ(request(c, webhook_port(w), "/mutate?timeout=10s",
				     body, strlen(body), &out), 200);
		CHECK_CONTAINS(out.data, uid);
		/* One document per answer, not the connection's history. */
		CHECK_NULL(strstr(strstr(out.data, "\"response\"") + 1,
				  "\"response\""));
		patch = patch_of(out.data);
		CHECK_STR_EQ(patch, PATCH_WANT);
		free(patch);
		free(body);
		(void)curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
		if (i)
			CHECK_INT_EQ(connects, 0); /* the connection was reused */
	}
	{
		char *body = review("UPDATE", "uid-d", "deny");

		CHECK_INT_EQ(request(c, webhook_port(w), "/mutate", body,
				     strlen(body), &out), 200);
		CHECK_CONTAINS(out.data, "\"uid\":\"uid-d\",\"allowed\":false");
		CHECK_CONTAINS(out.data, "\"message\":\"spec.clusterIP: 1.2.3.4 is out of range\"");
		free(body);
	}
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

static void test_server_health_ready(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start(&o);
	CURL *c = client();
	struct buf out;
	int port = webhook_port(w);

	buf_init(&out, 0);
	CHECK_INT_EQ(request(c, port, "/healthz", NULL, 0, &out), 200);
	CHECK_STR_EQ(out.data, "ok\n");
	CHECK_INT_EQ(request(c, port, "/readyz", NULL, 0, &out), 503);
	webhook_set_ready(w, true);
	CHECK_INT_EQ(request(c, port, "/readyz", NULL, 0, &out), 200);
	webhook_set_ready(w, false);
	CHECK_INT_EQ(request(c, port, "/readyz", NULL, 0, &out), 503);
	CHECK_INT_EQ(request(c, port, "/nope", NULL, 0, &out), 404);
	CHECK_INT_EQ(request(c, port, "/mutate", NULL, 0, &out), 405);
	CHECK_INT_EQ(request(c, port, "/healthz", NULL, 0, &out), 200);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

static void test_server_bad_requests(void)
{
	struct webhook_options o = {.max_body = 65536};
	struct webhook *w = start(&o);
	CURL *c = client();
	struct buf out;
	int port = webhook_port(w);
	char *big = xmalloc(100000);

	buf_init(&out, 0);
	memset(big, ' ', 100000);
	CHECK_INT_EQ(request(c, port, "/mutate", big, 100000, &out), 413);
	CHECK_INT_EQ(request(c, port, "/mutate", "{\"apiVersion\":", 14, &out), 400);
	CHECK_CONTAINS(out.data, "not valid JSON");
	CHECK_INT_EQ(request(c, port, "/mutate", HEAD "\"request\":{}}", strlen(HEAD) + 13, &out), 400);
	CHECK_CONTAINS(out.data, "request.uid: missing");
	CHECK_INT_EQ(request(c, port, "/healthz", NULL, 0, &out), 200);
	free(big);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

struct chunked_src {
	const char *p;
	size_t left;
};

static size_t read_src(char *dst, size_t size, size_t n, void *arg)
{
	struct chunked_src *s = arg;
	size_t k = MIN(MIN(size * n, s->left), 100); /* many small chunks */

	memcpy(dst, s->p, k);
	s->p += k;
	s->left -= k;
	return k;
}

static void test_server_chunked(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start(&o);
	CURL *c = client();
	struct buf out;
	char *body = review("CREATE", "uid-chunked", "web");
	struct chunked_src src = {body, 0};
	struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	char url[64];
	long status = 0;

	src.left = strlen(body);
	buf_init(&out, 0);
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d/mutate", webhook_port(w));
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_POST, 1L);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, read_src);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, &src);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	CHECK_INT_EQ(curl_easy_perform(c), CURLE_OK);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	CHECK_INT_EQ(status, 200);
	CHECK_CONTAINS(out.data, "uid-chunked");
	curl_slist_free_all(h);
	free(body);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

static void test_server_slow_clients(void)
{
	struct webhook_options o = {.idle_timeout_ms = 300,
				    .request_timeout_ms = 1000};
	struct webhook *w = start(&o);
	int port = webhook_port(w);
	int fd = tcp_connect(port);
	SSL_CTX *ctx;
	SSL *ssl;
	bool dropped = false;

	/* Silent before the handshake: dropped after the idle timeout. */
	CHECK(closed_within(fd, 3000));
	(void)close(fd);
	/* Trickling a header one byte at a time: cut at the request deadline. */
	fd = tcp_connect(port);
	ssl = tls_connect(&ctx, fd);
	for (int i = 0; i < 60 && !dropped; i++) {
		dropped = SSL_write(ssl, "G", 1) <= 0;
		clock_sleep_ms(100);
	}
	CHECK(dropped || closed_within(fd, 3000));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(fd);
	ERR_clear_error();
	/* Plain HTTP on the TLS port: the server drops it and lives on. */
	fd = tcp_connect(port);
	CHECK(send(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 34, MSG_NOSIGNAL) == 34);
	CHECK(closed_within(fd, 3000));
	(void)close(fd);
	{
		CURL *c = client();
		struct buf out;

		buf_init(&out, 0);
		CHECK_INT_EQ(request(c, port, "/healthz", NULL, 0, &out), 200);
		buf_release(&out);
		curl_easy_cleanup(c);
	}
	webhook_free(w);
}

struct load {
	int port;
	int id;
	int ok;
};

static void *load_main(void *arg)
{
	struct load *l = arg;
	CURL *c = client();
	struct buf out;

	buf_init(&out, 0);
	for (int i = 0; i < 50; i++) {
		char uid[32], *body;

		(void)snprintf(uid, sizeof(uid), "t%d-%d", l->id, i);
		body = review("CREATE", uid, "web");
		if (request(c, l->port, "/mutate", body, strlen(body), &out) == 200 &&
		    strstr(out.data, uid))
			l->ok++;
		free(body);
	}
	buf_release(&out);
	curl_easy_cleanup(c);
	return NULL;
}

static void test_server_concurrent(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start(&o);
	pthread_t t[8];
	struct load l[8];

	for (int i = 0; i < 8; i++) {
		l[i] = (struct load){.port = webhook_port(w), .id = i};
		BUG_ON(pthread_create(&t[i], NULL, load_main, &l[i]) != 0);
	}
	for (int i = 0; i < 8; i++) {
		(void)pthread_join(t[i], NULL);
		CHECK_INT_EQ(l[i].ok, 50);
	}
	webhook_free(w);
}

static void test_server_cert_reload(void)
{
	struct webhook_options o = {.reload_interval_ms = 100};
	struct webhook *w = start(&o);
	int port = webhook_port(w);

	CHECK_INT_EQ(server_serial(port), 1001);
	CHECK_INT_EQ(make_server_cert(tmpdir, 2002), 0);
	/* Rename, as a Secret volume swaps its files: a new inode. */
	CHECK_INT_EQ(run("cd %s && mv new.key tls.key && mv new.crt tls.crt", tmpdir), 0);
	for (int i = 0; i < 100 && webhook_reloads(w) == 0; i++)
		clock_sleep_ms(50);
	CHECK(webhook_reloads(w) >= 1);
	CHECK_INT_EQ(server_serial(port), 2002);
	webhook_free(w);
}

struct inflight {
	int port;
	long status;
};

static void *inflight_main(void *arg)
{
	struct inflight *f = arg;
	CURL *c = client();
	struct buf out;
	char *body = review("CREATE", "uid-slow", "slow");

	buf_init(&out, 0);
	f->status = request(c, f->port, "/mutate", body, strlen(body), &out);
	if (!strstr(out.data, "uid-slow"))
		f->status = -1;
	free(body);
	buf_release(&out);
	curl_easy_cleanup(c);
	return NULL;
}

static void test_server_stop_inflight(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start(&o);
	struct inflight f = {.port = webhook_port(w)};
	pthread_t t;
	int64_t t0;

	atomic_store(&slow_started, false);
	BUG_ON(pthread_create(&t, NULL, inflight_main, &f) != 0);
	for (int i = 0; i < 200 && !atomic_load(&slow_started); i++)
		clock_sleep_ms(10);
	CHECK(atomic_load(&slow_started));
	t0 = clock_mono_ns();
	webhook_stop(w);
	CHECK(clock_mono_ns() - t0 < (int64_t)5000 * 1000000);
	(void)pthread_join(t, NULL);
	CHECK_INT_EQ(f.status, 200);
	webhook_stop(w); /* idempotent */
	webhook_free(w);
}

/* ---- Keep-alive connections are parked, never closed because busy --- */

/* Bounds every blocking read on a raw test socket. */
static void set_read_timeout(int fd)
{
	struct timeval tv = {.tv_sec = 5};

	BUG_ON(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0);
}

/* GET /healthz on a raw connection (TLS when ssl is set); true on "ok". */
static bool raw_healthz(int fd, SSL *ssl)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	int n = (int)sizeof(req) - 1;
	char got[1024];
	size_t len = 0;

	if (ssl ? SSL_write(ssl, req, n) != n
		: send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return false;
	while (len < sizeof(got) - 1) {
		size_t room = sizeof(got) - 1 - len;
		int r = ssl ? SSL_read(ssl, got + len, (int)room)
			    : (int)recv(fd, got + len, room, 0);

		if (r <= 0)
			break;
		len += (size_t)r;
		got[len] = 0;
		if (strstr(got, "\r\n\r\nok\n"))
			return strncmp(got, "HTTP/1.1 200 ", 13) == 0 &&
			       strstr(got, "Connection: keep-alive") != NULL;
	}
	ERR_clear_error();
	return false;
}

/* Waits up to ms for a raw read of fd to return 0 (the server closed it
 * cleanly), dropping bytes before that (a TLS close_notify). */
static bool eof_within(int fd, int ms)
{
	int64_t end = clock_mono_ns() + (int64_t)ms * 1000000;
	char tmp[4096];

	while (clock_mono_ns() < end) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = recv(fd, tmp, sizeof(tmp), 0);
		if (r <= 0)
			return r == 0;
	}
	return false;
}

struct keeper {
	int port;
	int id;
	int ok;	    /* 200 carrying this uid's single, correct answer */
	int reused; /* requests after the first made on the first connection */
};

static bool good_answer(const char *out, const char *uid)
{
	const char *resp = strstr(out, "\"response\"");
	char *patch;
	bool ok;

	if (!strstr(out, uid) || !resp || strstr(resp + 1, "\"response\""))
		return false;
	patch = patch_of(out);
	ok = patch && str_eq(patch, PATCH_WANT);
	free(patch);
	return ok;
}

/* 20 sequential reviews on one easy handle. Every fifth pause is longer
 * than the 200 ms after which the old server dropped an idle connection
 * whenever other clients were queued. */
static void *keeper_main(void *arg)
{
	struct keeper *k = arg;
	CURL *c = client();
	struct buf out;
	unsigned seed = 2654435761u * (unsigned)(k->id + 1);

	buf_init(&out, 0);
	for (int i = 0; i < 20; i++) {
		char uid[32], *body;
		long connects = -1;

		(void)snprintf(uid, sizeof(uid), "k%d-%d", k->id, i);
		body = review("CREATE", uid, "web");
		if (request(c, k->port, "/mutate?timeout=10s", body,
			    strlen(body), &out) == 200 &&
		    good_answer(out.data, uid))
			k->ok++;
		(void)curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
		if (i && connects == 0)
			k->reused++;
		free(body);
		seed = seed * 1103515245u + 12345u;
		clock_sleep_ms(i % 5 == 4 ? 250 : (seed >> 16) % 10);
	}
	buf_release(&out);
	curl_easy_cleanup(c);
	return NULL;
}

/* More keep-alive clients than workers, as the apiserver does: each keeps
 * its one connection throughout, so the server never closed one it had
 * not announced closing. */
static void test_server_keepalive_many_clients(void)
{
	struct webhook_options o = {.workers = 2};
	struct webhook *w = start(&o);
	pthread_t t[8];
	struct keeper k[8];

	for (int i = 0; i < 8; i++) {
		k[i] = (struct keeper){.port = webhook_port(w), .id = i};
		BUG_ON(pthread_create(&t[i], NULL, keeper_main, &k[i]) != 0);
	}
	for (int i = 0; i < 8; i++)
		(void)pthread_join(t[i], NULL);
	for (int i = 0; i < 8; i++) {
		CHECK_INT_EQ(k[i].ok, 20);
		CHECK_INT_EQ(k[i].reused, 19);
	}
	webhook_free(w);
}

/* With one worker, an idle keep-alive connection does not hold it: other
 * clients are served and the idle one stays open and usable. A parked
 * connection does not hold up webhook_stop either. */
static void test_server_parked_connection(void)
{
	struct webhook_options o = {.workers = 1, .idle_timeout_ms = 60000};
	struct webhook *w = start(&o);
	int port = webhook_port(w);
	int fd = tcp_connect(port);
	SSL_CTX *ctx;
	SSL *ssl;
	CURL *c = client();
	struct buf out;
	int64_t t0;

	set_read_timeout(fd);
	ssl = tls_connect(&ctx, fd);
	buf_init(&out, 0);
	CHECK(raw_healthz(fd, ssl));
	for (int i = 0; i < 3; i++)
		CHECK_INT_EQ(request(c, port, "/healthz", NULL, 0, &out), 200);
	CHECK(raw_healthz(fd, ssl)); /* the same connection, still open */
	t0 = clock_mono_ns();
	webhook_stop(w);
	/* Generous, only so that waiting out the 60 s idle timeout fails. */
	CHECK(clock_mono_ns() - t0 < (int64_t)20000 * 1000000);
	CHECK(eof_within(fd, 5000));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(fd);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

/* Idle past idle_timeout_ms: the server closes the connection (a read
 * returns 0) and serves new clients after. */
static void test_server_idle_timeout(void)
{
	struct webhook_options o = {.workers = 1, .idle_timeout_ms = 300};
	struct webhook *w = start(&o);
	int fd = tcp_connect(webhook_port(w));
	SSL_CTX *ctx;
	SSL *ssl;
	CURL *c = client();
	struct buf out;

	set_read_timeout(fd);
	ssl = tls_connect(&ctx, fd);
	buf_init(&out, 0);
	CHECK(raw_healthz(fd, ssl));
	CHECK(eof_within(fd, 10000));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	(void)close(fd);
	CHECK_INT_EQ(request(c, webhook_port(w), "/healthz", NULL, 0, &out), 200);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

static void test_server_bad_options(void)
{
	struct webhook_options o = {.port = 70000};
	struct webhook *w = NULL;
	struct errbuf eb = ERRBUF_INIT;

	o.cert_file = cert_file;
	o.key_file = key_file;
	o.mutate = test_mutate;
	CHECK_ERR(webhook_new(&o, &w, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--webhook-port");
	o.port = 0;
	o.key_file = ca_file;
	CHECK_ERR(webhook_new(&o, &w, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--tls-private-key-file");
	CHECK_NULL(w);
	webhook_free(NULL);
}

/* ---- Plain HTTP and the GET callback (the operations listener) -------- */

static atomic_int get_calls;

/* /metrics: a fixed page; /echo: path and query; anything else: 404. */
static int test_get(void *ctx, const char *path, const char *query,
		    struct buf *body, const char **content_type)
{
	atomic_fetch_add(&get_calls, 1);
	if (!str_eq(ctx, "ops"))
		return 500; /* checks belong to the test thread */
	if (str_eq(path, "/metrics")) {
		*content_type = "text/plain; version=0.0.4";
		BUG_ON(buf_addf(body, "up 1\n") != ERR_OK);
		return 200;
	}
	if (str_has_prefix(path, "/echo")) {
		*content_type = "application/json";
		BUG_ON(buf_addf(body, "{\"path\":\"%s\",\"query\":\"%s\"}", path,
				query) != ERR_OK);
		return 200;
	}
	BUG_ON(buf_addf(body, "no page %s\n", path) != ERR_OK);
	return 404;
}

/* A plain-HTTP server with the GET callback and no mutate. */
static struct webhook *start_plain(struct webhook_options *o)
{
	struct webhook *w = NULL;
	struct errbuf eb = ERRBUF_INIT;

	o->bind_address = "127.0.0.1";
	o->get = test_get;
	o->ctx = (void *)"ops";
	if (!o->idle_timeout_ms)
		o->idle_timeout_ms = 2000;
	if (webhook_new(o, &w, &eb) != ERR_OK)
		unit_fail(__FILE__, __LINE__, "webhook_new: %s", eb.msg);
	CHECK(webhook_port(w) > 0);
	return w;
}

/* One plain-HTTP request (body: POST, else GET); the status, 0 on a
 * transport failure; ctype (may be NULL) gets the Content-Type. */
static long plain_request(CURL *c, int port, const char *path,
			  const char *body, struct buf *out, struct buf *ctype)
{
	char url[160];
	long status = 0;
	char *ct = NULL;

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	buf_reset(out);
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (body)
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else
		(void)curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(c) == CURLE_OK) {
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		(void)curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	}
	if (ctype) {
		buf_reset(ctype);
		BUG_ON(buf_addf(ctype, "%s", ct ? ct : "") != ERR_OK);
	}
	return status;
}

static void test_plain_health_ready(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start_plain(&o);
	CURL *c = client();
	struct buf out;
	int port = webhook_port(w);
	long connects = -1;

	buf_init(&out, 0);
	atomic_store(&get_calls, 0);
	CHECK_INT_EQ(plain_request(c, port, "/healthz", NULL, &out, NULL), 200);
	CHECK_STR_EQ(out.data, "ok\n");
	CHECK_INT_EQ(plain_request(c, port, "/readyz", NULL, &out, NULL), 503);
	webhook_set_ready(w, true);
	CHECK_INT_EQ(plain_request(c, port, "/readyz", NULL, &out, NULL), 200);
	CHECK_STR_EQ(out.data, "ok\n");
	/* Built in: the callback never saw /healthz or /readyz. */
	CHECK_INT_EQ(atomic_load(&get_calls), 0);
	/* Keep-alive works without TLS too. */
	(void)curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	CHECK_INT_EQ(connects, 0);
	CHECK_INT_EQ(webhook_reloads(w), 0);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

static void test_plain_get_callback(void)
{
	struct webhook_options o = {0};
	struct webhook *w = start_plain(&o);
	CURL *c = client();
	struct buf out, ct;
	int port = webhook_port(w);

	buf_init(&out, 0);
	buf_init(&ct, 0);
	CHECK_INT_EQ(plain_request(c, port, "/metrics", NULL, &out, &ct), 200);
	CHECK_STR_EQ(out.data, "up 1\n");
	CHECK_STR_EQ(ct.data, "text/plain; version=0.0.4");
	CHECK_INT_EQ(plain_request(c, port, "/echo/a/b?x=1&y=2", NULL, &out,
				   &ct), 200);
	CHECK_STR_EQ(out.data, "{\"path\":\"/echo/a/b\",\"query\":\"x=1&y=2\"}");
	CHECK_STR_EQ(ct.data, "application/json");
	CHECK_INT_EQ(plain_request(c, port, "/echo", NULL, &out, NULL), 200);
	CHECK_STR_EQ(out.data, "{\"path\":\"/echo\",\"query\":\"\"}");
	/* The callback's own 404, body and default type. */
	CHECK_INT_EQ(plain_request(c, port, "/nope", NULL, &out, &ct), 404);
	CHECK_STR_EQ(out.data, "no page /nope\n");
	CHECK_STR_EQ(ct.data, "text/plain; charset=utf-8");
	/* No mutate: /mutate does not exist, whatever the method; the
	 * callback answers GETs only. */
	CHECK_INT_EQ(plain_request(c, port, "/mutate", "{}", &out, NULL), 404);
	CHECK_INT_EQ(plain_request(c, port, "/mutate", NULL, &out, NULL), 404);
	CHECK_INT_EQ(plain_request(c, port, "/metrics", "{}", &out, NULL), 404);
	CHECK_INT_EQ(plain_request(c, port, "/healthz", NULL, &out, NULL), 200);
	buf_release(&ct);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

/* Byte-level: a malformed request gets its 400 over plain HTTP too, and
 * a TLS ClientHello to a plain server is just a bad request. */
static void test_plain_bad_requests(void)
{
	static const char bad[] = "GARBAGE\r\n\r\n";
	struct webhook_options o = {0};
	struct webhook *w = start_plain(&o);
	char resp[256] = "";
	int fd = tcp_connect(webhook_port(w));
	ssize_t n;

	CHECK_INT_EQ(send(fd, bad, sizeof(bad) - 1, 0), sizeof(bad) - 1);
	n = recv(fd, resp, sizeof(resp) - 1, 0);
	CHECK(n > 0);
	CHECK(str_has_prefix(resp, "HTTP/1.1 400 "));
	CHECK(closed_within(fd, 3000));
	(void)close(fd);
	webhook_free(w);
}

/* A server with no mutate and no get is still a health endpoint. */
static void test_plain_no_callbacks(void)
{
	struct webhook_options o = {.bind_address = "127.0.0.1"};
	struct webhook *w = NULL;
	struct errbuf eb = ERRBUF_INIT;
	CURL *c = client();
	struct buf out;

	buf_init(&out, 0);
	CHECK_OK(webhook_new(&o, &w, &eb));
	CHECK_INT_EQ(plain_request(c, webhook_port(w), "/healthz", NULL, &out,
				   NULL), 200);
	CHECK_INT_EQ(plain_request(c, webhook_port(w), "/metrics", NULL, &out,
				   NULL), 404);
	CHECK_INT_EQ(plain_request(c, webhook_port(w), "/mutate", "{}", &out,
				   NULL), 404);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

/* The operations listener parks idle connections too: with one worker, a
 * second plain client is served while the first idles, and the idle one
 * is closed after idle_timeout_ms. */
static void test_plain_idle_timeout(void)
{
	struct webhook_options o = {.workers = 1, .idle_timeout_ms = 300};
	struct webhook *w = start_plain(&o);
	int a = tcp_connect(webhook_port(w)), b = tcp_connect(webhook_port(w));

	set_read_timeout(a);
	set_read_timeout(b);
	CHECK(raw_healthz(a, NULL));
	CHECK(raw_healthz(b, NULL));
	CHECK(eof_within(a, 10000));
	CHECK(eof_within(b, 10000));
	(void)close(a);
	(void)close(b);
	webhook_free(w);
}

/* HTTPS with the GET callback: the same pages over TLS. */
static void test_tls_get_callback(void)
{
	struct webhook_options o = {.get = test_get, .ctx = (void *)"ops"};
	struct webhook *w = start(&o);
	CURL *c = client();
	struct buf out;

	buf_init(&out, 0);
	CHECK_INT_EQ(request(c, webhook_port(w), "/metrics", NULL, 0, &out),
		     200);
	CHECK_STR_EQ(out.data, "up 1\n");
	CHECK_INT_EQ(request(c, webhook_port(w), "/healthz", NULL, 0, &out),
		     200);
	buf_release(&out);
	curl_easy_cleanup(c);
	webhook_free(w);
}

/* Only one of cert and key is refused, naming the missing one; the flag
 * names in listen errors are the owner's. */
static void test_half_tls_and_flag_names(void)
{
	struct webhook_options o = {.bind_address = "127.0.0.1"};
	struct webhook *w = NULL;
	struct errbuf eb = ERRBUF_INIT;

	o.cert_file = cert_file;
	CHECK_ERR(webhook_new(&o, &w, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--tls-cert-file requires --tls-private-key-file");
	o.cert_file = NULL;
	o.key_file = key_file;
	CHECK_ERR(webhook_new(&o, &w, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--tls-private-key-file requires --tls-cert-file");
	CHECK_NULL(w);
	o.key_file = NULL;
	o.port = 70000;
	o.bind_flag = "--bind-address";
	o.port_flag = "--secure-port";
	CHECK_ERR(webhook_new(&o, &w, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--bind-address 127.0.0.1 --secure-port 70000");
	CHECK_NULL(w);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_decode_create),
		UNIT_CASE(test_decode_update_delete),
		UNIT_CASE(test_decode_errors),
		UNIT_CASE(test_decode_skips_unknown),
		UNIT_CASE(test_response_encode),
		UNIT_CASE(test_config_print),
		UNIT_CASE(test_server_mutate_keepalive),
		UNIT_CASE(test_server_health_ready),
		UNIT_CASE(test_server_bad_requests),
		UNIT_CASE(test_server_chunked),
		UNIT_CASE(test_server_slow_clients),
		UNIT_CASE(test_server_concurrent),
		UNIT_CASE(test_server_cert_reload),
		UNIT_CASE(test_server_stop_inflight),
		UNIT_CASE(test_server_keepalive_many_clients),
		UNIT_CASE(test_server_parked_connection),
		UNIT_CASE(test_server_idle_timeout),
		UNIT_CASE(test_server_bad_options),
		UNIT_CASE(test_plain_health_ready),
		UNIT_CASE(test_plain_get_callback),
		UNIT_CASE(test_plain_bad_requests),
		UNIT_CASE(test_plain_no_callbacks),
		UNIT_CASE(test_plain_idle_timeout),
		UNIT_CASE(test_tls_get_callback),
		UNIT_CASE(test_half_tls_and_flag_names),
	};
	int rc;

	/* The test's own raw TLS clients write to sockets the server drops. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	make_certs();
	rc = unit_main(argc, argv, "webhook", cases, ARRAY_SIZE(cases));
	remove_certs();
	curl_global_cleanup();
	return rc;
}
