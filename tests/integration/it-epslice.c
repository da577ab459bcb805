/*
 * it-epslice: the EndpointSlice controller of the svc-controllers binary
 * ($SVC_BIN) against the real kube-apiserver (endpointslice.md). Each case
 * runs its own controller process and namespace, creates Nodes and Pods as
 * a kubelet would (there is none), and waits, bounded, until a fresh list
 * of the Service's EndpointSlices shows what the spec says. Every process
 * is stopped with SIGTERM: it must exit 0, print its totals line and, when
 * built with sanitizers, report nothing on stderr.
 *
 * There is no garbage collector on the test cluster, so slices that
 * disappear with their Service were deleted by the controller (issue #3).
 */
#include "base.h"
#include "itlib.h"

#include <sys/wait.h>

#define WAIT_MS	     30000
#define STOP_MS	     60000
#define MANAGED_BY   "endpointslice-controller.k8s.io"
#define L_SVC	     "kubernetes.io/service-name"
#define L_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define L_HEADLESS   "service.kubernetes.io/headless"
#define A_TRIGGER    "endpoints.kubernetes.io/last-change-trigger-time"
#define STARTED_LINE "endpointslice controller started"

/* The test thread's errbuf for IT_CHECK_OK. */
static struct errbuf teb = ERRBUF_INIT;
#define MUST(call) IT_CHECK_OK(call, &teb)

/* ---- The controller process ------------------------------------------ */

struct totals {
	unsigned long long syncs, errors, stale, creates, updates, deletes;
};

struct log_wait {
	const char *path;
	struct buf text;
	const char *needle;
};

static bool log_has(void *arg)
{
	struct log_wait *w = arg;

	it_read_file(w->path, &w->text);
	return strstr(w->text.data, w->needle) != NULL;
}

/* Prints up to max lines of text as TAP comments (so that a report's
 * own "==pid==ERROR" lines never start a line of the test's output). */
static void print_lines(const char *what, const char *p, size_t max)
{
	printf("#   %s:\n", what);
	while (*p && max-- > 0) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (len > 0)
			printf("#     %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
}

/* Prints the last max lines of text as TAP comments. */
static void print_tail(const char *what, const char *text, size_t max)
{
	const char *p = text + strlen(text);
	size_t lines = 0;

	while (p > text && lines <= max)
		if (*--p == '\n')
			lines++;
	print_lines(what, p, max + 1);
}

/* Starts the binary (max_per_slice 0: the default) and waits until its
 * workers run. p must outlive the case (static storage). */
static void ctl_start(struct it_proc *p, int max_per_slice)
{
	char maxarg[64];
	char *argv[] = {(char *)it_env("SVC_BIN"), (char *)"--kubeconfig",
			(char *)it_env("KUBECONFIG"), (char *)"-v=2",
			(char *)"--cache-sync-timeout=60s",
			(char *)"--secure-port=0", NULL, NULL};
	struct log_wait w = {.needle = STARTED_LINE};
	bool ok;

	if (max_per_slice > 0) {
		(void)snprintf(maxarg, sizeof(maxarg),
			       "--max-endpoints-per-slice=%d", max_per_slice);
		argv[6] = maxarg;
	}
	MUST(it_proc_start(argv, p, &teb));
	w.path = p->err_path;
	buf_init(&w.text, 0);
	ok = it_wait_until(log_has, &w, WAIT_MS);
	if (!ok)
		print_tail("controller stderr", w.text.data, 30);
	buf_release(&w.text);
	CHECK(ok);
}

static bool parse_totals(const char *log, struct totals *t)
{
	const char *p = strstr(log, "endpointslice controller stopped ");

	return p && sscanf(p,
			   "endpointslice controller stopped syncs=%llu "
			   "errors=%llu stale=%llu creates=%llu updates=%llu "
			   "deletes=%llu",
			   &t->syncs, &t->errors, &t->stale, &t->creates,
			   &t->updates, &t->deletes) == 6;
}

/*
 * SIGTERM; the process must exit 0 within STOP_MS, log its totals and
 * leave no sanitizer report on stderr. t (may be NULL) gets the totals.
 */
static void ctl_stop(struct it_proc *p, struct totals *t)
{
	struct totals tmp = {0};
	struct buf err;
	int status = 0;
	bool exited = it_proc_stop(p, STOP_MS, &status);
	bool parsed, clean;

	buf_init(&err, 0);
	it_read_file(p->err_path, &err);
	clean = it_sanitizer_report(err.data) == NULL;
	if (!clean)
		print_lines("sanitizer report on the controller's stderr",
			    it_sanitizer_report(err.data), 40);
	parsed = parse_totals(err.data, &tmp);
	if (!exited || !parsed)
		print_tail("controller stderr", err.data, 30);
	buf_release(&err);
	if (parsed)
		printf("# controller: syncs=%llu errors=%llu stale=%llu "
		       "creates=%llu updates=%llu deletes=%llu\n",
		       tmp.syncs, tmp.errors, tmp.stale, tmp.creates,
		       tmp.updates, tmp.deletes);
	CHECK(clean);
	CHECK(exited);
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(WEXITSTATUS(status), 0);
	CHECK(parsed);
	if (t)
		*t = tmp;
}

/* ---- Objects ------------------------------------------------------------ */

static void unref_cb(void *arg)
{
	kube_object_unref(arg);
}

static char *svc_path(const char *ns, const char *name)
{
	return xasprintf("/api/v1/namespaces/%s/services/%s", ns, name);
}

/*
 * Creates Service name in ns; meta_extra is inserted into metadata (e.g.
 * "\"annotations\":{...}," or ""), spec is the content of spec. Returns
 * the decoded Service (released at it_end).
 */
static struct kube_object *svc_create(const char *ns, const char *name,
				      const char *meta_extra, const char *spec)
{
	char *path = xasprintf("/api/v1/namespaces/%s/services", ns);
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Service\","
			       "\"metadata\":{%s\"name\":\"%s\"},\"spec\":{%s}}",
			       meta_extra, name, spec);
	struct kube_object *o = NULL;
	struct buf resp;
	enum err e;

	buf_init(&resp, 0);
	e = it_post(path, body, &resp, NULL, &teb);
	if (e == ERR_OK)
		e = kube_object_decode(KUBE_KIND_SERVICE, resp.data, resp.len,
				       &o, &teb);
	buf_release(&resp);
	free(body);
	free(path);
	MUST(e);
	it_defer(unref_cb, o);
	return o;
}

/* A plain Service selecting app=<app> with port http -> targetPort. */
static struct kube_object *svc_simple(const char *ns, const char *name,
				      const char *app, const char *target)
{
	char *spec = xasprintf("\"selector\":{\"app\":\"%s\"},\"ports\":[{"
			       "\"name\":\"http\",\"port\":80,\"targetPort\":%s}]",
			       app, target);
	struct kube_object *o = svc_create(ns, name, "", spec);

	free(spec);
	return o;
}

static void svc_patch(const char *ns, const char *name, const char *json)
{
	char *path = svc_path(ns, name);
	enum err e = it_merge_patch(path, json, &teb);

	free(path);
	MUST(e);
}

static void svc_delete(const char *ns, const char *name)
{
	char *path = svc_path(ns, name);
	enum err e = it_request(APICLIENT_DELETE, path, NULL, NULL, NULL, NULL,
				NULL, &teb);

	free(path);
	MUST(e);
}

/* A Node in zone (may be NULL); cpu_milli > 0 also reports it Ready with
 * that allocatable CPU. Returns the name (freed at it_end). */
static char *node_up(const char *zone, int64_t cpu_milli)
{
	char *name = it_unique_name("eps-node");

	it_defer(free, name);
	MUST(it_node_create(name, zone, &teb));
	if (cpu_milli > 0)
		MUST(it_node_set_status(name, cpu_milli, true, &teb));
	return name;
}

/* A Pod with spec, then its status: the given IPs and readiness. */
static void pod_up_ips(const char *ns, const char *name,
		       const struct it_pod_spec *spec, const char *const *ips,
		       size_t n_ips, bool ready)
{
	MUST(it_pod_create_spec(ns, name, spec, NULL, &teb));
	MUST(it_pod_set_status_ips(ns, name, ips, n_ips, ready, 0, &teb));
}

static void pod_up(const char *ns, const char *name, const char *node,
		   const char *app, const char *ip, bool ready)
{
	struct it_pod_spec spec = {.app = app, .node = node};

	pod_up_ips(ns, name, &spec, &ip, 1, ready);
}

/* ---- Reading slices ------------------------------------------------------- */

