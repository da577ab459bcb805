/*
 * itlib: the cluster side of the integration-test helpers — the shared
 * client, the per-case cleanup stack, namespaces, Nodes and Pods written
 * as a kubelet and a user would, fresh lists decoded with kube_stream, and
 * the comparison of an informer's store with such a list. Processes,
 * waits and thread fan-out live in itlib_proc.c.
 *
 * The cleanup stack belongs to the test thread; everything returning
 * enum err only uses it_api and the stack-allocated request state, so it
 * may run on worker threads.
 */
#include "base.h"
#include "itlib.h"

#include "kubeconfig.h"
#include "store.h"

#define CLEANUP_MAX 64

struct apiclient *it_api;

static struct kubeconfig *it_cfg;
static struct {
	it_cleanup_fn fn;
	void *arg;
} cleanups[CLEANUP_MAX];
static size_t n_cleanups;
static bool have_cluster;

/* ---- Life cycle -------------------------------------------------------- */

void it_defer(it_cleanup_fn fn, void *arg)
{
	BUG_ON(n_cleanups == CLEANUP_MAX);
	cleanups[n_cleanups].fn = fn;
	cleanups[n_cleanups].arg = arg;
	n_cleanups++;
}

void it_end(void)
{
	while (n_cleanups > 0) {
		n_cleanups--;
		cleanups[n_cleanups].fn(cleanups[n_cleanups].arg);
	}
}

void it_begin(void)
{
	it_end();
	if (!have_cluster)
		unit_skip("no cluster: KUBECONFIG is not set (run through "
			  "hack/run-tests.sh)");
	CHECK_NOT_NULL(it_api);
}

static bool setup(void)
{
	struct apiclient_options ao = APICLIENT_OPTIONS_DEFAULT;
	struct kubeconfig_options ko = {0};
	struct errbuf eb = ERRBUF_INIT;

	ko.kubeconfig = getenv("KUBECONFIG");
	if (!ko.kubeconfig || !*ko.kubeconfig)
		return false;
	have_cluster = true;
	if (kubeconfig_load(&ko, &it_cfg, &eb) != ERR_OK) {
		printf("# cannot load %s: %s\n", ko.kubeconfig, eb.msg);
		return true; /* it_begin's check fails every case */
	}
	/* High enough that the 1,000-pod case is not throttled to minutes. */
	ao.qps = 500;
	ao.burst = 1000;
	ao.user_agent = "svc-controllers-it";
	if (apiclient_new(it_cfg, &ao, &it_api, &eb) != ERR_OK)
		printf("# cannot create the API client: %s\n", eb.msg);
	return true;
}

int it_main(int argc, char **argv, const char *suite,
	    const struct unit_case *cases, size_t ncases)
{
	int rc;

	apiclient_global_init();
	(void)setup();
	rc = unit_main(argc, argv, suite, cases, ncases);
	it_end();
	apiclient_free(it_api);
	kubeconfig_free(it_cfg);
	apiclient_global_cleanup();
	return rc;
}

char *it_unique_name(const char *prefix)
{
	return xasprintf("%s-%012llx", prefix,
			 (unsigned long long)(rand_u64() & 0xffffffffffffULL));
}

const char *it_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		char msg[128];

		(void)snprintf(msg, sizeof(msg), "%s is not set", name);
		unit_skip(msg);
	}
	return v;
}

/* ---- Raw requests ------------------------------------------------------ */

static enum err request(enum apiclient_method m, const char *path,
			const char *query, const char *body, const char *ctype,
			struct buf *resp, struct apiclient_result *res,
			struct errbuf *eb)
{
	struct apiclient_result tmp;

	return apiclient_do(it_api,
			    &(struct apiclient_request){
				.method = m,
				.path = path,
				.query = query,
				.body = body,
				.body_len = body ? strlen(body) : 0,
				.content_type = ctype,
			    },
			    resp, res ? res : &tmp, eb);
}

enum err it_request(enum apiclient_method m, const char *path,
		    const char *query, const char *body, const char *ctype,
		    struct buf *resp, struct apiclient_result *res,
		    struct errbuf *eb)
{
	return request(m, path, query, body, ctype, resp, res, eb);
}

