/*
 * kubeconfig_yaml: reads one kubeconfig document (YAML, or JSON, which is
 * YAML) with the libyaml document API into a struct kubeconfig_file: every
 * named cluster, user and context with its fields decoded. *-data fields
 * are base64-decoded into memory; relative paths are made absolute against
 * the file's directory (apiclient.md §2.1). Only structure and types are
 * checked here. Errors read "<file>: <field path>: <what is wrong>".
 *
 * No shared state: everything lives in one call.
 */
#include "base.h"
#include "kubeconfig.h"
#include "kubeconfig_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <yaml.h>

struct walk {
	yaml_document_t *doc;
	const char *source; /* names the file in errors */
	char *dir;	    /* absolute directory of source (owned) */
	struct errbuf *eb;
};

typedef enum err (*entry_fn)(struct walk *w, yaml_node_t *body,
			     const char *path, struct kubeconfig_entry *e);

static enum err fail(struct walk *w, enum err e, const char *path,
		     const char *key, const char *fmt, ...) ATTR_PRINTF(5, 6);

static enum err fail(struct walk *w, enum err e, const char *path,
		     const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return errbuf_set(w->eb, e, "%s: %s%s%s: %s", w->source, path,
			  path[0] && key[0] ? "." : "", key, what);
}

static const char *kind_name(yaml_node_type_t t)
{
	switch (t) {
	case YAML_SCALAR_NODE:
		return "a string";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (strcmp(v, nulls[i]) == 0)
			return true;
	return false;
}

static bool key_is(const yaml_node_t *k, const char *key)
{
	return k && k->type == YAML_SCALAR_NODE &&
	       k->data.scalar.length == strlen(key) &&
	       memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0;
}

/* The value under key in a mapping, or NULL when absent or null. */
static yaml_node_t *map_get(struct walk *w, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *v;

		if (!key_is(yaml_document_get_node(w->doc, p->key), key))
			continue;
		v = yaml_document_get_node(w->doc, p->value);
		return v && !is_null(v) ? v : NULL;
	}
	return NULL;
}

static enum err want(struct walk *w, const yaml_node_t *n, yaml_node_type_t t,
		     const char *path, const char *key)
{
	if (n->type == t)
		return ERR_OK;
	return fail(w, ERR_DECODE, path, key, "expected %s, got %s",
		    kind_name(t), kind_name(n->type));
}

static enum err get_str(struct walk *w, yaml_node_t *map, const char *path,
			const char *key, char **out)
{
	yaml_node_t *n = map_get(w, map, key);
	enum err e;

	if (!n)
		return ERR_OK;
	e = want(w, n, YAML_SCALAR_NODE, path, key);
	if (e)
		return e;
	free(*out);
	*out = xstrndup((const char *)n->data.scalar.value,
			n->data.scalar.length);
	return ERR_OK;
}

/* YAML 1.1 booleans, as sigs.k8s.io/yaml (yaml.v2) accepts them. */
static enum err get_bool(struct walk *w, yaml_node_t *map, const char *path,
			 const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes",
					   "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no",
					  "No", "NO", "off", "Off", "OFF" };
	yaml_node_t *n = map_get(w, map, key);
	const char *v;

	if (!n)
		return ERR_OK;
	if (n->type != YAML_SCALAR_NODE)
		return fail(w, ERR_DECODE, path, key,
			    "expected true or false, got %s",
			    kind_name(n->type));
	v = (const char *)n->data.scalar.value;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*out = strcmp(v, yes[i]) == 0;
			return ERR_OK;
		}
	}
	return fail(w, ERR_DECODE, path, key,
		    "expected true or false, got \"%.64s\"", v);
}

static char *resolve(struct walk *w, const char *p)
{
	if (p[0] == '/')
		return xstrdup(p);
	return xasprintf("%s/%s", w->dir, p);
}

/* A file path; relative ones are resolved against the file's directory. */
static enum err get_path(struct walk *w, yaml_node_t *map, const char *path,
			 const char *key, char **out)
{
	char *s = NULL;
	enum err e = get_str(w, map, path, key, &s);

	if (e || !s)
		return e;
	free(*out);
	*out = s[0] ? resolve(w, s) : NULL;
	free(s);
	return ERR_OK;
}

static enum err get_b64(struct walk *w, yaml_node_t *map, const char *path,
			const char *key, unsigned char **out, size_t *len)
{
	yaml_node_t *n = map_get(w, map, key);
	struct buf b;
	enum err e;

	if (!n)
		return ERR_OK;
	e = want(w, n, YAML_SCALAR_NODE, path, key);
	if (e)
		return e;
	buf_init(&b, KUBECONFIG_MAX_FILE);
	if (base64_decode(&b, (const char *)n->data.scalar.value,
			  n->data.scalar.length) != ERR_OK) {
		buf_release(&b);
		return fail(w, ERR_DECODE, path, key, "invalid base64");
	}
	if (b.len == 0) {
		buf_release(&b);
		return ERR_OK;
	}
	free(*out);
	*out = (unsigned char *)buf_detach(&b, len);
	buf_release(&b);
	return ERR_OK;
}

