/*
 * it-ops: the binary's operations listener ($SVC_BIN with --bind-address
 * 127.0.0.1 and a free --secure-port, plain HTTP) against the real
 * cluster: /healthz answers while the caches sync, /readyz turns 200 once
 * they have; /metrics parses line by line as Prometheus text and its
 * EndpointSlice counters move with the controller's work;
 * /debug/services/<ns>/<name> gives each selected pod the verdict and
 * reason code the controller acts on and names the slice holding the
 * ready pod; unknown paths are 404; SIGTERM ends the process with 0 and no
 * sanitizer report. A TLS file without its partner exits 2 naming it.
 */
#include "base.h"
#include "itlib.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yajl/yajl_tree.h>

#define MANAGED_BY_DEFAULT "endpointslice-controller.k8s.io"
#define RUN_TIMEOUT_MS	   30000
#define METRICS_TYPE	   "text/plain; version=0.0.4"

/* ---- HTTP ---------------------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == ERR_OK ? size * n : 0;
}

/* GET http://127.0.0.1:port<path>; the status (0: no answer), the body in
 * out and the Content-Type in ctype (may be NULL). */
static long http_get(int port, const char *path, struct buf *out,
		     struct buf *ctype)
{
	CURL *c = curl_easy_init();
	char url[600];
	char *ct = NULL;
	long status = 0;

	BUG_ON(!c);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	buf_reset(out);
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (curl_easy_perform(c) == CURLE_OK) {
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		(void)curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	}
	if (ctype) {
		buf_reset(ctype);
		BUG_ON(buf_adds(ctype, ct ? ct : "") != ERR_OK);
	}
	curl_easy_cleanup(c);
	return status;
}

struct status_wait {
	int port;
	const char *path;
	long want;
	long last;
};

static bool status_is(void *arg)
{
	struct status_wait *w = arg;
	struct buf out;

	buf_init(&out, 0);
	w->last = http_get(w->port, w->path, &out, NULL);
	buf_release(&out);
	return w->last == w->want;
}

static void wait_status(int port, const char *path, long want)
{
	struct status_wait w = {port, path, want, 0};

	if (!it_wait_until(status_is, &w, IT_TIMEOUT_MS))
		unit_fail(__FILE__, __LINE__, "GET %s: %ld, want %ld", path,
			  w.last, want);
}

/* ---- Prometheus text, strictly ------------------------------------------ */

static const char *metric_name_end(const char *p)
{
	if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	return p;
}

