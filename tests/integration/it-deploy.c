/*
 * Integration tests of hack/deploy against the real kube-apiserver: every
 * manifest is parsed with libyaml, converted to JSON and POSTed to the
 * path its apiVersion and kind name, in a unique namespace (and with
 * unique names for cluster-scoped objects) so runs never clash; the
 * MutatingWebhookConfiguration goes in with dryRun=All, as a real one
 * would send every Service create of the shared cluster to a webhook that
 * is not running. Then SubjectAccessReviews as the ServiceAccount check
 * that rbac.yaml grants exactly what the binary does and nothing more,
 * with and without the allocator's ClusterRole. The systemd unit is parsed
 * as sections of key=value lines; the flags of the Deployment and the unit
 * are checked against `svc-controllers --help`.
 */
#include "base.h"

#include <ctype.h>
#include <dirent.h>
#include <yaml.h>

#include "apiclient.h"
#include "itlib.h"

#define MANIFEST_NS "svc-controllers"
#define SA_NAME "svc-controllers"
#define LEASE_NAME "svc-controllers"
#define MAX_DOCS 16
#define MAX_OBJS 32

/* ---- Files and YAML ------------------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* The next token of *cur up to one of delims, NUL-terminated in place;
 * NULL at the end. With skip_empty, runs of delimiters count as one. */
static char *next_tok(char **cur, const char *delims, bool skip_empty)
{
	char *t = *cur;

	if (!t)
		return NULL;
	if (skip_empty)
		t += strspn(t, delims);
	if (!*t) {
		*cur = NULL;
		return skip_empty ? NULL : t;
	}
	*cur = t + strcspn(t, delims);
	if (**cur)
		*(*cur)++ = '\0';
	else
		*cur = NULL;
	return t;
}

static char *deploy_path(const char *file)
{
	const char *dir = getenv("IT_DEPLOY_DIR");
	const char *lc = getenv("IT_LOCAL_CLUSTER");

	if (dir && *dir)
		return xasprintf("%s/%s", dir, file);
	if (lc && *lc && strrchr(lc, '/'))
		return xasprintf("%.*s/deploy/%s", (int)(strrchr(lc, '/') - lc),
				 lc, file);
	return xasprintf("hack/deploy/%s", file);
}

struct yfile {
	yaml_document_t docs[MAX_DOCS];
	size_t n; /* non-empty documents */
};

/* Loads every non-empty document of hack/deploy/<file>; fails the case on
 * a missing file or a YAML error. */
static void yfile_load(const char *file, struct yfile *f)
{
	char *path = deploy_path(file);
	yaml_parser_t p;
	struct buf text;
	bool done = false;

	f->n = 0;
	buf_init(&text, 0);
	it_read_file(path, &text);
	if (text.len == 0)
		unit_fail(__FILE__, __LINE__, "%s: missing or empty", path);
	BUG_ON(!yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)text.data,
				     text.len);
	while (!done) {
		yaml_document_t *d = &f->docs[f->n];

		if (f->n == MAX_DOCS || !yaml_parser_load(&p, d))
			unit_fail(__FILE__, __LINE__, "%s: %s at line %zu", path,
				  p.problem ? p.problem : "too many documents",
				  p.problem_mark.line + 1);
		/* libyaml's empty document marks the end of the stream. */
		if (!yaml_document_get_root_node(d)) {
			done = true;
			yaml_document_delete(d);
			continue;
		}
		f->n++;
	}
	yaml_parser_delete(&p);
	buf_release(&text);
	free(path);
}

static void yfile_release(struct yfile *f)
{
	for (size_t i = 0; i < f->n; i++)
		yaml_document_delete(&f->docs[i]);
	f->n = 0;
}

static const char *yscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map,
			     const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++)
		if (str_eq(yscalar(yaml_document_get_node(d, p->key)), key))
			return yaml_document_get_node(d, p->value);
	return NULL;
}

/* The node at a dotted path from the root ("spec.ports.0.port"); numbers
 * index sequences. NULL when any step is missing. */
static yaml_node_t *ypath(yaml_document_t *d, const char *dotted)
{
	yaml_node_t *n = yaml_document_get_root_node(d);
	char *copy = xstrdup(dotted), *cur = copy;

	for (char *k = next_tok(&cur, ".", true); n && k;
	     k = next_tok(&cur, ".", true)) {
		if (n->type == YAML_SEQUENCE_NODE && isdigit((unsigned char)*k)) {
			long i = strtol(k, NULL, 10);
			yaml_node_item_t *it = n->data.sequence.items.start;

			n = i < n->data.sequence.items.top - it
				    ? yaml_document_get_node(d, it[i])
				    : NULL;
		} else {
			n = ymap_get(d, n, k);
		}
	}
	free(copy);
	return n;
}

static const char *ystr(yaml_document_t *d, const char *dotted)
{
	return yscalar(ypath(d, dotted));
}

/* The document of kind in f, or NULL. */
static yaml_document_t *yfind(struct yfile *f, const char *kind)
{
	for (size_t i = 0; i < f->n; i++)
		if (str_eq(ystr(&f->docs[i], "kind"), kind))
			return &f->docs[i];
	return NULL;
}