enum err it_post(const char *path, const char *json, struct buf *resp,
		 struct apiclient_result *res, struct errbuf *eb)
{
	return request(APICLIENT_POST, path, NULL, json, NULL, resp, res, eb);
}

static enum err delete_path(const char *path, const char *body,
			    struct errbuf *eb)
{
	struct apiclient_result res;
	enum err e =
	    request(APICLIENT_DELETE, path, NULL, body, NULL, NULL, &res, eb);

	return e == ERR_NOT_FOUND ? ERR_OK : e;
}

/* ---- Namespaces -------------------------------------------------------- */

static void ns_cleanup(void *arg)
{
	struct errbuf eb = ERRBUF_INIT;
	char *ns = arg;

	if (it_ns_delete(ns, true, &eb) != ERR_OK)
		printf("# cleanup of namespace %s: %s\n", ns, eb.msg);
	free(ns);
}

const char *it_ns_create(const char *prefix)
{
	struct errbuf eb = ERRBUF_INIT;
	char *ns = it_unique_name(prefix);
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
			       "\"metadata\":{\"name\":\"%s\"}}",
			       ns);
	enum err e = it_post("/api/v1/namespaces", body, NULL, NULL, &eb);

	free(body);
	if (e != ERR_OK) {
		free(ns);
		IT_CHECK_OK(e, &eb);
	}
	it_defer(ns_cleanup, ns);
	return ns;
}

/* Deletes every object of kind in ns: deletecollection, or one by one
 * where the resource does not support it (405). */
static enum err delete_all(enum kube_kind kind, const char *ns,
			   struct errbuf *eb)
{
	static const char grace0[] =
	    "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\","
	    "\"gracePeriodSeconds\":0}";
	struct apiclient_result res;
	struct it_list l = {0};
	struct buf path;
	enum err e;

	buf_init(&path, 0);
	apiclient_path(&path, kind, ns, NULL);
	e = request(APICLIENT_DELETE, path.data, NULL, grace0, NULL, NULL, &res,
		    eb);
	buf_release(&path);
	if (e == ERR_NOT_FOUND)
		return ERR_OK;
	if (e == ERR_OK || res.http_code != 405)
		return e;
	e = it_list(kind, ns, NULL, &l, eb);
	for (size_t i = 0; e == ERR_OK && i < l.n; i++) {
		buf_init(&path, 0);
		apiclient_path(&path, kind, ns, l.items[i]->meta.name);
		e = delete_path(path.data, grace0, eb);
		buf_release(&path);
	}
	it_list_release(&l);
	return e;
}

enum err it_ns_delete(const char *ns, bool finalize, struct errbuf *eb)
{
	static const enum kube_kind kinds[] = {
	    KUBE_KIND_POD, KUBE_KIND_ENDPOINTSLICE, KUBE_KIND_SERVICE};
	char *path = xasprintf("/api/v1/namespaces/%s", ns);
	char *fpath = xasprintf("%s/finalize", path);
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
			       "\"metadata\":{\"name\":\"%s\"},"
			       "\"spec\":{\"finalizers\":[]}}",
			       ns);
	enum err e = ERR_OK;

	for (size_t i = 0; e == ERR_OK && i < ARRAY_SIZE(kinds); i++)
		e = delete_all(kinds[i], ns, eb);
	if (e == ERR_OK)
		e = delete_path(path, NULL, eb);
	if (e == ERR_OK && finalize) {
		/* What the namespace controller does once the content is gone;
		 * the second DELETE then removes the object. */
		e = request(APICLIENT_PUT, fpath, NULL, body, NULL, NULL, NULL,
			    eb);
		if (e == ERR_NOT_FOUND)
			e = ERR_OK;
		else if (e == ERR_OK)
			e = delete_path(path, NULL, eb);
	}
	free(body);
	free(fpath);
	free(path);
	return e;
}

/* ---- Nodes and Pods ---------------------------------------------------- */

static void node_cleanup(void *arg)
{
	struct errbuf eb = ERRBUF_INIT;

	if (it_node_delete(arg, &eb) != ERR_OK)
		printf("# cleanup of node %s: %s\n", (char *)arg, eb.msg);
	free(arg);
}

