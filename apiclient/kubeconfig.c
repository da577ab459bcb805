/*
 * kubeconfig: finds the files by client-go's loading rules, merges them
 * first-wins per map key, selects a context and validates what that
 * context needs (upstream clientcmd DirectClientConfig.ConfirmUsable,
 * validateClusterInfo and validateAuthInfo; apiclient.md §2.1). Also the
 * in-cluster config (§2.2). Reading one file is kubeconfig_yaml.c.
 *
 * Selection moves fields out of the parsed entries into the result, so a
 * struct kubeconfig never points into a parser's data. No shared state.
 */
#include "base.h"
#include "kubeconfig.h"
#include "kubeconfig_internal.h"

#include <errno.h>
#include <unistd.h>

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Where the selected config comes from, and the overrides to apply. */
struct selector {
	struct kubeconfig_file *files; /* merged first-wins, in order */
	size_t nfiles;
	const char *label;	    /* names the file(s) in errors */
	const char *context;	    /* --context, or NULL */
	const char *master;	    /* --master, or NULL */
	const char *master_default; /* $KUBERNETES_MASTER, or NULL */
};

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void exec_free(struct kubeconfig_exec *x)
{
	if (!x)
		return;
	free(x->command);
	strv_free(x->args);
	strv_free(x->env);
	free(x->api_version);
	free(x->interactive_mode);
	free(x);
}

void kubeconfig__clear(struct kubeconfig *cfg)
{
	free(cfg->source);
	free(cfg->context);
	free(cfg->server);
	free(cfg->tls_server_name);
	free(cfg->ca_data);
	free(cfg->ca_file);
	free(cfg->cert_data);
	free(cfg->cert_file);
	free(cfg->key_data);
	free(cfg->key_file);
	free(cfg->token);
	free(cfg->token_file);
	free(cfg->username);
	free(cfg->password);
	free(cfg->proxy_url);
	free(cfg->impersonate_user);
	free(cfg->impersonate_uid);
	strv_free(cfg->impersonate_groups);
	exec_free(cfg->exec);
	free(cfg->ns);
	memset(cfg, 0, sizeof(*cfg));
}

void kubeconfig_free(struct kubeconfig *cfg)
{
	if (!cfg)
		return;
	kubeconfig__clear(cfg);
	free(cfg);
}

void kubeconfig__trim(char *s)
{
	size_t skip = strspn(s, " \t\r\n\v\f");
	size_t n = strlen(s + skip);

	memmove(s, s + skip, n + 1);
	while (n > 0 && strchr(" \t\r\n\v\f", s[n - 1]))
		s[--n] = '\0';
}

static const char *env_get(const struct kubeconfig_options *opts,
			   const char *name)
{
	const char *v;

	if (opts && opts->getenv_fn)
		v = opts->getenv_fn(name);
	else /* NOLINTNEXTLINE(concurrency-mt-unsafe): nothing calls setenv. */
		v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* ---- Validation of the selected cluster and user ---------------------- */

/* An http(s) URL with a host; trailing slashes are cut. */
static enum err check_server(char *server)
{
	const char *host;
	size_t n;

	if (str_has_prefix(server, "https://"))
		host = server + 8;
	else if (str_has_prefix(server, "http://"))
		host = server + 7;
	else
		return ERR_INVALID;
	if (!host[0] || host[0] == '/' || strpbrk(host, " \t\r\n"))
		return ERR_INVALID;
	n = strlen(server);
	while (server + n - 1 > host && server[n - 1] == '/')
		server[--n] = '\0';
	return ERR_OK;
}

static enum err check_readable(const struct kubeconfig_entry *ent,
			       const char *list, const char *field,
			       const char *path, struct errbuf *eb)
{
	char tmp[128];

	if (!path || access(path, R_OK) == 0)
		return ERR_OK;
	return errbuf_set(eb, ERR_IO, "%s: %s[%zu].%s.%s: cannot read %s: %s",
			  ent->source, list, ent->index, list[0] == 'c' ?
			  "cluster" : "user", field, path,
			  err_errno_str(errno, tmp, sizeof(tmp)));
}

static enum err check_cluster(const struct kubeconfig_entry *cl,
			      bool need_server, struct errbuf *eb)
{
	const struct kubeconfig *k = &cl->part;
	const char *src = cl->source;
	size_t i = cl->index;

	if (need_server && !k->server)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: clusters[%zu].cluster.server: required",
				  src, i);
	if (need_server && check_server(k->server) != ERR_OK)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: clusters[%zu].cluster.server: \"%.128s\" is not an http(s) URL",
				  src, i, k->server);
	if (k->insecure_skip_tls_verify && (k->ca_data || k->ca_file))
		return errbuf_set(eb, ERR_INVALID,
				  "%s: clusters[%zu].cluster.insecure-skip-tls-verify: cannot be combined with a certificate-authority",
				  src, i);
	if (!k->ca_data)
		return check_readable(cl, "clusters", "certificate-authority",
				      k->ca_file, eb);
	return ERR_OK;
}