/* ---- YAML to JSON, with the test's names substituted --------------------- */

struct conv {
	const char *ns;	    /* replaces MANIFEST_NS as a namespace */
	const char *suffix; /* appended to cluster-scoped names */
	const char *kind;   /* of the document being converted */
	bool cluster;	    /* the document's kind is cluster-scoped */
	char tmp[256];
};

static bool plain_number(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	bool dot = false;

	if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	for (; *p; p++) {
		if (*p == '.' && !dot)
			dot = true;
		else if (!isdigit((unsigned char)*p))
			return false;
	}
	return p[-1] != '.';
}

/* What a scalar becomes for this test: the namespace and the names of
 * cluster-scoped objects are made unique. path holds the mapping keys
 * from the root. */
static const char *subst(struct conv *c, const char *const *path, int depth,
			 const char *v)
{
	bool meta_name = depth == 2 && str_eq(path[0], "metadata") &&
			 str_eq(path[1], "name");

	if (depth > 0 && str_eq(path[depth - 1], "namespace") &&
	    str_eq(v, MANIFEST_NS))
		return c->ns;
	if (meta_name && str_eq(c->kind, "Namespace"))
		return c->ns;
	if ((meta_name && c->cluster) ||
	    (depth == 2 && str_eq(c->kind, "ClusterRoleBinding") &&
	     str_eq(path[0], "roleRef") && str_eq(path[1], "name"))) {
		(void)snprintf(c->tmp, sizeof(c->tmp), "%s-%s", v, c->suffix);
		return c->tmp;
	}
	return v;
}

static void emit_scalar(struct conv *c, const yaml_node_t *n,
			const char *const *path, int depth, struct buf *out)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (!*v || str_eq(v, "~") || str_eq(v, "null") || str_eq(v, "Null"))
			v = "null";
		else if (str_eq(v, "True") || str_eq(v, "TRUE"))
			v = "true";
		else if (str_eq(v, "False") || str_eq(v, "FALSE"))
			v = "false";
		if (str_eq(v, "null") || str_eq(v, "true") ||
		    str_eq(v, "false") || plain_number(v)) {
			BUG_ON(buf_adds(out, v) != ERR_OK);
			return;
		}
	}
	kube_json_quote(out, subst(c, path, depth, v));
}

static void emit(struct conv *c, yaml_document_t *d, yaml_node_t *n,
		 const char **path, int depth, struct buf *out)
{
	bool first = true;

	BUG_ON(depth >= 32);
	switch (n->type) {
	case YAML_SCALAR_NODE:
		emit_scalar(c, n, path, depth, out);
		break;
	case YAML_SEQUENCE_NODE:
		BUG_ON(buf_adds(out, "[") != ERR_OK);
		for (yaml_node_item_t *i = n->data.sequence.items.start;
		     i < n->data.sequence.items.top; i++, first = false) {
			BUG_ON(!first && buf_adds(out, ",") != ERR_OK);
			emit(c, d, yaml_document_get_node(d, *i), path, depth, out);
		}
		BUG_ON(buf_adds(out, "]") != ERR_OK);
		break;
	case YAML_MAPPING_NODE:
		BUG_ON(buf_adds(out, "{") != ERR_OK);
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++, first = false) {
			const char *k = yscalar(yaml_document_get_node(d, p->key));

			BUG_ON(!k);
			BUG_ON(!first && buf_adds(out, ",") != ERR_OK);
			kube_json_quote(out, k);
			BUG_ON(buf_adds(out, ":") != ERR_OK);
			path[depth] = k;
			emit(c, d, yaml_document_get_node(d, p->value), path,
			     depth + 1, out);
		}
		BUG_ON(buf_adds(out, "}") != ERR_OK);
		break;
	default:
		BUG_ON(1);
	}
}

/* ---- Objects --------------------------------------------------------------- */

static const struct {
	const char *kind;
	bool cluster; /* cluster-scoped */
	bool dry_run; /* a real create would change the shared cluster */
} kinds[] = {
	{ "Namespace", true, false },
	{ "ServiceAccount", false, false },
	{ "ClusterRole", true, false },
	{ "ClusterRoleBinding", true, false },
	{ "Role", false, false },
	{ "RoleBinding", false, false },
	{ "Service", false, false },
	{ "Deployment", false, false },
	{ "MutatingWebhookConfiguration", true, true },
};

struct obj {
	char *desc;	  /* "Kind/name in file" */
	char *collection; /* POST path */
	char *self;	  /* object path (for cleanup) */
	char *json;
	bool dry_run;
	bool created;
};

struct deploy {
	char *ns;     /* unique; also the namespace object's name */
	char *suffix; /* of cluster-scoped names */
	struct obj objs[MAX_OBJS];
	size_t n;
};

static int kind_index(const char *kind)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (str_eq(kinds[i].kind, kind))
			return (int)i;
	return -1;
}