/* {name="value",...}: label names and escapes as the format allows. */
static const char *labels_end(const char *p)
{
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		const char *e = metric_name_end(p);

		if (!e || e[0] != '=' || e[1] != '"')
			return NULL;
		for (p = e + 2; *p != '"'; p++) {
			if (*p == '\n' || !*p)
				return NULL;
			if (*p == '\\' && p[1] != '\\' && p[1] != '"' &&
			    p[1] != 'n')
				return NULL;
			if (*p == '\\')
				p++;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

static bool value_ok(const char *v)
{
	char *end;

	if (str_eq(v, "+Inf") || str_eq(v, "-Inf") || str_eq(v, "NaN"))
		return true;
	if (!*v)
		return false;
	(void)strtod(v, &end);
	return *end == '\0';
}

/* The family a sample belongs to: its name, or without a histogram's
 * suffix. */
static bool sample_in_family(const char *name, size_t n, const char *family,
			     bool histogram)
{
	static const char *const sfx[] = {"_bucket", "_sum", "_count"};
	size_t fl = strlen(family);

	if (n == fl && memcmp(name, family, n) == 0)
		return !histogram;
	for (size_t i = 0; histogram && i < ARRAY_SIZE(sfx); i++)
		if (n == fl + strlen(sfx[i]) && memcmp(name, family, fl) == 0 &&
		    memcmp(name + fl, sfx[i], strlen(sfx[i])) == 0)
			return true;
	return false;
}

/* Records why a line was refused; always false. */
static bool refuse(struct buf *why, const char *what, const char *line)
{
	BUG_ON(buf_addf(why, "%s: %s", what, line) != ERR_OK);
	return false;
}

static bool check_comment(const char *line, char *family, size_t cap,
			  bool *histogram, struct buf *why)
{
	bool type = str_has_prefix(line, "# TYPE ");
	const char *name = line + 7, *end;
	size_t n;

	if (!type && !str_has_prefix(line, "# HELP "))
		return refuse(why, "bad comment", line);
	end = metric_name_end(name);
	if (!end || *end != ' ' || (!type && !end[1]))
		return refuse(why, "bad metric name or empty help", line);
	n = (size_t)(end - name);
	if (!type) {
		(void)snprintf(family, cap, "%.*s", (int)n, name);
		*histogram = false;
		return true;
	}
	if (strlen(family) != n || memcmp(family, name, n) != 0)
		return refuse(why, "TYPE without its HELP", line);
	*histogram = str_eq(end + 1, "histogram");
	if (!*histogram && !str_eq(end + 1, "counter") &&
	    !str_eq(end + 1, "gauge"))
		return refuse(why, "bad type", line);
	return true;
}

static bool check_sample(const char *line, const char *family,
			 bool histogram, struct buf *why)
{
	const char *name_end = metric_name_end(line), *l;

	if (!name_end)
		return refuse(why, "bad sample", line);
	if (!family[0] ||
	    !sample_in_family(line, (size_t)(name_end - line), family,
			      histogram))
		return refuse(why, "sample outside the family declared last",
			      line);
	l = labels_end(name_end);
	if (!l || *l != ' ' || !value_ok(l + 1))
		return refuse(why, "bad labels or value", line);
	return true;
}

/* Every line is HELP, TYPE (right after its HELP) or a sample of the
 * family just declared; the page ends in a newline. */
static bool metrics_parse(const char *page, size_t *n_samples,
			  struct buf *why)
{
	char family[256] = "";
	bool histogram = false;
	char *copy = xstrdup(page), *line = copy, *nl;
	bool ok = page[0] && page[strlen(page) - 1] == '\n';

	*n_samples = 0;
	if (!ok)
		BUG_ON(buf_adds(why, "empty or no final newline") != ERR_OK);
	for (; ok && *line; line = nl + 1) {
		nl = strchr(line, '\n');
		*nl = '\0';
		if (line[0] == '#') {
			ok = check_comment(line, family, sizeof(family),
					   &histogram, why);
		} else {
			ok = check_sample(line, family, histogram, why);
			*n_samples += ok;
		}
	}
	free(copy);
	return ok;
}

/* The value of series (name with its labels, exactly as printed); NAN
 * when absent. */
static double metric(const char *page, const char *series)
{
	double v;

	return it_metric_value(page, series, &v) ? v : NAN;
}

/* ---- The binary ----------------------------------------------------------- */

static const char *svc_bin(void)
{
	return it_env("SVC_BIN");
}

static void start_bin(struct it_proc *proc, int port)
{
	char portarg[32];
	char *argv[] = {(char *)svc_bin(),
			(char *)"--kubeconfig",
			(char *)it_env("KUBECONFIG"),
			(char *)"--bind-address=127.0.0.1",
			portarg,
			(char *)"--leader-elect=false",
			(char *)"--cache-sync-timeout=60s",
			NULL};
	struct errbuf eb = ERRBUF_INIT;

	(void)snprintf(portarg, sizeof(portarg), "--secure-port=%d", port);
	IT_CHECK_OK(it_proc_start(argv, proc, &eb), &eb);
}

static void stop_bin(struct it_proc *proc)
{
	struct buf err;
	const char *report;
	int status = 0;

	CHECK(it_proc_stop(proc, IT_TIMEOUT_MS, &status));
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(WEXITSTATUS(status), 0);
	buf_init(&err, 0);
	it_read_file(proc->err_path, &err);
	report = it_sanitizer_report(err.data);
	if (report)
		unit_fail(__FILE__, __LINE__, "sanitizer report: %.2000s",
			  report);
	buf_release(&err);
}

/* ---- The workload ----------------------------------------------------------- */

static void post(const char *path, const char *body)
{
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(it_post(path, body, NULL, NULL, &eb), &eb);
}

static void service(const char *ns, const char *name, const char *app)
{
	char *path = xasprintf("/api/v1/namespaces/%s/services", ns);
	char *body = xasprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
	    "\"name\":\"%s\"},\"spec\":{\"selector\":{\"app\":\"%s\"},"
	    "\"ports\":[{\"name\":\"http\",\"port\":80,"
	    "\"targetPort\":\"http\"}]}}",
	    name, app);

	post(path, body);
	free(body);
	free(path);
}

/* A pod on node (NULL: none) with IP ip (NULL: no status written). */
static void pod(const char *ns, const char *name, const char *app,
		const char *node, const char *ip, bool ready)
{
	struct it_pod_spec spec = {.app = app, .node = node};
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(it_pod_create_spec(ns, name, &spec, NULL, &eb), &eb);
	if (ip)
		IT_CHECK_OK(it_pod_set_status_ips(ns, name, &ip, 1, ready, 0,
						  &eb),
			    &eb);
}

/* Its only container port is named "web", so targetPort "http" does
 * not resolve. */
static void pod_without_http_port(const char *ns, const char *node,
				  const char *ip)
{
	const char *const ips[] = {ip};
	char *path = xasprintf("/api/v1/namespaces/%s/pods", ns);
	char *body = xasprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
	    "\"name\":\"badport\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
	    "\"nodeName\":\"%s\",\"containers\":[{\"name\":\"c\","
	    "\"image\":\"registry.k8s.io/pause:3.10\",\"ports\":[{"
	    "\"name\":\"web\",\"containerPort\":7070}]}]}}",
	    node);
	struct errbuf eb = ERRBUF_INIT;

	post(path, body);
	IT_CHECK_OK(it_pod_set_status_ips(ns, "badport", ips, 1, true, 0, &eb),
		    &eb);
	free(body);
	free(path);
}