static enum err list_slices(const char *ns, const char *svc, struct it_list *l,
			    struct errbuf *eb)
{
	char sel[384];

	/* Ours only: another manager's slices are checked by name. */
	(void)snprintf(sel, sizeof(sel), L_SVC "=%s," L_MANAGED_BY "=" MANAGED_BY,
		       svc);
	return it_list(KUBE_KIND_ENDPOINTSLICE, ns, sel, l, eb);
}

static const struct kube_endpointslice *slice_at(const struct it_list *l,
						 size_t i)
{
	return kube_endpointslice(l->items[i]);
}

static char tri(enum kube_tristate t)
{
	return t == KUBE_TRUE ? 'T' : t == KUBE_FALSE ? 'F' : '-';
}

static void dump_slices(const char *ns, const char *svc)
{
	struct errbuf eb = ERRBUF_INIT;
	struct it_list l;

	if (list_slices(ns, svc, &l, &eb) != ERR_OK) {
		printf("#   cannot list slices: %s\n", eb.msg);
		return;
	}
	printf("#   slices of %s/%s: %zu\n", ns, svc, l.n);
	for (size_t i = 0; i < l.n; i++) {
		const struct kube_endpointslice *s = slice_at(&l, i);

		printf("#    %s rv=%s %s managed-by=%s ports=", s->obj.meta.name,
		       s->obj.meta.resource_version,
		       kube_address_type_name(s->address_type),
		       kube_labels_get(&s->obj.meta.labels, L_MANAGED_BY));
		for (uint32_t j = 0; j < s->n_ports; j++)
			printf("%s%s:%d", j ? "," : "",
			       s->ports[j].name ? s->ports[j].name : "",
			       s->ports[j].port);
		printf(" endpoints=%u\n", s->n_endpoints);
		for (uint32_t j = 0; j < s->n_endpoints; j++) {
			const struct kube_endpoint *ep = &s->endpoints[j];

			printf("#      %s r=%c s=%c t=%c node=%s zone=%s "
			       "host=%s zones=%u(%s) nodes=%u\n",
			       ep->n_addresses ? ep->addresses[0] : "?",
			       tri(ep->ready), tri(ep->serving),
			       tri(ep->terminating),
			       ep->node_name ? ep->node_name : "",
			       ep->zone ? ep->zone : "",
			       ep->hostname ? ep->hostname : "",
			       ep->n_hint_zones,
			       ep->n_hint_zones ? ep->hint_zones[0] : "",
			       ep->n_hint_nodes);
		}
	}
	it_list_release(&l);
}

/* The endpoint with address addr over all slices (and its slice). */
static const struct kube_endpoint *
find_ep(const struct it_list *l, const char *addr,
	const struct kube_endpointslice **in)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct kube_endpointslice *s = slice_at(l, i);

		for (uint32_t j = 0; j < s->n_endpoints; j++)
			for (uint32_t k = 0; k < s->endpoints[j].n_addresses;
			     k++)
				if (str_eq(s->endpoints[j].addresses[k],
					   addr)) {
					if (in)
						*in = s;
					return &s->endpoints[j];
				}
	}
	return NULL;
}

static size_t count_eps(const struct it_list *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += slice_at(l, i)->n_endpoints;
	return n;
}

