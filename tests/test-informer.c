/*
 * Unit tests of the informer's reflector against fake_http (apiclient.md
 * §1.3–§1.6): watch-list with its initial-events-end bookmark, the
 * fallback to LIST+WATCH on 422, pagination with continue tokens, relists
 * after 410 (an ERROR event or an HTTP status) with tombstones for
 * vanished objects, bookmarks carrying the RV into the next watch, update
 * and delete dispatch, backoff and re-watch after a 500, and a prompt
 * stop while a watch is held open. Bodies are realistic Pod JSON.
 * Waits are bounded hang guards; no case asserts a duration.
 * FAKES: fake_http
 */
#include "base.h"
#include "informer.h"
#include "unit.h"

#include <pthread.h>
#include <time.h>

#include "apiclient.h"
#include "fakes/fake_http.h"
#include "kubeconfig.h"

#define HANG_GUARD_MS 10000
#define MAX_SEEN 64

/* Polls cond every 5 ms for at most HANG_GUARD_MS, then checks it. */
#define WAIT_FOR(cond)                                                       \
	do {                                                                 \
		for (int i_ = 0; i_ < HANG_GUARD_MS / 5 && !(cond); i_++)    \
			clock_sleep_ms(5);                                   \
		CHECK(cond);                                                 \
	} while (0)

/* ---- What the handlers saw ------------------------------------------ */

enum seen_kind { SEEN_ADD, SEEN_UPDATE, SEEN_DELETE };

struct seen {
	enum seen_kind kind;
	char name[64];
	char rv[32];
	char old_rv[32]; /* on_update only */
	char app[32];	 /* label app of the (new) object */
	char old_app[32];
	bool unknown;	 /* on_delete: final state unknown */
};

struct recorder {
	pthread_mutex_t lock;
	size_t n;		   /* guarded by lock */
	struct seen items[MAX_SEEN]; /* guarded by lock */
};

/*
 * The fixture is global so a case ended by a failed check leaves nothing
 * running: the next setup, and main, tear down what is left.
 */
static struct {
	struct fake_http *srv;
	struct kubeconfig *cfg;
	struct apiclient *api;
	struct informer *inf;
	struct recorder rec;
	bool rec_init;
} fx;

static void copy_str(char *dst, size_t n, const char *s)
{
	(void)snprintf(dst, n, "%s", s ? s : "");
}

static void note(enum seen_kind kind, const struct kube_object *old_obj,
		 const struct kube_object *obj, bool unknown)
{
	struct seen *s;

	pthread_mutex_lock(&fx.rec.lock);
	if (fx.rec.n < MAX_SEEN) {
		s = &fx.rec.items[fx.rec.n++];
		memset(s, 0, sizeof(*s));
		s->kind = kind;
		s->unknown = unknown;
		copy_str(s->name, sizeof(s->name), obj->meta.name);
		copy_str(s->rv, sizeof(s->rv), obj->meta.resource_version);
		copy_str(s->app, sizeof(s->app),
			 kube_labels_get(&obj->meta.labels, "app"));
		if (old_obj) {
			copy_str(s->old_rv, sizeof(s->old_rv),
				 old_obj->meta.resource_version);
			copy_str(s->old_app, sizeof(s->old_app),
				 kube_labels_get(&old_obj->meta.labels, "app"));
		}
	}
	pthread_mutex_unlock(&fx.rec.lock);
}

static void on_add(void *ctx, const struct kube_object *obj)
{
	(void)ctx;
	note(SEEN_ADD, NULL, obj, false);
}

static void on_update(void *ctx, const struct kube_object *old_obj,
		      const struct kube_object *new_obj)
{
	(void)ctx;
	note(SEEN_UPDATE, old_obj, new_obj, false);
}

static void on_delete(void *ctx, const struct kube_object *obj,
		      bool final_state_unknown)
{
	(void)ctx;
	note(SEEN_DELETE, NULL, obj, final_state_unknown);
}