static void pod_failed(const char *ns, const char *node)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods/failed/status", ns);
	struct errbuf eb = ERRBUF_INIT;

	pod(ns, "failed", "web", node, NULL, false);
	IT_CHECK_OK(it_merge_patch(path,
				   "{\"status\":{\"phase\":\"Failed\","
				   "\"podIP\":\"10.200.0.3\",\"podIPs\":[{"
				   "\"ip\":\"10.200.0.3\"}]}}",
				   &eb),
		    &eb);
	free(path);
}

/* ---- The explanation ------------------------------------------------------- */

static yajl_val get_path(yajl_val v, const char *a, yajl_type t)
{
	const char *path[] = {a, NULL};

	return v ? yajl_tree_get(v, path, t) : NULL;
}

static yajl_val find_pod(yajl_val doc, const char *name)
{
	yajl_val pods = get_path(doc, "pods", yajl_t_array);

	for (size_t i = 0; pods && i < YAJL_GET_ARRAY(pods)->len; i++) {
		yajl_val p = YAJL_GET_ARRAY(pods)->values[i];
		yajl_val n = get_path(p, "name", yajl_t_string);

		if (n && str_eq(YAJL_GET_STRING(n), name))
			return p;
	}
	return NULL;
}

/* Whether the array member of obj holds an object whose key equals v. */
static bool has_item(yajl_val obj, const char *array, const char *key,
		     const char *v)
{
	yajl_val a = get_path(obj, array, yajl_t_array);

	for (size_t i = 0; a && i < YAJL_GET_ARRAY(a)->len; i++) {
		yajl_val s = get_path(YAJL_GET_ARRAY(a)->values[i], key,
				      yajl_t_string);

		if (s && str_eq(YAJL_GET_STRING(s), v))
			return true;
	}
	return false;
}

static size_t n_items(yajl_val obj, const char *array)
{
	yajl_val a = get_path(obj, array, yajl_t_array);

	return a ? YAJL_GET_ARRAY(a)->len : (size_t)-1;
}