/* A list of strings as a NULL-terminated array. */
static enum err get_strv(struct walk *w, yaml_node_t *map, const char *path,
			 const char *key, char ***out)
{
	yaml_node_t *n = map_get(w, map, key);
	yaml_node_item_t *it;
	char **v;
	size_t i = 0;
	enum err e;

	if (!n)
		return ERR_OK;
	e = want(w, n, YAML_SEQUENCE_NODE, path, key);
	if (e)
		return e;
	it = n->data.sequence.items.start;
	v = xcalloc((size_t)(n->data.sequence.items.top - it) + 1, sizeof(*v));
	for (; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *s = yaml_document_get_node(w->doc, *it);

		if (!s || s->type != YAML_SCALAR_NODE) {
			char sub[96];

			(void)snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
			e = fail(w, ERR_DECODE, path, sub, "expected a string");
			goto out_free;
		}
		v[i] = xstrndup((const char *)s->data.scalar.value,
				s->data.scalar.length);
	}
	*out = v;
	return ERR_OK;
out_free:
	for (size_t j = 0; j < i; j++)
		free(v[j]);
	free(v);
	return e;
}

static enum err read_cluster(struct walk *w, yaml_node_t *c, const char *path,
			     struct kubeconfig_entry *ent)
{
	struct kubeconfig *k = &ent->part;
	enum err e;

	if ((e = get_str(w, c, path, "server", &k->server)) ||
	    (e = get_str(w, c, path, "tls-server-name", &k->tls_server_name)) ||
	    (e = get_bool(w, c, path, "insecure-skip-tls-verify",
			  &k->insecure_skip_tls_verify)) ||
	    (e = get_path(w, c, path, "certificate-authority", &k->ca_file)) ||
	    (e = get_b64(w, c, path, "certificate-authority-data", &k->ca_data,
			 &k->ca_len)) ||
	    (e = get_str(w, c, path, "proxy-url", &k->proxy_url)) ||
	    (e = get_bool(w, c, path, "disable-compression",
			  &k->disable_compression)))
		return e;
	return ERR_OK;
}

static enum err read_exec_env(struct walk *w, yaml_node_t *x, const char *path,
			      struct kubeconfig_exec *ex)
{
	yaml_node_t *n = map_get(w, x, "env");
	yaml_node_item_t *it;
	size_t i = 0;
	enum err e;

	if (!n)
		return ERR_OK;
	e = want(w, n, YAML_SEQUENCE_NODE, path, "env");
	if (e)
		return e;
	it = n->data.sequence.items.start;
	ex->env = xcalloc((size_t)(n->data.sequence.items.top - it) + 1,
			  sizeof(*ex->env));
	for (; it < n->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = yaml_document_get_node(w->doc, *it);
		char sub[160];
		char *name = NULL, *value = NULL;

		(void)snprintf(sub, sizeof(sub), "%s.env[%zu]", path, i);
		if ((e = want(w, item, YAML_MAPPING_NODE, sub, "")) ||
		    (e = get_str(w, item, sub, "name", &name)) ||
		    (e = get_str(w, item, sub, "value", &value)))
			goto out;
		if (!name || !name[0] || strchr(name, '=')) {
			e = fail(w, ERR_DECODE, sub, "name",
				 name ? "invalid variable name" : "required");
			goto out;
		}
		ex->env[i] = xasprintf("%s=%s", name, value ? value : "");
out:
		free(name);
		free(value);
		if (e)
			return e;
	}
	return ERR_OK;
}

static enum err read_exec(struct walk *w, yaml_node_t *x, const char *path,
			  struct kubeconfig_exec *ex)
{
	enum err e;
	char *mode = NULL;

	if ((e = get_str(w, x, path, "command", &ex->command)) ||
	    (e = get_strv(w, x, path, "args", &ex->args)) ||
	    (e = read_exec_env(w, x, path, ex)) ||
	    (e = get_str(w, x, path, "apiVersion", &ex->api_version)) ||
	    (e = get_bool(w, x, path, "provideClusterInfo",
			  &ex->provide_cluster_info)) ||
	    (e = get_str(w, x, path, "interactiveMode", &mode)))
		goto out;
	if (mode && !str_eq(mode, "Never") && !str_eq(mode, "IfAvailable") &&
	    !str_eq(mode, "Always")) {
		e = fail(w, ERR_DECODE, path, "interactiveMode",
			 "\"%.32s\" is not Never, IfAvailable or Always", mode);
		goto out;
	}
	ex->interactive_mode = mode;
	mode = NULL;
	if (ex->command && strchr(ex->command, '/') && ex->command[0] != '/') {
		char *abs = resolve(w, ex->command);

		free(ex->command);
		ex->command = abs;
	}
out:
	free(mode);
	return e;
}