static size_t seen_count(void)
{
	size_t n;

	pthread_mutex_lock(&fx.rec.lock);
	n = fx.rec.n;
	pthread_mutex_unlock(&fx.rec.lock);
	return n;
}

/* A copy of entry i (the array only grows, entries never change). */
static struct seen seen_at(size_t i)
{
	struct seen s;

	pthread_mutex_lock(&fx.rec.lock);
	BUG_ON(i >= fx.rec.n);
	s = fx.rec.items[i];
	pthread_mutex_unlock(&fx.rec.lock);
	return s;
}

static size_t seen_kind_count(enum seen_kind kind)
{
	size_t n = 0;

	pthread_mutex_lock(&fx.rec.lock);
	for (size_t i = 0; i < fx.rec.n; i++)
		n += fx.rec.items[i].kind == kind;
	pthread_mutex_unlock(&fx.rec.lock);
	return n;
}

/* ---- Fixture -------------------------------------------------------- */

static void teardown(void)
{
	informer_free(fx.inf); /* stops the reflector first */
	apiclient_free(fx.api);
	kubeconfig_free(fx.cfg);
	fake_http_free(fx.srv);
	if (fx.rec_init)
		pthread_mutex_destroy(&fx.rec.lock);
	memset(&fx, 0, sizeof(fx));
}

/* Small pages and tiny backoffs keep the suite fast. */
static struct informer_options fast_options(void)
{
	struct informer_options o = {
		.kind = KUBE_KIND_POD,
		.no_watch_list = true,
		.backoff = { 1, 2.0, 10, 0.0, 60000 },
		.name = "pods-test",
	};

	return o;
}

static void setup_with(const struct informer_options *opts)
{
	struct apiclient_options ao = APICLIENT_OPTIONS_DEFAULT;
	struct informer_handlers h = { on_add, on_update, on_delete, NULL };
	struct errbuf eb = ERRBUF_INIT;
	char *yaml;

	teardown();
	pthread_mutex_init(&fx.rec.lock, NULL);
	fx.rec_init = true;
	fx.srv = fake_http_new();
	yaml = xasprintf("apiVersion: v1\n"
			 "kind: Config\n"
			 "clusters:\n"
			 "- name: fake\n"
			 "  cluster: {server: \"%s\"}\n"
			 "users:\n"
			 "- name: tester\n"
			 "  user: {token: informer-token}\n"
			 "contexts:\n"
			 "- name: fake\n"
			 "  context: {cluster: fake, user: tester}\n"
			 "current-context: fake\n",
			 fake_http_url(fx.srv));
	CHECK_OK(kubeconfig_parse("/tmp/fake-kubeconfig", yaml, strlen(yaml),
				  NULL, &fx.cfg, &eb));
	free(yaml);
	ao.qps = 0;
	ao.max_attempts = 2;
	ao.retry_max_wait_ms = 10;
	ao.request_timeout_ms = HANG_GUARD_MS;
	CHECK_OK(apiclient_new(fx.cfg, &ao, &fx.api, &eb));
	CHECK_OK(informer_new(fx.api, opts, &fx.inf));
	informer_add_handlers(fx.inf, &h);
}

static void setup(void)
{
	struct informer_options o = fast_options();

	setup_with(&o);
}

static void start(void)
{
	CHECK_OK(informer_start(fx.inf));
}

static struct informer_stats stats(void)
{
	struct informer_stats st;

	informer_stats(fx.inf, &st);
	return st;
}

/* ---- Bodies --------------------------------------------------------- */