static const char *pod_str(yajl_val doc, const char *pod, const char *key)
{
	yajl_val s = get_path(find_pod(doc, pod), key, yajl_t_string);

	return s ? YAJL_GET_STRING(s) : "(absent)";
}

struct explain_wait {
	int port;
	char path[300];
	struct buf body;
	yajl_val doc;
};

/* The document once every pod is listed and the ready pod sits in a
 * slice (the controller wrote it and our cache saw it). */
static bool explained(void *arg)
{
	struct explain_wait *w = arg;
	yajl_val ready;

	yajl_tree_free(w->doc);
	w->doc = NULL;
	if (http_get(w->port, w->path, &w->body, NULL) != 200)
		return false;
	w->doc = yajl_tree_parse(w->body.data, NULL, 0);
	ready = find_pod(w->doc, "ready");
	return n_items(w->doc, "pods") == 6 && ready &&
	       n_items(ready, "slices") == 1 && find_pod(w->doc, "badport") &&
	       n_items(find_pod(w->doc, "badport"), "slices") == 1 &&
	       n_items(find_pod(w->doc, "notready"), "slices") == 1;
}

/* The name of the controller's slice of Service ns/svc holding ip. */
static char *slice_holding(const char *ns, const char *svc, const char *ip)
{
	char *sel = xasprintf("kubernetes.io/service-name=%s,"
			      "endpointslice.kubernetes.io/managed-by="
			      MANAGED_BY_DEFAULT,
			      svc);
	struct errbuf eb = ERRBUF_INIT;
	struct it_list l = {0};
	char *name = NULL;

	IT_CHECK_OK(it_list(KUBE_KIND_ENDPOINTSLICE, ns, sel, &l, &eb), &eb);
	for (size_t i = 0; i < l.n && !name; i++) {
		const struct kube_endpointslice *s =
		    kube_endpointslice(l.items[i]);

		for (uint32_t e = 0; e < s->n_endpoints && !name; e++)
			for (uint32_t a = 0;
			     a < s->endpoints[e].n_addresses && !name; a++)
				if (str_eq(s->endpoints[e].addresses[a], ip))
					name = xstrdup(s->obj.meta.name);
	}
	it_list_release(&l);
	free(sel);
	return name;
}

static void check_explanation(yajl_val doc, const char *ns)
{
	yajl_val ready = find_pod(doc, "ready");
	char *slice = slice_holding(ns, "web", "10.200.0.1");

	CHECK_STR_EQ(pod_str(doc, "ready", "verdict"), "endpoint");
	CHECK_INT_EQ(n_items(ready, "reasons"), 0);
	CHECK_NOT_NULL(slice);
	if (slice)
		CHECK(has_item(ready, "slices", "name", slice));
	CHECK_STR_EQ(pod_str(doc, "notready", "verdict"), "endpoint");
	CHECK_NOT_NULL(yajl_tree_get(find_pod(doc, "notready"),
				     (const char *[]){"conditions", "ready",
						      NULL},
				     yajl_t_false));
	CHECK_STR_EQ(pod_str(doc, "failed", "verdict"), "excluded");
	CHECK(has_item(find_pod(doc, "failed"), "reasons", "code",
		       "terminal_phase"));
	CHECK_STR_EQ(pod_str(doc, "noip", "verdict"), "excluded");
	CHECK(has_item(find_pod(doc, "noip"), "reasons", "code", "no_ip"));
	CHECK_STR_EQ(pod_str(doc, "lost", "verdict"), "excluded");
	CHECK(has_item(find_pod(doc, "lost"), "reasons", "code",
		       "node_not_found"));
	CHECK_STR_EQ(pod_str(doc, "badport", "verdict"), "endpoint");
	CHECK(has_item(find_pod(doc, "badport"), "notes", "code",
		       "port_unresolved"));
	free(slice);
}

/* ---- Cases ------------------------------------------------------------------ */