/* Appends a note to why (truncated on overflow). */
static void why_add(struct buf *why, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void why_add(struct buf *why, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (buf_adds(why, tmp) != ERR_OK)
		return;
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

typedef bool (*slices_check_fn)(const struct it_list *l, void *ctx,
				struct buf *why);

struct slices_wait {
	const char *ns, *svc;
	slices_check_fn check;
	void *ctx;
	struct buf why;
};

static bool slices_pred(void *arg)
{
	struct slices_wait *w = arg;
	struct errbuf eb = ERRBUF_INIT;
	struct it_list l;
	bool ok;

	buf_reset(&w->why);
	if (list_slices(w->ns, w->svc, &l, &eb) != ERR_OK) {
		why_add(&w->why, "list: %s", eb.msg);
		return false;
	}
	ok = w->check(&l, w->ctx, &w->why);
	it_list_release(&l);
	return ok;
}

/* Waits (bounded) until check holds on a fresh list of svc's slices;
 * fails the case with the last reason and a dump otherwise. */
static void wait_slices(const char *ns, const char *svc, slices_check_fn check,
			void *ctx)
{
	struct slices_wait w = {ns, svc, check, ctx, {0}};
	bool ok;

	buf_init(&w.why, 0);
	ok = it_wait_until(slices_pred, &w, WAIT_MS);
	if (!ok) {
		printf("#   %s/%s: %s\n", ns, svc, w.why.data);
		dump_slices(ns, svc);
	}
	buf_release(&w.why);
	CHECK(ok);
}

/* One wanted endpoint: its first address and conditions. */
struct ep_want {
	const char *addr;
	enum kube_tristate ready, serving, terminating;
};

struct eps_want {
	const struct ep_want *eps;
	size_t n;
	int n_slices; /* -1: any */
};

/* Exactly the wanted endpoints (by address), each with its conditions,
 * over all managed slices, and n_slices slices if set. */
static bool check_eps(const struct it_list *l, void *ctx, struct buf *why)
{
	const struct eps_want *w = ctx;

	if (w->n_slices >= 0 && l->n != (size_t)w->n_slices) {
		why_add(why, "%zu slices, want %d", l->n, w->n_slices);
		return false;
	}
	if (count_eps(l) != w->n) {
		why_add(why, "%zu endpoints, want %zu", count_eps(l), w->n);
		return false;
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct ep_want *x = &w->eps[i];
		const struct kube_endpoint *ep = find_ep(l, x->addr, NULL);

		if (!ep) {
			why_add(why, "no endpoint %s", x->addr);
			return false;
		}
		if (ep->ready != x->ready || ep->serving != x->serving ||
		    ep->terminating != x->terminating) {
			why_add(why, "%s: r/s/t=%c%c%c, want %c%c%c", x->addr,
				tri(ep->ready), tri(ep->serving),
				tri(ep->terminating), tri(x->ready),
				tri(x->serving), tri(x->terminating));
			return false;
		}
	}
	return true;
}

static void wait_eps(const char *ns, const char *svc, const struct ep_want *eps,
		     size_t n, int n_slices)
{
	struct eps_want w = {eps, n, n_slices};

	wait_slices(ns, svc, check_eps, &w);
}

static bool check_no_slices(const struct it_list *l, void *ctx,
			    struct buf *why)
{
	(void)ctx;
	if (l->n == 0)
		return true;
	why_add(why, "%zu slices left", l->n);
	return false;
}

#define EP_READY(a) {a, KUBE_TRUE, KUBE_TRUE, KUBE_FALSE}
#define EP_NOT_READY(a) {a, KUBE_FALSE, KUBE_FALSE, KUBE_FALSE}

/*
 * The metadata every slice we wrote carries (endpointslice.md §4): the
 * labels, exactly one ownerReference (v1 Service, controller,
 * blockOwnerDeletion) to svc, generateName "<svc>-" and, if
 * want_trigger, the trigger-time annotation.
 */
static void check_slice_meta(const struct kube_endpointslice *s,
			     const struct kube_object *svc, bool want_trigger)
{
	const struct kube_meta *m = &s->obj.meta;
	const struct kube_owner_ref *o = m->owners;
	char prefix[300];

	(void)snprintf(prefix, sizeof(prefix), "%s-", svc->meta.name);
	CHECK_STR_EQ(kube_labels_get(&m->labels, L_SVC), svc->meta.name);
	CHECK_STR_EQ(kube_labels_get(&m->labels, L_MANAGED_BY), MANAGED_BY);
	CHECK_STR_EQ(m->generate_name, prefix);
	CHECK(str_has_prefix(m->name, prefix));
	CHECK_INT_EQ(m->n_owners, 1);
	CHECK_STR_EQ(o->api_version, "v1");
	CHECK_STR_EQ(o->kind, "Service");
	CHECK_STR_EQ(o->name, svc->meta.name);
	CHECK_STR_EQ(o->uid, svc->meta.uid);
	CHECK_INT_EQ(o->controller, KUBE_TRUE);
	CHECK_INT_EQ(o->block_owner_deletion, KUBE_TRUE);
	if (want_trigger) {
		const char *tt = kube_labels_get(&m->annotations, A_TRIGGER);
		int64_t ms = 0;

		CHECK_NOT_NULL(tt);
		CHECK_OK(clock_parse_rfc3339(tt, &ms));
		CHECK(ms > 0);
	}
}

/* A fresh list of svc's slices (released at it_end). */
static struct it_list *slices_now(const char *ns, const char *svc)
{
	struct it_list *l = xcalloc(1, sizeof(*l));

	it_defer(free, l);
	MUST(list_slices(ns, svc, l, &teb));
	return l;
}

static void list_release_cb(void *arg)
{
	it_list_release(arg);
}

static struct it_list *slices_held(const char *ns, const char *svc)
{
	struct it_list *l = slices_now(ns, svc);

	it_defer(list_release_cb, l);
	return l;
}

/* The slice named name in l, or NULL. */
static const struct kube_endpointslice *by_name(const struct it_list *l,
						const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (str_eq(l->items[i]->meta.name, name))
			return slice_at(l, i);
	return NULL;
}

/* Every slice's resourceVersion in ns ("name=rv" lines, sorted by name). */
static void snapshot(const char *ns, struct buf *out)
{
	struct it_list l;
	char **lines;

	buf_reset(out);
	MUST(it_list(KUBE_KIND_ENDPOINTSLICE, ns, L_MANAGED_BY "=" MANAGED_BY,
		     &l, &teb));
	lines = xcalloc(l.n + 1, sizeof(*lines));
	for (size_t i = 0; i < l.n; i++)
		lines[i] = xasprintf("%s=%s\n", l.items[i]->meta.name,
				     l.items[i]->meta.resource_version);
	qsort(lines, l.n, sizeof(*lines), cmp_str_ptr);
	for (size_t i = 0; i < l.n; i++) {
		BUG_ON(buf_adds(out, lines[i]) != ERR_OK);
		free(lines[i]);
	}
	free(lines);
	it_list_release(&l);
}

/* Waits (bounded) until two snapshots a second apart are equal, i.e. the
 * controller has stopped writing; out gets that snapshot. */
static void wait_settled(const char *ns, struct buf *out)
{
	int64_t deadline = clock_mono_ns() + (int64_t)WAIT_MS * 1000000LL;
	struct buf prev;
	bool same = false;

	buf_init(&prev, 0);
	snapshot(ns, &prev);
	while (!same && clock_mono_ns() < deadline) {
		clock_sleep_ms(1000);
		snapshot(ns, out);
		same = str_eq(prev.data, out->data);
		buf_reset(&prev);
		BUG_ON(buf_adds(&prev, out->data) != ERR_OK);
	}
	buf_release(&prev);
	CHECK(same);
}

/* ---- Cases ----------------------------------------------------------------- */

static void placeholder_for_service_without_pods(void)
{
	static struct it_proc proc;
	const struct kube_endpointslice *s;
	struct kube_object *svc;
	struct totals t;
	const char *ns;

	it_begin();
	ns = it_ns_create("it-eps");
	ctl_start(&proc, 0);
	svc = svc_simple(ns, "empty", "nothing", "8080");
	wait_eps(ns, "empty", NULL, 0, 1);
	s = slice_at(slices_held(ns, "empty"), 0);
	CHECK_INT_EQ(s->address_type, KUBE_ADDR_IPV4);
	CHECK_INT_EQ(s->n_ports, 0);
	CHECK_INT_EQ(s->n_endpoints, 0);
	CHECK_NULL(kube_labels_get(&s->obj.meta.labels, L_HEADLESS));
	check_slice_meta(s, svc, true);
	ctl_stop(&proc, &t);
	CHECK_INT_EQ(t.creates, 1);
	CHECK_INT_EQ(t.updates, 0);
	CHECK_INT_EQ(t.deletes, 0);
	it_end();
}

/* Readiness of web-1 flips; only its slice is rewritten, stamped with the
 * flip's lastTransitionTime. Two endpoints per slice, so there are two. */
static void readiness_flips_rewrite_one_slice(void)
{
	static struct it_proc proc;
	static const char *const ips[] = {"10.1.0.1", "10.1.0.2", "10.1.0.3"};
	struct ep_want want[3] = {EP_READY("10.1.0.1"), EP_READY("10.1.0.2"),
				  EP_READY("10.1.0.3")};
	int64_t base = (clock_now_ms() / 1000 - 3600) * 1000;
	struct kube_object *svc;
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 2);
	svc = svc_simple(ns, "web", "web", "\"http\"");
	for (int i = 0; i < 3; i++) {
		struct it_pod_spec spec = {.app = "web", .node = node};
		char name[16];

		(void)snprintf(name, sizeof(name), "web-%d", i);
		MUST(it_pod_create_spec(ns, name, &spec, NULL, &teb));
		MUST(it_pod_set_status_ips(ns, name, &ips[i], 1, true, base,
					   &teb));
	}
	wait_eps(ns, "web", want, 3, 2);
	for (int flip = 1; flip <= 4; flip++) {
		bool ready = flip % 2 == 0;
		int64_t ltt = base + flip * 1000;
		const struct kube_endpointslice *in = NULL, *now;
		const struct it_list *before, *after;
		int64_t tt_ms = 0;

		before = slices_held(ns, "web");
		CHECK_NOT_NULL(find_ep(before, ips[1], &in));
		MUST(it_pod_set_status_ips(ns, "web-1", &ips[1], 1, ready, ltt,
					   &teb));
		want[1].ready = want[1].serving = ready ? KUBE_TRUE : KUBE_FALSE;
		wait_eps(ns, "web", want, 3, 2);
		after = slices_held(ns, "web");
		for (size_t i = 0; i < before->n; i++) {
			const struct kube_endpointslice *b = slice_at(before, i);

			now = by_name(after, b->obj.meta.name);
			CHECK_NOT_NULL(now);
			if (b == in)
				CHECK(!str_eq(now->obj.meta.resource_version,
					      b->obj.meta.resource_version));
			else
				CHECK_STR_EQ(now->obj.meta.resource_version,
					     b->obj.meta.resource_version);
		}
		now = by_name(after, in->obj.meta.name);
		check_slice_meta(now, svc, true);
		CHECK_OK(clock_parse_rfc3339(
		    kube_labels_get(&now->obj.meta.annotations, A_TRIGGER),
		    &tt_ms));
		CHECK_INT_EQ(tt_ms, ltt);
	}
	ctl_stop(&proc, NULL);
	it_end();
}

static void terminating_pods_stay_until_gone(void)
{
	static struct it_proc proc;
	struct ep_want want[2] = {EP_READY("10.2.0.1"), EP_READY("10.2.0.2")};
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "web", "\"http\"");
	pod_up(ns, "t-0", node, "web", "10.2.0.1", true);
	pod_up(ns, "t-1", node, "web", "10.2.0.2", true);
	wait_eps(ns, "web", want, 2, 1);

	/* Graceful: no kubelet confirms, so the pod stays terminating. */
	MUST(it_pod_delete(ns, "t-1", false, &teb));
	want[1] = (struct ep_want){"10.2.0.2", KUBE_FALSE, KUBE_TRUE, KUBE_TRUE};
	wait_eps(ns, "web", want, 2, 1);
	/* serving follows Ready while terminating. */
	MUST(it_pod_set_status(ns, "t-1", "10.2.0.2", false, &teb));
	want[1].serving = KUBE_FALSE;
	wait_eps(ns, "web", want, 2, 1);
	MUST(it_pod_delete(ns, "t-1", true, &teb));
	wait_eps(ns, "web", want, 1, 1);
	ctl_stop(&proc, NULL);
	it_end();
}

/* The slice holding addr has exactly one port, http/TCP on port. */
static bool port_of(const struct it_list *l, const char *addr, int32_t port,
		    struct buf *why)
{
	const struct kube_endpointslice *s = NULL;

	if (!find_ep(l, addr, &s)) {
		why_add(why, "no endpoint %s", addr);
		return false;
	}
	if (s->n_ports != 1 || !str_eq(s->ports[0].name, "http") ||
	    s->ports[0].port != port || s->ports[0].protocol != KUBE_PROTO_TCP) {
		why_add(why, "%s: slice %s has %u ports (first %d), want http:%d",
			addr, s->obj.meta.name, s->n_ports,
			s->n_ports ? s->ports[0].port : 0, port);
		return false;
	}
	return s->n_endpoints == 1;
}

static bool check_named_ports(const struct it_list *l, void *ctx,
			      struct buf *why)
{
	(void)ctx;
	if (l->n != 2) {
		why_add(why, "%zu slices, want 2", l->n);
		return false;
	}
	return port_of(l, "10.3.0.1", 8080, why) &&
	       port_of(l, "10.3.0.2", 8081, why);
}