static enum err check_exec(const struct kubeconfig_entry *us,
			   struct errbuf *eb)
{
	const struct kubeconfig_exec *x = us->part.exec;

	if (!x->command || !x->command[0])
		return errbuf_set(eb, ERR_INVALID,
				  "%s: users[%zu].user.exec.command: required",
				  us->source, us->index);
	if (!x->api_version || !x->api_version[0])
		return errbuf_set(eb, ERR_INVALID,
				  "%s: users[%zu].user.exec.apiVersion: required",
				  us->source, us->index);
	if (us->part.username || us->part.password)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: users[%zu].user.exec: cannot be combined with username/password",
				  us->source, us->index);
	return ERR_OK;
}

static enum err check_user(const struct kubeconfig_entry *us,
			   struct errbuf *eb)
{
	const struct kubeconfig *k = &us->part;
	bool cert = k->cert_data || k->cert_file;
	bool key = k->key_data || k->key_file;
	enum err e;

	if (us->auth_provider)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: users[%zu].user.auth-provider: not supported, use an exec plugin",
				  us->source, us->index);
	if (cert != key)
		return errbuf_set(eb, ERR_INVALID, "%s: users[%zu].user.%s: required with %s",
				  us->source, us->index,
				  cert ? "client-key" : "client-certificate",
				  cert ? "client-certificate" : "client-key");
	if ((k->token || k->token_file) && (k->username || k->password))
		return errbuf_set(eb, ERR_INVALID,
				  "%s: users[%zu].user: more than one authentication method (token and username/password)",
				  us->source, us->index);
	if (k->exec && (e = check_exec(us, eb)))
		return e;
	if (!k->cert_data &&
	    (e = check_readable(us, "users", "client-certificate",
				k->cert_file, eb)))
		return e;
	if (!k->key_data)
		return check_readable(us, "users", "client-key", k->key_file,
				      eb);
	return ERR_OK;
}

/* ---- Selection ------------------------------------------------------- */

enum entry_list { LIST_CLUSTERS, LIST_USERS, LIST_CONTEXTS };

/* First-wins lookup across the merged files. */
static struct kubeconfig_entry *find(const struct selector *s,
				     enum entry_list which, const char *name)
{
	for (size_t f = 0; f < s->nfiles; f++) {
		struct kubeconfig_file *kf = &s->files[f];
		struct kubeconfig_entry *v = which == LIST_CLUSTERS ? kf->clusters
					     : which == LIST_USERS ? kf->users
								   : kf->contexts;
		size_t n = which == LIST_CLUSTERS ? kf->nclusters
			   : which == LIST_USERS  ? kf->nusers
						  : kf->ncontexts;

		for (size_t i = 0; i < n; i++)
			if (str_eq(v[i].name, name))
				return &v[i];
	}
	return NULL;
}

static const char *current_context(const struct selector *s)
{
	for (size_t f = 0; f < s->nfiles; f++)
		if (s->files[f].current_context)
			return s->files[f].current_context;
	return NULL;
}