enum err it_node_create(const char *name, const char *zone, struct errbuf *eb)
{
	char *body = xasprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{"
	    "\"name\":\"%s\",\"labels\":{\"kubernetes.io/"
	    "hostname\":\"%s\"%s%s%s}}}",
	    name, name, zone ? ",\"topology.kubernetes.io/zone\":\"" : "",
	    zone ? zone : "", zone ? "\"" : "");
	enum err e = it_post("/api/v1/nodes", body, NULL, NULL, eb);

	free(body);
	if (e == ERR_OK)
		it_defer(node_cleanup, xstrdup(name));
	return e;
}

enum err it_node_delete(const char *name, struct errbuf *eb)
{
	char *path = xasprintf("/api/v1/nodes/%s", name);
	enum err e = delete_path(path, NULL, eb);

	free(path);
	return e;
}

enum err it_pod_create(const char *ns, const char *name, const char *node,
		       const char *app, struct kube_object **out,
		       struct errbuf *eb)
{
	struct it_pod_spec spec = {.app = app, .node = node};

	return it_pod_create_spec(ns, name, &spec, out, eb);
}

/* ,"key":"value" when value is set, else nothing. */
static void opt_field(struct buf *b, const char *key, const char *value)
{
	if (value)
		BUG_ON(buf_addf(b, "\"%s\":\"%s\",", key, value) != ERR_OK);
}

enum err it_pod_create_spec(const char *ns, const char *name,
			    const struct it_pod_spec *spec,
			    struct kube_object **out, struct errbuf *eb)
{
	struct buf body;
	enum err e;

	buf_init(&body, 0);
	e = buf_addf(&body,
		     "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
		     "\"name\":\"%s\",\"namespace\":\"%s\",\"labels\":{"
		     "\"app\":\"%s\"}},\"spec\":{",
		     name, ns, spec->app ? spec->app : "none");
	BUG_ON(e != ERR_OK);
	opt_field(&body, "nodeName", spec->node);
	opt_field(&body, "hostname", spec->hostname);
	opt_field(&body, "subdomain", spec->subdomain);
	e = buf_addf(&body,
		     "\"containers\":[{"
		     "\"name\":\"c\",\"image\":\"registry.k8s.io/pause:3.10\","
		     "\"ports\":[{\"name\":\"http\",\"containerPort\":%d,"
		     "\"protocol\":\"TCP\"},{\"name\":\"metrics\","
		     "\"containerPort\":9090,\"protocol\":\"TCP\"}]}]}}",
		     spec->http_port ? (int)spec->http_port : 8080);
	BUG_ON(e != ERR_OK);
	e = apiclient_create(it_api, KUBE_KIND_POD, ns, &body, out,
			     &(struct apiclient_result){0}, eb);
	buf_release(&body);
	return e;
}

static enum err patch(const char *path, const char *ctype, const char *json,
		      struct errbuf *eb)
{
	return request(APICLIENT_PATCH, path, NULL, json, ctype, NULL, NULL,
		       eb);
}

enum err it_pod_set_status(const char *ns, const char *name, const char *ip,
			   bool ready, struct errbuf *eb)
{
	const char *ips[1] = {ip};

	return it_pod_set_status_ips(ns, name, ips, ip ? 1 : 0, ready, 0, eb);
}

enum err it_pod_set_status_ips(const char *ns, const char *name,
			       const char *const *ips, size_t n_ips, bool ready,
			       int64_t ltt_ms, struct errbuf *eb)
{
	char ltt[CLOCK_RFC3339_LEN];
	char *path =
	    xasprintf("/api/v1/namespaces/%s/pods/%s/status", ns, name);
	struct buf body;
	enum err e;

	clock_format_rfc3339(ltt_ms ? ltt_ms : clock_now_ms(), false, ltt);
	buf_init(&body, 0);
	BUG_ON(buf_adds(&body, "{\"status\":{\"phase\":\"Running\",") !=
	       ERR_OK);
	if (n_ips) {
		BUG_ON(buf_addf(&body, "\"podIP\":\"%s\",\"podIPs\":[",
				ips[0]) != ERR_OK);
		for (size_t i = 0; i < n_ips; i++)
			BUG_ON(buf_addf(&body, "%s{\"ip\":\"%s\"}",
					i ? "," : "", ips[i]) != ERR_OK);
		BUG_ON(buf_adds(&body, "],") != ERR_OK);
	}
	BUG_ON(buf_addf(&body,
			"\"conditions\":[{\"type\":\"Ready\",\"status\":"
			"\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
			ready ? "True" : "False", ltt) != ERR_OK);
	e = patch(path, "application/merge-patch+json", body.data, eb);
	buf_release(&body);
	free(path);
	return e;
}