static char *plural(const char *kind)
{
	char *p = xasprintf("%ss", kind);

	for (char *q = p; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return p;
}

/* Converts one document into an object to POST; fails the case on a kind
 * the table does not know or a namespaced object without a namespace. */
static void add_object(struct deploy *dp, const char *file, yaml_document_t *d)
{
	const char *kind = ystr(d, "kind"), *av = ystr(d, "apiVersion");
	const char *name = ystr(d, "metadata.name");
	const char *mns = ystr(d, "metadata.namespace");
	int k = kind_index(kind);
	struct conv c = { dp->ns, dp->suffix, kind, k >= 0 && kinds[k].cluster, "" };
	struct obj *o = &dp->objs[dp->n];
	const char *path[32];
	char *base, *pl, *final_name;
	struct buf json;

	if (k < 0 || !av || !name)
		unit_fail(__FILE__, __LINE__, "%s: kind %s (apiVersion %s, name %s): not in the test's table",
			  file, kind ? kind : "?", av ? av : "?", name ? name : "?");
	if (!kinds[k].cluster && !str_eq(mns, MANIFEST_NS))
		unit_fail(__FILE__, __LINE__, "%s: %s/%s: metadata.namespace is %s, want " MANIFEST_NS,
			  file, kind, name, mns ? mns : "unset");
	BUG_ON(dp->n == MAX_OBJS);
	buf_init(&json, 0);
	emit(&c, d, yaml_document_get_root_node(d), path, 0, &json);
	final_name = xstrdup(subst(&c, (const char *[]){ "metadata", "name" }, 2, name));
	base = str_eq(av, "v1") ? xstrdup("/api/v1") : xasprintf("/apis/%s", av);
	pl = plural(kind);
	o->collection = kinds[k].cluster ? xasprintf("%s/%s", base, pl)
					 : xasprintf("%s/namespaces/%s/%s", base, dp->ns, pl);
	o->self = xasprintf("%s/%s", o->collection, final_name);
	o->desc = xasprintf("%s/%s in %s", kind, final_name, file);
	o->json = xstrdup(json.data);
	o->dry_run = kinds[k].dry_run;
	dp->n++;
	free(final_name);
	free(pl);
	free(base);
	buf_release(&json);
}

/* Deletes what was created, newest first; the namespace last, finalized
 * (the local cluster has no namespace controller). */
static void deploy_cleanup(void *arg)
{
	struct deploy *dp = arg;
	struct errbuf eb = ERRBUF_INIT;

	for (size_t i = dp->n; i-- > 0;) {
		struct obj *o = &dp->objs[i];
		enum err e = ERR_OK;

		if (o->created && str_has_prefix(o->desc, "Namespace/"))
			e = it_ns_delete(dp->ns, true, &eb);
		else if (o->created)
			e = it_request(APICLIENT_DELETE, o->self, NULL, NULL, NULL,
				       NULL, NULL, &eb);
		if (e != ERR_OK && e != ERR_NOT_FOUND)
			printf("# cleanup of %s: %s\n", o->desc, eb.msg);
		free(o->desc);
		free(o->collection);
		free(o->self);
		free(o->json);
	}
	free(dp->ns);
	free(dp->suffix);
	free(dp);
}

/* The resources: list of kustomization.yaml, in order. */
static size_t kustomize_resources(struct yfile *k, const char **out, size_t max)
{
	yaml_node_t *seq = ypath(&k->docs[0], "resources");
	size_t n = 0;

	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		unit_fail(__FILE__, __LINE__, "kustomization.yaml: no resources list");
	for (yaml_node_item_t *i = seq->data.sequence.items.start;
	     i < seq->data.sequence.items.top && n < max; i++)
		out[n++] = yscalar(yaml_document_get_node(&k->docs[0], *i));
	return n;
}

/* Parses every manifest in kustomization order, then POSTs each object. */
static struct deploy *apply_all(void)
{
	struct deploy *dp = xcalloc(1, sizeof(*dp));
	struct yfile kf, f;
	const char *files[16];
	size_t nfiles;

	dp->ns = it_unique_name("svc-controllers");
	dp->suffix = xstrdup(dp->ns + strlen("svc-controllers-"));
	it_defer(deploy_cleanup, dp);
	yfile_load("kustomization.yaml", &kf);
	nfiles = kustomize_resources(&kf, files, ARRAY_SIZE(files));
	for (size_t i = 0; i < nfiles; i++) {
		yfile_load(files[i], &f);
		for (size_t j = 0; j < f.n; j++)
			add_object(dp, files[i], &f.docs[j]);
		yfile_release(&f);
	}
	yfile_release(&kf);
	for (size_t i = 0; i < dp->n; i++) {
		struct obj *o = &dp->objs[i];
		struct apiclient_result res;
		struct errbuf eb = ERRBUF_INIT;
		struct buf resp;
		enum err e;

		buf_init(&resp, 0);
		e = it_request(APICLIENT_POST, o->collection,
			       o->dry_run ? "dryRun=All" : NULL, o->json, NULL,
			       &resp, &res, &eb);
		if (e != ERR_OK)
			unit_fail(__FILE__, __LINE__, "create %s: %s (HTTP %ld)",
				  o->desc, eb.msg, res.http_code);
		o->created = !o->dry_run;
		/* A real create is 201; a dry-run one answers like the real one. */
		CHECK(res.http_code == 201 || (o->dry_run && res.http_code == 200));
		buf_release(&resp);
	}
	return dp;
}

/* ---- SubjectAccessReviews -------------------------------------------------- */

struct access {
	const char *verb;
	const char *group;
	const char *resource;
	const char *sub;  /* subresource or NULL */
	const char *ns;	  /* NULL: all namespaces / cluster scope */
	const char *name; /* NULL: any */
};

static enum err sar(const char *sa_ns, const struct access *a, bool *allowed,
		    struct errbuf *eb)
{
	struct apiclient_result res;
	struct buf body, resp;
	const char *st;
	enum err e;

	buf_init(&body, 0);
	buf_init(&resp, 0);
	BUG_ON(buf_addf(&body,
			"{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\","
			"\"spec\":{\"user\":\"system:serviceaccount:%s:" SA_NAME "\","
			"\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:%s\",\"system:authenticated\"],"
			"\"resourceAttributes\":{\"verb\":\"%s\",\"group\":\"%s\",\"resource\":\"%s\"",
			sa_ns, sa_ns, a->verb, a->group, a->resource) != ERR_OK);
	if (a->sub)
		BUG_ON(buf_addf(&body, ",\"subresource\":\"%s\"", a->sub) != ERR_OK);
	if (a->ns)
		BUG_ON(buf_addf(&body, ",\"namespace\":\"%s\"", a->ns) != ERR_OK);
	if (a->name)
		BUG_ON(buf_addf(&body, ",\"name\":\"%s\"", a->name) != ERR_OK);
	BUG_ON(buf_adds(&body, "}}}") != ERR_OK);
	e = it_post("/apis/authorization.k8s.io/v1/subjectaccessreviews",
		    body.data, &resp, &res, eb);
	st = e == ERR_OK ? strstr(resp.data, "\"status\":") : NULL;
	if (e == ERR_OK && !st)
		e = errbuf_set(eb, ERR_DECODE, "subjectaccessreview: no status in %s",
			       resp.data);
	if (e == ERR_OK)
		*allowed = strstr(st, "\"allowed\":true") != NULL;
	buf_release(&resp);
	buf_release(&body);
	return e;
}

static void describe(struct buf *out, const struct access *a)
{
	BUG_ON(buf_addf(out, "%s %s%s%s%s%s ns=%s name=%s", a->verb,
			a->group[0] ? a->group : "core", "/", a->resource,
			a->sub ? "/" : "", a->sub ? a->sub : "",
			a->ns ? a->ns : "*", a->name ? a->name : "*") != ERR_OK);
}

/* Everything the binary does with the API (see rbac.yaml for where). */
struct grant {
	const char *group;
	const char *resource;
	const char *sub;
	const char *verbs; /* ",v1,v2," */
	bool allocator;	   /* from the svc-controllers-allocator ClusterRole */
};

static const struct grant grants[] = {
	{ "", "pods", NULL, ",list,watch,", false },
	{ "", "services", NULL, ",list,watch,", false },
	{ "", "nodes", NULL, ",list,watch,", false },
	{ "", "services", "finalizers", ",update,", false },
	{ "discovery.k8s.io", "endpointslices", NULL,
	  ",list,watch,create,update,delete,", false },
	{ "events.k8s.io", "events", NULL, ",create,", false },
	{ "", "services", NULL, ",patch,", true },
};

/* What the matrix probes: every granted resource plus neighbours that
 * must stay closed. */
static const struct {
	const char *group;
	const char *resource;
	const char *sub;
} probed[] = {
	{ "", "pods", NULL },
	{ "", "services", NULL },
	{ "", "nodes", NULL },
	{ "", "services", "finalizers" },
	{ "", "services", "status" },
	{ "", "pods", "status" },
	{ "", "nodes", "status" },
	{ "", "secrets", NULL },
	{ "", "configmaps", NULL },
	{ "", "endpoints", NULL },
	{ "", "events", NULL },
	{ "", "serviceaccounts", "token" },
	{ "", "namespaces", NULL },
	{ "discovery.k8s.io", "endpointslices", NULL },
	{ "events.k8s.io", "events", NULL },
	{ "coordination.k8s.io", "leases", NULL },
	{ "networking.k8s.io", "servicecidrs", NULL },
	{ "networking.k8s.io", "ipaddresses", NULL },
	{ "apps", "deployments", NULL },
	{ "admissionregistration.k8s.io", "mutatingwebhookconfigurations", NULL },
	{ "rbac.authorization.k8s.io", "clusterroles", NULL },
};

static const char *const verbs[] = {
	"get", "list", "watch", "create", "update", "patch", "delete",
	"deletecollection",
};

static bool expected(const struct access *a, const char *own_ns,
		     bool allocator_bound)
{
	char v[32];

	(void)snprintf(v, sizeof(v), ",%s,", a->verb);
	for (size_t i = 0; i < ARRAY_SIZE(grants); i++) {
		const struct grant *g = &grants[i];

		if (str_eq(g->group, a->group) && str_eq(g->resource, a->resource) &&
		    str_eq(g->sub, a->sub) && strstr(g->verbs, v) &&
		    (!g->allocator || allocator_bound))
			return true;
	}
	/* The Lease Role: create any Lease in our namespace; get and update
	 * only by name (checked separately). */
	return str_eq(a->resource, "leases") && str_eq(a->ns, own_ns) &&
	       !a->name && str_eq(a->verb, "create");
}

/* Every probed (verb, resource) in all namespaces, in another namespace
 * and in our own: allowed exactly when expected. Returns the number of
 * mismatches, described in why. */
static size_t check_matrix(const char *ns, bool allocator_bound,
			   struct buf *why)
{
	const char *scopes[] = { NULL, "default", ns };
	struct errbuf eb = ERRBUF_INIT;
	size_t bad = 0;

	for (size_t s = 0; s < ARRAY_SIZE(scopes); s++)
		for (size_t r = 0; r < ARRAY_SIZE(probed); r++)
			for (size_t v = 0; v < ARRAY_SIZE(verbs); v++) {
				struct access a = { verbs[v], probed[r].group,
						    probed[r].resource,
						    probed[r].sub, scopes[s], NULL };
				bool want = expected(&a, ns, allocator_bound);
				bool got = false;

				IT_CHECK_OK(sar(ns, &a, &got, &eb), &eb);
				if (got == want)
					continue;
				bad++;
				BUG_ON(buf_adds(why, got ? "\n#   allowed, want denied: "
							 : "\n#   denied, want allowed: ") != ERR_OK);
				describe(why, &a);
			}
	return bad;
}

struct wait_access {
	const char *ns;
	struct access a;
	bool want;
};

static bool access_is(void *arg)
{
	struct wait_access *w = arg;
	struct errbuf eb = ERRBUF_INIT;
	bool got = !w->want;

	return sar(w->ns, &w->a, &got, &eb) == ERR_OK && got == w->want;
}

/* The RBAC authorizer reads its rules through informers: wait (bounded)
 * until a sentinel answers as wanted. */
static void wait_access(const char *ns, struct access a, bool want)
{
	struct wait_access w = { ns, a, want };
	struct buf d;

	unit_checks++;
	if (it_wait_until(access_is, &w, IT_TIMEOUT_MS))
		return;
	buf_init(&d, 0);
	describe(&d, &a);
	unit_fail(__FILE__, __LINE__, "%s: still %s after %d ms", d.data,
		  want ? "denied" : "allowed", IT_TIMEOUT_MS);
}

static void check_lease_by_name(const char *ns)
{
	const struct {
		struct access a;
		bool want;
	} cases[] = {
		{ { "get", "coordination.k8s.io", "leases", NULL, ns, LEASE_NAME }, true },
		{ { "update", "coordination.k8s.io", "leases", NULL, ns, LEASE_NAME }, true },
		{ { "create", "coordination.k8s.io", "leases", NULL, ns, NULL }, true },
		{ { "get", "coordination.k8s.io", "leases", NULL, ns, "kube-controller-manager" }, false },
		{ { "update", "coordination.k8s.io", "leases", NULL, ns, "other" }, false },
		{ { "patch", "coordination.k8s.io", "leases", NULL, ns, LEASE_NAME }, false },
		{ { "delete", "coordination.k8s.io", "leases", NULL, ns, LEASE_NAME }, false },
		{ { "list", "coordination.k8s.io", "leases", NULL, ns, NULL }, false },
		{ { "get", "coordination.k8s.io", "leases", NULL, "kube-system", LEASE_NAME }, false },
		{ { "create", "coordination.k8s.io", "leases", NULL, "kube-system", NULL }, false },
		{ { "update", "coordination.k8s.io", "leases", NULL, "kube-system", LEASE_NAME }, false },
		{ { "delete", "coordination.k8s.io", "leases", NULL, "kube-system", "kube-controller-manager" }, false },
	};
	struct errbuf eb = ERRBUF_INIT;
	struct buf why;
	size_t bad = 0;

	buf_init(&why, 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = false;

		IT_CHECK_OK(sar(ns, &cases[i].a, &got, &eb), &eb);
		if (got == cases[i].want)
			continue;
		bad++;
		BUG_ON(buf_adds(&why, got ? "\n#   allowed, want denied: "
					  : "\n#   denied, want allowed: ") != ERR_OK);
		describe(&why, &cases[i].a);
	}
	if (bad)
		unit_fail(__FILE__, __LINE__, "%zu lease access mismatches:%s", bad,
			  why.data);
	buf_release(&why);
}

/* ---- Cases --------------------------------------------------------------- */

static void manifests_apply_and_grant_exactly_what_is_used(void)
{
	struct access sentinel_core = { "create", "discovery.k8s.io",
					"endpointslices", NULL, NULL, NULL };
	struct access sentinel_lease = { "create", "coordination.k8s.io",
					 "leases", NULL, NULL, NULL };
	struct access sentinel_alloc = { "patch", "", "services", NULL,
					 NULL, NULL };
	struct errbuf eb = ERRBUF_INIT;
	struct deploy *dp;
	struct buf why, path;
	size_t bad;

	it_begin();
	dp = apply_all();
	sentinel_lease.ns = dp->ns;
	wait_access(dp->ns, sentinel_core, true);
	wait_access(dp->ns, sentinel_lease, true);
	wait_access(dp->ns, sentinel_alloc, true);
	buf_init(&why, 0);
	bad = check_matrix(dp->ns, true, &why);
	if (bad)
		unit_fail(__FILE__, __LINE__, "%zu access mismatches with both ClusterRoles:%s",
			  bad, why.data);
	check_lease_by_name(dp->ns);

	/* Without the allocator's binding, the EndpointSlice controller
	 * keeps everything it needs and the allocator's extras are gone. */
	buf_init(&path, 0);
	BUG_ON(buf_addf(&path, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/svc-controllers-allocator-%s",
			dp->suffix) != ERR_OK);
	IT_CHECK_OK(it_request(APICLIENT_DELETE, path.data, NULL, NULL, NULL,
			       NULL, NULL, &eb),
		    &eb);
	wait_access(dp->ns, sentinel_alloc, false);
	bad = check_matrix(dp->ns, false, &why);
	if (bad)
		unit_fail(__FILE__, __LINE__, "%zu access mismatches without the allocator:%s",
			  bad, why.data);
	buf_release(&path);
	buf_release(&why);
	it_end();
}

/* The webhook configuration as the apiserver defaults and stores it
 * (dry run), and the Deployment's pod template under the namespace's
 * enforced "restricted" Pod Security level. */
static void webhook_and_pod_template_admitted(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	const char *path[32];
	struct deploy *dp;
	struct yfile f;
	struct conv c;
	struct buf resp, pod, ppath;
	char want[256];

	it_begin();
	dp = apply_all();
	buf_init(&resp, 0);
	for (size_t i = 0; i < dp->n; i++) {
		struct obj *o = &dp->objs[i];

		if (!str_has_prefix(o->desc, "MutatingWebhookConfiguration/"))
			continue;
		IT_CHECK_OK(it_request(APICLIENT_POST, o->collection, "dryRun=All",
				       o->json, NULL, &resp, &res, &eb),
			    &eb);
	}
	CHECK_CONTAINS(resp.data, "\"sideEffects\":\"NoneOnDryRun\"");
	CHECK_CONTAINS(resp.data, "\"reinvocationPolicy\":\"IfNeeded\"");
	CHECK_CONTAINS(resp.data, "\"failurePolicy\":\"Ignore\"");
	CHECK_CONTAINS(resp.data, "\"timeoutSeconds\":10");
	CHECK_CONTAINS(resp.data, "\"admissionReviewVersions\":[\"v1\"]");
	CHECK_CONTAINS(resp.data, "\"operations\":[\"CREATE\",\"UPDATE\"]");
	CHECK_CONTAINS(resp.data, "\"resources\":[\"services\"]");
	(void)snprintf(want, sizeof(want),
		       "\"service\":{\"namespace\":\"%s\",\"name\":\"svc-controllers-webhook\",\"path\":\"/mutate\",\"port\":443}",
		       dp->ns);
	CHECK_CONTAINS(resp.data, want);

	/* A Pod from the template, in the namespace that enforces the
	 * restricted level: PodSecurity admission rejects it otherwise. */
	yfile_load("deployment.yaml", &f);
	c = (struct conv){ dp->ns, dp->suffix, "Pod", false, "" };
	buf_init(&pod, 0);
	buf_init(&ppath, 0);
	BUG_ON(buf_adds(&pod, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"template-check\"},\"spec\":") != ERR_OK);
	emit(&c, &f.docs[0], ypath(&f.docs[0], "spec.template.spec"), path, 0, &pod);
	BUG_ON(buf_adds(&pod, "}") != ERR_OK);
	BUG_ON(buf_addf(&ppath, "/api/v1/namespaces/%s/pods", dp->ns) != ERR_OK);
	IT_CHECK_OK(it_request(APICLIENT_POST, ppath.data, "dryRun=All", pod.data,
			       NULL, &resp, &res, &eb),
		    &eb);
	CHECK(res.http_code == 200 || res.http_code == 201);
	yfile_release(&f);
	buf_release(&ppath);
	buf_release(&pod);
	buf_release(&resp);
	it_end();
}

/* Needs no cluster: the files agree with each other. */
static void manifests_consistent(void)
{
	struct yfile dep, svc, wh, rbac, kf;
	yaml_document_t *role;
	const char *files[16];
	char *dir = deploy_path("");
	size_t n, listed = 0;
	DIR *dh;
	struct dirent *de;

	yfile_load("deployment.yaml", &dep);
	yfile_load("service.yaml", &svc);
	yfile_load("webhook.yaml", &wh);
	yfile_load("rbac.yaml", &rbac);
	yfile_load("kustomization.yaml", &kf);
	/* The webhook Service selects the pods and targets the webhook port. */
	CHECK_STR_EQ(yscalar(ymap_get(&svc.docs[0], ypath(&svc.docs[0], "spec.selector"),
				      "app.kubernetes.io/name")),
		     yscalar(ymap_get(&dep.docs[0],
				      ypath(&dep.docs[0], "spec.template.metadata.labels"),
				      "app.kubernetes.io/name")));
	CHECK_STR_EQ(ystr(&svc.docs[0], "spec.ports.0.targetPort"),
		     ystr(&dep.docs[0], "spec.template.spec.containers.0.ports.0.name"));
	CHECK_STR_EQ(ystr(&wh.docs[0], "webhooks.0.clientConfig.service.name"),
		     ystr(&svc.docs[0], "metadata.name"));
	CHECK_STR_EQ(ystr(&wh.docs[0], "webhooks.0.clientConfig.service.port"),
		     ystr(&svc.docs[0], "spec.ports.0.port"));
	CHECK_STR_EQ(ystr(&dep.docs[0], "spec.template.spec.serviceAccountName"),
		     SA_NAME);
	CHECK_STR_EQ(ystr(&dep.docs[0], "spec.replicas"), "2");
	/* The Lease the binary uses is the one the Role names. */
	role = yfind(&rbac, "Role");
	CHECK_NOT_NULL(role);
	CHECK_STR_EQ(ystr(role, "rules.1.resourceNames.0"), LEASE_NAME);
	CHECK_STR_EQ(ystr(&dep.docs[0], "spec.template.spec.containers.0.env.0.name"),
		     "POD_NAMESPACE");
	CHECK_STR_EQ(ystr(&dep.docs[0], "spec.template.spec.containers.0.env.0.valueFrom.fieldRef.fieldPath"),
		     "metadata.namespace");
	n = ypath(&dep.docs[0], "spec.template.spec.containers.0.args")->data.sequence.items.top -
	    ypath(&dep.docs[0], "spec.template.spec.containers.0.args")->data.sequence.items.start;
	for (size_t i = 0; i < n; i++) {
		char key[96];
		const char *a;

		(void)snprintf(key, sizeof(key), "spec.template.spec.containers.0.args.%zu", i);
		a = ystr(&dep.docs[0], key);
		if (str_eq(a, "--leader-elect-resource-namespace=$(POD_NAMESPACE)") ||
		    str_eq(a, "--leader-elect-resource-name=" LEASE_NAME) ||
		    str_eq(a, "--leader-elect=true"))
			listed++;
	}
	CHECK_INT_EQ(listed, 3);
	/* kustomization.yaml lists every manifest in the directory. */
	n = kustomize_resources(&kf, files, ARRAY_SIZE(files));
	dh = opendir(dir);
	CHECK_NOT_NULL(dh);
	listed = 0;
	while ((de = readdir(dh))) {
		bool found = false;

		if (!has_suffix(de->d_name, ".yaml") ||
		    str_eq(de->d_name, "kustomization.yaml"))
			continue;
		for (size_t i = 0; i < n; i++)
			found |= str_eq(files[i], de->d_name);
		if (!found)
			unit_fail(__FILE__, __LINE__, "%s is not in kustomization.yaml",
				  de->d_name);
		listed++;
	}
	(void)closedir(dh);
	CHECK_INT_EQ(listed, n);
	yfile_release(&kf);
	yfile_release(&rbac);
	yfile_release(&wh);
	yfile_release(&svc);
	yfile_release(&dep);
	free(dir);
}

/* ---- The systemd unit ------------------------------------------------------ */

struct unit_file {
	char section[MAX_OBJS][32]; /* of each key */
	char *key[MAX_OBJS * 4];
	char *value[MAX_OBJS * 4];
	char sect_of[MAX_OBJS * 4][32];
	size_t n;
};

/* Parses systemd's syntax: [Section] lines, key=value lines with
 * backslash continuations, # and ; comments. Fails the case on anything
 * else, naming the line. */
static void unit_parse(const char *text, struct unit_file *u)
{
	char *copy = xstrdup(text), *cur = copy, sect[32] = "";
	int lineno = 0;
	struct buf logical;

	buf_init(&logical, 0);
	u->n = 0;
	for (char *l = next_tok(&cur, "\n", false); l; l = next_tok(&cur, "\n", false)) {
		size_t len = strlen(l);
		char *eq;

		lineno++;
		if (logical.len == 0 && (*l == '#' || *l == ';' || *l == '\0'))
			continue;
		if (len && l[len - 1] == '\\') {
			BUG_ON(buf_add(&logical, l, len - 1) != ERR_OK);
			continue;
		}
		BUG_ON(buf_adds(&logical, l) != ERR_OK);
		if (logical.data[0] == '[') {
			if (logical.data[logical.len - 1] != ']' || logical.len > sizeof(sect))
				unit_fail(__FILE__, __LINE__, "unit line %d: bad section %s",
					  lineno, logical.data);
			(void)snprintf(sect, sizeof(sect), "%.*s",
				       (int)logical.len - 2, logical.data + 1);
		} else if ((eq = strchr(logical.data, '=')) && eq > logical.data &&
			   sect[0] && u->n < ARRAY_SIZE(u->key)) {
			u->key[u->n] = xasprintf("%.*s", (int)(eq - logical.data),
						 logical.data);
			u->value[u->n] = xstrdup(eq + 1);
			(void)snprintf(u->sect_of[u->n], sizeof(u->sect_of[0]), "%s", sect);
			u->n++;
		} else {
			unit_fail(__FILE__, __LINE__, "unit line %d: want [Section] or key=value: %s",
				  lineno, logical.data);
		}
		buf_reset(&logical);
	}
	buf_release(&logical);
	free(copy);
}

static void unit_release(struct unit_file *u)
{
	for (size_t i = 0; i < u->n; i++) {
		free(u->key[i]);
		free(u->value[i]);
	}
}

/* The last value of key in section (systemd's "last one wins" for
 * single-valued settings), or NULL. */
static const char *unit_get(const struct unit_file *u, const char *sect,
			    const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < u->n; i++)
		if (str_eq(u->sect_of[i], sect) && str_eq(u->key[i], key))
			v = u->value[i];
	return v;
}

