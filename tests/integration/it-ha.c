/*
 * it-ha: two replicas of the svc-controllers binary ($SVC_BIN) sharing one
 * Lease on the real kube-apiserver (allocator.md §6), with the server's
 * audit log as the witness of who wrote what: each replica's User-Agent
 * ends with its leader-election identity (itlib_audit.c).
 *
 * Only the leader writes; after kill -9 of the leader the standby takes
 * over at expiry, writes nothing when nothing changed and only what
 * changed otherwise; SIGTERM releases the Lease, so the standby takes over
 * long before it could have expired; a leader frozen (SIGSTOP) past its
 * lease writes nothing once resumed and goes back to standby without
 * exiting. The cases check states (the Lease record, the slices, the audit
 * log, the replicas' logs), never timings; every wait is bounded.
 */
#include "base.h"
#include "itlib.h"

#include <signal.h>
#include <sys/wait.h>

#define WAIT_MS	     60000
#define STOP_MS	     60000
#define MANAGED_BY   "endpointslice-controller.k8s.io"
#define L_SVC	     "kubernetes.io/service-name"
#define L_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define SLICES	     "endpointslices"
#define STARTED_LINE "endpointslice controller started"

/* The test thread's errbuf for IT_CHECK_OK. */
static struct errbuf teb = ERRBUF_INIT;
#define MUST(call) IT_CHECK_OK(call, &teb)

/* Leader-election flags of a case; lease_ms is the first one in ms. */
struct timing {
	const char *lease, *renew, *retry;
	int64_t lease_ms;
};

/* Quick expiry, for the cases that wait for it. */
static const struct timing fast = {"4s", "3s", "500ms", 4000};
/* An expiry far beyond the wait for the handover, so a handover seen
 * within that wait can only come from the release. */
static const struct timing long_lease = {"60s", "3s", "500ms", 60000};

struct replica {
	struct it_proc proc;
	const char *tag; /* "A" or "B", for messages */
	char id[256];	 /* its leader-election identity */
	char ua[260];	 /* "/<id>": how its User-Agent ends */
};

/* One case's world: a namespace (holding the Lease too) and a Node. */
struct ha {
	const char *ns;
	/* The Lease's own namespace: the LeaderElection Events regarding it
	 * land there, apart from the workload's writes. */
	const char *lease_ns;
	char *lease; /* a fresh Lease name per case */
	char *node;
	const struct timing *t;
};

/* False until the case ends normally; a replica's log is printed by its
 * cleanup otherwise. */
static bool case_ok;

/* ---- Replicas ---- */

struct log_wait {
	const char *path;
	size_t from; /* search from this byte offset */
	const char *needle;
	struct buf text;
};

static bool log_has(void *arg)
{
	struct log_wait *w = arg;

	it_read_file(w->path, &w->text);
	return w->text.len > w->from &&
	       strstr(w->text.data + w->from, w->needle) != NULL;
}