enum err it_node_set_status(const char *name, int64_t cpu_milli, bool ready,
			    struct errbuf *eb)
{
	char now[CLOCK_RFC3339_LEN];
	char *path = xasprintf("/api/v1/nodes/%s/status", name);
	char *cpu = cpu_milli ? xasprintf("\"allocatable\":{\"cpu\":\"%lldm\"},"
					  "\"capacity\":{\"cpu\":\"%lldm\"},",
					  (long long)cpu_milli,
					  (long long)cpu_milli)
			      : xstrdup("");
	char *body;
	enum err e;

	clock_format_rfc3339(clock_now_ms(), false, now);
	body = xasprintf("{\"status\":{%s\"conditions\":[{\"type\":"
			 "\"Ready\",\"status\":\"%s\",\"reason\":"
			 "\"KubeletReady\",\"lastHeartbeatTime\":\"%s\","
			 "\"lastTransitionTime\":\"%s\"}]}}",
			 cpu, ready ? "True" : "False", now, now);
	e = patch(path, "application/merge-patch+json", body, eb);
	free(body);
	free(cpu);
	free(path);
	return e;
}

enum err it_merge_patch(const char *path, const char *json, struct errbuf *eb)
{
	return patch(path, "application/merge-patch+json", json, eb);
}

enum err it_pod_set_label(const char *ns, const char *name, const char *key,
			  const char *value, struct errbuf *eb)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	char *body = xasprintf("{\"metadata\":{\"labels\":{\"%s\":\"%s\"}}}",
			       key, value);
	enum err e = patch(path, "application/merge-patch+json", body, eb);

	free(body);
	free(path);
	return e;
}

enum err it_pod_delete(const char *ns, const char *name, bool force,
		       struct errbuf *eb)
{
	char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns, name);
	enum err e =
	    delete_path(path,
			force ? "{\"apiVersion\":\"v1\",\"kind\":"
				"\"DeleteOptions\",\"gracePeriodSeconds\":0}"
			      : NULL,
			eb);

	free(path);
	return e;
}

/* ---- Fresh lists ------------------------------------------------------- */

/* apiclient_list with it_api, into the tests' own struct. */
enum err it_list(enum kube_kind kind, const char *ns,
		 const char *label_selector, struct it_list *out,
		 struct errbuf *eb)
{
	struct apiclient_list_options o = {kind, ns, label_selector, NULL};
	struct apiclient_list l;
	enum err e = apiclient_list(it_api, &o, &l, eb);

	if (e != ERR_OK)
		return e;
	out->n = l.n;
	out->items = l.items;
	(void)snprintf(out->rv, sizeof(out->rv), "%s", l.rv);
	return ERR_OK;
}