/* A Pod as the API server serves it. */
static char *pod_json(const char *name, const char *rv, const char *app)
{
	unsigned h = 0;

	for (const char *p = name; *p; p++)
		h = h * 31 + (unsigned char)*p;
	return xasprintf(
		"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
		"\"name\":\"%s\",\"generateName\":\"web-5d8f7c9b6-\","
		"\"namespace\":\"default\","
		"\"uid\":\"3c0f8f4e-6a8e-4d5b-9d0e-%012u\","
		"\"resourceVersion\":\"%s\","
		"\"creationTimestamp\":\"2024-05-01T10:00:00Z\","
		"\"labels\":{\"app\":\"%s\",\"pod-template-hash\":\"5d8f7c9b6\"},"
		"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
		"\"name\":\"web-5d8f7c9b6\",\"uid\":\"9a1b\",\"controller\":true,"
		"\"blockOwnerDeletion\":true}]},"
		"\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"web\","
		"\"image\":\"nginx:1.25\",\"ports\":[{\"name\":\"http\","
		"\"containerPort\":8080,\"protocol\":\"TCP\"}]}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.%u\","
		"\"podIPs\":[{\"ip\":\"10.244.1.%u\"}],\"conditions\":[{"
		"\"type\":\"Ready\",\"status\":\"True\","
		"\"lastTransitionTime\":\"2024-05-01T10:00:05Z\"}]}}",
		name, h % 1000000u, rv, app, h % 250u + 2, h % 250u + 2);
}

/* A PodList page; items are "name:rv" strings, app label "web". */
static char *list_json(const char *rv, const char *cont,
		       const char *const *items, size_t n)
{
	struct buf b;
	char *out;

	buf_init(&b, 0);
	BUG_ON(buf_addf(&b, "{\"kind\":\"PodList\",\"apiVersion\":\"v1\","
			    "\"metadata\":{\"resourceVersion\":\"%s\"",
			rv) != ERR_OK);
	if (cont)
		BUG_ON(buf_addf(&b, ",\"continue\":\"%s\",\"remainingItemCount\":3",
				cont) != ERR_OK);
	BUG_ON(buf_adds(&b, "},\"items\":[") != ERR_OK);
	for (size_t i = 0; i < n; i++) {
		const char *colon = strchr(items[i], ':');
		char *name = xstrndup(items[i], (size_t)(colon - items[i]));
		char *pod = pod_json(name, colon + 1, "web");

		BUG_ON(buf_addf(&b, "%s%s", i ? "," : "", pod) != ERR_OK);
		free(pod);
		free(name);
	}
	BUG_ON(buf_adds(&b, "]}") != ERR_OK);
	out = buf_detach(&b, NULL);
	buf_release(&b); /* buf_detach leaves b re-initialised */
	return out;
}

static void push_list(const char *rv, const char *cont,
		      const char *const *items, size_t n)
{
	char *body = list_json(rv, cont, items, n);

	fake_http_push_json(fx.srv, 200, body);
	free(body);
}

static char *status_json(int code, const char *reason, const char *message)
{
	return xasprintf("{\"kind\":\"Status\",\"apiVersion\":\"v1\","
			 "\"metadata\":{},\"status\":\"Failure\","
			 "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%d}",
			 message, reason, code);
}

static void push_status(int code, const char *reason, const char *message)
{
	char *body = status_json(code, reason, message);

	fake_http_push_json(fx.srv, code, body);
	free(body);
}

/* A watch stream under construction: events are split in two chunks at
 * an odd offset, so events straddle chunk boundaries. */
static struct fake_http_response *stream_new(void)
{
	return fake_http_response_new(200);
}

static void stream_send(struct fake_http_response *r, char *line)
{
	size_t n = strlen(line);
	size_t cut = n / 3;

	fake_http_response_chunk(r, line, cut);
	fake_http_response_chunk(r, line + cut, n - cut);
	free(line);
}

static void stream_event(struct fake_http_response *r, const char *type,
			 const char *name, const char *rv, const char *app)
{
	char *pod = pod_json(name, rv, app);

	stream_send(r, xasprintf("{\"type\":\"%s\",\"object\":%s}\n", type,
				 pod));
	free(pod);
}

static void stream_bookmark(struct fake_http_response *r, const char *rv,
			    bool initial_end)
{
	stream_send(r, xasprintf(
		"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
		"\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%s\","
		"\"creationTimestamp\":null%s},\"spec\":{\"containers\":null},"
		"\"status\":{}}}\n",
		rv,
		initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}"
			    : ""));
}