static enum err find_refs(const struct selector *s,
			  const struct kubeconfig_entry *ctx,
			  struct kubeconfig_entry **cl,
			  struct kubeconfig_entry **us, struct errbuf *eb)
{
	if (!ctx->ctx_cluster || !ctx->ctx_cluster[0])
		return errbuf_set(eb, ERR_INVALID,
				  "%s: contexts[%zu].context.cluster: required",
				  ctx->source, ctx->index);
	*cl = find(s, LIST_CLUSTERS, ctx->ctx_cluster);
	if (!*cl)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: contexts[%zu].context.cluster: cluster \"%.64s\" not found",
				  ctx->source, ctx->index, ctx->ctx_cluster);
	*us = NULL;
	if (!ctx->ctx_user || !ctx->ctx_user[0])
		return ERR_OK; /* anonymous, as client-go allows */
	*us = find(s, LIST_USERS, ctx->ctx_user);
	if (!*us)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: contexts[%zu].context.user: user \"%.64s\" not found",
				  ctx->source, ctx->index, ctx->ctx_user);
	return ERR_OK;
}

/* Moves the cluster's and the user's fields into a new config. */
static struct kubeconfig *take(struct kubeconfig_entry *ctx,
			       struct kubeconfig_entry *cl,
			       struct kubeconfig_entry *us)
{
	struct kubeconfig *cfg = xcalloc(1, sizeof(*cfg));
	struct kubeconfig *c = &cl->part;

	if (us) {
		*cfg = us->part;
		memset(&us->part, 0, sizeof(us->part));
	}
	cfg->server = c->server;
	cfg->tls_server_name = c->tls_server_name;
	cfg->insecure_skip_tls_verify = c->insecure_skip_tls_verify;
	cfg->ca_data = c->ca_data;
	cfg->ca_len = c->ca_len;
	cfg->ca_file = c->ca_file;
	cfg->proxy_url = c->proxy_url;
	cfg->disable_compression = c->disable_compression;
	memset(c, 0, sizeof(*c));
	cfg->ns = ctx->part.ns && ctx->part.ns[0] ? ctx->part.ns
						  : xstrdup("default");
	if (cfg->ns != ctx->part.ns)
		free(ctx->part.ns);
	ctx->part.ns = NULL;
	cfg->context = xstrdup(ctx->name);
	cfg->source = xstrdup(ctx->source);
	return cfg;
}

/* "data overrides path": keep only one of each. */
static void drop_shadowed_paths(struct kubeconfig *cfg)
{
	if (cfg->ca_data) {
		free(cfg->ca_file);
		cfg->ca_file = NULL;
	}
	if (cfg->cert_data) {
		free(cfg->cert_file);
		cfg->cert_file = NULL;
	}
	if (cfg->key_data) {
		free(cfg->key_file);
		cfg->key_file = NULL;
	}
}

static enum err master_only(const char *label, const char *master,
			    struct kubeconfig **out, struct errbuf *eb)
{
	struct kubeconfig *cfg;
	char *server = xstrdup(master);

	if (check_server(server) != ERR_OK) {
		free(server);
		return errbuf_set(eb, ERR_INVALID,
				  "%s: \"%.128s\" is not an http(s) URL", label,
				  master);
	}
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->source = xstrdup(label);
	cfg->context = xstrdup("");
	cfg->server = server;
	cfg->ns = xstrdup("default");
	*out = cfg;
	return ERR_OK;
}

static enum err select_context(const struct selector *s,
			       struct kubeconfig **out, struct errbuf *eb)
{
	const char *name = s->context ? s->context : current_context(s);
	struct kubeconfig_entry *ctx, *cl = NULL, *us = NULL;
	struct kubeconfig *cfg;
	enum err e;

	if (!name && s->master)
		return master_only("--master", s->master, out, eb);
	if (!name)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: current-context: not set and no --context given",
				  s->label);
	ctx = find(s, LIST_CONTEXTS, name);
	if (!ctx)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: context \"%.64s\" not found", s->label,
				  name);
	if ((e = find_refs(s, ctx, &cl, &us, eb)))
		return e;
	BUG_ON(!cl);
	if (!s->master && !cl->part.server && s->master_default)
		cl->part.server = xstrdup(s->master_default);
	if ((e = check_cluster(cl, !s->master, eb)) ||
	    (us && (e = check_user(us, eb))))
		return e;
	if (s->master) {
		free(cl->part.server);
		cl->part.server = xstrdup(s->master);
		if (check_server(cl->part.server) != ERR_OK)
			return errbuf_set(eb, ERR_INVALID,
					  "--master: \"%.128s\" is not an http(s) URL",
					  s->master);
	}
	cfg = take(ctx, cl, us);
	drop_shadowed_paths(cfg);
	*out = cfg;
	return ERR_OK;
}