static void named_ports_split_slices(void)
{
	static struct it_proc proc;
	struct it_pod_spec a = {.app = "multi"}, b = {.app = "multi",
						      .http_port = 8081};
	static const char *const ip_a = "10.3.0.1", *const ip_b = "10.3.0.2";
	const char *ns;

	it_begin();
	ns = it_ns_create("it-eps");
	a.node = b.node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "multi", "multi", "\"http\"");
	pod_up_ips(ns, "p-a", &a, &ip_a, 1, true);
	pod_up_ips(ns, "p-b", &b, &ip_b, 1, true);
	wait_slices(ns, "multi", check_named_ports, NULL);
	ctl_stop(&proc, NULL);
	it_end();
}

struct many_ctx {
	const char *ns, *node;
};

static enum err make_many(void *arg, size_t i, struct errbuf *eb)
{
	struct many_ctx *c = arg;
	struct it_pod_spec spec = {.app = "big", .node = c->node};
	char name[32], ip[32];
	const char *ipp = ip;
	enum err e;

	(void)snprintf(name, sizeof(name), "big-%zu", i);
	(void)snprintf(ip, sizeof(ip), "10.7.%zu.%zu", i / 200, i % 200 + 1);
	e = it_pod_create_spec(c->ns, name, &spec, NULL, eb);
	if (e == ERR_OK)
		e = it_pod_set_status_ips(c->ns, name, &ipp, 1, true, 0, eb);
	return e;
}

static int cmp_size(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* 100/100/50 endpoints, 250 distinct ready addresses. */
static bool check_250(const struct it_list *l, void *ctx, struct buf *why)
{
	uint32_t sizes[3];
	const char **addrs;
	size_t n = 0;
	bool ok = true;

	(void)ctx;
	if (l->n != 3 || count_eps(l) != 250) {
		why_add(why, "%zu slices, %zu endpoints; want 3, 250", l->n,
			count_eps(l));
		return false;
	}
	addrs = xcalloc(250, sizeof(*addrs));
	for (size_t i = 0; i < 3; i++) {
		const struct kube_endpointslice *s = slice_at(l, i);

		sizes[i] = s->n_endpoints;
		for (uint32_t j = 0; j < s->n_endpoints; j++) {
			ok &= s->endpoints[j].n_addresses == 1 &&
			      s->endpoints[j].ready == KUBE_TRUE;
			addrs[n++] = s->endpoints[j].addresses[0];
		}
	}
	qsort(addrs, n, sizeof(*addrs), cmp_str_ptr);
	for (size_t i = 1; i < n; i++)
		ok &= !str_eq(addrs[i - 1], addrs[i]);
	free(addrs);
	qsort(sizes, 3, sizeof(sizes[0]), cmp_size);
	if (sizes[0] != 50 || sizes[1] != 100 || sizes[2] != 100) {
		why_add(why, "sizes %u/%u/%u", sizes[0], sizes[1], sizes[2]);
		return false;
	}
	if (!ok)
		why_add(why, "duplicate or not-ready endpoints");
	return ok;
}

static void many_pods_fill_three_slices(void)
{
	static struct it_proc proc;
	struct many_ctx c;

	it_begin();
	c.ns = it_ns_create("it-eps");
	c.node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	MUST(it_parallel(8, 250, make_many, &c, &teb));
	/* The Service last: one sync sees every pod. */
	(void)svc_simple(c.ns, "big", "big", "8080");
	wait_slices(c.ns, "big", check_250, NULL);
	ctl_stop(&proc, NULL);
	it_end();
}

/* One IPv4 and one IPv6 slice, each with both pods' address of that
 * family only. */
static bool check_dual(const struct it_list *l, void *ctx, struct buf *why)
{
	static const char *const want[2][2] = {{"10.4.0.1", "10.4.0.2"},
					       {"fd00:4::1", "fd00:4::2"}};

	(void)ctx;
	if (l->n != 2) {
		why_add(why, "%zu slices, want 2", l->n);
		return false;
	}
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 2; i++) {
			const struct kube_endpointslice *s = NULL;
			const struct kube_endpoint *ep = find_ep(l, want[f][i], &s);

			if (!ep || ep->n_addresses != 1 ||
			    s->address_type != (f ? KUBE_ADDR_IPV6 : KUBE_ADDR_IPV4) ||
			    s->n_endpoints != 2 || ep->ready != KUBE_TRUE) {
				why_add(why, "%s missing or in the wrong slice",
					want[f][i]);
				return false;
			}
		}
	return true;
}

static void dual_stack_slice_per_family(void)
{
	static struct it_proc proc;
	static const char *const ips[2][2] = {{"10.4.0.1", "fd00:4::1"},
					      {"10.4.0.2", "fd00:4::2"}};
	struct it_pod_spec spec = {.app = "dual"};
	const char *ns;

	it_begin();
	ns = it_ns_create("it-eps");
	spec.node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_create(ns, "dual", "",
			 "\"ipFamilyPolicy\":\"RequireDualStack\","
			 "\"ipFamilies\":[\"IPv4\",\"IPv6\"],"
			 "\"selector\":{\"app\":\"dual\"},\"ports\":[{\"name\":"
			 "\"http\",\"port\":80,\"targetPort\":8080}]");
	pod_up_ips(ns, "d-0", &spec, ips[0], 2, true);
	pod_up_ips(ns, "d-1", &spec, ips[1], 2, true);
	wait_slices(ns, "dual", check_dual, NULL);
	ctl_stop(&proc, NULL);
	it_end();
}

static bool check_hostnames(const struct it_list *l, void *ctx,
			    struct buf *why)
{
	const struct kube_endpoint *h0 = find_ep(l, "10.8.0.1", NULL);
	const struct kube_endpoint *h1 = find_ep(l, "10.8.0.2", NULL);
	const struct kube_endpoint *h2 = find_ep(l, "10.8.0.3", NULL);

	(void)ctx;
	if (!h0 || !h1 || !h2 || count_eps(l) != 3) {
		why_add(why, "want the 3 endpoints, have %zu", count_eps(l));
		return false;
	}
	if (!str_eq(h0->hostname, "h0") || h1->hostname || h2->hostname) {
		why_add(why, "hostnames %s/%s/%s, want h0/-/-",
			h0->hostname ? h0->hostname : "-",
			h1->hostname ? h1->hostname : "-",
			h2->hostname ? h2->hostname : "-");
		return false;
	}
	return true;
}

static void headless_hostname_needs_subdomain(void)
{
	static struct it_proc proc;
	static const char *const ips[] = {"10.8.0.1", "10.8.0.2", "10.8.0.3"};
	struct it_pod_spec h0 = {.app = "head", .hostname = "h0",
				 .subdomain = "head"};
	struct it_pod_spec h1 = {.app = "head", .hostname = "h1",
				 .subdomain = "other"};
	struct it_pod_spec h2 = {.app = "head", .subdomain = "head"};
	const struct it_list *l;
	struct kube_object *svc;
	const char *ns;

	it_begin();
	ns = it_ns_create("it-eps");
	h0.node = h1.node = h2.node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	svc = svc_create(ns, "head", "",
			 "\"clusterIP\":\"None\",\"selector\":{\"app\":\"head\"},"
			 "\"ports\":[{\"name\":\"http\",\"port\":80,"
			 "\"targetPort\":8080}]");
	pod_up_ips(ns, "h-0", &h0, &ips[0], 1, true);
	pod_up_ips(ns, "h-1", &h1, &ips[1], 1, true);
	pod_up_ips(ns, "h-2", &h2, &ips[2], 1, true);
	wait_slices(ns, "head", check_hostnames, NULL);
	l = slices_held(ns, "head");
	for (size_t i = 0; i < l->n; i++) {
		const struct kube_endpointslice *s = slice_at(l, i);

		CHECK_STR_EQ(kube_labels_get(&s->obj.meta.labels, L_HEADLESS), "");
		check_slice_meta(s, svc, true);
	}
	ctl_stop(&proc, NULL);
	it_end();
}

/* ---- Hints ------------------------------------------------------------------ */

#define N_ZONE_PODS 6

struct hints_want {
	const char *zones[3];
	const char *nodes[3];
	bool node_hints;
};

/* Ready pod z-i (10.5.0.i+1) runs on nodes[i % 3]; z-nr (10.5.0.100) on
 * nodes[0] is not ready. */