static enum err read_user_exec(struct walk *w, yaml_node_t *u,
			       const char *path, struct kubeconfig *k)
{
	yaml_node_t *x = map_get(w, u, "exec");
	char sub[128];
	enum err e;

	if (!x)
		return ERR_OK;
	e = want(w, x, YAML_MAPPING_NODE, path, "exec");
	if (e)
		return e;
	(void)snprintf(sub, sizeof(sub), "%s.exec", path);
	k->exec = xcalloc(1, sizeof(*k->exec));
	return read_exec(w, x, sub, k->exec);
}

static enum err read_user(struct walk *w, yaml_node_t *u, const char *path,
			  struct kubeconfig_entry *ent)
{
	struct kubeconfig *k = &ent->part;
	enum err e;

	if ((e = get_path(w, u, path, "client-certificate", &k->cert_file)) ||
	    (e = get_b64(w, u, path, "client-certificate-data", &k->cert_data,
			 &k->cert_len)) ||
	    (e = get_path(w, u, path, "client-key", &k->key_file)) ||
	    (e = get_b64(w, u, path, "client-key-data", &k->key_data,
			 &k->key_len)) ||
	    (e = get_str(w, u, path, "token", &k->token)) ||
	    (e = get_path(w, u, path, "tokenFile", &k->token_file)) ||
	    (e = get_str(w, u, path, "username", &k->username)) ||
	    (e = get_str(w, u, path, "password", &k->password)) ||
	    (e = get_str(w, u, path, "as", &k->impersonate_user)) ||
	    (e = get_str(w, u, path, "as-uid", &k->impersonate_uid)) ||
	    (e = get_strv(w, u, path, "as-groups", &k->impersonate_groups)) ||
	    (e = read_user_exec(w, u, path, k)))
		return e;
	ent->auth_provider = map_get(w, u, "auth-provider") != NULL;
	return ERR_OK;
}

static enum err read_context(struct walk *w, yaml_node_t *c, const char *path,
			     struct kubeconfig_entry *ent)
{
	enum err e;

	if ((e = get_str(w, c, path, "cluster", &ent->ctx_cluster)) ||
	    (e = get_str(w, c, path, "user", &ent->ctx_user)) ||
	    (e = get_str(w, c, path, "namespace", &ent->part.ns)))
		return e;
	return ERR_OK;
}

static void entries_free(struct kubeconfig_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].ctx_cluster);
		free(v[i].ctx_user);
		kubeconfig__clear(&v[i].part);
	}
	free(v);
}

static enum err read_entry(struct walk *w, yaml_node_t *item, const char *list,
			   const char *body_key, entry_fn fn,
			   struct kubeconfig_entry *v, size_t i)
{
	struct kubeconfig_entry *ent = &v[i];
	char path[96], body_path[128];
	yaml_node_t *body;
	enum err e;

	(void)snprintf(path, sizeof(path), "%s[%zu]", list, i);
	ent->source = w->source;
	ent->index = i;
	if ((e = want(w, item, YAML_MAPPING_NODE, path, "")) ||
	    (e = get_str(w, item, path, "name", &ent->name)))
		return e;
	if (!ent->name || !ent->name[0])
		return fail(w, ERR_DECODE, path, "name", "required");
	for (size_t j = 0; j < i; j++)
		if (strcmp(v[j].name, ent->name) == 0)
			return fail(w, ERR_DECODE, path, "name",
				    "duplicate name \"%.64s\"", ent->name);
	body = map_get(w, item, body_key);
	if (!body)
		return ERR_OK;
	e = want(w, body, YAML_MAPPING_NODE, path, body_key);
	if (e)
		return e;
	(void)snprintf(body_path, sizeof(body_path), "%s.%s", path, body_key);
	return fn(w, body, body_path, ent);
}

/* clusters[], users[] or contexts[]: a list of {name, <body_key>}. */
static enum err read_list(struct walk *w, yaml_node_t *root, const char *list,
			  const char *body_key, entry_fn fn,
			  struct kubeconfig_entry **out, size_t *nout)
{
	yaml_node_t *n = map_get(w, root, list);
	yaml_node_item_t *it;
	struct kubeconfig_entry *v;
	size_t i = 0;
	enum err e;

