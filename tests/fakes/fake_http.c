/*
 * fake_http: a scripted HTTP/1.1 server on 127.0.0.1 for unit tests (see
 * fake_http.h). One accept thread plus one thread per connection; every
 * socket wait is a 50 ms poll that re-checks the stop flag, so no thread
 * outlives fake_http_free by more than a poll step.
 *
 * Locking: s->lock guards the queue, the handler, the recorded requests,
 * the connection list and the counters; it is never held across socket
 * I/O or a handler call. Recorded requests are immutable once published.
 */
#include "base.h"
#include "fakes/fake_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 50
#define MAX_CONNS 256
#define MAX_HEAD ((size_t)64 << 10)
#define MAX_BODY ((size_t)16 << 20)

enum step_kind { STEP_CHUNK, STEP_PAUSE, STEP_WAIT };

struct step {
	enum step_kind kind;
	char *data; /* STEP_CHUNK: owned */
	size_t n;
	int ms;	    /* STEP_PAUSE */
};

struct fake_http_response {
	int status;
	size_t n_headers;
	char **headers;	    /* owned lines */
	char *body;	    /* owned, or NULL */
	size_t body_len;
	size_t n_steps;
	struct step *steps; /* non-empty: chunked */
	bool cut;	    /* close instead of the last chunk */
	bool close;	    /* Connection: close */
	struct fake_http_response *next; /* queue link */
};

struct conn {
	struct fake_http *srv;
	int fd;
	unsigned id;
	pthread_t thread;
	char *in;  /* read buffer, owned */
	size_t len;
	size_t cap;
	struct conn *next; /* guarded by srv->lock */
};

struct fake_http {
	int lfd;
	int port;
	char url[64];
	pthread_t accept_thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;		    /* requests, releases, waiting */
	struct fake_http_response *qhead;   /* guarded by lock */
	struct fake_http_response *qtail;
	fake_http_handler_fn handler;	    /* guarded by lock */
	void *hctx;
	bool hold_empty;		    /* guarded by lock */
	unsigned releases;		    /* guarded by lock */
	unsigned waiting;		    /* guarded by lock */
	unsigned unscripted;		    /* guarded by lock */
	struct fake_http_request **reqs;    /* guarded by lock */
	size_t n_reqs;
	size_t cap_reqs;
	struct conn *conns;		    /* guarded by lock */
	unsigned n_conns;
};

/* ---- Small helpers -------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct timespec deadline_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static const char *find_crlf2(const char *p, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
		    p[i + 3] == '\n')
			return p + i;
	return NULL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) ('+' is a space, as Go's url.ParseQuery). */