enum err kubeconfig_parse(const char *source, const char *text, size_t len,
			  const char *context, struct kubeconfig **out,
			  struct errbuf *eb)
{
	struct kubeconfig_file f;
	struct selector s = { .files = &f, .nfiles = 1, .label = source,
			      .context = context };
	enum err e = kubeconfig__parse_file(source, text, len, &f, eb);

	if (e)
		return e;
	e = select_context(&s, out, eb);
	kubeconfig__file_release(&f);
	return e;
}

/* ---- Loading rules ---------------------------------------------------- */

static enum err read_file(const char *path, struct kubeconfig_file *out,
			  struct errbuf *eb)
{
	char *text;
	size_t len;
	enum err e = kubeconfig__read_all(path, KUBECONFIG_MAX_FILE, &text,
					  &len, eb);

	if (e)
		return e;
	e = kubeconfig__parse_file(path, text, len, out, eb);
	free(text);
	return e;
}

static bool listed(char **paths, size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(paths[i], p))
			return true;
	return false;
}

/*
 * The files to merge, in order: --kubeconfig (must exist), else the
 * existing files of $KUBECONFIG, else ~/.kube/config if it exists
 * (upstream ClientConfigLoadingRules.Load). NULL-terminated, maybe empty.
 */
static char **config_paths(const struct kubeconfig_options *opts, size_t *n)
{
	const char *list = env_get(opts, "KUBECONFIG");
	const char *home = env_get(opts, "HOME");
	char **paths = xcalloc(2, sizeof(*paths));

	*n = 0;
	if (opts->kubeconfig && opts->kubeconfig[0]) {
		paths[(*n)++] = xstrdup(opts->kubeconfig);
	} else if (list) {
		for (const char *p = list; *p;) {
			size_t len = strcspn(p, ":");
			char *one = xstrndup(p, len);

			if (one[0] && access(one, F_OK) == 0 &&
			    !listed(paths, *n, one)) {
				paths = xrealloc(paths,
						 (*n + 2) * sizeof(*paths));
				paths[(*n)++] = one;
				paths[*n] = NULL;
			} else {
				free(one);
			}
			p += len + (p[len] == ':');
		}
	} else if (home) {
		char *def = xasprintf("%s/.kube/config", home);

		if (access(def, F_OK) == 0)
			paths[(*n)++] = def;
		else
			free(def);
	}
	return paths;
}

static enum err load_none(const struct kubeconfig_options *opts,
			  const struct selector *s, struct kubeconfig **out,
			  struct errbuf *eb)
{
	if (s->master)
		return master_only("--master", s->master, out, eb);
	if (env_get(opts, "KUBERNETES_SERVICE_HOST") &&
	    env_get(opts, "KUBERNETES_SERVICE_PORT"))
		return kubeconfig_in_cluster(opts, out, eb);
	if (s->master_default)
		return master_only("KUBERNETES_MASTER", s->master_default,
				   out, eb);
	return errbuf_set(eb, ERR_INVALID,
			  "no configuration: give --kubeconfig or --master, set $KUBECONFIG, create ~/.kube/config or run in a cluster");
}

static char *join_paths(char **paths, size_t n)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		BUG_ON(buf_addf(&b, "%s%s", i ? ":" : "", paths[i]) != ERR_OK);
	s = buf_detach(&b, NULL);
	buf_release(&b);
	return s;
}

static enum err load_files(char **paths, size_t n, struct selector *s,
			   struct kubeconfig **out, struct errbuf *eb)
{
	struct kubeconfig_file *files = xcalloc(n, sizeof(*files));
	char *label = join_paths(paths, n);
	size_t i;
	enum err e = ERR_OK;

	for (i = 0; i < n && !e; i++)
		e = read_file(paths[i], &files[i], eb);
	if (!e) {
		s->files = files;
		s->nfiles = n;
		s->label = label;
		e = select_context(s, out, eb);
	}
	for (i = 0; i < n; i++)
		kubeconfig__file_release(&files[i]);
	free(files);
	free(label);
	return e;
}

