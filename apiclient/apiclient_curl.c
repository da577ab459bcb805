/*
 * apiclient_curl: libcurl plumbing for the API client. Easy handles are
 * pooled (reused, so their connections are too) and share one connection
 * cache, DNS cache and TLS session cache through a CURLSH whose locks are
 * per data kind. Each attempt resets a handle and sets every option again
 * from the kubeconfig and the current credential, so a rotated token or
 * plugin certificate takes effect on the next request.
 */
#include "base.h"
#include "apiclient.h"

#include "apiclient_internal.h"

#include <strings.h>

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
		       void *userptr)
{
	struct apiclient *c = userptr;

	(void)h;
	(void)access;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
	struct apiclient *c = userptr;

	(void)h;
	pthread_mutex_unlock(&c->share_locks[data]);
}

enum err apiclient__share_init(struct apiclient *c)
{
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	c->share = curl_share_init();
	if (!c->share)
		return ERR_TRANSPORT;
	(void)curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	(void)curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	(void)curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	(void)curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	(void)curl_share_setopt(c->share, CURLSHOPT_SHARE,
				CURL_LOCK_DATA_SSL_SESSION);
	(void)curl_share_setopt(c->share, CURLSHOPT_SHARE,
				CURL_LOCK_DATA_CONNECT);
	return ERR_OK;
}

void apiclient__share_free(struct apiclient *c)
{
	for (size_t i = 0; i < c->n_pool; i++)
		curl_easy_cleanup(c->pool[i]);
	c->n_pool = 0;
	if (c->share)
		(void)curl_share_cleanup(c->share);
	c->share = NULL;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
}

CURL *apiclient__handle_get(struct apiclient *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool > 0)
		h = c->pool[--c->n_pool];
	pthread_mutex_unlock(&c->pool_lock);
	if (!h)
		h = curl_easy_init();
	BUG_ON(!h); /* only fails on OOM */
	return h;
}

void apiclient__handle_put(struct apiclient *c, CURL *h)
{
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool < APICLIENT__POOL_MAX) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

/* "HTTP/1.1 409 Conflict": a new response (after a redirect or a 100)
 * starts, so the previous one's headers are forgotten. */
static void status_line(struct apiclient__xfer *x, const char *line)
{
	const char *sp = strchr(line, ' ');
	long long code = 0;
	char num[4] = { 0 };

	if (sp && strlen(sp) >= 4) {
		memcpy(num, sp + 1, 3);
		if (str_to_ll(num, 100, 599, &code) != ERR_OK)
			code = 0;
	}
	x->code = (long)code;
	x->audit_id[0] = '\0';
	x->retry_after_ms = 0;
}

/* The value of "Name: value" when line has that name, else NULL. */
static const char *header_value(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

static void header_line(struct apiclient__xfer *x, const char *line)
{
	const char *v;
	long long secs;

	if (str_has_prefix(line, "HTTP/")) {
		status_line(x, line);
	} else if ((v = header_value(line, "Audit-Id"))) {
		size_t vl = MIN(strlen(v), sizeof(x->audit_id) - 1);

		memcpy(x->audit_id, v, vl);
		x->audit_id[vl] = '\0';
	} else if ((v = header_value(line, "Retry-After"))) {
		if (str_to_ll(v, 0, 86400, &secs) == ERR_OK)
			x->retry_after_ms = secs * 1000;
	} else if ((v = header_value(line, "Warning"))) {
		log_v(2, "server warning: %s", v);
	}
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
	size_t len = size * n;
	char line[256];
	size_t l = MIN(len, sizeof(line) - 1);

	memcpy(line, data, l);
	line[l] = '\0';
	while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == '\n'))
		line[--l] = '\0';
	header_line(userp, line);
	return len;
}

static size_t on_write(char *data, size_t size, size_t n, void *userp)
{
	struct apiclient__xfer *x = userp;
	size_t len = size * n;
	enum err e;

	if (x->code <= 0)
		return 0; /* a body before any status line: not HTTP */
	if (x->code >= 200 && x->code < 300) {
		if (x->req->on_data) {
			x->delivered = true;
			e = x->req->on_data(x->req->ctx, data, len);
		} else if (x->resp) {
			e = buf_add(x->resp, data, len);
		} else {
			e = ERR_OK;
		}
		if (e != ERR_OK) {
			x->sink_err = e;
			return 0;
		}
		return len;
	}
	/* Error bodies are Status documents; keep at most 64 KiB of them. */
	if (buf_add(&x->errbody, data, len) != ERR_OK)
		return len;
	return len;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct apiclient__xfer *x = userp;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (x->req->cancel && atomic_load(x->req->cancel))
		return 1;
	return 0;
}

const char *apiclient_method_name(enum apiclient_method m)
{
	static const char *const names[] = { "GET", "POST", "PUT", "PATCH",
					     "DELETE" };

	return names[m];
}

