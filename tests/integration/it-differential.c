/*
 * it-differential: our EndpointSlice controller against upstream's on the
 * same inputs (benchmarks.md §1–§2). kube-controller-manager runs with only
 * the endpointslice controller and $SVC_BIN with
 * --managed-by=svc-controllers-diff, both against the same apiserver; a
 * workload of Nodes in three zones, Services of varied shapes and Pods with
 * their status written as a kubelet would is created in a fresh namespace.
 * Once both slice sets stop changing (bounded), for every (Service,
 * addressType, sorted port set) the multiset of endpoints (addresses,
 * ready/serving/terminating, hostname, nodeName, zone, targetRef, hints)
 * must be identical, and so must each slice's labels (minus managed-by)
 * and ownerReferences. Then a few changes (readiness flips, a relabel, a
 * graceful delete, a Service port change) and the same comparison again.
 * Every difference is listed in the failure message.
 */
#include "base.h"
#include "itlib.h"

#include <signal.h>

#define MANAGED_UPSTREAM "endpointslice-controller.k8s.io"
#define MANAGED_OURS "svc-controllers-diff"
#define SEL(v) "endpointslice.kubernetes.io/managed-by=" v
#define KCM_TIMEOUT_MS 240000
#define POLL_MS 500
#define STABLE_POLLS 6 /* 3 s without a change on either side */
#define CONVERGE_MS 120000
#define ZONES 3

/* ---- Raw requests ------------------------------------------------------- */

static enum err req(enum apiclient_method m, const char *path,
		    const char *body, const char *ctype, struct errbuf *eb)
{
	struct apiclient_result res;

	return apiclient_do(it_api,
			    &(struct apiclient_request){
				.method = m,
				.path = path,
				.body = body,
				.body_len = body ? strlen(body) : 0,
				.content_type = ctype,
			    },
			    NULL, &res, eb);
}

static void merge_patch(const char *path, const char *json)
{
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(req(APICLIENT_PATCH, path, json,
			"application/merge-patch+json", &eb),
		    &eb);
}

static void post(const char *path, const char *json)
{
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(it_post(path, json, NULL, NULL, &eb), &eb);
}

/* ---- Processes ------------------------------------------------------------ */

static int local_cluster(const char *cmd, const char *extra)
{
	char *argv[] = { (char *)it_env("IT_LOCAL_CLUSTER"), (char *)cmd,
			 (char *)"--dir", (char *)it_env("IT_CLUSTER_DIR"),
			 (char *)extra, NULL };
	struct buf out, err;
	int rc;

	buf_init(&out, 0);
	buf_init(&err, 0);
	rc = it_run(argv, KCM_TIMEOUT_MS, &out, &err);
	if (rc != 0)
		printf("# %s: exit %d\n%s\n", cmd, rc, err.data);
	buf_release(&out);
	buf_release(&err);
	return rc;
}

static void kcm_stop(void *arg)
{
	(void)arg;
	(void)local_cluster("stop-kcm", NULL);
}

static void start_controllers(struct it_proc *ours)
{
	char *argv[] = { (char *)it_env("SVC_BIN"), (char *)"--kubeconfig",
			 (char *)it_env("KUBECONFIG"),
			 (char *)"--managed-by=" MANAGED_OURS,
			 (char *)"--kube-api-qps=100",
			 (char *)"--kube-api-burst=200",
			 (char *)"--secure-port=0", NULL };
	struct errbuf eb = ERRBUF_INIT;

	(void)local_cluster("stop-kcm", NULL); /* a leftover of a crash */
	CHECK_INT_EQ(local_cluster("start-kcm",
				   "--controllers=endpointslice-controller"),
		     0);
	it_defer(kcm_stop, NULL);
	IT_CHECK_OK(it_proc_start(argv, ours, &eb), &eb);
}

/* ---- Workload ---------------------------------------------------------------- */