	if (!n)
		return ERR_OK;
	e = want(w, n, YAML_SEQUENCE_NODE, "", list);
	if (e)
		return e;
	it = n->data.sequence.items.start;
	v = xcalloc((size_t)(n->data.sequence.items.top - it) + 1, sizeof(*v));
	for (; it < n->data.sequence.items.top; it++, i++) {
		e = read_entry(w, yaml_document_get_node(w->doc, *it), list,
			       body_key, fn, v, i);
		if (e) {
			entries_free(v, i + 1);
			return e;
		}
	}
	*out = v;
	*nout = i;
	return ERR_OK;
}

static enum err read_root(struct walk *w, yaml_node_t *root,
			  struct kubeconfig_file *f)
{
	enum err e;

	if (!root)
		return ERR_OK; /* an empty file is an empty config */
	if (root->type != YAML_MAPPING_NODE)
		return fail(w, ERR_DECODE, "", "(top level)",
			    "expected a mapping, got %s",
			    kind_name(root->type));
	if ((e = read_list(w, root, "clusters", "cluster", read_cluster,
			   &f->clusters, &f->nclusters)) ||
	    (e = read_list(w, root, "users", "user", read_user, &f->users,
			   &f->nusers)) ||
	    (e = read_list(w, root, "contexts", "context", read_context,
			   &f->contexts, &f->ncontexts)) ||
	    (e = get_str(w, root, "", "current-context", &f->current_context)))
		return e;
	if (f->current_context && !f->current_context[0]) {
		free(f->current_context);
		f->current_context = NULL;
	}
	return ERR_OK;
}

/* The absolute directory of path (client-go filepath.Abs(filepath.Dir)). */
static char *abs_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char cwd[4096];
	char *dir, *abs;

	if (slash == path)
		return xstrdup("/");
	if (path[0] == '/')
		return xstrndup(path, (size_t)(slash - path));
	if (!getcwd(cwd, sizeof(cwd)))
		return slash ? xstrndup(path, (size_t)(slash - path))
			     : xstrdup(".");
	if (!slash)
		return xstrdup(cwd);
	dir = xstrndup(path, (size_t)(slash - path));
	abs = xasprintf("%s/%s", cwd, dir);
	free(dir);
	return abs;
}

static enum err yaml_error(const char *source, const yaml_parser_t *p,
			   struct errbuf *eb)
{
	return errbuf_set(eb, ERR_DECODE, "%s: line %zu column %zu: %s%s%s%s",
			  source, p->problem_mark.line + 1,
			  p->problem_mark.column + 1,
			  p->problem ? p->problem : "malformed YAML",
			  p->context ? " (" : "", p->context ? p->context : "",
			  p->context ? ")" : "");
}

enum err kubeconfig__parse_file(const char *source, const char *text,
				size_t len, struct kubeconfig_file *out,
				struct errbuf *eb)
{
	struct kubeconfig_file f = { 0 };
	struct walk w = { .source = source, .eb = eb };
	yaml_parser_t parser;
	yaml_document_t doc;
	enum err e;

	/* Fails only when out of memory: abort, as x*alloc does. */
	BUG_ON(!yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		e = yaml_error(source, &parser, eb);
		yaml_parser_delete(&parser);
		return e;
	}
	w.doc = &doc;
	w.dir = abs_dir(source);
	f.path = xstrdup(source);
	e = read_root(&w, yaml_document_get_root_node(&doc), &f);
	free(w.dir);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (e) {
		kubeconfig__file_release(&f);
		return e;
	}
	*out = f;
	return ERR_OK;
}

void kubeconfig__file_release(struct kubeconfig_file *f)
{
	entries_free(f->clusters, f->nclusters);
	entries_free(f->users, f->nusers);
	entries_free(f->contexts, f->ncontexts);
	free(f->current_context);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

enum err kubeconfig__read_all(const char *path, size_t max, char **out,
			      size_t *len, struct errbuf *eb)
{
	char chunk[8192], tmp[128];
	struct buf b;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errbuf_set(eb, ERR_IO, "%s: cannot read: %s", path,
				  err_errno_str(errno, tmp, sizeof(tmp)));
	buf_init(&b, max);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || buf_add(&b, chunk, (size_t)n) != ERR_OK) {
			enum err e = n < 0 ? ERR_IO : ERR_TOO_LARGE;

			(void)errbuf_set(eb, e, "%s: cannot read: %s", path,
					 n < 0 ? err_errno_str(errno, tmp,
							       sizeof(tmp))
					       : "file too large");
			buf_release(&b);
			(void)close(fd);
			return e;
		}
	}
	(void)close(fd);
	*out = buf_detach(&b, len);
	buf_release(&b);
	return ERR_OK;
}
