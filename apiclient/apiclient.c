/*
 * apiclient: the request loop of the API client — rate limiting, attempts,
 * retries with backoff and Retry-After, 401 credential refresh, the mapping
 * of HTTP answers onto enum err (apiclient.md §1.8), and the Status kept
 * from error bodies. The libcurl details live in apiclient_curl.c.
 * Thread-safe: per-request state is on the caller's stack.
 */
#include "base.h"
#include "apiclient.h"

#include "apiclient_internal.h"
#include "backoff.h"

#define ERRBODY_MAX ((size_t)64 * 1024)
/* Transport errors on GET are retried this many times at most. */
#define TRANSPORT_ATTEMPTS 3

#ifndef SVC_VERSION
#define SVC_VERSION "unknown"
#endif
#ifndef SVC_COMMIT
#define SVC_COMMIT "0000000"
#endif

void apiclient_global_init(void)
{
	BUG_ON(curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK);
}

void apiclient_global_cleanup(void)
{
	curl_global_cleanup();
}

static const char *arch_name(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#else
	return "unknown";
#endif
}

/* With tls-server-name, the URL carries that name (SNI and verification)
 * and CONNECT_TO routes the TCP connection to the real host. */
static enum err route_server_name(struct apiclient *c, struct errbuf *eb)
{
	const char *server = c->cfg->server;
	const char *host = strstr(server, "://");
	const char *end;
	const char *port;
	char *route;

	if (!c->cfg->tls_server_name) {
		c->base_url = xstrdup(server);
		return ERR_OK;
	}
	if (!host)
		return errbuf_set(eb, ERR_INVALID, "server %s: not a URL", server);
	host += 3;
	end = host + strcspn(host, "/");
	port = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
	if (port && port < end)
		port += host[0] == '[' ? 2 : 1;
	else
		port = NULL;
	c->base_url = xasprintf("%.*s%s%s%.*s", (int)(host - server), server,
				c->cfg->tls_server_name, port ? ":" : "",
				port ? (int)(end - port) : 0, port ? port : "");
	route = xasprintf("%s::%.*s", c->cfg->tls_server_name,
			  (int)((port ? port - 1 : end) - host), host);
	c->connect_to = curl_slist_append(NULL, route);
	free(route);
	BUG_ON(!c->connect_to);
	return ERR_OK;
}

enum err apiclient_new(const struct kubeconfig *cfg,
		       const struct apiclient_options *opts,
		       struct apiclient **out, struct errbuf *eb)
{
	struct apiclient_options defaults = APICLIENT_OPTIONS_DEFAULT;
	struct apiclient *c = xcalloc(1, sizeof(*c));
	enum err e;

	c->cfg = cfg;
	c->opts = opts ? *opts : defaults;
	if (c->opts.max_attempts < 1)
		c->opts.max_attempts = 1;
	c->user_agent = c->opts.user_agent
				? xstrdup(c->opts.user_agent)
				: xasprintf("svc-controllers/%s (linux/%s) kubernetes/%s%s%s",
					    SVC_VERSION, arch_name(), SVC_COMMIT,
					    c->opts.user_agent_suffix ? "/" : "",
					    c->opts.user_agent_suffix
						? c->opts.user_agent_suffix
						: "");
	pthread_mutex_init(&c->pool_lock, NULL);
	e = apiclient__share_init(c);
	if (e == ERR_OK)
		e = route_server_name(c, eb);
	if (e == ERR_OK)
		e = credential_new(cfg, &c->cred, eb);
	if (e != ERR_OK) {
		apiclient_free(c);
		return e;
	}
	c->rl = ratelimit_new(c->opts.qps, c->opts.burst);
	*out = c;
	return ERR_OK;
}

void apiclient_free(struct apiclient *c)
{
	if (!c)
		return;
	apiclient__share_free(c);
	pthread_mutex_destroy(&c->pool_lock);
	credential_free(c->cred);
	ratelimit_free(c->rl);
	curl_slist_free_all(c->connect_to);
	free(c->base_url);
	free(c->user_agent);
	free(c);
}