static char *url_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			out[o++] = (char)(hexval(s[i + 1]) * 16 +
					  hexval(s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- Responses ------------------------------------------------------ */

struct fake_http_response *fake_http_response_new(int status)
{
	struct fake_http_response *r = xcalloc(1, sizeof(*r));

	r->status = status;
	return r;
}

void fake_http_response_header(struct fake_http_response *r, const char *line)
{
	r->headers = xrealloc(r->headers,
			      (r->n_headers + 1) * sizeof(*r->headers));
	r->headers[r->n_headers++] = xstrdup(line);
}

void fake_http_response_body(struct fake_http_response *r, const char *body)
{
	free(r->body);
	r->body_len = strlen(body);
	r->body = xmemdup(body, r->body_len + 1);
}

static struct step *add_step(struct fake_http_response *r, enum step_kind k)
{
	struct step *st;

	r->steps = xrealloc(r->steps, (r->n_steps + 1) * sizeof(*r->steps));
	st = &r->steps[r->n_steps++];
	memset(st, 0, sizeof(*st));
	st->kind = k;
	return st;
}

void fake_http_response_chunk(struct fake_http_response *r, const char *data,
			      size_t n)
{
	struct step *st = add_step(r, STEP_CHUNK);

	st->data = xmemdup(data, n);
	st->n = n;
}

void fake_http_response_pause(struct fake_http_response *r, int ms)
{
	add_step(r, STEP_PAUSE)->ms = ms;
}

void fake_http_response_wait(struct fake_http_response *r)
{
	add_step(r, STEP_WAIT);
}

void fake_http_response_cut(struct fake_http_response *r)
{
	r->cut = true;
}

void fake_http_response_close(struct fake_http_response *r)
{
	r->close = true;
}

void fake_http_response_free(struct fake_http_response *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r->headers);
	for (size_t i = 0; i < r->n_steps; i++)
		free(r->steps[i].data);
	free(r->steps);
	free(r->body);
	free(r);
}

/* ---- Requests ------------------------------------------------------- */

static void request_free(struct fake_http_request *q)
{
	for (size_t i = 0; i < q->n_headers; i++) {
		free(q->headers[i].name);
		free(q->headers[i].value);
	}
	free(q->headers);
	free(q->target);
	free(q->path);
	free(q->query);
	free(q->body);
	free(q);
}

static char *trimmed(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

static void add_header_line(struct fake_http_request *q, const char *line,
			    size_t n)
{
	const char *colon = memchr(line, ':', n);
	struct fake_http_header *h;

	if (!colon)
		return;
	q->headers = xrealloc(q->headers,
			      (q->n_headers + 1) * sizeof(*q->headers));
	h = &q->headers[q->n_headers++];
	h->name = trimmed(line, (size_t)(colon - line));
	h->value = trimmed(colon + 1, n - (size_t)(colon - line) - 1);
}

/*
 * Parses the request line and headers of head[0..n), which the caller has
 * checked to be followed by CRLF CRLF; false if malformed.
 */
static bool parse_head(struct fake_http_request *q, const char *head, size_t n)
{
	const char *line_end = head + n;
	const char *sp1, *sp2, *qm;

	for (size_t i = 0; i + 1 < n; i++)
		if (head[i] == '\r' && head[i + 1] == '\n') {
			line_end = head + i;
			break;
		}
	sp1 = memchr(head, ' ', (size_t)(line_end - head));
	if (!sp1 || (size_t)(sp1 - head) >= sizeof(q->method))
		return false;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
	if (!sp2)
		return false;
	memcpy(q->method, head, (size_t)(sp1 - head));
	q->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	qm = strchr(q->target, '?');
	q->path = qm ? xstrndup(q->target, (size_t)(qm - q->target))
		     : xstrdup(q->target);
	q->query = xstrdup(qm ? qm + 1 : "");
	for (const char *p = line_end + 2; p < head + n;) {
		const char *e = p;

		while (e < head + n && !(e[0] == '\r' && e[1] == '\n'))
			e++;
		if (e > p)
			add_header_line(q, p, (size_t)(e - p));
		p = e + 2;
	}
	return true;
}

const char *fake_http_header(const struct fake_http_request *req,
			     const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

size_t fake_http_header_count(const struct fake_http_request *req,
			      const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			n++;
	return n;
}

char *fake_http_query_param(const struct fake_http_request *req,
			    const char *key)
{
	const char *p = req->query;

	while (*p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		size_t kl = eq ? (size_t)(eq - p) : n;
		char *k = url_decode(p, kl);
		bool match = strcmp(k, key) == 0;

		free(k);
		if (match)
			return eq ? url_decode(eq + 1, n - kl - 1) : xstrdup("");
		p += n;
		if (*p == '&')
			p++;
	}
	return NULL;
}

/* ---- Socket I/O ----------------------------------------------------- */

static bool stopping(struct fake_http *s)
{
	return atomic_load(&s->stop);
}

/* Sends all of data; false when the peer is gone or the server stops. */
static bool send_all(struct conn *c, const char *data, size_t n)
{
	while (n > 0) {
		struct pollfd pfd = { c->fd, POLLOUT, 0 };
		ssize_t w;

		if (stopping(c->srv))
			return false;
		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		w = send(c->fd, data, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		data += w;
		n -= (size_t)w;
	}
	return true;
}

static bool sendf(struct conn *c, const char *fmt, ...) ATTR_PRINTF(2, 3);
static bool sendf(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	BUG_ON(n < 0 || (size_t)n >= sizeof(line));
	return send_all(c, line, (size_t)n);
}

/* Reads more bytes into c->in; false on EOF, error or stop. */
static bool fill(struct conn *c)
{
	for (;;) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		ssize_t r;

		if (stopping(c->srv))
			return false;
		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		if (c->len + 4096 + 1 > c->cap) {
			c->cap = c->cap ? c->cap * 2 : 8192;
			c->in = xrealloc(c->in, c->cap);
		}
		r = recv(c->fd, c->in + c->len, c->cap - c->len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		c->len += (size_t)r;
		c->in[c->len] = '\0';
		return true;
	}
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
}

/* True while the client has not closed its end. */
static bool peer_alive(struct conn *c)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	char b;

	if (poll(&pfd, 1, 0) <= 0)
		return true;
	if (pfd.revents & (POLLHUP | POLLERR))
		return false;
	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* ---- Reading a request ---------------------------------------------- */

static bool read_body(struct conn *c, struct fake_http_request *q)
{
	const char *cl = fake_http_header(q, "Content-Length");
	const char *expect = fake_http_header(q, "Expect");
	long long n = 0;

	if (cl && str_to_ll(cl, 0, (long long)MAX_BODY, &n) != ERR_OK)
		return false;
	if (expect && strcasecmp(expect, "100-continue") == 0 &&
	    !sendf(c, "HTTP/1.1 100 Continue\r\n\r\n"))
		return false;
	while (c->len < (size_t)n)
		if (!fill(c))
			return false;
	q->body = xstrndup(c->in, (size_t)n);
	q->body_len = (size_t)n;
	consume(c, (size_t)n);
	return true;
}

/* Reads one request; NULL on EOF, a malformed request or stop. */
static struct fake_http_request *read_request(struct conn *c)
{
	struct fake_http_request *q;
	const char *end;
	size_t head;

	while (!(end = c->len ? find_crlf2(c->in, c->len) : NULL)) {
		if (c->len > MAX_HEAD || !fill(c))
			return NULL;
	}
	head = (size_t)(end - c->in);
	q = xcalloc(1, sizeof(*q));
	q->conn = c->id;
	if (!parse_head(q, c->in, head)) {
		request_free(q);
		return NULL;
	}
	consume(c, head + 4);
	if (!read_body(c, q)) {
		request_free(q);
		return NULL;
	}
	return q;
}

/* Publishes q with its sequence number. */
static void record(struct fake_http *s, struct fake_http_request *q)
{
	pthread_mutex_lock(&s->lock);
	if (s->n_reqs == s->cap_reqs) {
		s->cap_reqs = s->cap_reqs ? s->cap_reqs * 2 : 32;
		s->reqs = xrealloc(s->reqs, s->cap_reqs * sizeof(*s->reqs));
	}
	q->seq = (unsigned)s->n_reqs;
	s->reqs[s->n_reqs++] = q;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* ---- Answering ------------------------------------------------------ */

static struct fake_http_response *default_response(struct fake_http *s)
{
	struct fake_http_response *r;

	s->unscripted++;
	if (s->hold_empty) {
		r = fake_http_response_new(200);
		fake_http_response_wait(r);
		return r;
	}
	r = fake_http_response_new(503);
	fake_http_response_body(
		r, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
		   "\"message\":\"fake_http: no scripted answer\","
		   "\"reason\":\"ServiceUnavailable\",\"code\":503}");
	return r;
}

static struct fake_http_response *next_response(struct fake_http *s,
						const struct fake_http_request *q)
{
	struct fake_http_response *r = NULL;
	fake_http_handler_fn fn;
	void *ctx;

	pthread_mutex_lock(&s->lock);
	fn = s->handler;
	ctx = s->hctx;
	pthread_mutex_unlock(&s->lock);
	if (fn)
		r = fn(ctx, q);
	if (r)
		return r;
	pthread_mutex_lock(&s->lock);
	r = s->qhead;
	if (r) {
		s->qhead = r->next;
		if (!s->qhead)
			s->qtail = NULL;
		r->next = NULL;
	} else {
		r = default_response(s);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static bool has_header(const struct fake_http_response *r, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->n_headers; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 &&
		    r->headers[i][n] == ':')
			return true;
	return false;
}

static bool send_head(struct conn *c, const struct fake_http_response *r)
{
	bool ok = sendf(c, "HTTP/1.1 %d %s\r\n", r->status,
			reason_phrase(r->status));

	if (ok && !has_header(r, "Content-Type"))
		ok = sendf(c, "Content-Type: application/json\r\n");
	for (size_t i = 0; ok && i < r->n_headers; i++)
		ok = sendf(c, "%s\r\n", r->headers[i]);
	if (ok && r->close)
		ok = sendf(c, "Connection: close\r\n");
	if (ok && r->n_steps)
		ok = sendf(c, "Transfer-Encoding: chunked\r\n\r\n");
	else if (ok)
		ok = sendf(c, "Content-Length: %zu\r\n\r\n", r->body_len);
	return ok;
}

/* Holds until a release, a disconnect or stop; true on a release. */
static bool wait_release(struct conn *c)
{
	struct fake_http *s = c->srv;
	bool released = false;

	pthread_mutex_lock(&s->lock);
	s->waiting++;
	pthread_cond_broadcast(&s->cond);
	while (!stopping(s)) {
		struct timespec ts;

		if (s->releases > 0) {
			s->releases--;
			released = true;
			break;
		}
		pthread_mutex_unlock(&s->lock);
		if (!peer_alive(c)) {
			pthread_mutex_lock(&s->lock);
			break;
		}
		pthread_mutex_lock(&s->lock);
		ts = deadline_in(POLL_MS);
		(void)pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	s->waiting--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return released;
}

static bool pause_step(struct conn *c, int ms)
{
	for (; ms > 0 && !stopping(c->srv); ms -= 10)
		sleep_ms(MIN(ms, 10));
	return !stopping(c->srv);
}

/* Sends the steps and the final chunk; false when the connection ends. */
static bool send_stream(struct conn *c, const struct fake_http_response *r)
{
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct step *st = &r->steps[i];
		bool ok = true;

		switch (st->kind) {
		case STEP_CHUNK:
			ok = st->n == 0 || (sendf(c, "%zx\r\n", st->n) &&
					    send_all(c, st->data, st->n) &&
					    send_all(c, "\r\n", 2));
			break;
		case STEP_PAUSE:
			ok = pause_step(c, st->ms);
			break;
		case STEP_WAIT:
			ok = wait_release(c);
			break;
		}
		if (!ok)
			return false;
	}
	if (r->cut)
		return false;
	return send_all(c, "0\r\n\r\n", 5);
}

/* Answers one request; false when the connection must close. */
static bool answer(struct conn *c, const struct fake_http_request *q)
{
	struct fake_http_response *r = next_response(c->srv, q);
	const char *conn_hdr = fake_http_header(q, "Connection");
	bool ok;

	if (r->status == FAKE_HTTP_DROP) {
		fake_http_response_free(r);
		return false;
	}
	ok = send_head(c, r);
	if (ok && r->n_steps)
		ok = send_stream(c, r);
	else if (ok && r->body_len)
		ok = send_all(c, r->body, r->body_len);
	if (r->close || (conn_hdr && strcasecmp(conn_hdr, "close") == 0))
		ok = false;
	fake_http_response_free(r);
	return ok;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	for (;;) {
		struct fake_http_request *q = read_request(c);

		if (!q)
			break;
		record(c->srv, q);
		if (!answer(c, q))
			break;
	}
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	c->fd = -1;
	return NULL;
}

/* ---- Accepting ------------------------------------------------------ */

static void start_conn(struct fake_http *s, int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->srv = s;
	c->fd = fd;
	pthread_mutex_lock(&s->lock);
	c->id = s->n_conns++;
	c->next = s->conns;
	s->conns = c;
	BUG_ON(pthread_create(&c->thread, NULL, conn_main, c) != 0);
	pthread_mutex_unlock(&s->lock);
}

static void *accept_main(void *arg)
{
	struct fake_http *s = arg;

	while (!stopping(s)) {
		struct pollfd pfd = { s->lfd, POLLIN, 0 };
		int fd;

		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (fake_http_connections(s) >= MAX_CONNS) {
			close(fd);
			continue;
		}
		start_conn(s, fd);
	}
	return NULL;
}

struct fake_http *fake_http_new(void)
{
	struct fake_http *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);

	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	BUG_ON(s->lfd < 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	BUG_ON(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0);
	BUG_ON(listen(s->lfd, 64) != 0);
	BUG_ON(getsockname(s->lfd, (struct sockaddr *)&sa, &len) != 0);
	s->port = ntohs(sa.sin_port);
	(void)snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	atomic_init(&s->stop, false);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	BUG_ON(pthread_create(&s->accept_thread, NULL, accept_main, s) != 0);
	return s;
}

void fake_http_free(struct fake_http *s)
{
	struct conn *c;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->accept_thread, NULL);
	close(s->lfd);
	/* No new connections now; the list is stable. */
	while ((c = s->conns)) {
		s->conns = c->next;
		pthread_join(c->thread, NULL);
		free(c->in);
		free(c);
	}
	while (s->qhead) {
		struct fake_http_response *r = s->qhead;

		s->qhead = r->next;
		fake_http_response_free(r);
	}
	for (size_t i = 0; i < s->n_reqs; i++)
		request_free(s->reqs[i]);
	free(s->reqs);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int fake_http_port(const struct fake_http *s)
{
	return s->port;
}

const char *fake_http_url(const struct fake_http *s)
{
	return s->url;
}

/* ---- Script control ------------------------------------------------- */

void fake_http_push(struct fake_http *s, struct fake_http_response *r)
{
	pthread_mutex_lock(&s->lock);
	r->next = NULL;
	if (s->qtail)
		s->qtail->next = r;
	else
		s->qhead = r;
	s->qtail = r;
	pthread_mutex_unlock(&s->lock);
}

void fake_http_push_json(struct fake_http *s, int status, const char *body)
{
	struct fake_http_response *r = fake_http_response_new(status);

	fake_http_response_body(r, body);
	fake_http_push(s, r);
}

void fake_http_set_handler(struct fake_http *s, fake_http_handler_fn fn,
			   void *ctx)
{
	pthread_mutex_lock(&s->lock);
	s->handler = fn;
	s->hctx = ctx;
	pthread_mutex_unlock(&s->lock);
}

void fake_http_hold_when_empty(struct fake_http *s, bool hold)
{
	pthread_mutex_lock(&s->lock);
	s->hold_empty = hold;
	pthread_mutex_unlock(&s->lock);
}

void fake_http_release(struct fake_http *s)
{
	pthread_mutex_lock(&s->lock);
	s->releases++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* ---- Assertions ----------------------------------------------------- */

unsigned fake_http_count(struct fake_http *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = (unsigned)s->n_reqs;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned fake_http_connections(struct fake_http *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->n_conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned fake_http_unscripted(struct fake_http *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->unscripted;
	pthread_mutex_unlock(&s->lock);
	return n;
}

unsigned fake_http_waiting(struct fake_http *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->waiting;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Waits until *counter >= n; the caller passes a field of s. */
static bool wait_for(struct fake_http *s, const size_t *reqs,
		     const unsigned *waiting, unsigned n, int timeout_ms)
{
	struct timespec end = deadline_in(timeout_ms);
	bool ok;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		ok = reqs ? *reqs >= n : *waiting >= n;
		if (ok || pthread_cond_timedwait(&s->cond, &s->lock, &end) ==
				  ETIMEDOUT) {
			ok = reqs ? *reqs >= n : *waiting >= n;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}

bool fake_http_wait_count(struct fake_http *s, unsigned n, int timeout_ms)
{
	return wait_for(s, &s->n_reqs, NULL, n, timeout_ms);
}

bool fake_http_wait_waiting(struct fake_http *s, unsigned n, int timeout_ms)
{
	return wait_for(s, NULL, &s->waiting, n, timeout_ms);
}

const struct fake_http_request *fake_http_request(struct fake_http *s,
						  unsigned i)
{
	const struct fake_http_request *q = NULL;

	pthread_mutex_lock(&s->lock);
	if (i < s->n_reqs)
		q = s->reqs[i];
	pthread_mutex_unlock(&s->lock);
	return q;
}