static bool check_hints(const struct it_list *l, void *ctx, struct buf *why)
{
	const struct hints_want *w = ctx;
	const struct kube_endpoint *nr = find_ep(l, "10.5.0.100", NULL);

	if (count_eps(l) != N_ZONE_PODS + 1 || !nr) {
		why_add(why, "%zu endpoints, want %d", count_eps(l),
			N_ZONE_PODS + 1);
		return false;
	}
	if (nr->has_hints || nr->n_hint_zones || nr->n_hint_nodes) {
		why_add(why, "the not-ready endpoint has hints");
		return false;
	}
	for (int i = 0; i < N_ZONE_PODS; i++) {
		char ip[32];
		const struct kube_endpoint *ep;

		(void)snprintf(ip, sizeof(ip), "10.5.0.%d", i + 1);
		ep = find_ep(l, ip, NULL);
		if (!ep || !str_eq(ep->zone, w->zones[i % 3]) ||
		    !str_eq(ep->node_name, w->nodes[i % 3])) {
			why_add(why, "%s: missing, or wrong zone or node", ip);
			return false;
		}
		if (ep->n_hint_zones != 1 ||
		    !str_eq(ep->hint_zones[0], w->zones[i % 3])) {
			why_add(why, "%s: %u zone hints (first %s), want %s", ip,
				ep->n_hint_zones,
				ep->n_hint_zones ? ep->hint_zones[0] : "-",
				w->zones[i % 3]);
			return false;
		}
		if (ep->n_hint_nodes != (w->node_hints ? 1 : 0) ||
		    (w->node_hints &&
		     !str_eq(ep->hint_nodes[0], w->nodes[i % 3]))) {
			why_add(why, "%s: %u node hints, want %d", ip,
				ep->n_hint_nodes, w->node_hints);
			return false;
		}
	}
	return true;
}

/* Three Ready nodes with 4 CPUs in zones a/b/c (zone names unique to the
 * case) and two ready pods per zone plus one not-ready pod. */
static void zone_setup(const char *ns, struct hints_want *w)
{
	static const char *const zn[] = {"a", "b", "c"};

	for (int z = 0; z < 3; z++) {
		char *zone = it_unique_name(zn[z]);

		it_defer(free, zone);
		w->zones[z] = zone;
		w->nodes[z] = node_up(zone, 4000);
	}
	for (int i = 0; i < N_ZONE_PODS; i++) {
		char name[16], ip[32];

		(void)snprintf(name, sizeof(name), "z-%d", i);
		(void)snprintf(ip, sizeof(ip), "10.5.0.%d", i + 1);
		pod_up(ns, name, w->nodes[i % 3], "z", ip, true);
	}
	pod_up(ns, "z-nr", w->nodes[0], "z", "10.5.0.100", false);
}

static void hints_for_three_zones(void)
{
	static struct it_proc proc;
	static const char ports[] = "\"selector\":{\"app\":\"z\"},\"ports\":[{"
				    "\"name\":\"http\",\"port\":80,"
				    "\"targetPort\":8080}]";
	struct hints_want w = {0};
	const char *ns;

	it_begin();
	ns = it_ns_create("it-eps");
	zone_setup(ns, &w);
	/* Started after the nodes are Ready: the ratios are known before
	 * the first Service sync. */
	ctl_start(&proc, 0);
	(void)svc_create(ns, "auto",
			 "\"annotations\":{\"service.kubernetes.io/"
			 "topology-mode\":\"Auto\"},",
			 ports);
	(void)svc_create(ns, "zone", "",
			 "\"trafficDistribution\":\"PreferSameZone\","
			 "\"selector\":{\"app\":\"z\"},\"ports\":[{\"name\":"
			 "\"http\",\"port\":80,\"targetPort\":8080}]");
	(void)svc_create(ns, "node", "",
			 "\"trafficDistribution\":\"PreferSameNode\","
			 "\"selector\":{\"app\":\"z\"},\"ports\":[{\"name\":"
			 "\"http\",\"port\":80,\"targetPort\":8080}]");
	wait_slices(ns, "auto", check_hints, &w);
	wait_slices(ns, "zone", check_hints, &w);
	w.node_hints = true;
	wait_slices(ns, "node", check_hints, &w);
	ctl_stop(&proc, NULL);
	it_end();
}

/* ---- Service and pod changes ------------------------------------------------- */

static void relabelled_pod_moves_between_services(void)
{
	static struct it_proc proc;
	const struct ep_want keep = EP_READY("10.9.0.1");
	const struct ep_want both[] = {EP_READY("10.9.0.1"),
				       EP_READY("10.9.0.2")};
	const struct ep_want moved = EP_READY("10.9.0.2");
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "svc-a", "a", "8080");
	(void)svc_simple(ns, "svc-b", "b", "8080");
	pod_up(ns, "keep", node, "a", "10.9.0.1", true);
	pod_up(ns, "mover", node, "a", "10.9.0.2", true);
	wait_eps(ns, "svc-a", both, 2, 1);
	wait_eps(ns, "svc-b", NULL, 0, 1);
	MUST(it_pod_set_label(ns, "mover", "app", "b", &teb));
	wait_eps(ns, "svc-a", &keep, 1, 1);
	wait_eps(ns, "svc-b", &moved, 1, 1);
	ctl_stop(&proc, NULL);
	it_end();
}

static void selector_change_moves_contents(void)
{
	static struct it_proc proc;
	const struct ep_want as[] = {EP_READY("10.10.0.1"),
				     EP_READY("10.10.0.2")};
	const struct ep_want bs = EP_READY("10.10.0.3");
	char *name;
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "a", "8080");
	pod_up(ns, "a-0", node, "a", "10.10.0.1", true);
	pod_up(ns, "a-1", node, "a", "10.10.0.2", true);
	pod_up(ns, "b-0", node, "b", "10.10.0.3", true);
	wait_eps(ns, "web", as, 2, 1);
	name = xstrdup(slice_at(slices_held(ns, "web"), 0)->obj.meta.name);
	it_defer(free, name);
	svc_patch(ns, "web", "{\"spec\":{\"selector\":{\"app\":\"b\"}}}");
	wait_eps(ns, "web", &bs, 1, 1);
	/* The emptied slice is recycled, not deleted and re-created. */
	CHECK_STR_EQ(slice_at(slices_held(ns, "web"), 0)->obj.meta.name, name);
	ctl_stop(&proc, NULL);
	it_end();
}

/* Deleted Service, removed selector, ExternalName: the controller deletes
 * the slices itself (no garbage collector here; issue #3). */
static void slices_removed_when_service_unmanaged(void)
{
	static struct it_proc proc;
	static const char *const svcs[] = {"gone", "nosel", "extname"};
	const struct ep_want x = EP_READY("10.11.0.1");
	struct totals t = {0};
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++)
		(void)svc_simple(ns, svcs[i], "x", "8080");
	pod_up(ns, "x-0", node, "x", "10.11.0.1", true);
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++)
		wait_eps(ns, svcs[i], &x, 1, 1);
	svc_delete(ns, "gone");
	svc_patch(ns, "nosel", "{\"spec\":{\"selector\":null}}");
	svc_patch(ns, "extname", "{\"spec\":{\"type\":\"ExternalName\","
				 "\"externalName\":\"example.com\"}}");
	for (size_t i = 0; i < ARRAY_SIZE(svcs); i++)
		wait_slices(ns, svcs[i], check_no_slices, NULL);
	ctl_stop(&proc, &t);
	CHECK(t.deletes >= 3);
	it_end();
}

static struct kube_object *get_slice(const char *ns, const char *name)
{
	struct kube_object *o = NULL;
	enum err e = apiclient_get(it_api, KUBE_KIND_ENDPOINTSLICE, ns, name,
				   &o, &(struct apiclient_result){0}, &teb);

	MUST(e);
	it_defer(unref_cb, o);
	return o;
}