struct workload {
	const char *ns;
	char *nodes[ZONES];
	char *zones[ZONES];
	char *svc_path;
	char *pod_path;
	unsigned next_ip;
};

static void free_workload(void *arg)
{
	struct workload *w = arg;

	for (int i = 0; i < ZONES; i++) {
		free(w->nodes[i]);
		free(w->zones[i]);
	}
	free(w->svc_path);
	free(w->pod_path);
}

static void make_nodes(struct workload *w)
{
	struct errbuf eb = ERRBUF_INIT;

	for (int i = 0; i < ZONES; i++) {
		char *path, *zone = it_unique_name("zone");

		w->zones[i] = zone;
		w->nodes[i] = it_unique_name("diff-node");
		IT_CHECK_OK(it_node_create(w->nodes[i], zone, &eb), &eb);
		path = xasprintf("/api/v1/nodes/%s/status", w->nodes[i]);
		merge_patch(path,
			    "{\"status\":{\"allocatable\":{\"cpu\":\"4\"},"
			    "\"capacity\":{\"cpu\":\"4\"},\"conditions\":[{"
			    "\"type\":\"Ready\",\"status\":\"True\",\"reason\":"
			    "\"KubeletReady\",\"message\":\"ok\","
			    "\"lastHeartbeatTime\":\"2026-01-01T00:00:00Z\","
			    "\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}");
		free(path);
	}
}

static void service(struct workload *w, const char *name, const char *meta,
		    const char *spec)
{
	char *body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Service\","
			       "\"metadata\":{\"name\":\"%s\"%s},\"spec\":%s}",
			       name, meta, spec);

	post(w->svc_path, body);
	free(body);
}

static void make_services(struct workload *w)
{
	static const char tcp_http[] =
		"\"ports\":[{\"name\":\"http\",\"port\":80,"
		"\"targetPort\":8080}]";
	const char *lbl = ",\"labels\":{\"team\":\"net\",\"tier\":\"be\"}";
	char spec[1024];

	/* Named targetPorts; pods resolve http to 8080 or 8081. */
	service(w, "named", lbl,
		"{\"selector\":{\"app\":\"named\"},\"ports\":["
		"{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"},"
		"{\"name\":\"metrics\",\"port\":9090,\"targetPort\":\"metrics\","
		"\"appProtocol\":\"http\"}]}");
	/* Several ports, one UDP. */
	service(w, "multi", "",
		"{\"selector\":{\"app\":\"multi\"},\"ports\":["
		"{\"name\":\"web\",\"port\":80,\"targetPort\":8080},"
		"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\","
		"\"targetPort\":5353},"
		"{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\","
		"\"targetPort\":5353}]}");
	(void)snprintf(spec, sizeof(spec),
		       "{\"selector\":{\"app\":\"dual\"},\"ipFamilyPolicy\":"
		       "\"RequireDualStack\",\"ipFamilies\":[\"IPv4\",\"IPv6\"],"
		       "%s}", tcp_http);
	service(w, "dual", lbl, spec);
	(void)snprintf(spec, sizeof(spec),
		       "{\"selector\":{\"app\":\"hl\"},\"clusterIP\":\"None\",%s}",
		       tcp_http);
	service(w, "hl", "", spec);
	service(w, "sub", "",
		"{\"selector\":{\"app\":\"sub\"},\"clusterIP\":\"None\"}");
	(void)snprintf(spec, sizeof(spec),
		       "{\"selector\":{\"app\":\"pna\"},"
		       "\"publishNotReadyAddresses\":true,%s}", tcp_http);
	service(w, "pna", "", spec);
	(void)snprintf(spec, sizeof(spec),
		       "{\"selector\":{\"app\":\"zone\"},"
		       "\"trafficDistribution\":\"PreferSameZone\",%s}",
		       tcp_http);
	service(w, "zone", "", spec);
	(void)snprintf(spec, sizeof(spec),
		       "{\"selector\":{\"app\":\"node\"},"
		       "\"trafficDistribution\":\"PreferSameNode\",%s}",
		       tcp_http);
	service(w, "node", "", spec);
	(void)snprintf(spec, sizeof(spec), "{\"selector\":{\"app\":\"auto\"},%s}",
		       tcp_http);
	service(w, "auto",
		",\"annotations\":{\"service.kubernetes.io/topology-mode\":"
		"\"Auto\"}",
		spec);
	service(w, "ext", "",
		"{\"type\":\"ExternalName\",\"externalName\":\"example.com\","
		"\"selector\":{\"app\":\"multi\"}}");
	/* A selector nothing matches: a placeholder slice each. */
	(void)snprintf(spec, sizeof(spec), "{\"selector\":{\"app\":\"none\"},%s}",
		       tcp_http);
	service(w, "empty", "", spec);
}

