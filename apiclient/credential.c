/*
 * credential: the cache in front of the token file and the exec plugin
 * (apiclient.md §2.3; upstream client-go transport cachingTokenSource and
 * plugin/pkg/client/auth/exec Authenticator). A token file is re-read at
 * most every refresh_ms and at once after an invalidate; a failed read
 * keeps the last good token. A plugin's credential is kept until 10 s
 * before its expirationTimestamp or an invalidate. `generation` grows
 * whenever what credential_get returns changes.
 *
 * Locking: every field below `lock` is guarded by it. A plugin runs with
 * the lock released; `running` makes other callers wait on `done` instead
 * of starting a second run. Tokens are never logged.
 */
#include "base.h"
#include "kubeconfig.h"
#include "credential.h"
#include "credential_internal.h"
#include "kubeconfig_internal.h"

#include <pthread.h>

#define REFRESH_MS_DEFAULT 60000
/* Re-run a plugin this long before its credential expires. */
#define EXPIRY_MARGIN_MS 10000
#define TOKEN_FILE_MAX ((size_t)1 << 20)

struct credential {
	const struct kubeconfig *cfg; /* borrowed; immutable */
	pthread_mutex_t lock;
	pthread_cond_t done;	   /* a plugin run ended */
	int64_t refresh_ms;	   /* guarded by lock */
	char *token;		   /* last good file or plugin token */
	unsigned char *cert_data;  /* plugin client certificate */
	size_t cert_len;
	unsigned char *key_data;   /* plugin client key */
	size_t key_len;
	uint64_t generation;	   /* bumped on every change */
	bool have;		   /* a file read or plugin run succeeded */
	bool stale;		   /* invalidated since the last refresh */
	bool running;		   /* a plugin runs, lock released */
	bool warned;		   /* read failure already logged */
	int64_t read_ns;	   /* last token file read attempt */
	int64_t expiry_ms;	   /* plugin credential expiry; 0 = none */
};

enum err credential_new(const struct kubeconfig *cfg, struct credential **out,
			struct errbuf *eb)
{
	struct credential *c;

	if (cfg->exec && str_eq(cfg->exec->interactive_mode, "Always"))
		return errbuf_set(eb, ERR_INVALID,
				  "%s: exec plugin \"%s\": interactiveMode Always needs a terminal, and plugins run with stdin on /dev/null",
				  cfg->source, cfg->exec->command);
	c = xcalloc(1, sizeof(*c));
	c->cfg = cfg;
	c->refresh_ms = REFRESH_MS_DEFAULT;
	c->generation = 1;
	BUG_ON(pthread_mutex_init(&c->lock, NULL) != 0);
	BUG_ON(pthread_cond_init(&c->done, NULL) != 0);
	*out = c;
	return ERR_OK;
}

void credential_free(struct credential *c)
{
	if (!c)
		return;
	(void)pthread_mutex_destroy(&c->lock);
	(void)pthread_cond_destroy(&c->done);
	free(c->token);
	free(c->cert_data);
	free(c->key_data);
	free(c);
}

void credential_value_release(struct credential_value *v)
{
	if (!v)
		return;
	free(v->token);
	free(v->cert_data);
	free(v->key_data);
	memset(v, 0, sizeof(*v));
}

void credential_invalidate(struct credential *c)
{
	(void)pthread_mutex_lock(&c->lock);
	c->stale = true;
	(void)pthread_mutex_unlock(&c->lock);
}

void credential_set_refresh_ms(struct credential *c, int64_t refresh_ms)
{
	(void)pthread_mutex_lock(&c->lock);
	c->refresh_ms = refresh_ms;
	(void)pthread_mutex_unlock(&c->lock);
}