static void stream_error(struct fake_http_response *r, int code,
			 const char *reason, const char *message)
{
	char *st = status_json(code, reason, message);

	stream_send(r, xasprintf("{\"type\":\"ERROR\",\"object\":%s}\n", st));
	free(st);
}

/* Holds the stream open after its events (a quiet watch). */
static void push_held(struct fake_http_response *r)
{
	fake_http_response_wait(r);
	fake_http_push(fx.srv, r);
}

/* An empty watch held open. */
static void push_idle_watch(void)
{
	push_held(stream_new());
}

/* ---- Request checks ------------------------------------------------- */

static const struct fake_http_request *req(unsigned i)
{
	const struct fake_http_request *q = fake_http_request(fx.srv, i);

	if (!q)
		unit_fail(__FILE__, __LINE__, "request %u was never made", i);
	return q;
}

/* Checks that query parameter key of request i is want (NULL: absent). */
#define CHECK_PARAM(i, key, want)                                            \
	do {                                                                 \
		char *v_ = fake_http_query_param(req(i), (key));             \
		const char *w_ = (want);                                     \
		bool ok_ = w_ ? v_ && strcmp(v_, w_) == 0 : v_ == NULL;      \
		if (!ok_) {                                                  \
			char got_[128];                                      \
			copy_str(got_, sizeof(got_), v_ ? v_ : "(absent)");  \
			free(v_);                                            \
			unit_fail(__FILE__, __LINE__,                        \
				  "request %u (%s): %s=%s, want %s",         \
				  (unsigned)(i), req(i)->target, (key),      \
				  got_, w_ ? w_ : "(absent)");                \
		}                                                            \
		free(v_);                                                    \
		unit_checks++;                                               \
	} while (0)

static bool is_watch(unsigned i)
{
	char *v = fake_http_query_param(req(i), "watch");
	bool w = v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);

	free(v);
	return w;
}

/* ---- (a) watch-list ------------------------------------------------- */

static void watch_list_syncs(void)
{
	struct informer_options o = fast_options();
	struct fake_http_response *r;
	struct informer_stats st;
	struct kube_object *a;
	struct seen s;

	o.no_watch_list = false;
	setup_with(&o);
	r = stream_new();
	stream_event(r, "ADDED", "web-a", "101", "web");
	stream_event(r, "ADDED", "web-c", "103", "web");
	stream_event(r, "ADDED", "web-b", "102", "web");
	stream_bookmark(r, "105", true);
	stream_event(r, "MODIFIED", "web-a", "106", "web-v2");
	push_held(r);
	start();
	CHECK(informer_wait_synced(fx.inf, HANG_GUARD_MS));
	CHECK(informer_has_synced(fx.inf));
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 3);
	WAIT_FOR(seen_count() >= 4);
	CHECK_INT_EQ(seen_kind_count(SEEN_ADD), 3);
	s = seen_at(3);
	CHECK_INT_EQ(s.kind, SEEN_UPDATE);
	CHECK_STR_EQ(s.name, "web-a");
	CHECK_STR_EQ(s.old_rv, "101");
	CHECK_STR_EQ(s.rv, "106");
	a = store_get(informer_store(fx.inf), "default", "web-a");
	CHECK_NOT_NULL(a);
	CHECK_STR_EQ(a->meta.resource_version, "106");
	CHECK(str_has_prefix(a->meta.uid, "3c0f8f4e-"));
	kube_object_unref(a);
	st = stats();
	CHECK_INT_EQ(st.watch_lists, 1);
	CHECK_INT_EQ(st.lists, 0);
	CHECK_INT_EQ(st.watches, 1);
	CHECK(st.using_watch_list);
	CHECK_STR_EQ(st.resource_version, "106");
	CHECK_INT_EQ(fake_http_count(fx.srv), 1);
	CHECK_STR_EQ(req(0)->path, "/api/v1/pods");
	CHECK(is_watch(0));
	CHECK_PARAM(0, "sendInitialEvents", "true");
	CHECK_PARAM(0, "allowWatchBookmarks", "true");
	CHECK_PARAM(0, "resourceVersionMatch", "NotOlderThan");
	CHECK_PARAM(0, "limit", NULL);
	teardown();
}