/* Prints the last max lines of text as TAP comments. */
static void print_tail(const char *what, const char *text, size_t max)
{
	const char *p = text + strlen(text);
	size_t lines = 0;

	while (p > text && lines <= max)
		if (*--p == '\n')
			lines++;
	printf("#   %s:\n", what);
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (len > 0)
			printf("#     %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
}

/* Waits (bounded) until r's stderr, from byte offset from, has needle. */
static bool replica_log_has(struct replica *r, size_t from, const char *needle,
			    struct buf *out)
{
	struct log_wait w = {
	    .path = r->proc.err_path, .from = from, .needle = needle};
	bool ok;

	buf_init(&w.text, 0);
	ok = it_wait_until(log_has, &w, WAIT_MS);
	if (!ok) {
		printf("#   replica %s: no \"%s\" in its log\n", r->tag,
		       needle);
		print_tail("its stderr", w.text.data, 30);
	}
	if (out)
		*out = w.text;
	else
		buf_release(&w.text);
	return ok;
}

static size_t log_size(struct replica *r)
{
	struct buf text;
	size_t n;

	buf_init(&text, 0);
	it_read_file(r->proc.err_path, &text);
	n = text.len;
	buf_release(&text);
	return n;
}

static void replica_dump(void *arg)
{
	struct replica *r = arg;
	struct buf text;

	if (case_ok)
		return;
	buf_init(&text, 0);
	it_read_file(r->proc.err_path, &text);
	printf("#   replica %s (pid %d)\n", r->tag, (int)r->proc.pid);
	print_tail("its stderr", text.data, 40);
	buf_release(&text);
}

/* Reads the identity from the replica's "leader election on" line. */
static void read_identity(struct replica *r, const struct ha *h)
{
	char *needle = xasprintf(
	    "leader election on lease=%s/%s identity=", h->lease_ns, h->lease);
	struct buf text;
	const char *p;
	size_t n;

	CHECK(replica_log_has(r, 0, needle, &text));
	p = strstr(text.data, needle) + strlen(needle);
	n = strcspn(p, " \t\r\n");
	CHECK(n > 0 && n < sizeof(r->id));
	memcpy(r->id, p, n);
	r->id[n] = '\0';
	(void)snprintf(r->ua, sizeof(r->ua), "/%s", r->id);
	buf_release(&text);
	free(needle);
}

/* Starts a replica on the case's Lease (extra: one more flag or NULL). */
static struct replica *replica_spawn(const struct ha *h, const char *tag,
				     const char *extra)
{
	struct replica *r = xcalloc(1, sizeof(*r));
	char *flags[] = {
	    xasprintf("--leader-elect-resource-namespace=%s", h->lease_ns),
	    xasprintf("--leader-elect-resource-name=%s", h->lease),
	    xasprintf("--leader-elect-lease-duration=%s", h->t->lease),
	    xasprintf("--leader-elect-renew-deadline=%s", h->t->renew),
	    xasprintf("--leader-elect-retry-period=%s", h->t->retry),
	};
	char *argv[] = {(char *)it_env("SVC_BIN"),
			(char *)"--kubeconfig",
			(char *)it_env("KUBECONFIG"),
			(char *)"-v=2",
			(char *)"--cache-sync-timeout=60s",
			(char *)"--secure-port=0",
			flags[0],
			flags[1],
			flags[2],
			flags[3],
			flags[4],
			(char *)extra,
			NULL};
	enum err e;

	r->tag = tag;
	it_defer(free, r);
	e = it_proc_start(argv, &r->proc, &teb);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		free(flags[i]);
	MUST(e);
	it_defer(replica_dump, r);
	return r;
}

/* Reads r's identity and waits until its caches have synced: from then on
 * it campaigns for the Lease. */
static void replica_ready(struct replica *r, const struct ha *h)
{
	read_identity(r, h);
	CHECK(replica_log_has(r, 0, STARTED_LINE, NULL));
	printf("# replica %s: pid %d identity %s\n", r->tag, (int)r->proc.pid,
	       r->id);
}

static struct replica *replica_start(const struct ha *h, const char *tag,
				     const char *extra)
{
	struct replica *r = replica_spawn(h, tag, extra);

	replica_ready(r, h);
	return r;
}

/* SIGTERM: it must exit 0 and leave no sanitizer report. */
static void replica_stop(struct replica *r)
{
	struct buf text;
	int status = 0;
	bool exited = it_proc_stop(&r->proc, STOP_MS, &status);
	const char *report;

	buf_init(&text, 0);
	it_read_file(r->proc.err_path, &text);
	report = it_sanitizer_report(text.data);
	if (report)
		print_tail("sanitizer report", report, 40);
	buf_release(&text);
	CHECK(exited);
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(WEXITSTATUS(status), 0);
	CHECK_NULL(report);
}

/* Still running (not exited, whatever its state); reaps it otherwise. */
static bool replica_running(struct replica *r)
{
	int status;

	if (r->proc.reaped)
		return false;
	if (waitpid(r->proc.pid, &status, WNOHANG) == 0)
		return true;
	r->proc.reaped = true;
	return false;
}

/* ---- The Lease ---- */

struct lease_view {
	bool found;
	char holder[256]; /* "" when free */
	int32_t duration_s;
	int64_t acquire_ms, renew_ms;
	int32_t transitions;
};

static void lease_read(const struct ha *h, struct lease_view *out)
{
	struct apiclient_result res;
	struct kube_object *o = NULL;
	const struct kube_lease *l;
	enum err e;

	memset(out, 0, sizeof(*out));
	e = apiclient_get(it_api, KUBE_KIND_LEASE, h->lease_ns, h->lease, &o, &res,
			  &teb);
	if (e == ERR_NOT_FOUND)
		return;
	MUST(e);
	l = kube_lease(o);
	out->found = true;
	(void)snprintf(out->holder, sizeof(out->holder), "%s",
		       l->holder_identity ? l->holder_identity : "");
	out->duration_s = l->lease_duration_s;
	out->acquire_ms = l->acquire_ms;
	out->renew_ms = l->renew_ms;
	out->transitions = l->lease_transitions;
	kube_object_unref(o);
}

struct holder_wait {
	const struct ha *h;
	const struct replica *want[2]; /* either of them (NULL: none) */
	struct lease_view last;
};

static bool holder_is(void *arg)
{
	struct holder_wait *w = arg;

	lease_read(w->h, &w->last);
	for (size_t i = 0; i < ARRAY_SIZE(w->want); i++)
		if (w->want[i] && str_eq(w->last.holder, w->want[i]->id))
			return true;
	return false;
}

/* Waits (bounded by ms) until a or b (may be NULL) holds the Lease;
 * returns the holder, NULL on timeout. */
static struct replica *wait_holder(const struct ha *h, struct replica *a,
				   struct replica *b, int64_t ms)
{
	struct holder_wait w = {.h = h, .want = {a, b}};

	if (!it_wait_until(holder_is, &w, ms)) {
		printf("#   lease %s/%s holder=\"%s\" transitions=%d\n", h->lease_ns,
		       h->lease, w.last.holder, (int)w.last.transitions);
		return NULL;
	}
	return a && str_eq(w.last.holder, a->id) ? a : b;
}

/* ---- Objects ---- */

static void ha_begin(struct ha *h, const struct timing *t)
{
	it_begin();
	case_ok = false;
	h->t = t;
	h->ns = it_ns_create("ha");
	h->lease_ns = it_ns_create("ha-lease");
	h->lease = it_unique_name("ha-lease");
	it_defer(free, h->lease);
	h->node = it_unique_name("ha-node");
	it_defer(free, h->node);
	MUST(it_node_create(h->node, "zone-a", &teb));
}

static void ha_end(void)
{
	case_ok = true;
	it_end();
}

/* A Service selecting app=<name> with port http -> targetPort http. */
static void svc_create(const char *ns, const char *name)
{
	char *path = xasprintf("/api/v1/namespaces/%s/services", ns);
	char *body = xasprintf(
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{"
	    "\"name\":\"%s\"},\"spec\":{\"selector\":{\"app\":\"%s\"},"
	    "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":"
	    "\"http\"}]}}",
	    name, name);
	enum err e = it_post(path, body, NULL, NULL, &teb);

	free(body);
	free(path);
	MUST(e);
}

static void svc_delete(const char *ns, const char *name)
{
	char *path = xasprintf("/api/v1/namespaces/%s/services/%s", ns, name);
	enum err e = it_request(APICLIENT_DELETE, path, NULL, NULL, NULL, NULL,
				NULL, &teb);

	free(path);
	MUST(e);
}

/* A Pod with app=<app> on the case's Node, Running with ip. */
static void pod_up(const struct ha *h, const char *ns, const char *name,
		   const char *app, const char *ip, bool ready)
{
	MUST(it_pod_create(ns, name, h->node, app, NULL, &teb));
	MUST(it_pod_set_status(ns, name, ip, ready, &teb));
}

/* ---- Slices ---- */

/*
 * The Service's EndpointSlices of ours as "ip=R,..." sorted, R being the
 * ready condition (T, F or -); n_slices gets their number.
 */
static enum err slice_state(const char *ns, const char *svc, struct buf *out,
			    size_t *n_slices, struct errbuf *eb)
{
	struct unit_lines lines = {0};
	struct it_list l;
	char sel[384];
	enum err e;

	(void)snprintf(sel, sizeof(sel),
		       L_SVC "=%s," L_MANAGED_BY "=" MANAGED_BY, svc);
	e = it_list(KUBE_KIND_ENDPOINTSLICE, ns, sel, &l, eb);
	if (e != ERR_OK)
		return e;
	for (size_t i = 0; i < l.n; i++) {
		const struct kube_endpointslice *s =
		    kube_endpointslice(l.items[i]);

		for (uint32_t j = 0; j < s->n_endpoints; j++) {
			const struct kube_endpoint *ep = &s->endpoints[j];
			char one[96];

			(void)snprintf(one, sizeof(one), "%s=%c",
				       ep->n_addresses ? ep->addresses[0] : "?",
				       ep->ready == KUBE_TRUE	 ? 'T'
				       : ep->ready == KUBE_FALSE ? 'F'
								 : '-');
			unit_lines_add(&lines, one);
		}
	}
	unit_lines_sort(&lines);
	buf_reset(out);
	for (size_t i = 0; i < lines.n; i++)
		e = buf_addf(out, "%s%s", i ? "," : "", lines.v[i]);
	*n_slices = l.n;
	unit_lines_free(&lines);
	it_list_release(&l);
	return e;
}

struct slice_wait {
	const char *ns, *svc, *want;
	struct buf got;
	size_t n_slices;
};

static bool slices_are(void *arg)
{
	struct slice_wait *w = arg;
	struct errbuf eb = ERRBUF_INIT;

	return slice_state(w->ns, w->svc, &w->got, &w->n_slices, &eb) ==
		   ERR_OK &&
	       str_eq(w->got.data, w->want);
}

/* Waits (bounded) until the Service's slices hold exactly want (see
 * slice_state; "" for none); returns how many slices there are. */
static size_t wait_slices(const char *ns, const char *svc, const char *want)
{
	struct slice_wait w = {.ns = ns, .svc = svc, .want = want};
	bool ok;

	buf_init(&w.got, 0);
	ok = it_wait_until(slices_are, &w, WAIT_MS);
	if (!ok)
		printf("#   slices of %s/%s: \"%s\", want \"%s\"\n", ns, svc,
		       w.got.data, want);
	buf_release(&w.got);
	CHECK(ok);
	return w.n_slices;
}

/* ---- Audit ---- */

/* Writes by r (NULL: anyone) to resource (NULL: any) in ns (NULL: any). */
static size_t writes(const struct it_audit *a, const struct replica *r,
		     const char *resource, const char *ns,
		     enum it_audit_result result)
{
	struct it_audit_filter f = {.ua_suffix = r ? r->ua : NULL,
				    .resource = resource,
				    .ns = ns,
				    .result = result};

	return it_audit_count(a, &f);
}

/* r's Events outside the Lease's namespace: about the work, not about
 * leadership (the LeaderElection Events are expected on takeover). */
static size_t work_events(const struct it_audit *a, const struct replica *r,
			  const struct ha *h)
{
	struct it_audit_filter f = {.ua_suffix = r->ua,
				    .resource = "events",
				    .not_ns = h->lease_ns,
				    .result = IT_AUDIT_ANY};

	return it_audit_count(a, &f);
}

/* Whether the Lease's namespace holds an Event with note. */
static bool lease_event(const struct ha *h, const char *note)
{
	struct errbuf eb = ERRBUF_INIT;
	struct buf body;
	char path[256];
	bool found;

	buf_init(&body, 0);
	(void)snprintf(path, sizeof(path),
		       "/apis/events.k8s.io/v1/namespaces/%s/events", h->lease_ns);
	found = it_request(APICLIENT_GET, path, NULL, NULL, NULL, &body, NULL,
			   &eb) == ERR_OK &&
		body.data && strstr(body.data, note) &&
		strstr(body.data, "\"reason\":\"LeaderElection\"");
	buf_release(&body);
	return found;
}

/* Prints r's EndpointSlice and Event writes (up to 20 each) as TAP
 * comments; its Lease renewals would drown them. */
static void print_writes(const struct it_audit *a, const struct replica *r)
{
	struct it_audit_filter f = {.ua_suffix = r->ua, .resource = SLICES};

	printf("#   EndpointSlice and Event writes of replica %s:\n", r->tag);
	it_audit_print(a, &f, 20);
	f.resource = "events";
	it_audit_print(a, &f, 20);
}

static void audit_free(void *arg)
{
	it_audit_release(arg);
	free(arg);
}

/* The audit log from offset from (released at it_end); fails the case if
 * it cannot be read. */
static struct it_audit *audit_read(size_t from)
{
	struct it_audit *a = xcalloc(1, sizeof(*a));

	it_defer(audit_free, a);
	MUST(it_audit_read(from, a, &teb));
	return a;
}

/* ---- Cases ---- */

/* Starts A, waits until it holds the Lease, then starts B (b_extra: one
 * more flag for B or NULL), so A leads and B is the warm standby. */
static void pair_start(const struct ha *h, const char *b_extra,
		       struct replica **a, struct replica **b)
{
	*a = replica_start(h, "A", NULL);
	CHECK(wait_holder(h, *a, NULL, WAIT_MS) == *a);
	*b = replica_start(h, "B", b_extra);
}

/*
 * Both start at once; whoever holds the Lease writes every EndpointSlice
 * while the other, with the same caches, writes nothing: no slice, no
 * Event, no successful Lease write (a lost create race is a 409).
 */
static void only_the_leader_writes(void)
{
	struct ha h;
	struct replica *a, *b, *leader, *standby;
	struct lease_view l0, l1;
	struct it_audit *au;
	size_t from;

	ha_begin(&h, &fast);
	from = it_audit_offset();
	svc_create(h.ns, "web");
	pod_up(&h, h.ns, "web-0", "web", "10.10.0.1", true);
	pod_up(&h, h.ns, "web-1", "web", "10.10.0.2", true);
	a = replica_spawn(&h, "A", NULL);
	b = replica_spawn(&h, "B", NULL);
	replica_ready(a, &h);
	replica_ready(b, &h);
	leader = wait_holder(&h, a, b, WAIT_MS);
	CHECK_NOT_NULL(leader);
	standby = leader == a ? b : a;
	printf("# leader %s, standby %s\n", leader->tag, standby->tag);
	lease_read(&h, &l0);
	CHECK_INT_EQ(wait_slices(h.ns, "web", "10.10.0.1=T,10.10.0.2=T"), 1);

	/* Creates, updates and deletes for the leader to make. */
	pod_up(&h, h.ns, "web-2", "web", "10.10.0.3", true);
	MUST(it_pod_set_status(h.ns, "web-0", "10.10.0.1", false, &teb));
	MUST(it_pod_set_label(h.ns, "web-1", "app", "other", &teb));
	svc_create(h.ns, "api");
	pod_up(&h, h.ns, "api-0", "api", "10.10.1.1", true);
	wait_slices(h.ns, "web", "10.10.0.1=F,10.10.0.3=T");
	wait_slices(h.ns, "api", "10.10.1.1=T");
	svc_delete(h.ns, "api");
	CHECK_INT_EQ(wait_slices(h.ns, "api", ""), 0);

	lease_read(&h, &l1);
	CHECK_STR_EQ(l1.holder, leader->id);
	CHECK_INT_EQ(l1.transitions, l0.transitions);
	CHECK(replica_running(standby));
	au = audit_read(from);
	print_writes(au, leader);
	print_writes(au, standby);
	/* At least: web's create and update, api's create and delete. */
	CHECK(writes(au, leader, SLICES, h.ns, IT_AUDIT_OK) >= 4);
	CHECK(writes(au, leader, "leases", h.lease_ns, IT_AUDIT_OK) >= 1);
	{
		char *note = xasprintf("%s became leader", leader->id);

		CHECK(lease_event(&h, note));
		free(note);
	}
	CHECK_INT_EQ(writes(au, standby, SLICES, NULL, IT_AUDIT_ANY), 0);
	CHECK_INT_EQ(work_events(au, standby, &h), 0);
	CHECK_INT_EQ(writes(au, standby, "leases", NULL, IT_AUDIT_OK), 0);
	replica_stop(standby);
	replica_stop(leader);
	ha_end();
}

/*
 * kill -9 of the leader while nothing changes: the standby takes over at
 * expiry and its full pass over warm caches writes no EndpointSlice. A
 * sentinel Service in a second namespace, created after the takeover, is
 * synced after that pass (one worker: the queue is a FIFO), so once its
 * slice exists the pass is over.
 */
static void kill9_takeover_writes_nothing_unchanged(void)
{
	struct ha h;
	struct replica *a, *b;
	struct lease_view l0, l1;
	struct it_audit *au;
	const char *ns2;
	size_t from;
	int status = 0;

	ha_begin(&h, &fast);
	ns2 = it_ns_create("ha-sentinel");
	svc_create(h.ns, "web");
	pod_up(&h, h.ns, "web-0", "web", "10.20.0.1", true);
	pod_up(&h, h.ns, "web-1", "web", "10.20.0.2", false);
	svc_create(h.ns, "api");
	pod_up(&h, h.ns, "api-0", "api", "10.20.1.1", true);
	pair_start(&h, "--concurrent-service-endpoint-syncs=1", &a, &b);
	wait_slices(h.ns, "web", "10.20.0.1=T,10.20.0.2=F");
	wait_slices(h.ns, "api", "10.20.1.1=T");
	lease_read(&h, &l0);

	from = it_audit_offset();
	CHECK_INT_EQ(kill(a->proc.pid, SIGKILL), 0);
	CHECK(it_proc_wait(&a->proc, STOP_MS, &status));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(wait_holder(&h, b, NULL, WAIT_MS) == b);
	CHECK(replica_log_has(b, 0, "became leader", NULL));
	lease_read(&h, &l1);
	CHECK_INT_EQ(l1.transitions, l0.transitions + 1);

	svc_create(ns2, "sentinel");
	pod_up(&h, ns2, "sentinel-0", "sentinel", "10.20.2.1", true);
	wait_slices(ns2, "sentinel", "10.20.2.1=T");
	au = audit_read(from);
	print_writes(au, b);
	CHECK(writes(au, b, SLICES, ns2, IT_AUDIT_OK) >= 1);
	CHECK_INT_EQ(writes(au, b, SLICES, h.ns, IT_AUDIT_ANY), 0);
	CHECK_INT_EQ(work_events(au, b, &h), 0);
	CHECK_INT_EQ(wait_slices(h.ns, "web", "10.20.0.1=T,10.20.0.2=F"), 1);
	replica_stop(b);
	ha_end();
}

/*
 * kill -9 of the leader, then changes to one Service while nobody leads:
 * the standby takes over and converges with exactly one write of that
 * Service's slice (its caches already hold the changes), none that
 * conflicts, and nothing for the unchanged Service in another namespace.
 */
static void kill9_takeover_converges_changes(void)
{
	struct ha h;
	struct replica *a, *b;
	struct lease_view l0, l1;
	struct it_audit *au;
	const char *ns2;
	size_t from;
	int status = 0;

	ha_begin(&h, &fast);
	ns2 = it_ns_create("ha-other");
	svc_create(h.ns, "web");
	pod_up(&h, h.ns, "web-0", "web", "10.30.0.1", true);
	pod_up(&h, h.ns, "web-1", "web", "10.30.0.2", true);
	pod_up(&h, h.ns, "web-2", "web", "10.30.0.3", true);
	svc_create(ns2, "api");
	pod_up(&h, ns2, "api-0", "api", "10.30.1.1", true);
	pair_start(&h, NULL, &a, &b);
	wait_slices(h.ns, "web", "10.30.0.1=T,10.30.0.2=T,10.30.0.3=T");
	wait_slices(ns2, "api", "10.30.1.1=T");
	lease_read(&h, &l0);

	from = it_audit_offset();
	CHECK_INT_EQ(kill(a->proc.pid, SIGKILL), 0);
	CHECK(it_proc_wait(&a->proc, STOP_MS, &status));
	pod_up(&h, h.ns, "web-3", "web", "10.30.0.4", true);
	MUST(it_pod_set_status(h.ns, "web-1", "10.30.0.2", false, &teb));
	MUST(it_pod_delete(h.ns, "web-2", true, &teb));
	/* The changes were made while the dead leader still held the Lease. */
	lease_read(&h, &l1);
	CHECK_STR_EQ(l1.holder, a->id);

	CHECK(wait_holder(&h, b, NULL, WAIT_MS) == b);
	CHECK_INT_EQ(
	    wait_slices(h.ns, "web", "10.30.0.1=T,10.30.0.2=F,10.30.0.4=T"), 1);
	lease_read(&h, &l1);
	CHECK_INT_EQ(l1.transitions, l0.transitions + 1);
	au = audit_read(from);
	print_writes(au, b);
	CHECK_INT_EQ(writes(au, b, SLICES, h.ns, IT_AUDIT_OK), 1);
	CHECK_INT_EQ(writes(au, b, SLICES, h.ns, IT_AUDIT_FAILED), 0);
	CHECK_INT_EQ(writes(au, b, SLICES, ns2, IT_AUDIT_ANY), 0);
	CHECK_INT_EQ(work_events(au, b, &h), 0);
	replica_stop(b);
	ha_end();
}

/* The received time of r's first (last: false) successful Lease write in
 * a; 0 when there is none. */
static int64_t lease_write_us(const struct it_audit *a, const struct replica *r,
			      bool first)
{
	struct it_audit_filter f = {
	    .ua_suffix = r->ua, .resource = "leases", .result = IT_AUDIT_OK};
	int64_t at = 0;

	for (size_t i = 0; i < a->n; i++) {
		if (!it_audit_match(&a->items[i], &f))
			continue;
		at = a->items[i].received_us;
		if (first)
			break;
	}
	return at;
}

/*
 * SIGTERM of the leader: it exits 0 after releasing the Lease, and the
 * standby takes over long before the 60 s lease could have expired: its
 * takeover (one more transition) is seen within half of that, its
 * acquireTime is before the old holder's renewTime + leaseDuration, and
 * its first Lease write comes after the old leader's last one (the
 * release). Then it writes what changes.
 */
static void sigterm_hands_over_at_release(void)
{
	struct ha h;
	struct replica *a, *b;
	struct lease_view l0, l1;
	struct it_audit *au;
	int64_t released_us, acquired_us;
	size_t from;

	ha_begin(&h, &long_lease);
	svc_create(h.ns, "web");
	pod_up(&h, h.ns, "web-0", "web", "10.40.0.1", true);
	pair_start(&h, NULL, &a, &b);
	wait_slices(h.ns, "web", "10.40.0.1=T");
	lease_read(&h, &l0);
	CHECK_STR_EQ(l0.holder, a->id);
	CHECK_INT_EQ(l0.duration_s, h.t->lease_ms / 1000);

	from = it_audit_offset();
	replica_stop(a);
	CHECK(wait_holder(&h, b, NULL, h.t->lease_ms / 2) == b);
	lease_read(&h, &l1);
	CHECK_INT_EQ(l1.transitions, l0.transitions + 1);
	CHECK(l1.acquire_ms >= l0.renew_ms);
	CHECK(l1.acquire_ms < l0.renew_ms + h.t->lease_ms);
	CHECK(replica_log_has(a, 0, "released", NULL));

	au = audit_read(from);
	released_us = lease_write_us(au, a, false);
	acquired_us = lease_write_us(au, b, true);
	CHECK(released_us > 0);
	CHECK(acquired_us > released_us);
	printf("# standby acquired %lld ms after the release (retry period "
	       "%s plus up to 1.2x jitter)\n",
	       (long long)(acquired_us - released_us) / 1000, h.t->retry);

	pod_up(&h, h.ns, "web-1", "web", "10.40.0.2", true);
	wait_slices(h.ns, "web", "10.40.0.1=T,10.40.0.2=T");
	au = audit_read(from);
	CHECK(writes(au, b, SLICES, h.ns, IT_AUDIT_OK) >= 1);
	replica_stop(b);
	ha_end();
}

/*
 * SIGSTOP of the leader past its lease: the standby takes over and writes.
 * The old leader is resumed while a Pod changes; B batches pod changes for
 * 3 s, so A's still-running workers see the change before B's slice and
 * try to write it (its log says the gate refused). From the resume on, A
 * writes nothing at all (no slice, Event or Lease), logs that it stopped
 * leading and stays up as a standby.
 */
static void sigstop_leader_writes_nothing_after_resume(void)
{
	struct ha h;
	struct replica *a, *b;
	struct lease_view l0, l1;
	struct it_audit *au;
	size_t from, log_from;

	ha_begin(&h, &fast);
	svc_create(h.ns, "web");
	pod_up(&h, h.ns, "web-0", "web", "10.50.0.1", true);
	pod_up(&h, h.ns, "web-1", "web", "10.50.0.2", true);
	pair_start(&h, "--endpointslice-updates-batch-period=3s", &a, &b);
	wait_slices(h.ns, "web", "10.50.0.1=T,10.50.0.2=T");
	lease_read(&h, &l0);

	CHECK_INT_EQ(kill(a->proc.pid, SIGSTOP), 0);
	CHECK(wait_holder(&h, b, NULL, WAIT_MS) == b);
	lease_read(&h, &l1);
	CHECK_INT_EQ(l1.transitions, l0.transitions + 1);
	pod_up(&h, h.ns, "web-2", "web", "10.50.0.3", true);
	wait_slices(h.ns, "web", "10.50.0.1=T,10.50.0.2=T,10.50.0.3=T");

	from = it_audit_offset();
	log_from = log_size(a);
	CHECK_INT_EQ(kill(a->proc.pid, SIGCONT), 0);
	MUST(it_pod_set_status(h.ns, "web-0", "10.50.0.1", false, &teb));
	wait_slices(h.ns, "web", "10.50.0.1=F,10.50.0.2=T,10.50.0.3=T");
	CHECK(replica_log_has(a, log_from, "stopped leading", NULL));
	CHECK(replica_running(a));
	lease_read(&h, &l1);
	CHECK_STR_EQ(l1.holder, b->id);

	au = audit_read(from);
	print_writes(au, a);
	CHECK_INT_EQ(writes(au, a, SLICES, NULL, IT_AUDIT_ANY), 0);
	CHECK_INT_EQ(writes(au, a, "leases", NULL, IT_AUDIT_ANY), 0);
	/* Not even the Warning Event about the write the gate refused. */
	CHECK_INT_EQ(work_events(au, a, &h), 0);
	/* Nothing at all but the LeaderElection Event on the Lease, which
	 * says just that. */
	{
		struct it_audit_filter f = {.ua_suffix = a->ua,
					    .not_ns = h.lease_ns};
		char *note = xasprintf("%s stopped leading", a->id);

		CHECK_INT_EQ(it_audit_count(au, &f), 0);
		CHECK(lease_event(&h, note));
		free(note);
	}
	CHECK(writes(au, b, SLICES, h.ns, IT_AUDIT_OK) >= 1);
	/* And the case did test the gate: A's workers tried. */
	CHECK(replica_log_has(a, log_from, "not the leader", NULL));
	replica_stop(a);
	replica_stop(b);
	ha_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(only_the_leader_writes),
    UNIT_CASE(kill9_takeover_writes_nothing_unchanged),
    UNIT_CASE(kill9_takeover_converges_changes),
    UNIT_CASE(sigterm_hands_over_at_release),
    UNIT_CASE(sigstop_leader_writes_nothing_after_resume),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-ha", cases, ARRAY_SIZE(cases));
}