struct pod_def {
	const char *app;
	int http;    /* containerPort of "http" (0: no ports at all) */
	bool dual;   /* an IPv6 address too */
	bool ready;
	const char *hostname;
};

static void set_status(struct workload *w, const char *name, unsigned ip,
		       bool dual, bool ready, const char *ltt)
{
	char *path = xasprintf("%s/%s/status", w->pod_path, name);
	char v6[64] = "";
	char *body;

	if (dual)
		(void)snprintf(v6, sizeof(v6), ",{\"ip\":\"fd00:77::%x\"}",
			       ip + 1);
	body = xasprintf(
		"{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.77.%u.%u\","
		"\"podIPs\":[{\"ip\":\"10.77.%u.%u\"}%s],\"conditions\":[{"
		"\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":"
		"\"%s\"}]}}",
		ip / 250, ip % 250 + 1, ip / 250, ip % 250 + 1, v6,
		ready ? "True" : "False", ltt);
	merge_patch(path, body);
	free(body);
	free(path);
}

/* A readiness change only: the IPs stay as they are. */
static void set_ready(struct workload *w, const char *name, bool ready,
		      const char *ltt)
{
	char *path = xasprintf("%s/%s/status", w->pod_path, name);
	char *body = xasprintf(
		"{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
		"\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
		ready ? "True" : "False", ltt);

	merge_patch(path, body);
	free(body);
	free(path);
}

static void pod_on(struct workload *w, const char *name,
		   const struct pod_def *d, const char *node_name)
{
	char ports[512] = "";
	char extra[256] = "";
	char *body;

	if (d->http)
		(void)snprintf(ports, sizeof(ports),
			       ",\"ports\":[{\"name\":\"http\",\"containerPort\":"
			       "%d},{\"name\":\"metrics\",\"containerPort\":9090},"
			       "{\"name\":\"dns\",\"containerPort\":5353,"
			       "\"protocol\":\"UDP\"}]",
			       d->http);
	if (d->hostname)
		(void)snprintf(extra, sizeof(extra),
			       ",\"hostname\":\"%s\",\"subdomain\":\"sub\"",
			       d->hostname);
	body = xasprintf("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
			 "\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},\"spec\":{"
			 "\"nodeName\":\"%s\"%s,\"containers\":[{\"name\":\"c\","
			 "\"image\":\"registry.k8s.io/pause:3.10\"%s}]}}",
			 name, d->app, node_name, extra, ports);
	post(w->pod_path, body);
	free(body);
	set_status(w, name, w->next_ip++, d->dual, d->ready,
		   "2026-01-01T00:00:00Z");
}

static void pod(struct workload *w, const char *name, const struct pod_def *d,
		int node)
{
	pod_on(w, name, d, w->nodes[node]);
}