const char *apiclient_server(const struct apiclient *c)
{
	return c->cfg->server;
}

enum err apiclient_err_from_http(long code, const char *reason)
{
	if (code >= 200 && code < 300)
		return ERR_OK;
	switch (code) {
	case 400:
		return ERR_BAD_REQUEST;
	case 401:
		return ERR_UNAUTHORIZED;
	case 403:
		return ERR_FORBIDDEN;
	case 404:
		return ERR_NOT_FOUND;
	case 409:
		return reason && strcmp(reason, "AlreadyExists") == 0
			       ? ERR_ALREADY_EXISTS
			       : ERR_CONFLICT;
	case 410:
		return ERR_GONE;
	case 422:
		return ERR_UNPROCESSABLE;
	case 429:
		return ERR_TOO_MANY_REQUESTS;
	case 504:
		return ERR_TIMEOUT;
	default:
		break;
	}
	if (code >= 500)
		return ERR_SERVER;
	return ERR_HTTP;
}

static bool unreserved(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
	       ch == '_' || ch == '~';
}

static void percent_encode(struct buf *q, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char enc[3] = { '%', hex[ch >> 4], hex[ch & 15] };

		if (unreserved(ch))
			BUG_ON(buf_add(q, s, 1) != ERR_OK);
		else
			BUG_ON(buf_add(q, enc, 3) != ERR_OK);
	}
}

void apiclient_query_add(struct buf *q, const char *key, const char *value)
{
	if (q->len)
		BUG_ON(buf_add(q, "&", 1) != ERR_OK);
	percent_encode(q, key);
	BUG_ON(buf_add(q, "=", 1) != ERR_OK);
	percent_encode(q, value);
}

static const struct {
	const char *prefix;
	const char *plural;
	bool namespaced;
} kinds[KUBE_KIND__COUNT] = {
	[KUBE_KIND_POD] = { "/api/v1", "pods", true },
	[KUBE_KIND_SERVICE] = { "/api/v1", "services", true },
	[KUBE_KIND_NODE] = { "/api/v1", "nodes", false },
	[KUBE_KIND_ENDPOINTSLICE] = { "/apis/discovery.k8s.io/v1",
				      "endpointslices", true },
	[KUBE_KIND_LEASE] = { "/apis/coordination.k8s.io/v1", "leases",
			      true },
};

void apiclient_path(struct buf *out, enum kube_kind kind, const char *ns,
		    const char *name)
{
	BUG_ON((unsigned)kind >= KUBE_KIND__COUNT);
	BUG_ON(buf_adds(out, kinds[kind].prefix) != ERR_OK);
	if (kinds[kind].namespaced && ns && *ns) {
		BUG_ON(buf_adds(out, "/namespaces/") != ERR_OK);
		percent_encode(out, ns);
	}
	BUG_ON(buf_addf(out, "/%s", kinds[kind].plural) != ERR_OK);
	if (name) {
		BUG_ON(buf_add(out, "/", 1) != ERR_OK);
		percent_encode(out, name);
	}
}

/* Sleeps up to ms in short steps so a cancel is noticed; false if cancelled. */
static bool wait_cancellable(const struct apiclient_request *req, int64_t ms)
{
	while (ms > 0) {
		int64_t step = MIN(ms, 200);

		if (req->cancel && atomic_load(req->cancel))
			return false;
		clock_sleep_ms(step);
		ms -= step;
	}
	return !(req->cancel && atomic_load(req->cancel));
}

/* Counts one attempt; its duration too unless it was a watch, whose
 * length says nothing about the server's latency. */