/* The RV of initial events is not recorded before the end bookmark; a
 * stream that ends without it is no sync. */
static void watch_list_without_end_bookmark_falls_back(void)
{
	struct informer_options o = fast_options();
	static const char *const items[] = { "web-a:101" };
	struct fake_http_response *r;

	o.no_watch_list = false;
	setup_with(&o);
	r = stream_new();
	stream_event(r, "ADDED", "web-a", "101", "web");
	stream_event(r, "ADDED", "web-b", "102", "web");
	fake_http_push(fx.srv, r); /* clean end, no bookmark */
	push_list("110", NULL, items, 1);
	push_idle_watch();
	start();
	CHECK(informer_wait_synced(fx.inf, HANG_GUARD_MS));
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK(!is_watch(1));
	CHECK_PARAM(2, "resourceVersion", "110");
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 1);
	CHECK_INT_EQ(seen_count(), 1);
	teardown();
}

/* ---- (b) watch-list rejected → LIST + WATCH ------------------------- */

static void watch_list_rejected_falls_back(void)
{
	struct informer_options o = fast_options();
	static const char *const items[] = { "web-a:201", "web-b:202" };
	struct informer_stats st;

	o.no_watch_list = false;
	setup_with(&o);
	push_status(422, "Invalid",
		    "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled");
	push_list("210", NULL, items, 2);
	push_idle_watch();
	start();
	CHECK(informer_wait_synced(fx.inf, HANG_GUARD_MS));
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 3);
	CHECK_PARAM(0, "sendInitialEvents", "true");
	CHECK(!is_watch(1));
	CHECK_PARAM(1, "limit", "500");
	CHECK_PARAM(1, "sendInitialEvents", NULL);
	CHECK(is_watch(2));
	CHECK_PARAM(2, "resourceVersion", "210");
	CHECK_PARAM(2, "allowWatchBookmarks", "true");
	CHECK_PARAM(2, "sendInitialEvents", NULL);
	CHECK_PARAM(2, "resourceVersionMatch", NULL);
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 2);
	CHECK_INT_EQ(seen_kind_count(SEEN_ADD), 2);
	st = stats();
	CHECK(!st.using_watch_list);
	CHECK_INT_EQ(st.lists, 1);
	CHECK_INT_EQ(st.watch_lists, 0);
	CHECK_STR_EQ(st.resource_version, "210");
	teardown();
}

/* ---- (c) pagination ------------------------------------------------- */

static void list_pages_follow_continue(void)
{
	static const char tok1[] =
		"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzAwLCJzdGFydCI6IndlYi1iXHUwMDAwIn0=";
	static const char tok2[] =
		"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MzAwLCJzdGFydCI6IndlYi1kXHUwMDAwIn0=";
	static const char *const p1[] = { "web-a:291", "web-b:292" };
	static const char *const p2[] = { "web-c:293", "web-d:294" };
	static const char *const p3[] = { "web-e:295" };
	struct informer_options o = fast_options();

	o.page_size = 2;
	o.ns = "default";
	o.label_selector = "app=web,tier!=db";
	setup_with(&o);
	push_list("300", tok1, p1, 2);
	push_list("300", tok2, p2, 2);
	push_list("300", NULL, p3, 1);
	push_idle_watch();
	start();
	CHECK(informer_wait_synced(fx.inf, HANG_GUARD_MS));
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 4);
	for (unsigned i = 0; i < 3; i++) {
		CHECK_STR_EQ(req(i)->path, "/api/v1/namespaces/default/pods");
		CHECK(!is_watch(i));
		CHECK_PARAM(i, "limit", "2");
		CHECK_PARAM(i, "labelSelector", "app=web,tier!=db");
	}
	CHECK_PARAM(0, "continue", NULL);
	CHECK_PARAM(1, "continue", tok1);
	CHECK_PARAM(2, "continue", tok2);
	CHECK(is_watch(3));
	CHECK_PARAM(3, "resourceVersion", "300");
	CHECK_PARAM(3, "labelSelector", "app=web,tier!=db");
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 5);
	CHECK_INT_EQ(seen_kind_count(SEEN_ADD), 5);
	CHECK_INT_EQ(stats().lists, 3);
	teardown();
}