/* About 60 pods over the Services; names <app>-<i>. */
static void make_pods(struct workload *w)
{
	static const struct {
		const char *app;
		int count;
	} groups[] = { { "named", 8 }, { "multi", 5 }, { "dual", 6 },
		       { "hl", 4 },    { "sub", 4 },   { "pna", 5 },
		       { "zone", 6 },  { "node", 6 },  { "auto", 15 },
		       { "orphan", 2 } };

	for (size_t g = 0; g < ARRAY_SIZE(groups); g++)
		for (int i = 0; i < groups[g].count; i++) {
			struct pod_def d = { groups[g].app, 8080, false,
					     true, NULL };
			char name[64], host[32];

			(void)snprintf(name, sizeof(name), "%s-%d",
				       groups[g].app, i);
			if (strcmp(d.app, "named") == 0 && i % 2)
				d.http = 8081; /* the second resolution */
			if (strcmp(d.app, "named") == 0 && i == 7)
				d.http = 0; /* resolves nothing */
			d.dual = strcmp(d.app, "dual") == 0 && i != 5;
			/* Not ready: every fourth pod, except for auto
			 * (hints need the ready endpoints balanced). */
			d.ready = strcmp(d.app, "auto") == 0 || i % 4 != 3;
			if (strcmp(d.app, "sub") == 0 && i < 3) {
				(void)snprintf(host, sizeof(host), "h-%d", i);
				d.hostname = host;
			}
			pod(w, name, &d, i % ZONES);
		}
	/* On a Node that does not exist: kept without a zone when
	 * publishNotReadyAddresses, else skipped (and the sync retried). */
	{
		struct pod_def d = { "pna", 8080, false, true, NULL };
		char *ghost = it_unique_name("ghost-node");

		pod_on(w, "pna-ghost", &d, ghost);
		d.app = "zone";
		pod_on(w, "zone-ghost", &d, ghost);
		free(ghost);
	}
}

static void delete_gracefully(struct workload *w, const char *name)
{
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(it_pod_delete(w->ns, name, false, &eb), &eb);
}

/* ---- Canonical forms ------------------------------------------------------- */

static const char *nz(const char *s)
{
	return s ? s : "-";
}

static char tri(enum kube_tristate t)
{
	return t == KUBE_TRUE ? 'T' : t == KUBE_FALSE ? 'F' : '-';
}