static void count_answer(struct apiclient *c, const struct apiclient_request *req,
			 long code, int64_t dur_ns)
{
	static const int64_t bounds_ms[] = APICLIENT_LATENCY_BOUNDS_MS;
	size_t cls = code >= 100 && code < 600 ? (size_t)(code / 100) : 0;
	size_t b = 0;

	atomic_fetch_add(&c->n_requests, 1);
	atomic_fetch_add(&c->n_by_method[req->method], 1);
	atomic_fetch_add(&c->n_by_class[cls], 1);
	atomic_fetch_add(&c->n_by_method_class[req->method][cls], 1);
	if (req->watch)
		return;
	while (b < ARRAY_SIZE(bounds_ms) && dur_ns > bounds_ms[b] * 1000000)
		b++;
	atomic_fetch_add(&c->n_latency[req->method][cls][b], 1);
	atomic_fetch_add(&c->latency_ns[req->method][cls],
			 (uint_fast64_t)(dur_ns > 0 ? dur_ns : 0));
}

static enum err curl_to_err(CURLcode cc, const struct apiclient__xfer *x)
{
	switch (cc) {
	case CURLE_OK:
		return ERR_OK;
	case CURLE_ABORTED_BY_CALLBACK:
		return ERR_SHUTDOWN;
	case CURLE_WRITE_ERROR:
		return x->sink_err != ERR_OK ? x->sink_err : ERR_TRANSPORT;
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	default:
		return ERR_TRANSPORT;
	}
}

/* One attempt: fills x, returns the transport-level outcome. */
static enum err attempt(struct apiclient *c, const char *url,
			struct apiclient__xfer *x, struct errbuf *eb)
{
	struct curl_slist *hdrs = NULL;
	char cerr[CURL_ERROR_SIZE] = "";
	CURL *h = apiclient__handle_get(c);
	CURLcode cc;
	enum err e;

	e = apiclient__setup(c, h, x, url, &hdrs, eb);
	if (e == ERR_OK) {
		(void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
		cc = curl_easy_perform(h);
		e = curl_to_err(cc, x);
		if (cc != CURLE_OK && e != x->sink_err)
			errbuf_set(eb, e, "%s %s: %s", apiclient_method_name(x->req->method),
				   x->req->path,
				   cerr[0] ? cerr : curl_easy_strerror(cc));
		(void)curl_easy_setopt(h, CURLOPT_ERRORBUFFER, (char *)NULL);
	}
	curl_slist_free_all(hdrs);
	apiclient__handle_put(c, h);
	return e;
}

static bool should_retry(const struct apiclient_request *req,
			 const struct apiclient__xfer *x, enum err te, int n,
			 int max)
{
	if (req->no_retry || x->delivered || n >= max)
		return false;
	if (te == ERR_TRANSPORT || te == ERR_TIMEOUT)
		return req->method == APICLIENT_GET && n < TRANSPORT_ATTEMPTS;
	if (te != ERR_OK)
		return false;
	if (x->code == 429)
		return true; /* the server did not process it */
	if (x->code >= 500)
		return x->retry_after_ms > 0 || req->method == APICLIENT_GET;
	return false;
}

static void fill_result(const struct apiclient__xfer *x, int attempts,
			struct apiclient_result *res)
{
	memset(res, 0, sizeof(*res));
	res->http_code = x->code > 0 ? x->code : 0;
	res->retry_after_ms = x->retry_after_ms;
	res->attempts = attempts;
	memcpy(res->audit_id, x->audit_id, sizeof(res->audit_id));
	/* A non-Status error body (a proxy's HTML page) leaves status empty. */
	if (x->code >= 300 && x->errbody.len &&
	    kube_status_decode(x->errbody.data, x->errbody.len, &res->status,
			       NULL) != ERR_OK)
		memset(&res->status, 0, sizeof(res->status));
}

static enum err http_error(const struct apiclient_request *req,
			   const struct apiclient_result *res, struct errbuf *eb)
{
	const struct kube_status *st = &res->status;
	enum err e = apiclient_err_from_http(res->http_code, st->reason);

	return errbuf_set(eb, e, "%s %s: %ld %s: %s", apiclient_method_name(req->method),
			  req->path, res->http_code,
			  st->reason[0] ? st->reason : err_str(e),
			  st->message[0] ? st->message : "(no message)");
}

static void reset_xfer(struct apiclient__xfer *x)
{
	x->code = 0;
	x->sink_err = ERR_OK;
	x->retry_after_ms = 0;
	x->audit_id[0] = '\0';
	buf_reset(&x->errbody);
	if (x->resp)
		buf_reset(x->resp);
}

static int64_t retry_delay(struct apiclient *c, const struct apiclient__xfer *x,
			   struct backoff *bo)
{
	int64_t d = backoff_next(bo);