static void other_managers_slices_left_alone(void)
{
	static struct it_proc proc;
	struct ep_want want[] = {EP_READY("10.12.0.1"), EP_READY("10.12.0.2")};
	struct kube_object *foreign, *now;
	char *path;
	struct buf resp;
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "web", "8080");
	pod_up(ns, "w-0", node, "web", "10.12.0.1", true);
	pod_up(ns, "w-1", node, "web", "10.12.0.2", true);
	wait_eps(ns, "web", want, 2, 1);
	path = xasprintf("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices",
			 ns);
	it_defer(free, path);
	buf_init(&resp, 0);
	MUST(it_post(path,
		     "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
		     "\"EndpointSlice\",\"metadata\":{\"name\":\"web-foreign\","
		     "\"labels\":{\"" L_SVC "\":\"web\",\"" L_MANAGED_BY
		     "\":\"other\"}},\"addressType\":\"IPv4\",\"endpoints\":[{"
		     "\"addresses\":[\"10.99.0.1\"]}],\"ports\":[{\"name\":"
		     "\"http\",\"port\":8080}]}",
		     &resp, NULL, &teb));
	buf_release(&resp);
	foreign = get_slice(ns, "web-foreign");
	/* Syncs of the Service: readiness off and on again. */
	for (int flip = 0; flip < 2; flip++) {
		MUST(it_pod_set_status(ns, "w-1", "10.12.0.2", flip == 1, &teb));
		want[1].ready = want[1].serving =
		    flip == 1 ? KUBE_TRUE : KUBE_FALSE;
		wait_eps(ns, "web", want, 2, 1);
	}
	svc_delete(ns, "web");
	wait_slices(ns, "web", check_no_slices, NULL);
	ctl_stop(&proc, NULL);
	now = get_slice(ns, "web-foreign");
	CHECK_STR_EQ(now->meta.resource_version, foreign->meta.resource_version);
	CHECK_INT_EQ(kube_endpointslice(now)->n_endpoints, 1);
	it_end();
}

/* Someone PUTs a different endpoint list into our slice, then deletes it:
 * the controller reverts the edit and re-creates the slice. */
static void external_edit_reverted(void)
{
	static struct it_proc proc;
	const struct ep_want want[] = {EP_READY("10.13.0.1"),
				       EP_READY("10.13.0.2"),
				       EP_READY("10.13.0.3")};
	const struct kube_endpointslice *s;
	struct kube_endpointslice *edit;
	struct kube_object *clone, *put = NULL;
	struct buf body;
	const char *ns, *node;
	char *name;
	enum err e;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "web", "8080");
	for (int i = 0; i < 3; i++) {
		char pod[16];

		(void)snprintf(pod, sizeof(pod), "w-%d", i);
		pod_up(ns, pod, node, "web", want[i].addr, true);
	}
	wait_eps(ns, "web", want, 3, 1);
	s = slice_at(slices_held(ns, "web"), 0);
	name = xstrdup(s->obj.meta.name);
	it_defer(free, name);

	clone = kube_endpointslice_clone(s);
	it_defer(unref_cb, clone);
	edit = (struct kube_endpointslice *)clone;
	edit->n_endpoints = 1;
	edit->endpoints[0].addresses[0] = kube_set_str(clone, "10.250.0.1");
	buf_init(&body, 0);
	kube_endpointslice_encode(edit, &body);
	e = apiclient_update(it_api, KUBE_KIND_ENDPOINTSLICE, ns, name, &body,
			     &put, &(struct apiclient_result){0}, &teb);
	buf_release(&body);
	MUST(e);
	CHECK(put->meta.generation > s->obj.meta.generation);
	kube_object_unref(put);
	wait_eps(ns, "web", want, 3, 1);
	CHECK_STR_EQ(slice_at(slices_held(ns, "web"), 0)->obj.meta.name, name);

	MUST(apiclient_delete(it_api, KUBE_KIND_ENDPOINTSLICE, ns, name, NULL,
			      NULL, &(struct apiclient_result){0}, &teb));
	wait_eps(ns, "web", want, 3, 1);
	CHECK(!str_eq(slice_at(slices_held(ns, "web"), 0)->obj.meta.name, name));
	ctl_stop(&proc, NULL);
	it_end();
}

/* ---- Restart ----------------------------------------------------------------- */

struct count_want {
	size_t endpoints;
	int n_slices; /* -1: any */
};

static bool check_count(const struct it_list *l, void *ctx, struct buf *why)
{
	const struct count_want *w = ctx;

	if (count_eps(l) == w->endpoints &&
	    (w->n_slices < 0 || l->n == (size_t)w->n_slices))
		return true;
	why_add(why, "%zu slices, %zu endpoints; want %d, %zu", l->n,
		count_eps(l), w->n_slices, w->endpoints);
	return false;
}

/*
 * A namespace with one Service of every kind the controller writes:
 * placeholder, topology Auto and PreferSameNode hints, named ports split
 * across slices, dual stack, headless with hostnames, a terminating pod
 * and 150 endpoints over several slices. Returns the number of Services.
 */
static int restart_setup(const char *ns)
{
	static const char *const zn[] = {"a", "b", "c"};
	static const char tail[] = "\"selector\":{\"app\":\"z\"},\"ports\":[{"
				   "\"name\":\"http\",\"port\":80,"
				   "\"targetPort\":\"http\"}]";
	struct it_pod_spec alt = {.app = "z", .http_port = 8081};
	static const char *const alt_ips[] = {"10.6.0.50", "fd00:6::50"};
	struct many_ctx many = {.ns = ns};
	const char *nodes[3];

	for (int z = 0; z < 3; z++) {
		char *zone = it_unique_name(zn[z]);

		it_defer(free, zone);
		nodes[z] = node_up(zone, 4000);
	}
	(void)svc_simple(ns, "empty", "nothing", "8080");
	(void)svc_create(ns, "auto",
			 "\"annotations\":{\"service.kubernetes.io/"
			 "topology-mode\":\"Auto\"},",
			 tail);
	(void)svc_create(ns, "node", "",
			 "\"trafficDistribution\":\"PreferSameNode\","
			 "\"selector\":{\"app\":\"z\"},\"ports\":[{\"name\":"
			 "\"http\",\"port\":80,\"targetPort\":\"http\"}]");
	(void)svc_create(ns, "dual", "",
			 "\"ipFamilyPolicy\":\"RequireDualStack\","
			 "\"ipFamilies\":[\"IPv4\",\"IPv6\"],"
			 "\"selector\":{\"app\":\"z\"},\"ports\":[{\"name\":"
			 "\"http\",\"port\":80,\"targetPort\":8080}]");
	(void)svc_create(ns, "head", "",
			 "\"clusterIP\":\"None\",\"ipFamilyPolicy\":"
			 "\"SingleStack\",\"selector\":{\"app\":\"z\"},"
			 "\"ports\":[{\"name\":\"http\",\"port\":80,"
			 "\"targetPort\":8080}]");
	(void)svc_simple(ns, "big", "big", "8080");
	/* No ports: the API returns ports: null (upstream #133474). */
	(void)svc_create(ns, "bare", "",
			 "\"clusterIP\":\"None\",\"ipFamilyPolicy\":"
			 "\"SingleStack\",\"selector\":{\"app\":\"z\"}");
	for (int i = 0; i < N_ZONE_PODS; i++) {
		struct it_pod_spec spec = {.app = "z", .node = nodes[i % 3],
					   .subdomain = "head"};
		char name[16], ip4[32], ip6[32];
		const char *ips[2] = {ip4, ip6};

		(void)snprintf(name, sizeof(name), "z-%d", i);
		spec.hostname = name;
		(void)snprintf(ip4, sizeof(ip4), "10.6.0.%d", i + 1);
		(void)snprintf(ip6, sizeof(ip6), "fd00:6::%d", i + 1);
		pod_up_ips(ns, name, &spec, ips, 2, true);
	}
	alt.node = nodes[0];
	pod_up_ips(ns, "alt", &alt, alt_ips, 2, true);
	MUST(it_pod_delete(ns, "z-5", false, &teb));
	many.node = nodes[1];
	MUST(it_parallel(8, 150, make_many, &many, &teb));
	return 7;
}

static void buf_release_cb(void *arg)
{
	buf_release(arg);
}

static void restart_writes_nothing(void)
{
	static struct it_proc first, second;
	static const struct {
		const char *svc;
		struct count_want want;
	} conv[] = {
	    {"empty", {0, 1}}, {"auto", {7, 2}}, {"node", {7, 2}},
	    {"dual", {14, 2}}, {"head", {7, 1}}, {"big", {150, -1}},
	    {"bare", {7, 1}},
	};
	struct buf before, after;
	struct totals t = {0};
	const char *ns;
	int n_svcs;

	it_begin();
	ns = it_ns_create("it-eps");
	ctl_start(&first, 0);
	n_svcs = restart_setup(ns);
	for (size_t i = 0; i < ARRAY_SIZE(conv); i++)
		wait_slices(ns, conv[i].svc, check_count,
			    (void *)&conv[i].want);
	buf_init(&before, 0);
	buf_init(&after, 0);
	it_defer(buf_release_cb, &before);
	it_defer(buf_release_cb, &after);
	wait_settled(ns, &before);
	ctl_stop(&first, NULL);

	ctl_start(&second, 0);
	wait_settled(ns, &after);
	ctl_stop(&second, &t);
	CHECK(t.syncs >= (unsigned long long)n_svcs);
	CHECK_INT_EQ(t.creates, 0);
	CHECK_INT_EQ(t.updates, 0);
	CHECK_INT_EQ(t.deletes, 0);
	snapshot(ns, &after);
	if (!str_eq(before.data, after.data))
		printf("#   before:\n%s#   after:\n%s", before.data, after.data);
	CHECK_STR_EQ(after.data, before.data);
	it_end();
}