static void systemd_unit_parses(void)
{
	static const char *const want[][3] = {
		{ "Service", "Restart", "on-failure" },
		{ "Service", "NoNewPrivileges", "yes" },
		{ "Service", "ProtectSystem", "strict" },
		{ "Service", "ProtectHome", "yes" },
		{ "Service", "PrivateTmp", "yes" },
		{ "Service", "DynamicUser", "yes" },
		{ "Service", "StateDirectory", "svc-controllers" },
		{ "Service", "LoadCredential", "tls.key:/etc/svc-controllers/tls.key" },
		{ "Install", "WantedBy", "multi-user.target" },
	};
	char *path = deploy_path("svc-controllers.service");
	struct unit_file *u = xcalloc(1, sizeof(*u));
	const char *exec;
	struct buf text;

	buf_init(&text, 0);
	it_read_file(path, &text);
	CHECK(text.len > 0);
	unit_parse(text.data, u);
	CHECK_NOT_NULL(unit_get(u, "Unit", "Description"));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK_STR_EQ(unit_get(u, want[i][0], want[i][1]), want[i][2]);
	exec = unit_get(u, "Service", "ExecStart");
	CHECK_NOT_NULL(exec);
	CHECK(exec[0] == '/');
	CHECK_CONTAINS(exec, "--kubeconfig %d/kubeconfig");
	CHECK_CONTAINS(exec, "--leader-elect=false");
	/* The kubeconfig credential is k3s's. */
	{
		bool k3s = false;

		for (size_t i = 0; i < u->n; i++)
			k3s |= str_eq(u->key[i], "LoadCredential") &&
			       str_eq(u->value[i], "kubeconfig:/etc/rancher/k3s/k3s.yaml");
		CHECK(k3s);
	}
	unit_release(u);
	free(u);
	buf_release(&text);
	free(path);
}