static void add(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void add(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	BUG_ON(buf_adds(b, tmp) != ERR_OK);
}

/* "<svc>|<type>|<sorted ports>" */
static void group_key(const struct kube_endpointslice *s, struct buf *b)
{
	struct unit_lines ps = { 0 };

	add(b, "%s|%s|",
	    nz(kube_labels_get(&s->obj.meta.labels, "kubernetes.io/service-name")),
	    kube_address_type_name(s->address_type));
	for (uint32_t i = 0; i < s->n_ports; i++) {
		char one[256];

		(void)snprintf(one, sizeof(one), "%s/%s/%d/%s",
			       nz(s->ports[i].name),
			       kube_protocol_name(s->ports[i].protocol),
			       s->ports[i].has_port ? s->ports[i].port : -1,
			       nz(s->ports[i].app_protocol));
		unit_lines_add(&ps, one);
	}
	unit_lines_sort(&ps);
	for (size_t i = 0; i < ps.n; i++)
		add(b, "%s%s", i ? "," : "", ps.v[i]);
	unit_lines_free(&ps);
}

static void endpoint_line(const struct kube_endpointslice *s,
			  const struct kube_endpoint *e, struct buf *b)
{
	struct unit_lines hz = { 0 }, hn = { 0 };

	buf_reset(b);
	group_key(s, b);
	add(b, " | ");
	for (uint32_t i = 0; i < e->n_addresses; i++)
		add(b, "%s%s", i ? "," : "", e->addresses[i]);
	add(b, " ready=%c serving=%c terminating=%c hostname=%s node=%s zone=%s"
	       " ref=%s/%s/%s/%s hints=%s",
	    tri(e->ready), tri(e->serving), tri(e->terminating),
	    nz(e->hostname), nz(e->node_name), nz(e->zone), nz(e->target.kind),
	    nz(e->target.ns), nz(e->target.name), nz(e->target.uid),
	    e->has_hints ? "{" : "none");
	for (uint32_t i = 0; i < e->n_hint_zones; i++)
		unit_lines_add(&hz, e->hint_zones[i]);
	for (uint32_t i = 0; i < e->n_hint_nodes; i++)
		unit_lines_add(&hn, e->hint_nodes[i]);
	for (size_t i = 0; i < hz.n; i++)
		add(b, "z:%s;", hz.v[i]);
	for (size_t i = 0; i < hn.n; i++)
		add(b, "n:%s;", hn.v[i]);
	if (e->has_hints)
		add(b, "}");
	unit_lines_free(&hz);
	unit_lines_free(&hn);
}

/* One line per slice: group key, labels minus managed-by, owners. */
static void slice_line(const struct kube_endpointslice *s, struct buf *b)
{
	const struct kube_meta *m = &s->obj.meta;
	struct unit_lines ls = { 0 };

	buf_reset(b);
	group_key(s, b);
	add(b, " | labels={");
	for (uint32_t i = 0; i < m->labels.n; i++) {
		char one[512];

		if (strcmp(m->labels.items[i].key,
			   "endpointslice.kubernetes.io/managed-by") == 0)
			continue;
		(void)snprintf(one, sizeof(one), "%s=%s",
			       m->labels.items[i].key, m->labels.items[i].value);
		unit_lines_add(&ls, one);
	}
	unit_lines_sort(&ls);
	for (size_t i = 0; i < ls.n; i++)
		add(b, "%s%s", i ? "," : "", ls.v[i]);
	add(b, "} owners=");
	for (uint32_t i = 0; i < m->n_owners; i++)
		add(b, "[%s %s %s %s c=%c b=%c]", nz(m->owners[i].api_version),
		    nz(m->owners[i].kind), nz(m->owners[i].name),
		    nz(m->owners[i].uid), tri(m->owners[i].controller),
		    tri(m->owners[i].block_owner_deletion));
	unit_lines_free(&ls);
}

struct view {
	struct unit_lines eps;   /* one per endpoint (a multiset) */
	struct unit_lines slices; /* one per distinct slice shape (a set) */
	struct buf text;    /* both, joined: for change detection */
};

static void view_free(struct view *v)
{
	unit_lines_free(&v->eps);
	unit_lines_free(&v->slices);
	buf_release(&v->text);
}

/* Lists the slices of one manager in ns into v. */
static enum err view_load(const char *ns, const char *selector,
			  struct view *v, struct errbuf *eb)
{
	struct it_list l;
	struct buf b;
	enum err e = it_list(KUBE_KIND_ENDPOINTSLICE, ns, selector, &l, eb);

	memset(v, 0, sizeof(*v));
	buf_init(&v->text, 0);
	if (e != ERR_OK)
		return e;
	buf_init(&b, 0);
	for (size_t i = 0; i < l.n; i++) {
		const struct kube_endpointslice *s =
			kube_endpointslice(l.items[i]);

		if (s->obj.meta.deletion_ms)
			continue;
		for (uint32_t j = 0; j < s->n_endpoints; j++) {
			endpoint_line(s, &s->endpoints[j], &b);
			unit_lines_add(&v->eps, b.data);
		}
		slice_line(s, &b);
		unit_lines_add(&v->slices, b.data);
	}
	buf_release(&b);
	it_list_release(&l);
	unit_lines_sort(&v->eps);
	unit_lines_sort(&v->slices);
	/* Slices are compared as a set: boundaries may differ. */
	for (size_t i = 0, k = 0; i < v->slices.n; i++) {
		if (k && strcmp(v->slices.v[k - 1], v->slices.v[i]) == 0) {
			free(v->slices.v[i]);
			continue;
		}
		v->slices.v[k++] = v->slices.v[i];
		if (i + 1 == v->slices.n)
			v->slices.n = k;
	}
	for (size_t i = 0; i < v->eps.n; i++)
		add(&v->text, "%s\n", v->eps.v[i]);
	for (size_t i = 0; i < v->slices.n; i++)
		add(&v->text, "%s\n", v->slices.v[i]);
	return ERR_OK;
}

/* Appends "what: line" for lines of a not in b and of b not in a (sorted
 * multisets); returns the number of differences. */
static size_t diff_lines(const struct unit_lines *a, const struct unit_lines *b,
			 const char *what, struct buf *out)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n || j < b->n) {
		int c = i == a->n   ? 1
			: j == b->n ? -1
				    : strcmp(a->v[i], b->v[j]);

		if (c == 0) {
			i++;
			j++;
			continue;
		}
		n++;
		if (n <= 60)
			add(out, "#   %s only %s: %s\n", what,
			    c < 0 ? "upstream" : "ours", c < 0 ? a->v[i] : b->v[j]);
		if (c < 0)
			i++;
		else
			j++;
	}
	return n;
}