enum err kubeconfig_load(const struct kubeconfig_options *opts,
			 struct kubeconfig **out, struct errbuf *eb)
{
	struct selector s = {
		.context = opts->context && opts->context[0] ? opts->context
							       : NULL,
		.master = opts->master && opts->master[0] ? opts->master
							   : NULL,
		.master_default = env_get(opts, "KUBERNETES_MASTER"),
	};
	size_t n;
	char **paths = config_paths(opts, &n);
	enum err e;

	if (n == 0)
		e = load_none(opts, &s, out, eb);
	else
		e = load_files(paths, n, &s, out, eb);
	strv_free(paths);
	return e;
}

/* ---- In-cluster -------------------------------------------------------- */

static char *sa_path(const struct kubeconfig_options *opts, const char *name)
{
	const char *root = opts && opts->in_cluster_root ? opts->in_cluster_root
							 : "";
	size_t n = strlen(root);

	while (n > 0 && root[n - 1] == '/')
		n--;
	return xasprintf("%.*s" SA_DIR "/%s", (int)n, root, name);
}

static enum err in_cluster_server(const struct kubeconfig_options *opts,
				  struct kubeconfig *cfg, struct errbuf *eb)
{
	const char *host = env_get(opts, "KUBERNETES_SERVICE_HOST");
	const char *port = env_get(opts, "KUBERNETES_SERVICE_PORT");
	long long p;

	if (!host || !port)
		return errbuf_set(eb, ERR_INVALID,
				  "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
	if (str_to_ll(port, 1, 65535, &p) != ERR_OK)
		return errbuf_set(eb, ERR_INVALID,
				  "in-cluster: KUBERNETES_SERVICE_PORT: \"%.32s\" is not a port",
				  port);
	/* upstream net.JoinHostPort: brackets around IPv6 literals */
	cfg->server = xasprintf(strchr(host, ':') ? "https://[%s]:%lld"
						  : "https://%s:%lld",
				host, p);
	return ERR_OK;
}

static enum err in_cluster_files(const struct kubeconfig_options *opts,
				 struct kubeconfig *cfg, struct errbuf *eb)
{
	char *text;
	size_t len;
	enum err e;

	cfg->token_file = sa_path(opts, "token");
	e = kubeconfig__read_all(cfg->token_file, 1 << 20, &text, &len, eb);
	if (e)
		return e;
	kubeconfig__trim(text);
	if (!text[0]) {
		free(text);
		return errbuf_set(eb, ERR_INVALID, "%s: empty token",
				  cfg->token_file);
	}
	cfg->token = text;
	cfg->ca_file = sa_path(opts, "ca.crt");
	e = kubeconfig__read_all(cfg->ca_file, KUBECONFIG_MAX_FILE, &text,
				 &cfg->ca_len, eb);
	if (e)
		return e;
	cfg->ca_data = (unsigned char *)text;
	return ERR_OK;
}

static char *in_cluster_ns(const struct kubeconfig_options *opts)
{
	const char *env = env_get(opts, "POD_NAMESPACE");
	char *path, *text;
	size_t len;

	if (env)
		return xstrdup(env);
	path = sa_path(opts, "namespace");
	if (kubeconfig__read_all(path, 4096, &text, &len, NULL) != ERR_OK)
		text = NULL;
	free(path);
	if (text)
		kubeconfig__trim(text);
	if (text && text[0])
		return text;
	free(text);
	return xstrdup("default");
}

enum err kubeconfig_in_cluster(const struct kubeconfig_options *opts,
			       struct kubeconfig **out, struct errbuf *eb)
{
	struct kubeconfig *cfg = xcalloc(1, sizeof(*cfg));
	enum err e;

	cfg->source = xstrdup("in-cluster");
	cfg->context = xstrdup("");
	if ((e = in_cluster_server(opts, cfg, eb)) ||
	    (e = in_cluster_files(opts, cfg, eb))) {
		kubeconfig_free(cfg);
		return e;
	}
	cfg->ns = in_cluster_ns(opts);
	*out = cfg;
	return ERR_OK;
}