static bool bytes_eq(const unsigned char *a, size_t alen,
		     const unsigned char *b, size_t blen)
{
	if (!a || !b)
		return a == b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Takes the strings; bumps generation if anything differs. Under lock. */
static void install(struct credential *c, struct credential_exec_result *r)
{
	if (!str_eq(c->token, r->token) ||
	    !bytes_eq(c->cert_data, c->cert_len, r->cert_data, r->cert_len) ||
	    !bytes_eq(c->key_data, c->key_len, r->key_data, r->key_len))
		c->generation++;
	free(c->token);
	free(c->cert_data);
	free(c->key_data);
	c->token = r->token;
	c->cert_data = r->cert_data;
	c->cert_len = r->cert_len;
	c->key_data = r->key_data;
	c->key_len = r->key_len;
	c->expiry_ms = r->expiry_ms;
	memset(r, 0, sizeof(*r));
	c->have = true;
	c->stale = false;
}

/* ---- Token file ------------------------------------------------------ */

static enum err read_token(const char *path, char **out, struct errbuf *eb)
{
	char *text;
	size_t len;
	enum err e = kubeconfig__read_all(path, TOKEN_FILE_MAX, &text, &len, eb);

	if (e)
		return e;
	kubeconfig__trim(text);
	if (!text[0]) {
		free(text);
		return errbuf_set(eb, ERR_INVALID, "%s: empty token file",
				  path);
	}
	*out = text;
	return ERR_OK;
}

/* Under lock; reading a small file is quick enough to hold it. */
static enum err refresh_file(struct credential *c, struct errbuf *eb)
{
	const char *path = c->cfg->token_file;
	struct credential_exec_result r = { 0 };
	struct errbuf why = ERRBUF_INIT;
	int64_t now = clock_mono_ns();

	if (c->have && !c->stale && now - c->read_ns < c->refresh_ms * 1000000)
		return ERR_OK;
	c->read_ns = now;
	if (read_token(path, &r.token, &why) == ERR_OK) {
		install(c, &r);
		c->warned = false;
		return ERR_OK;
	}
	c->stale = false;
	if (c->have || c->cfg->token) {
		if (!c->warned)
			log_warn("token file unreadable, keeping the last token: %s",
				 why.msg);
		c->warned = true;
		return ERR_OK;
	}
	return errbuf_set(eb, ERR_UNAUTHORIZED, "%s", why.msg);
}

/* ---- Exec plugin ----------------------------------------------------- */

static bool fresh(const struct credential *c)
{
	if (!c->have || c->stale)
		return false;
	return !c->expiry_ms ||
	       clock_now_ms() < c->expiry_ms - EXPIRY_MARGIN_MS;
}

/* Under lock; releases it while the plugin runs. */
static enum err refresh_exec(struct credential *c, struct errbuf *eb)
{
	struct credential_exec_result r = { 0 };
	enum err e;

	while (c->running)
		(void)pthread_cond_wait(&c->done, &c->lock);
	if (fresh(c))
		return ERR_OK;
	c->running = true;
	(void)pthread_mutex_unlock(&c->lock);
	e = credential__exec_run(c->cfg, &r, eb);
	(void)pthread_mutex_lock(&c->lock);
	c->running = false;
	(void)pthread_cond_broadcast(&c->done);
	if (e)
		return e;
	install(c, &r);
	return ERR_OK;
}

/* ---- Snapshot -------------------------------------------------------- */

static void snapshot(const struct credential *c, struct credential_value *v)
{
	const char *token = c->token ? c->token : c->cfg->token;

	if (c->cfg->exec)
		token = c->token;
	v->token = token ? xstrdup(token) : NULL;
	v->cert_data = c->cert_data ? xmemdup(c->cert_data, c->cert_len + 1)
				    : NULL;
	v->cert_len = c->cert_len;
	v->key_data = c->key_data ? xmemdup(c->key_data, c->key_len + 1) : NULL;
	v->key_len = c->key_len;
	v->generation = c->generation;
}

enum err credential_get(struct credential *c, struct credential_value *out,
			struct errbuf *eb)
{
	enum err e = ERR_OK;

	(void)pthread_mutex_lock(&c->lock);
	if (c->cfg->exec)
		e = refresh_exec(c, eb);
	else if (c->cfg->token_file)
		e = refresh_file(c, eb);
	if (!e)
		snapshot(c, out);
	(void)pthread_mutex_unlock(&c->lock);
	return e;
}