struct converge {
	const char *ns;
	const struct buf *before_up, *before_ours; /* must change, or NULL */
	struct view up, ours;
	struct buf last_up, last_ours;
	int stable;
	bool err;
};

/* One poll: stable once neither side changed for STABLE_POLLS polls. */
static bool converged(void *arg)
{
	struct converge *c = arg;
	struct errbuf eb = ERRBUF_INIT;

	view_free(&c->up);
	view_free(&c->ours);
	if (view_load(c->ns, SEL(MANAGED_UPSTREAM), &c->up, &eb) != ERR_OK ||
	    view_load(c->ns, SEL(MANAGED_OURS), &c->ours, &eb) != ERR_OK) {
		printf("# list: %s\n", eb.msg);
		c->stable = 0;
		return false;
	}
	if (strcmp(c->up.text.data, c->last_up.data) == 0 &&
	    strcmp(c->ours.text.data, c->last_ours.data) == 0)
		c->stable++;
	else
		c->stable = 0;
	buf_reset(&c->last_up);
	buf_reset(&c->last_ours);
	BUG_ON(buf_adds(&c->last_up, c->up.text.data) != ERR_OK);
	BUG_ON(buf_adds(&c->last_ours, c->ours.text.data) != ERR_OK);
	/* Both moved past the state before the changes, then settled. */
	if (c->before_up &&
	    (strcmp(c->up.text.data, c->before_up->data) == 0 ||
	     strcmp(c->ours.text.data, c->before_ours->data) == 0))
		return false;
	return c->stable >= STABLE_POLLS;
}

/* Waits for both controllers to settle (and, given before_*, to move
 * away from that state) and compares them; the settled views go to
 * after_* when not NULL. */
static void compare(const char *ns, const char *stage, size_t min_endpoints,
		    const struct buf *before_up, const struct buf *before_ours,
		    struct buf *after_up, struct buf *after_ours)
{
	struct converge c = { .ns = ns,
			      .before_up = before_up,
			      .before_ours = before_ours };
	struct buf why;
	size_t n;
	bool ok;