/* An expired continue token (410 on a later page) restarts the LIST from
 * the first page; the half-read list is never applied. */
static void list_expired_continue_restarts(void)
{
	static const char *const p1[] = { "web-a:311", "web-b:312" };
	static const char *const full[] = { "web-a:311", "web-c:313" };
	struct informer_options o = fast_options();

	o.page_size = 2;
	setup_with(&o);
	push_list("310", "dG9rLTE=", p1, 2);
	push_status(410, "Expired",
		    "The provided continue parameter is too old to display a consistent list result.");
	push_list("320", NULL, full, 2);
	push_idle_watch();
	start();
	CHECK(informer_wait_synced(fx.inf, HANG_GUARD_MS));
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 4);
	CHECK_PARAM(1, "continue", "dG9rLTE=");
	CHECK(!is_watch(2));
	CHECK_PARAM(2, "continue", NULL);
	CHECK_PARAM(3, "resourceVersion", "320");
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 2);
	CHECK_NULL(store_get(informer_store(fx.inf), "default", "web-b"));
	CHECK_INT_EQ(seen_kind_count(SEEN_ADD), 2);
	CHECK_INT_EQ(seen_kind_count(SEEN_DELETE), 0);
	teardown();
}

/* ---- (d) ERROR 410 mid-watch → relist with tombstones ---------------- */

static void watch_error_410_relists(void)
{
	static const char *const l1[] = { "web-a:401", "web-b:402",
					  "web-c:403" };
	static const char *const l2[] = { "web-a:411", "web-c:403" };
	struct fake_http_response *r;
	struct informer_stats st;
	struct seen s;

	setup();
	push_list("410", NULL, l1, 3);
	r = stream_new();
	stream_event(r, "MODIFIED", "web-a", "411", "web");
	stream_error(r, 410, "Expired", "too old resource version: 410 (415)");
	fake_http_push(fx.srv, r);
	push_list("420", NULL, l2, 2);
	push_idle_watch();
	start();
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 4);
	CHECK(is_watch(1));
	CHECK_PARAM(1, "resourceVersion", "410");
	CHECK(!is_watch(2));
	CHECK(is_watch(3));
	CHECK_PARAM(3, "resourceVersion", "420");
	/* 3 adds, the update of web-a, then only web-b's tombstone. */
	CHECK_INT_EQ(seen_count(), 5);
	s = seen_at(3);
	CHECK_INT_EQ(s.kind, SEEN_UPDATE);
	CHECK_STR_EQ(s.name, "web-a");
	s = seen_at(4);
	CHECK_INT_EQ(s.kind, SEEN_DELETE);
	CHECK_STR_EQ(s.name, "web-b");
	CHECK_STR_EQ(s.rv, "402");
	CHECK(s.unknown);
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 2);
	st = stats();
	CHECK_INT_EQ(st.expired, 1);
	CHECK_INT_EQ(st.relists, 1);
	CHECK_INT_EQ(st.lists, 2);
	CHECK_INT_EQ(st.errors, 0);
	CHECK_STR_EQ(st.resource_version, "420");
	teardown();
}

/* ---- (e) HTTP 410 at watch start → relist --------------------------- */

static void watch_http_410_relists(void)
{
	static const char *const l1[] = { "web-a:501", "web-b:502" };
	static const char *const l2[] = { "web-a:501" };
	struct informer_stats st;
	struct seen s;

	setup();
	push_list("500", NULL, l1, 2);
	push_status(410, "Expired", "too old resource version: 500 (530)");
	push_list("530", NULL, l2, 1);
	push_idle_watch();
	start();
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 4);
	CHECK(is_watch(1));
	CHECK(!is_watch(2));
	CHECK_PARAM(3, "resourceVersion", "530");
	CHECK_INT_EQ(seen_count(), 3);
	s = seen_at(2);
	CHECK_INT_EQ(s.kind, SEEN_DELETE);
	CHECK_STR_EQ(s.name, "web-b");
	CHECK(s.unknown);
	st = stats();
	CHECK_INT_EQ(st.expired, 1);
	CHECK_INT_EQ(st.relists, 1);
	CHECK_INT_EQ(st.lists, 2);
	teardown();
}