static void check_metrics(int port, const char *what, double *syncs,
			  double *creates)
{
	struct buf page, ct, why;
	size_t n = 0;
	bool ok;

	buf_init(&page, 0);
	buf_init(&ct, 0);
	buf_init(&why, 0);
	CHECK_INT_EQ(http_get(port, "/metrics", &page, &ct), 200);
	CHECK(str_has_prefix(ct.data, METRICS_TYPE));
	ok = metrics_parse(page.data, &n, &why);
	if (!ok)
		unit_fail(__FILE__, __LINE__, "/metrics (%s): %s", what,
			  why.data);
	CHECK(n > 20);
	*syncs = metric(page.data,
			"endpoint_slice_controller_syncs{result=\"success\"}");
	*creates = metric(page.data, "endpoint_slice_controller_changes{"
				     "operation=\"create\"}");
	printf("# %s: %zu samples, syncs success=%g, creates=%g\n", what, n,
	       *syncs, *creates);
	buf_release(&why);
	buf_release(&ct);
	buf_release(&page);
}

struct slice_wait {
	const char *ns;
	const char *svc;
	const char *ip;
	bool want_ready;
};

/* The pod's endpoint exists with the wanted ready condition. */
static bool slice_ready_is(void *arg)
{
	struct slice_wait *w = arg;
	char *sel = xasprintf("kubernetes.io/service-name=%s", w->svc);
	struct errbuf eb = ERRBUF_INIT;
	struct it_list l = {0};
	bool found = false;

	if (it_list(KUBE_KIND_ENDPOINTSLICE, w->ns, sel, &l, &eb) != ERR_OK) {
		free(sel);
		return false;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct kube_endpointslice *s =
		    kube_endpointslice(l.items[i]);

		for (uint32_t e = 0; e < s->n_endpoints; e++)
			if (s->endpoints[e].n_addresses &&
			    str_eq(s->endpoints[e].addresses[0], w->ip))
				found |= (s->endpoints[e].ready != KUBE_FALSE) ==
					 w->want_ready;
	}
	it_list_release(&l);
	free(sel);
	return found;
}

static void wait_slice_ready(const char *ns, const char *svc, const char *ip,
			     bool ready)
{
	struct slice_wait w = {ns, svc, ip, ready};

	if (!it_wait_until(slice_ready_is, &w, IT_TIMEOUT_MS))
		unit_fail(__FILE__, __LINE__,
			  "no endpoint %s ready=%d in the slices of %s/%s", ip,
			  ready, ns, svc);
}

static void populate(const char *ns, const char *node)
{
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(it_node_create(node, "zone-a", &eb), &eb);
	service(ns, "web", "web");
	pod(ns, "ready", "web", node, "10.200.0.1", true);
	pod(ns, "notready", "web", node, "10.200.0.2", false);
	pod_failed(ns, node);
	pod(ns, "noip", "web", node, NULL, false);
	pod(ns, "lost", "web", "it-ops-no-such-node", "10.200.0.5", true);
	pod_without_http_port(ns, node, "10.200.0.6");
	/* A second Service without an unknown node, so its syncs succeed. */
	service(ns, "solo", "solo");
	pod(ns, "solo-0", "solo", node, "10.200.1.1", true);
}

static void explain_and_paths(int port, const char *ns)
{
	struct explain_wait w = {.port = port};
	struct buf out, ct;
	char path[300];

	(void)snprintf(w.path, sizeof(w.path), "/debug/services/%s/web", ns);
	buf_init(&w.body, 0);
	if (!it_wait_until(explained, &w, IT_TIMEOUT_MS))
		unit_fail(__FILE__, __LINE__, "GET %s never showed every pod in a slice: %.3000s",
			  w.path, w.body.data);
	check_explanation(w.doc, ns);
	yajl_tree_free(w.doc);
	buf_release(&w.body);

	buf_init(&out, 0);
	buf_init(&ct, 0);
	CHECK_INT_EQ(http_get(port, "/debug/services/default/kubernetes", &out,
			      &ct), 200);
	CHECK_STR_EQ(ct.data, "application/json");
	(void)snprintf(path, sizeof(path), "/debug/services/%s/no-such-svc", ns);
	CHECK_INT_EQ(http_get(port, path, &out, &ct), 404);
	CHECK_CONTAINS(out.data, "\"kind\":\"Status\"");
	CHECK_CONTAINS(out.data, "\"code\":404");
	CHECK_INT_EQ(http_get(port, "/debug/services/only-a-namespace", &out,
			      NULL), 400);
	CHECK_INT_EQ(http_get(port, "/debug/services/a/b/c", &out, NULL), 400);
	CHECK_INT_EQ(http_get(port, "/debug/services/UPPER/x", &out, NULL),
		     400);
	CHECK_INT_EQ(http_get(port, "/no/such/page", &out, NULL), 404);
	CHECK_INT_EQ(http_get(port, "/debug/nodes/x", &out, NULL), 404);
	buf_release(&ct);
	buf_release(&out);
}