static void set_method(CURL *h, const struct apiclient_request *req)
{
	if (req->method == APICLIENT_GET) {
		(void)curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (req->method == APICLIENT_POST && req->body) {
		(void)curl_easy_setopt(h, CURLOPT_POST, 1L);
	} else {
		(void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
				       apiclient_method_name(req->method));
	}
	if (req->body) {
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)req->body_len);
	}
}

static void set_timeouts(struct apiclient *c, CURL *h,
			 const struct apiclient_request *req)
{
	int64_t total = req->timeout_ms;

	if (total == 0 && !req->watch)
		total = c->opts.request_timeout_ms;
	(void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			       (long)c->opts.connect_timeout_ms);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)total);
	(void)curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
	(void)curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
	if (req->watch) {
		/* The watch cache sends a bookmark about every minute; a
		 * stream silent for much longer is presumed dead. */
		(void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		(void)curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 150L);
	}
}

static void set_tls(struct apiclient *c, CURL *h,
		    const struct credential_value *cv)
{
	const struct kubeconfig *cfg = c->cfg;
	struct curl_blob blob;

	if (cfg->insecure_skip_tls_verify) {
		(void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		(void)curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cfg->ca_data) {
		blob = (struct curl_blob){ cfg->ca_data, cfg->ca_len,
					   CURL_BLOB_NOCOPY };
		(void)curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (cfg->ca_file) {
		(void)curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
	}
	if (cv->cert_data && cv->key_data) {
		blob = (struct curl_blob){ cv->cert_data, cv->cert_len,
					   CURL_BLOB_COPY };
		(void)curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		blob = (struct curl_blob){ cv->key_data, cv->key_len,
					   CURL_BLOB_COPY };
		(void)curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
	} else if (cfg->cert_data && cfg->key_data) {
		blob = (struct curl_blob){ cfg->cert_data, cfg->cert_len,
					   CURL_BLOB_NOCOPY };
		(void)curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		blob = (struct curl_blob){ cfg->key_data, cfg->key_len,
					   CURL_BLOB_NOCOPY };
		(void)curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
	} else if (cfg->cert_file && cfg->key_file) {
		(void)curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file);
		(void)curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file);
	}
	(void)curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	(void)curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
}

static void add_header(struct curl_slist **hdrs, const char *fmt, ...)
	ATTR_PRINTF(2, 3);
static void add_header(struct curl_slist **hdrs, const char *fmt, ...)
{
	char line[8192];
	struct curl_slist *n;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = curl_slist_append(*hdrs, line);
	BUG_ON(!n);
	*hdrs = n;
}

static void set_auth_headers(struct apiclient *c, struct curl_slist **hdrs,
			     const struct credential_value *cv)
{
	const struct kubeconfig *cfg = c->cfg;

	if (cv->token)
		add_header(hdrs, "Authorization: Bearer %s", cv->token);
	if (cfg->impersonate_user)
		add_header(hdrs, "Impersonate-User: %s", cfg->impersonate_user);
	if (cfg->impersonate_uid)
		add_header(hdrs, "Impersonate-Uid: %s", cfg->impersonate_uid);
	for (char **g = cfg->impersonate_groups; g && *g; g++)
		add_header(hdrs, "Impersonate-Group: %s", *g);
}

static void set_transport(struct apiclient *c, CURL *h)
{
	const struct kubeconfig *cfg = c->cfg;

	(void)curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_HTTP_VERSION,
			       (long)CURL_HTTP_VERSION_2TLS);
	(void)curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
	if (!cfg->disable_compression)
		(void)curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (cfg->proxy_url)
		(void)curl_easy_setopt(h, CURLOPT_PROXY, cfg->proxy_url);
	if (c->connect_to)
		(void)curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	if (cfg->username) {
		(void)curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		(void)curl_easy_setopt(h, CURLOPT_USERNAME, cfg->username);
		(void)curl_easy_setopt(h, CURLOPT_PASSWORD,
				       cfg->password ? cfg->password : "");
	}
}

enum err apiclient__setup(struct apiclient *c, CURL *h,
			  struct apiclient__xfer *x, const char *url,
			  struct curl_slist **hdrs, struct errbuf *eb)
{
	const struct apiclient_request *req = x->req;
	struct credential_value cv = { 0 };
	enum err e;

	e = credential_get(c->cred, &cv, eb);
	if (e != ERR_OK)
		return e;
	curl_easy_reset(h);
	set_transport(c, h);
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	set_method(h, req);
	set_timeouts(c, h, req);
	set_tls(c, h, &cv);
	add_header(hdrs, "Accept: application/json");
	if (req->body)
		add_header(hdrs, "Content-Type: %s",
			   req->content_type ? req->content_type
					     : "application/json");
	set_auth_headers(c, hdrs, &cv);
	credential_value_release(&cv);
	(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	(void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	(void)curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	(void)curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	(void)curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	return ERR_OK;
}