	if (x->retry_after_ms > 0)
		d = x->retry_after_ms;
	return MIN(d, c->opts.retry_max_wait_ms);
}

static void throttle(struct apiclient *c, const struct apiclient_request *req)
{
	int64_t wait_ns;

	if (req->watch)
		return;
	wait_ns = ratelimit_reserve_ns(c->rl);
	if (wait_ns <= 0)
		return;
	atomic_fetch_add(&c->throttled_ns, (uint_fast64_t)wait_ns);
	/* A cancelled request returns from the attempt at once anyway. */
	(void)wait_cancellable(req, (wait_ns + 999999) / 1000000);
}

enum err apiclient_do(struct apiclient *c, const struct apiclient_request *req,
		      struct buf *resp, struct apiclient_result *res,
		      struct errbuf *eb)
{
	struct backoff_options bopts = { 200, 2.0, 10000, 0.5, 60000 };
	struct apiclient__xfer x = { .req = req, .resp = resp };
	bool refreshed = false;
	struct backoff bo;
	int64_t t0;
	enum err e;
	char *url;
	int n = 0;

	url = xasprintf("%s%s%s%s", c->base_url, req->path,
			req->query && *req->query ? "?" : "",
			req->query ? req->query : "");
	buf_init(&x.errbody, ERRBODY_MAX);
	backoff_init(&bo, &bopts);
	for (;;) {
		reset_xfer(&x);
		throttle(c, req);
		n++;
		t0 = clock_mono_ns();
		e = attempt(c, url, &x, eb);
		count_answer(c, req, e == ERR_OK ? x.code : 0,
			     clock_mono_ns() - t0);
		if (e == ERR_OK && x.code == 401 && !refreshed && !x.delivered) {
			/* A rotated token or an expired plugin credential. */
			credential_invalidate(c->cred);
			refreshed = true;
			continue;
		}
		if (!should_retry(req, &x, e, n, c->opts.max_attempts))
			break;
		atomic_fetch_add(&c->n_retries, 1);
		log_v(4, "retrying %s %s after %ld", apiclient_method_name(req->method),
		      req->path, x.code);
		if (!wait_cancellable(req, retry_delay(c, &x, &bo))) {
			e = ERR_SHUTDOWN;
			break;
		}
	}
	fill_result(&x, n, res);
	if (e == ERR_OK && (x.code < 200 || x.code >= 300))
		e = http_error(req, res, eb);
	buf_release(&x.errbody);
	free(url);
	return e;
}

void apiclient_stats(struct apiclient *c, struct apiclient_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->requests = atomic_load(&c->n_requests);
	out->retries = atomic_load(&c->n_retries);
	for (size_t i = 0; i < ARRAY_SIZE(out->by_method); i++)
		out->by_method[i] = atomic_load(&c->n_by_method[i]);
	for (size_t i = 0; i < ARRAY_SIZE(out->by_class); i++)
		out->by_class[i] = atomic_load(&c->n_by_class[i]);
	out->throttled_ns = atomic_load(&c->throttled_ns);
	for (size_t m = 0; m < 5; m++) {
		for (size_t k = 0; k < 6; k++) {
			uint64_t sum = 0;

			out->by_method_class[m][k] =
			    atomic_load(&c->n_by_method_class[m][k]);
			/* Cumulated from one read of each bucket, so the
			 * buckets never decrease and +Inf is the count. */
			for (size_t b = 0; b <= APICLIENT_LATENCY_BUCKETS; b++) {
				sum += atomic_load(&c->n_latency[m][k][b]);
				out->latency[m][k][b] = sum;
			}
			out->latency_sum_ns[m][k] =
			    atomic_load(&c->latency_ns[m][k]);
		}
	}
}