/* ---- Flags against the binary ---------------------------------------------- */

static bool flag_known(const char *help, const char *arg, struct buf *why)
{
	char name[64];
	char needle[80];

	if (!str_has_prefix(arg, "-"))
		return true; /* a value of the previous flag */
	arg += arg[1] == '-' ? 2 : 1;
	(void)snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	/* --help prints "--name" (and "-v, --v" style short forms). */
	(void)snprintf(needle, sizeof(needle), "--%s", name);
	for (const char *h = strstr(help, needle); h; h = strstr(h + 1, needle))
		if (!isalnum((unsigned char)h[strlen(needle)]) &&
		    h[strlen(needle)] != '-')
			return true;
	BUG_ON(buf_addf(why, " %s", name) != ERR_OK);
	return false;
}

/* Every flag of the Deployment and the unit is one `svc-controllers
 * --help` lists: a typo fails here, not in a crash-looping pod. */
static void manifest_flags_known(void)
{
	const char *bin = it_env("SVC_BIN");
	char *argv[] = { (char *)bin, (char *)"--help", NULL };
	char *upath = deploy_path("svc-controllers.service");
	struct unit_file *u = xcalloc(1, sizeof(*u));
	struct buf out, err, why, text;
	yaml_node_t *args;
	struct yfile dep;
	char *exec, *cur;
	bool ok = true;

	buf_init(&out, 0);
	buf_init(&err, 0);
	buf_init(&why, 0);
	buf_init(&text, 0);
	CHECK_INT_EQ(it_run(argv, 30000, &out, &err), 0);
	CHECK_CONTAINS(out.data, "--leader-elect-resource-namespace");
	yfile_load("deployment.yaml", &dep);
	args = ypath(&dep.docs[0], "spec.template.spec.containers.0.args");
	CHECK(args && args->type == YAML_SEQUENCE_NODE);
	for (yaml_node_item_t *i = args->data.sequence.items.start;
	     i < args->data.sequence.items.top; i++)
		ok &= flag_known(out.data, yscalar(yaml_document_get_node(&dep.docs[0], *i)),
				 &why);
	it_read_file(upath, &text);
	unit_parse(text.data, u);
	exec = xstrdup(unit_get(u, "Service", "ExecStart"));
	cur = exec;
	(void)next_tok(&cur, " \t", true); /* the binary */
	for (char *a = next_tok(&cur, " \t", true); a; a = next_tok(&cur, " \t", true))
		ok &= flag_known(out.data, a, &why);
	if (!ok)
		unit_fail(__FILE__, __LINE__, "flags unknown to svc-controllers --help:%s",
			  why.data);
	free(exec);
	unit_release(u);
	free(u);
	yfile_release(&dep);
	buf_release(&text);
	buf_release(&why);
	buf_release(&err);
	buf_release(&out);
	free(upath);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(manifests_consistent),
		UNIT_CASE(systemd_unit_parses),
		UNIT_CASE(manifest_flags_known),
		UNIT_CASE(manifests_apply_and_grant_exactly_what_is_used),
		UNIT_CASE(webhook_and_pod_template_admitted),
	};

	return it_main(argc, argv, "it-deploy", cases, ARRAY_SIZE(cases));
}