	buf_init(&c.last_up, 0);
	buf_init(&c.last_ours, 0);
	buf_init(&c.up.text, 0);
	buf_init(&c.ours.text, 0);
	buf_init(&why, 0);
	ok = it_wait_until(converged, &c, CONVERGE_MS);
	if (!ok)
		printf("# %s: slices still changing after %d ms\n", stage,
		       CONVERGE_MS);
	n = diff_lines(&c.up.eps, &c.ours.eps, "endpoint", &why);
	n += diff_lines(&c.up.slices, &c.ours.slices, "slice", &why);
	printf("# %s: upstream %zu endpoints in %zu slice shapes, ours %zu in %zu;"
	       " %zu differences\n",
	       stage, c.up.eps.n, c.up.slices.n, c.ours.eps.n, c.ours.slices.n,
	       n);
	if (n)
		printf("%s", why.data);
	if (getenv("IT_DIFF_DUMP"))
		printf("# upstream:\n%s# ours:\n%s", c.up.text.data,
		       c.ours.text.data);
	if (after_up) {
		BUG_ON(buf_adds(after_up, c.up.text.data) != ERR_OK);
		BUG_ON(buf_adds(after_ours, c.ours.text.data) != ERR_OK);
	}
	CHECK(c.up.eps.n >= min_endpoints);
	CHECK_INT_EQ(n, 0);
	CHECK(ok);
	view_free(&c.up);
	view_free(&c.ours);
	buf_release(&c.last_up);
	buf_release(&c.last_ours);
	buf_release(&why);
}

/* ---- The case ---------------------------------------------------------------- */

static void changes(struct workload *w)
{
	char *path;

	/* Readiness flips both ways (new lastTransitionTime). */
	set_ready(w, "named-3", true, "2026-01-01T00:01:00Z");
	set_ready(w, "zone-0", false, "2026-01-01T00:01:00Z");
	set_ready(w, "node-1", false, "2026-01-01T00:01:00Z");
	set_ready(w, "auto-2", false, "2026-01-01T00:01:00Z");
	/* A relabel: multi-1 moves to pna. */
	path = xasprintf("%s/multi-1", w->pod_path);
	merge_patch(path, "{\"metadata\":{\"labels\":{\"app\":\"pna\"}}}");
	free(path);
	/* The orphan joins zone; a graceful delete in hl. */
	path = xasprintf("%s/orphan-0", w->pod_path);
	merge_patch(path, "{\"metadata\":{\"labels\":{\"app\":\"zone\"}}}");
	free(path);
	delete_gracefully(w, "hl-1");
	/* A Service port change: metrics now targets a number, http renamed. */
	path = xasprintf("%s/named", w->svc_path);
	merge_patch(path,
		    "{\"spec\":{\"ports\":["
		    "{\"name\":\"web\",\"port\":80,\"targetPort\":\"http\"},"
		    "{\"name\":\"metrics\",\"port\":9090,\"targetPort\":9091}]}}");
	free(path);
	/* Service labels change: every slice's labels follow. */
	path = xasprintf("%s/multi", w->svc_path);
	merge_patch(path, "{\"metadata\":{\"labels\":{\"owner\":\"x\"}}}");
	free(path);
}

static void same_endpoints_as_upstream(void)
{
	static struct it_proc ours;
	static struct workload w;
	struct buf up, mine;

	it_begin();
	memset(&w, 0, sizeof(w));
	w.ns = it_ns_create("it-diff");
	w.svc_path = xasprintf("/api/v1/namespaces/%s/services", w.ns);
	w.pod_path = xasprintf("/api/v1/namespaces/%s/pods", w.ns);
	it_defer(free_workload, &w);
	start_controllers(&ours);
	make_nodes(&w);
	make_services(&w);
	make_pods(&w);
	/* Terminating: a graceful delete leaves the pod with a
	 * deletionTimestamp (no kubelet confirms it). */
	delete_gracefully(&w, "multi-4");
	delete_gracefully(&w, "pna-2");
	delete_gracefully(&w, "zone-5");
	buf_init(&up, 0);
	buf_init(&mine, 0);
	compare(w.ns, "initial", 50, NULL, NULL, &up, &mine);

	changes(&w);
	compare(w.ns, "after changes", 50, &up, &mine, NULL, NULL);
	buf_release(&up);
	buf_release(&mine);

	CHECK(kill(ours.pid, 0) == 0); /* still running */
	it_end();
}

static const struct unit_case cases[] = {
	UNIT_CASE(same_endpoints_as_upstream),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-differential", cases,
		       ARRAY_SIZE(cases));
}