void it_list_release(struct it_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		kube_object_unref(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

/* Appends a formatted note; a full buffer just truncates the note. */
static void note(struct buf *why, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void note(struct buf *why, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (buf_adds(why, tmp) != ERR_OK)
		return;
}

static int cmp_obj(const void *a, const void *b)
{
	const struct kube_object *x = *(const struct kube_object *const *)a;
	const struct kube_object *y = *(const struct kube_object *const *)b;
	int c = strcmp(x->meta.ns, y->meta.ns);

	return c ? c : strcmp(x->meta.name, y->meta.name);
}

/* Compares two sorted object arrays by key and resourceVersion. */
static bool same_objects(struct kube_object **a, size_t na,
			 struct kube_object **b, size_t nb, struct buf *why)
{
	size_t i = 0, j = 0;

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : cmp_obj(&a[i], &b[j]);

		if (c == 0 && !str_eq(a[i]->meta.resource_version,
				      b[j]->meta.resource_version)) {
			note(why, "%s/%s: store rv=%s, list rv=%s",
			     a[i]->meta.ns, a[i]->meta.name,
			     a[i]->meta.resource_version,
			     b[j]->meta.resource_version);
			return false;
		}
		if (c < 0) {
			note(why, "%s/%s only in the store", a[i]->meta.ns,
			     a[i]->meta.name);
			return false;
		}
		if (c > 0) {
			note(why, "%s/%s only in the list", b[j]->meta.ns,
			     b[j]->meta.name);
			return false;
		}
		i++;
		j++;
	}
	return true;
}

bool it_store_matches(struct store *s, enum kube_kind kind, const char *ns,
		      const char *label_selector, struct buf *why)
{
	struct errbuf eb = ERRBUF_INIT;
	struct store_list sl;
	struct it_list l;
	bool same;

	buf_reset(why);
	if (it_list(kind, ns, label_selector, &l, &eb) != ERR_OK) {
		note(why, "list failed: %s", eb.msg);
		return false;
	}
	store_list_all(s, &sl);
	qsort(sl.items, sl.n, sizeof(*sl.items), cmp_obj);
	qsort(l.items, l.n, sizeof(*l.items), cmp_obj);
	same = same_objects(sl.items, sl.n, l.items, l.n, why);
	if (!same)
		note(why, " (store %zu objects, list %zu)", sl.n, l.n);
	store_list_release(&sl);
	it_list_release(&l);
	return same;
}

/* ---- Informers ----------------------------------------------------------- */

static void on_add(void *ctx, const struct kube_object *o)
{
	struct it_counts *c = ctx;

	(void)o;
	pthread_mutex_lock(&c->lock);
	c->adds++;
	pthread_mutex_unlock(&c->lock);
}

static void on_update(void *ctx, const struct kube_object *o,
		      const struct kube_object *n)
{
	struct it_counts *c = ctx;

	(void)o;
	(void)n;
	pthread_mutex_lock(&c->lock);
	c->updates++;
	pthread_mutex_unlock(&c->lock);
}

static void on_delete(void *ctx, const struct kube_object *o, bool unknown)
{
	struct it_counts *c = ctx;

	(void)o;
	pthread_mutex_lock(&c->lock);
	c->deletes++;
	c->tombstones += unknown;
	pthread_mutex_unlock(&c->lock);
}

void it_counts_init(struct it_counts *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void it_counts_get(struct it_counts *c, struct it_counts *out)
{
	pthread_mutex_lock(&c->lock);
	out->adds = c->adds;
	out->updates = c->updates;
	out->deletes = c->deletes;
	out->tombstones = c->tombstones;
	pthread_mutex_unlock(&c->lock);
}

struct informer_handlers it_counting_handlers(struct it_counts *c)
{
	return (struct informer_handlers){.on_add = on_add,
					  .on_update = on_update,
					  .on_delete = on_delete,
					  .ctx = c};
}

static void informer_cleanup(void *arg)
{
	informer_free(arg);
}

struct informer *it_informer_start(const struct informer_options *o,
				   const struct informer_handlers *h)
{
	struct informer *inf = NULL;

	CHECK_OK(informer_new(it_api, o, &inf));
	if (h)
		informer_add_handlers(inf, h);
	it_defer(informer_cleanup, inf);
	CHECK_OK(informer_start(inf));
	return inf;
}

struct match_ctx {
	struct informer *inf;
	enum kube_kind kind;
	const char *ns;
	const char *selector;
	struct buf why;
};

static bool store_matches_pred(void *arg)
{
	struct match_ctx *m = arg;

	return it_store_matches(informer_store(m->inf), m->kind, m->ns,
				m->selector, &m->why);
}

void it_wait_store_matches(struct informer *inf, enum kube_kind kind,
			   const char *ns, const char *label_selector)
{
	struct match_ctx m = {inf, kind, ns, label_selector, {0}};
	bool ok;

	buf_init(&m.why, 0);
	ok = it_wait_until(store_matches_pred, &m, IT_TIMEOUT_MS);
	if (!ok) {
		printf("#   store != fresh list: %s\n", m.why.data);
		buf_release(&m.why);
	} else {
		buf_release(&m.why);
	}
	CHECK(ok);
}