/* ---- (f) bookmarks carry the RV into the next watch ------------------ */

static void bookmark_advances_rv(void)
{
	static const char *const l1[] = { "web-a:601" };
	struct fake_http_response *r;
	struct informer_stats st;

	setup();
	push_list("600", NULL, l1, 1);
	r = stream_new();
	stream_bookmark(r, "650", false);
	fake_http_push(fx.srv, r); /* then a clean end of stream */
	push_idle_watch();
	start();
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 3);
	CHECK_PARAM(1, "resourceVersion", "600");
	CHECK(is_watch(2));
	CHECK_PARAM(2, "resourceVersion", "650");
	st = stats();
	CHECK_INT_EQ(st.lists, 1);
	CHECK_INT_EQ(st.relists, 0);
	CHECK_INT_EQ(st.watches, 2);
	CHECK_INT_EQ(st.bookmarks, 1);
	CHECK_INT_EQ(st.errors, 0);
	CHECK_STR_EQ(st.resource_version, "650");
	/* A bookmark is not an object. */
	CHECK_INT_EQ(seen_count(), 1);
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 1);
	teardown();
}

/* ---- (g) MODIFIED / DELETED ------------------------------------------ */

static void modified_and_deleted_dispatch(void)
{
	static const char *const l1[] = { "web-a:700", "web-b:701" };
	struct fake_http_response *r;
	struct kube_object *a;
	struct seen s;

	setup();
	push_list("702", NULL, l1, 2);
	r = stream_new();
	stream_event(r, "MODIFIED", "web-a", "703", "web-canary");
	stream_event(r, "DELETED", "web-b", "704", "web");
	stream_event(r, "ADDED", "web-z", "705", "web");
	push_held(r);
	start();
	WAIT_FOR(seen_count() >= 5);
	s = seen_at(2);
	CHECK_INT_EQ(s.kind, SEEN_UPDATE);
	CHECK_STR_EQ(s.name, "web-a");
	CHECK_STR_EQ(s.old_rv, "700");
	CHECK_STR_EQ(s.old_app, "web");
	CHECK_STR_EQ(s.rv, "703");
	CHECK_STR_EQ(s.app, "web-canary");
	s = seen_at(3);
	CHECK_INT_EQ(s.kind, SEEN_DELETE);
	CHECK_STR_EQ(s.name, "web-b");
	CHECK_STR_EQ(s.rv, "704");
	CHECK(!s.unknown);
	s = seen_at(4);
	CHECK_INT_EQ(s.kind, SEEN_ADD);
	CHECK_STR_EQ(s.name, "web-z");
	CHECK_INT_EQ(seen_count(), 5);
	CHECK_NULL(store_get(informer_store(fx.inf), "default", "web-b"));
	a = store_get(informer_store(fx.inf), "default", "web-a");
	CHECK_NOT_NULL(a);
	CHECK_STR_EQ(kube_labels_get(&a->meta.labels, "app"), "web-canary");
	kube_object_unref(a);
	CHECK_INT_EQ(store_count(informer_store(fx.inf)), 2);
	WAIT_FOR(strcmp(stats().resource_version, "705") == 0);
	CHECK_INT_EQ(stats().events, 3);
	teardown();
}

/* ---- (h) 500 on watch → backoff, re-watch, no relist ----------------- */