/* ---- More edges ---------------------------------------------------------------- */

struct owner_want {
	const char *uid;
	const struct ep_want *ep;
};

/* One slice, owned by uid, with the one wanted endpoint. */
static bool check_owner(const struct it_list *l, void *ctx, struct buf *why)
{
	const struct owner_want *w = ctx;
	struct eps_want ew = {w->ep, 1, 1};

	if (!check_eps(l, &ew, why))
		return false;
	if (slice_at(l, 0)->obj.meta.n_owners != 1 ||
	    !str_eq(slice_at(l, 0)->obj.meta.owners[0].uid, w->uid)) {
		why_add(why, "slice owned by %s, want %s",
			slice_at(l, 0)->obj.meta.n_owners
			    ? slice_at(l, 0)->obj.meta.owners[0].uid
			    : "nobody",
			w->uid);
		return false;
	}
	return true;
}

/* Delete and re-create a Service at once: the new one gets slices owned
 * by its own UID (endpointslice.md §9 items 3). */
static void service_recreated_gets_own_slices(void)
{
	static struct it_proc proc;
	const struct ep_want ep = EP_READY("10.14.0.1");
	struct owner_want w = {.ep = &ep};
	struct kube_object *svc;
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	svc = svc_simple(ns, "web", "web", "8080");
	pod_up(ns, "w-0", node, "web", "10.14.0.1", true);
	w.uid = svc->meta.uid;
	wait_slices(ns, "web", check_owner, &w);
	for (int round = 0; round < 3; round++) {
		svc_delete(ns, "web");
		svc = svc_simple(ns, "web", "web", "8080");
		w.uid = svc->meta.uid;
		wait_slices(ns, "web", check_owner, &w);
	}
	ctl_stop(&proc, NULL);
	it_end();
}

/* A pod on a Node the cache does not know is skipped and the Service
 * retried; once the Node exists the pod shows up (§1.2). */
static void pod_on_missing_node_added_later(void)
{
	static struct it_proc proc;
	const struct ep_want one = EP_READY("10.15.0.1");
	const struct ep_want both[] = {EP_READY("10.15.0.1"),
				       EP_READY("10.15.0.2")};
	char *ghost = it_unique_name("eps-ghost");
	const char *ns, *node;

	it_begin();
	it_defer(free, ghost);
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "web", "8080");
	pod_up(ns, "w-0", node, "web", "10.15.0.1", true);
	pod_up(ns, "w-1", ghost, "web", "10.15.0.2", true);
	wait_eps(ns, "web", &one, 1, 1);
	MUST(it_node_create(ghost, "zone-b", &teb));
	wait_eps(ns, "web", both, 2, 1);
	ctl_stop(&proc, NULL);
	it_end();
}

/* publishNotReadyAddresses: ready even when not serving; Succeeded pods
 * and pods of other namespaces are never endpoints. */
static void publish_not_ready_terminal_and_foreign_pods(void)
{
	static struct it_proc proc;
	const struct ep_want want[] = {
	    EP_READY("10.16.0.1"),
	    {"10.16.0.2", KUBE_TRUE, KUBE_FALSE, KUBE_FALSE},
	};
	const char *ns, *ns2, *node;
	char *path;
	enum err e;

	it_begin();
	ns = it_ns_create("it-eps");
	ns2 = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_create(ns, "pub", "",
			 "\"publishNotReadyAddresses\":true,\"selector\":{"
			 "\"app\":\"web\"},\"ports\":[{\"name\":\"http\","
			 "\"port\":80,\"targetPort\":8080}]");
	pod_up(ns, "ready", node, "web", "10.16.0.1", true);
	pod_up(ns, "unready", node, "web", "10.16.0.2", false);
	pod_up(ns, "done", node, "web", "10.16.0.3", true);
	pod_up(ns2, "elsewhere", node, "web", "10.16.0.4", true);
	path = xasprintf("/api/v1/namespaces/%s/pods/done/status", ns);
	e = it_merge_patch(path, "{\"status\":{\"phase\":\"Succeeded\"}}",
			   &teb);
	free(path);
	MUST(e);
	wait_eps(ns, "pub", want, 2, 1);
	ctl_stop(&proc, NULL);
	it_end();
}

struct labels_want {
	const char *team;
	const char *port_name;
	int32_t port;
};

static bool check_labels(const struct it_list *l, void *ctx, struct buf *why)
{
	const struct labels_want *w = ctx;
	const struct kube_endpointslice *s;

	if (l->n != 1 || count_eps(l) != 1) {
		why_add(why, "%zu slices, %zu endpoints; want 1, 1", l->n,
			count_eps(l));
		return false;
	}
	s = slice_at(l, 0);
	if (!str_eq(kube_labels_get(&s->obj.meta.labels, "team"), w->team) ||
	    !str_eq(kube_labels_get(&s->obj.meta.labels, L_MANAGED_BY),
		    MANAGED_BY)) {
		why_add(why, "team=%s, want %s",
			kube_labels_get(&s->obj.meta.labels, "team"), w->team);
		return false;
	}
	if (s->n_ports != 1 || s->ports[0].port != w->port ||
	    !str_eq(s->ports[0].name, w->port_name)) {
		why_add(why, "port %s:%d, want %s:%d",
			s->n_ports ? s->ports[0].name : "-",
			s->n_ports ? s->ports[0].port : 0, w->port_name,
			w->port);
		return false;
	}
	return true;
}

/* Service labels are copied (reserved keys are not), label and port
 * changes rewrite the same slice (§3.2, §4.2). */
static void service_labels_and_ports_follow(void)
{
	static struct it_proc proc;
	struct labels_want w = {"x", "http", 8080};
	const char *ns, *node;
	char *name;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_create(ns, "web",
			 "\"labels\":{\"team\":\"x\",\"" L_MANAGED_BY
			 "\":\"evil\"},",
			 "\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":"
			 "\"http\",\"port\":80,\"targetPort\":8080}]");
	pod_up(ns, "w-0", node, "web", "10.17.0.1", true);
	wait_slices(ns, "web", check_labels, &w);
	name = xstrdup(slice_at(slices_held(ns, "web"), 0)->obj.meta.name);
	it_defer(free, name);
	svc_patch(ns, "web", "{\"metadata\":{\"labels\":{\"team\":\"y\"}}}");
	w.team = "y";
	wait_slices(ns, "web", check_labels, &w);
	svc_patch(ns, "web",
		  "{\"spec\":{\"ports\":[{\"name\":\"web\",\"port\":80,"
		  "\"targetPort\":\"metrics\"}]}}");
	w.port_name = "web";
	w.port = 9090;
	wait_slices(ns, "web", check_labels, &w);
	CHECK_STR_EQ(slice_at(slices_held(ns, "web"), 0)->obj.meta.name, name);
	ctl_stop(&proc, NULL);
	it_end();
}

/* Slices packed under --max-endpoints-per-slice=2 are not repacked by a
 * restart with the default (§5.5). */
static void lower_max_then_restart_writes_nothing(void)
{
	static struct it_proc first, second;
	struct count_want cw = {5, 3};
	struct buf before, after;
	struct totals t = {0};
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&first, 2);
	(void)svc_simple(ns, "web", "web", "8080");
	for (int i = 0; i < 5; i++) {
		char name[16], ip[32];

		(void)snprintf(name, sizeof(name), "w-%d", i);
		(void)snprintf(ip, sizeof(ip), "10.18.0.%d", i + 1);
		pod_up(ns, name, node, "web", ip, true);
	}
	wait_slices(ns, "web", check_count, &cw);
	buf_init(&before, 0);
	buf_init(&after, 0);
	it_defer(buf_release_cb, &before);
	it_defer(buf_release_cb, &after);
	wait_settled(ns, &before);
	ctl_stop(&first, NULL);
	ctl_start(&second, 0);
	wait_settled(ns, &after);
	ctl_stop(&second, &t);
	CHECK(t.syncs >= 1);
	CHECK_INT_EQ(t.creates + t.updates + t.deletes, 0);
	snapshot(ns, &after);
	CHECK_STR_EQ(after.data, before.data);
	it_end();
}

#define CHURN_PODS 40
#define CHURN_MAX  10