static void ops_endpoints(void)
{
	static struct it_proc proc;
	double syncs0 = 0, creates0 = 0, syncs1 = 0, creates1 = 0;
	struct errbuf eb = ERRBUF_INIT;
	const char *ns;
	char *node;
	int port;

	it_begin();
	port = it_free_port();
	CHECK(port > 0);
	ns = it_ns_create("it-ops");
	node = it_unique_name("it-ops-node");
	it_defer(free, node);
	start_bin(&proc, port);
	/* /healthz answers while the caches sync; /readyz once synced. */
	wait_status(port, "/healthz", 200);
	wait_status(port, "/readyz", 200);

	populate(ns, node);
	explain_and_paths(port, ns);
	wait_slice_ready(ns, "solo", "10.200.1.1", true);
	check_metrics(port, "after the slices", &syncs0, &creates0);
	CHECK(creates0 > 0);
	CHECK(syncs0 > 0);

	/* A readiness flip is a successful sync of Service solo. */
	IT_CHECK_OK(it_pod_set_status_ips(ns, "solo-0",
					  (const char *[]){"10.200.1.1"}, 1,
					  false, 0, &eb),
		    &eb);
	wait_slice_ready(ns, "solo", "10.200.1.1", false);
	check_metrics(port, "after the flip", &syncs1, &creates1);
	CHECK(syncs1 > syncs0);
	CHECK(creates1 >= creates0);
	stop_bin(&proc);
	it_end();
}

static void half_tls_exits_2(void)
{
	static const char *const cases[][2] = {
	    {"--tls-cert-file=/nonexistent/tls.crt", "--tls-private-key-file"},
	    {"--tls-private-key-file=/nonexistent/tls.key", "--tls-cert-file"},
	    {"--bind-address=localhost", "--bind-address"},
	    {"--secure-port=65536", "--secure-port"},
	};
	struct buf out, err;

	it_begin();
	buf_init(&out, 0);
	buf_init(&err, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *argv[] = {(char *)svc_bin(), (char *)"--kubeconfig",
				(char *)it_env("KUBECONFIG"),
				(char *)cases[i][0], NULL};

		CHECK_INT_EQ(it_run(argv, RUN_TIMEOUT_MS, &out, &err), 2);
		CHECK_CONTAINS(err.data, cases[i][1]);
	}
	buf_release(&out);
	buf_release(&err);
	it_end();
}

static void help_documents_the_listener(void)
{
	static const char *const want[] = {
	    "--bind-address", "(default 0.0.0.0)", "--secure-port",
	    "(default 10260)", "0 disables",	   "--tls-cert-file",
	    "--tls-private-key-file", "plain HTTP",
	};
	char *argv[] = {(char *)svc_bin(), (char *)"--help", NULL};
	struct buf out, err;

	it_begin();
	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK_INT_EQ(it_run(argv, RUN_TIMEOUT_MS, &out, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_CONTAINS(out.data, want[i]);
	buf_release(&out);
	buf_release(&err);
	it_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(ops_endpoints),
    UNIT_CASE(half_tls_exits_2),
    UNIT_CASE(help_documents_the_listener),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-ops", cases, ARRAY_SIZE(cases));
}