static void watch_500_backs_off_and_rewatches(void)
{
	static const char *const l1[] = { "web-a:801" };
	struct informer_stats st;

	setup();
	push_list("800", NULL, l1, 1);
	push_status(500, "InternalError", "etcdserver: request timed out");
	push_idle_watch();
	start();
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 3);
	CHECK(is_watch(1));
	CHECK(is_watch(2));
	CHECK_PARAM(2, "resourceVersion", "800");
	st = stats();
	CHECK_INT_EQ(st.lists, 1);
	CHECK_INT_EQ(st.relists, 0);
	CHECK_INT_EQ(st.expired, 0);
	CHECK_INT_EQ(st.errors, 1);
	CHECK_INT_EQ(st.watches, 2);
	teardown();
}

/* A stream cut mid-event (no final chunk) is a failure: back off and
 * re-watch from the last applied RV, never from the half event. */
static void watch_cut_midevent_rewatches(void)
{
	static const char *const l1[] = { "web-a:851" };
	struct fake_http_response *r;
	const char *cut;
	struct informer_stats st;

	setup();
	push_list("850", NULL, l1, 1);
	r = stream_new();
	stream_event(r, "MODIFIED", "web-a", "852", "web");
	cut = "{\"type\":\"MODIFIED\",\"object\":{\"kind\"";
	fake_http_response_chunk(r, cut, strlen(cut));
	fake_http_response_cut(r);
	fake_http_push(fx.srv, r);
	push_idle_watch();
	start();
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	CHECK_INT_EQ(fake_http_count(fx.srv), 3);
	CHECK(is_watch(2));
	CHECK_PARAM(2, "resourceVersion", "852");
	st = stats();
	CHECK_INT_EQ(st.lists, 1);
	CHECK_INT_EQ(st.relists, 0);
	CHECK_INT_EQ(st.errors, 1);
	CHECK_INT_EQ(st.events, 1);
	teardown();
}

/* ---- (i) informer_stop while a watch is held open -------------------- */

struct stopper {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done; /* guarded by lock */
};

static void *stopper_main(void *arg)
{
	struct stopper *s = arg;

	informer_stop(fx.inf);
	pthread_mutex_lock(&s->lock);
	s->done = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void stop_while_watch_held(void)
{
	static const char *const l1[] = { "web-a:901" };
	static struct stopper s; /* outlives the case if the guard fails */
	struct timespec ts;
	pthread_t th;
	bool done;

	setup();
	push_list("900", NULL, l1, 1);
	push_idle_watch();
	start();
	CHECK(fake_http_wait_waiting(fx.srv, 1, HANG_GUARD_MS));
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	BUG_ON(pthread_create(&th, NULL, stopper_main, &s) != 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += HANG_GUARD_MS / 1000;
	pthread_mutex_lock(&s.lock);
	while (!s.done)
		if (pthread_cond_timedwait(&s.cond, &s.lock, &ts) != 0)
			break;
	done = s.done;
	pthread_mutex_unlock(&s.lock);
	if (!done)
		unit_fail(__FILE__, __LINE__,
			  "informer_stop hung with a watch held open");
	pthread_join(th, NULL);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	CHECK_INT_EQ(fake_http_count(fx.srv), 2);
	CHECK(informer_has_synced(fx.inf));
	teardown();
}

static const struct unit_case cases[] = {
	UNIT_CASE(watch_list_syncs),
	UNIT_CASE(watch_list_without_end_bookmark_falls_back),
	UNIT_CASE(watch_list_rejected_falls_back),
	UNIT_CASE(list_pages_follow_continue),
	UNIT_CASE(list_expired_continue_restarts),
	UNIT_CASE(watch_error_410_relists),
	UNIT_CASE(watch_http_410_relists),
	UNIT_CASE(bookmark_advances_rv),
	UNIT_CASE(modified_and_deleted_dispatch),
	UNIT_CASE(watch_500_backs_off_and_rewatches),
	UNIT_CASE(watch_cut_midevent_rewatches),
	UNIT_CASE(stop_while_watch_held),
};

int main(int argc, char **argv)
{
	int rc;

	apiclient_global_init();
	rc = unit_main(argc, argv, "informer", cases, ARRAY_SIZE(cases));
	teardown();
	apiclient_global_cleanup();
	return rc;
}