struct churn_ctx {
	const char *ns, *node;
	int round;
};

/* Pod i's readiness after round r (a fixed pseudo-random pattern). */
static bool churn_ready(size_t i, int r)
{
	return ((i * 7 + (size_t)r * 3) % 5) != 0;
}

static void churn_ip(size_t i, char ip[32])
{
	(void)snprintf(ip, 32, "10.19.0.%zu", i + 1);
}

/* Round 0 creates; later rounds flip readiness, and in round 2 every
 * fourth pod is force-deleted and every sixth gets a new address. */
static enum err churn_one(void *arg, size_t i, struct errbuf *eb)
{
	struct churn_ctx *c = arg;
	struct it_pod_spec spec = {.app = "web", .node = c->node};
	char name[16], ip[32];
	const char *ipp = ip;

	(void)snprintf(name, sizeof(name), "c-%zu", i);
	churn_ip(i, ip);
	if (c->round == 0) {
		enum err e = it_pod_create_spec(c->ns, name, &spec, NULL, eb);

		if (e != ERR_OK)
			return e;
	}
	if (c->round == 2 && i % 4 == 0)
		return it_pod_delete(c->ns, name, true, eb);
	if (c->round == 2 && i % 6 == 0)
		(void)snprintf(ip, sizeof(ip), "10.19.1.%zu", i + 1);
	return it_pod_set_status_ips(c->ns, name, &ipp, 1,
				     churn_ready(i, c->round), 0, eb);
}

struct churn_want {
	struct ep_want eps[CHURN_PODS];
	char ips[CHURN_PODS][32];
	struct eps_want ew;
};

/* The wanted endpoints, and no slice over CHURN_MAX or duplicate. */
static bool check_churn(const struct it_list *l, void *ctx, struct buf *why)
{
	struct churn_want *w = ctx;

	for (size_t i = 0; i < l->n; i++)
		if (slice_at(l, i)->n_endpoints > CHURN_MAX) {
			why_add(why, "slice with %u endpoints",
				slice_at(l, i)->n_endpoints);
			return false;
		}
	return check_eps(l, &w->ew, why);
}

/* Concurrent readiness flips, deletes and address changes of 40 pods in
 * 4 slices converge to exactly the final state, which then stays put. */
static void concurrent_churn_converges(void)
{
	static struct it_proc proc;
	static struct churn_want w;
	struct churn_ctx c;
	struct buf snap;
	size_t n = 0;

	it_begin();
	c.ns = it_ns_create("it-eps");
	c.node = node_up("zone-a", 0);
	ctl_start(&proc, CHURN_MAX);
	(void)svc_simple(c.ns, "web", "web", "8080");
	for (c.round = 0; c.round < 3; c.round++)
		MUST(it_parallel(8, CHURN_PODS, churn_one, &c, &teb));
	for (size_t i = 0; i < CHURN_PODS; i++) {
		enum kube_tristate r =
		    churn_ready(i, 2) ? KUBE_TRUE : KUBE_FALSE;

		if (i % 4 == 0)
			continue;
		churn_ip(i, w.ips[n]);
		if (i % 6 == 0)
			(void)snprintf(w.ips[n], 32, "10.19.1.%zu", i + 1);
		w.eps[n] = (struct ep_want){w.ips[n], r, r, KUBE_FALSE};
		n++;
	}
	w.ew = (struct eps_want){w.eps, n, -1};
	wait_slices(c.ns, "web", check_churn, &w);
	buf_init(&snap, 0);
	it_defer(buf_release_cb, &snap);
	wait_settled(c.ns, &snap);
	wait_slices(c.ns, "web", check_churn, &w);
	ctl_stop(&proc, NULL);
	it_end();
}

/* Two pods with the same IP are two endpoints (upstream PR #115907). */
static void duplicate_ips_are_two_endpoints(void)
{
	static struct it_proc proc;
	const char *ns, *node;

	it_begin();
	ns = it_ns_create("it-eps");
	node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "web", "8080");
	pod_up(ns, "d-0", node, "web", "10.20.0.1", true);
	pod_up(ns, "d-1", node, "web", "10.20.0.1", true);
	{
		struct count_want cw = {2, 1};

		wait_slices(ns, "web", check_count, &cw);
	}
	{
		const struct it_list *l = slices_held(ns, "web");
		const struct kube_endpointslice *s = slice_at(l, 0);

		CHECK(!str_eq(s->endpoints[0].target.name,
			      s->endpoints[1].target.name));
		CHECK_STR_EQ(s->endpoints[0].target.kind, "Pod");
		CHECK_STR_EQ(s->endpoints[0].target.ns, ns);
	}
	ctl_stop(&proc, NULL);
	it_end();
}

struct family_want {
	size_t v4, v6; /* slices of each type, each with both pods */
};

static bool check_families(const struct it_list *l, void *ctx,
			   struct buf *why)
{
	const struct family_want *w = ctx;
	size_t v4 = 0, v6 = 0;

	for (size_t i = 0; i < l->n; i++) {
		const struct kube_endpointslice *s = slice_at(l, i);

		if (s->n_endpoints != 2) {
			why_add(why, "slice %s has %u endpoints",
				s->obj.meta.name, s->n_endpoints);
			return false;
		}
		v4 += s->address_type == KUBE_ADDR_IPV4;
		v6 += s->address_type == KUBE_ADDR_IPV6;
	}
	if (v4 != w->v4 || v6 != w->v6) {
		why_add(why, "%zu IPv4 and %zu IPv6 slices, want %zu and %zu",
			v4, v6, w->v4, w->v6);
		return false;
	}
	return true;
}

/* SingleStack -> RequireDualStack adds the IPv6 slice; back to
 * SingleStack deletes it (§5.1: unsupported address types). */
static void family_change_adds_and_removes_slices(void)
{
	static struct it_proc proc;
	static const char *const ips[2][2] = {{"10.21.0.1", "fd00:21::1"},
					      {"10.21.0.2", "fd00:21::2"}};
	struct it_pod_spec spec = {.app = "web"};
	struct family_want w = {1, 0};
	const char *ns;

	it_begin();
	ns = it_ns_create("it-eps");
	spec.node = node_up("zone-a", 0);
	ctl_start(&proc, 0);
	(void)svc_simple(ns, "web", "web", "8080");
	pod_up_ips(ns, "p-0", &spec, ips[0], 2, true);
	pod_up_ips(ns, "p-1", &spec, ips[1], 2, true);
	wait_slices(ns, "web", check_families, &w);
	svc_patch(ns, "web",
		  "{\"spec\":{\"ipFamilyPolicy\":\"RequireDualStack\","
		  "\"ipFamilies\":[\"IPv4\",\"IPv6\"]}}");
	w.v6 = 1;
	wait_slices(ns, "web", check_families, &w);
	/* The secondary ClusterIP must go with the family. */
	svc_patch(ns, "web",
		  "{\"spec\":{\"ipFamilyPolicy\":\"SingleStack\","
		  "\"ipFamilies\":[\"IPv4\"],\"clusterIPs\":null}}");
	w.v6 = 0;
	wait_slices(ns, "web", check_families, &w);
	ctl_stop(&proc, NULL);
	it_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(placeholder_for_service_without_pods),
    UNIT_CASE(readiness_flips_rewrite_one_slice),
    UNIT_CASE(terminating_pods_stay_until_gone),
    UNIT_CASE(named_ports_split_slices),
    UNIT_CASE(many_pods_fill_three_slices),
    UNIT_CASE(dual_stack_slice_per_family),
    UNIT_CASE(headless_hostname_needs_subdomain),
    UNIT_CASE(hints_for_three_zones),
    UNIT_CASE(relabelled_pod_moves_between_services),
    UNIT_CASE(selector_change_moves_contents),
    UNIT_CASE(slices_removed_when_service_unmanaged),
    UNIT_CASE(other_managers_slices_left_alone),
    UNIT_CASE(external_edit_reverted),
    UNIT_CASE(restart_writes_nothing),
    UNIT_CASE(service_recreated_gets_own_slices),
    UNIT_CASE(pod_on_missing_node_added_later),
    UNIT_CASE(publish_not_ready_terminal_and_foreign_pods),
    UNIT_CASE(service_labels_and_ports_follow),
    UNIT_CASE(lower_max_then_restart_writes_nothing),
    UNIT_CASE(concurrent_churn_converges),
    UNIT_CASE(duplicate_ips_are_two_endpoints),
    UNIT_CASE(family_change_adds_and_removes_slices),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-epslice", cases, ARRAY_SIZE(cases));
}
