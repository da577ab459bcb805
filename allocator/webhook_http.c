/*
 * webhook_http: one connection's I/O on a non-blocking socket (TLS, or
 * plain HTTP when the connection has no SSL object) and the
 * HTTP/1.1 request parser (Content-Length and chunked bodies, keep-alive,
 * Expect: 100-continue). Every wait is bounded twice: by the idle timeout
 * (no byte for idle_ms drops the client, so a slowloris holds a worker
 * for at most that long) and by the operation's deadline; after the server
 * starts stopping, also by its stop deadline.
 *
 * Between requests webhook__io_wait_request only peeks (one read that
 * never blocks, then a short poll), so the server can park an idle
 * keep-alive connection instead of keeping a worker waiting on it.
 *
 * Invariant: rbuf[rpos, rlen) holds bytes read but not yet consumed;
 * a request head must fit in rbuf. One thread per connection at a time.
 */
#include "base.h"
#include "webhook.h"

#include <errno.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "webhook_internal.h"

/* Longest poll slice, so a stop is noticed while a client is silent. */
#define SLICE_MS       100
#define CHUNK_LINE_MAX 1024

static int64_t ms_to_ns(int64_t ms)
{
	return ms * 1000000;
}

/* Waits for the socket; ERR_TIMEOUT when the client or the clock ran out. */
static enum err io_poll(struct webhook__io *io, short events)
{
	int64_t idle_end = clock_mono_ns() + ms_to_ns(io->idle_ms);

	for (;;) {
		int64_t now = clock_mono_ns(),
			end = MIN(idle_end, io->deadline_ns);
		int64_t stop = atomic_load(io->stop_ns);
		struct pollfd pfd = {.fd = io->fd, .events = events};
		int r;

		if (stop)
			end = MIN(end, stop);
		if (now >= end)
			return ERR_TIMEOUT;
		r = poll(&pfd, 1,
			 (int)MIN((end - now) / 1000000 + 1, SLICE_MS));
		if (r > 0)
			return ERR_OK;
		if (r < 0 && errno != EINTR)
			return ERR_TRANSPORT;
	}
}

/* Runs an SSL call until it completes; >0 bytes or an error. */
static enum err ssl_retry(struct webhook__io *io, int r)
{
	switch (SSL_get_error(io->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return io_poll(io, POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return io_poll(io, POLLOUT);
	case SSL_ERROR_ZERO_RETURN:
		return ERR_IO; /* clean close */
	default:
		ERR_clear_error();
		return ERR_TRANSPORT;
	}
}

enum err webhook__io_handshake(struct webhook__io *io)
{
	enum err e;
	int r;

	io->deadline_ns = clock_mono_ns() + ms_to_ns(io->idle_ms);
	do {
		ERR_clear_error();
		r = SSL_accept(io->ssl);
		if (r == 1)
			return ERR_OK;
		e = ssl_retry(io, r);
	} while (e == ERR_OK);
	return e;
}

/* recv/send result r: ERR_OK to retry after polling, or the error. */
static enum err plain_retry(struct webhook__io *io, ssize_t r, short events)
{
	if (r == 0)
		return ERR_IO; /* clean close (recv only) */
	if (errno == EINTR)
		return ERR_OK;
	if (errno != EAGAIN && errno != EWOULDBLOCK)
		return ERR_TRANSPORT;
	return io_poll(io, events);
}

static enum err plain_read(struct webhook__io *io, char *p, size_t n,
			   size_t *got)
{
	enum err e;

	do {
		ssize_t r = recv(io->fd, p, n, 0);

		if (r > 0) {
			*got = (size_t)r;
			return ERR_OK;
		}
		e = plain_retry(io, r, POLLIN);
	} while (e == ERR_OK);
	return e;
}

static enum err plain_write(struct webhook__io *io, const char *p, size_t n)
{
	enum err e = ERR_OK;

	while (n && e == ERR_OK) {
		ssize_t r = send(io->fd, p, n, MSG_NOSIGNAL);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else {
			e = r == 0 ? ERR_TRANSPORT
				   : plain_retry(io, r, POLLOUT);
		}
	}
	return e;
}

static enum err io_read(struct webhook__io *io, char *p, size_t n, size_t *got)
{
	enum err e;
	int r;

	if (!io->ssl)
		return plain_read(io, p, n, got);
	do {
		ERR_clear_error();
		r = SSL_read(io->ssl, p, (int)MIN(n, (size_t)INT_MAX));
		if (r > 0) {
			*got = (size_t)r;
			return ERR_OK;
		}
		e = ssl_retry(io, r);
	} while (e == ERR_OK);
	return e;
}

enum err webhook__io_write(struct webhook__io *io, const char *p, size_t n)
{
	enum err e = ERR_OK;

	if (!io->ssl)
		return plain_write(io, p, n);
	/* SIGPIPE is blocked in the server's threads; EPIPE is an error. */
	while (n && e == ERR_OK) {
		int r;

		ERR_clear_error();
		r = SSL_write(io->ssl, p, (int)MIN(n, (size_t)1 << 20));
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else {
			e = ssl_retry(io, r);
		}
	}
	return e;
}

void webhook__io_linger(struct webhook__io *io, int ms)
{
	int64_t end = clock_mono_ns() + ms_to_ns(ms);
	char tmp[16384];

	/* Closing with unread input makes the kernel send a reset, which can
	 * destroy our error response before the client reads it; so half-close
	 * and discard what the client is still sending, for a bounded time. */
	(void)shutdown(io->fd, SHUT_WR);
	for (;;) {
		int64_t now = clock_mono_ns();
		struct pollfd pfd = {.fd = io->fd, .events = POLLIN};

		if (now >= end ||
		    poll(&pfd, 1, (int)((end - now) / 1000000 + 1)) <= 0)
			return;
		if (recv(io->fd, tmp, sizeof(tmp), 0) <= 0)
			return;
	}
}

/* Reads more into rbuf, compacting first; ERR_TOO_LARGE when full. */
static enum err fill(struct webhook__io *io)
{
	size_t got = 0;
	enum err e;

	if (io->rpos) {
		memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
		io->rlen -= io->rpos;
		io->rpos = 0;
	}
	if (io->rlen >= io->rcap)
		return ERR_TOO_LARGE;
	e = io_read(io, io->rbuf + io->rlen, io->rcap - io->rlen, &got);
	if (e == ERR_OK)
		io->rlen += got;
	return e;
}

/* One read into rbuf that never waits: READY (bytes added, or TLS wants
 * to write first), IDLE (nothing to read yet) or CLOSED. */
static enum webhook__wait try_fill(struct webhook__io *io)
{
	char *p = io->rbuf + io->rlen;
	size_t n = io->rcap - io->rlen;
	int r;

	if (!io->ssl) {
		ssize_t got = recv(io->fd, p, n, 0);

		if (got > 0)
			io->rlen += (size_t)got;
		if (got >= 0)
			return got ? WEBHOOK__WAIT_READY : WEBHOOK__WAIT_CLOSED;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
			   ? WEBHOOK__WAIT_IDLE
			   : WEBHOOK__WAIT_CLOSED;
	}
	ERR_clear_error();
	r = SSL_read(io->ssl, p, (int)MIN(n, (size_t)INT_MAX));
	if (r > 0) {
		io->rlen += (size_t)r;
		return WEBHOOK__WAIT_READY;
	}
	switch (SSL_get_error(io->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		/* A whole non-application record (a ticket, a key update) was
		 * consumed, or nothing came: idle unless a partial record is
		 * left in the SSL's buffer. */
		return SSL_has_pending(io->ssl) ? WEBHOOK__WAIT_READY
						: WEBHOOK__WAIT_IDLE;
	case SSL_ERROR_WANT_WRITE:
		/* Parking would strand the pending write; the request path
		 * waits for POLLOUT under its deadlines. */
		return WEBHOOK__WAIT_READY;
	default:
		ERR_clear_error();
		return WEBHOOK__WAIT_CLOSED;
	}
}

enum webhook__wait webhook__io_wait_request(struct webhook__io *io, int wait_ms)
{
	int64_t end = clock_mono_ns() + ms_to_ns(wait_ms);

	for (;;) {
		struct pollfd pfd = {.fd = io->fd, .events = POLLIN};
		enum webhook__wait st;
		int64_t now;

		if (io->rpos < io->rlen ||
		    (io->ssl && SSL_has_pending(io->ssl)))
			return WEBHOOK__WAIT_READY;
		io->rpos = io->rlen = 0; /* empty: compact for free */
		st = try_fill(io);
		now = clock_mono_ns();
		if (st != WEBHOOK__WAIT_IDLE || now >= end)
			return st;
		if (poll(&pfd, 1, (int)((end - now) / 1000000 + 1)) < 0 &&
		    errno != EINTR)
			return WEBHOOK__WAIT_CLOSED;
	}
}

/* Finds the end of the head ("\r\n\r\n"); its length including it. */
static size_t head_len(const struct webhook__io *io)
{
	const char *p = io->rbuf + io->rpos;
	size_t n = io->rlen - io->rpos;

	for (size_t i = 3; i < n; i++)
		if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' &&
		    p[i - 3] == '\r')
			return i + 1;
	return 0;
}

static enum err set_err(struct webhook__http_err *he, int status,
			const char *msg)
{
	he->status = status;
	he->msg = msg;
	return ERR_BAD_REQUEST;
}

static enum err parse_request_line(char *line, struct webhook__http_req *req,
				   struct webhook__http_err *he)
{
	char *sp1 = strchr(line, ' '), *sp2, *q;

	if (!sp1 || !(sp2 = strchr(sp1 + 1, ' ')))
		return set_err(he, 400, "malformed request line");
	*sp1 = *sp2 = 0;
	if (strlen(line) >= sizeof(req->method) ||
	    strlen(sp1 + 1) >= sizeof(req->path))
		return set_err(he, 400, "request line too long");
	if (str_eq(sp2 + 1, "HTTP/1.1"))
		req->keep_alive = true;
	else if (!str_eq(sp2 + 1, "HTTP/1.0"))
		return set_err(he, 400, "unsupported HTTP version");
	(void)snprintf(req->method, sizeof(req->method), "%s", line);
	(void)snprintf(req->path, sizeof(req->path), "%s", sp1 + 1);
	q = strchr(req->path, '?');
	if (q) {
		/* The apiserver adds ?timeout=10s; Prometheus may add more. */
		*q = 0;
		(void)snprintf(req->query, sizeof(req->query), "%s", q + 1);
	}
	return ERR_OK;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

static enum err parse_length(const char *v, struct webhook__http_req *req,
			     struct webhook__http_err *he)
{
	long long n;

	if (v[0] < '0' || v[0] > '9' ||
	    str_to_ll(v, 0, LLONG_MAX, &n) != ERR_OK)
		return set_err(he, 400, "bad Content-Length");
	if (req->has_length && req->content_length != (size_t)n)
		return set_err(he, 400, "conflicting Content-Length");
	req->has_length = true;
	req->content_length = (size_t)n;
	return ERR_OK;
}

static enum err parse_header(char *line, struct webhook__http_req *req,
			     struct webhook__http_err *he)
{
	char *colon = strchr(line, ':'), *v;

	if (!colon || colon == line)
		return set_err(he, 400, "malformed header");
	*colon = 0;
	v = trim(colon + 1);
	if (strcasecmp(line, "Content-Length") == 0)
		return parse_length(v, req, he);
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return set_err(he, 501,
				       "unsupported Transfer-Encoding");
		req->chunked = true;
	} else if (strcasecmp(line, "Connection") == 0) {
		if (strcasecmp(v, "close") == 0)
			req->keep_alive = false;
		else if (strcasecmp(v, "keep-alive") == 0)
			req->keep_alive = true;
	} else if (strcasecmp(line, "Expect") == 0) {
		if (strcasecmp(v, "100-continue") != 0)
			return set_err(he, 417, "unsupported Expect");
		req->expect_continue = true;
	}
	return ERR_OK;
}

static enum err parse_head(char *head, struct webhook__http_req *req,
			   struct webhook__http_err *he)
{
	char *line = head, *eol;
	enum err e;
	bool first = true;

	while ((eol = strstr(line, "\r\n")) && eol != line) {
		*eol = 0;
		if (memchr(line, 0, (size_t)(eol - line)) != NULL)
			return set_err(he, 400, "NUL in header");
		e = first ? parse_request_line(line, req, he)
			  : parse_header(line, req, he);
		if (e != ERR_OK)
			return e;
		first = false;
		line = eol + 2;
	}
	/* Both framings at once is how requests are smuggled (RFC 9112 §6.1).
	 */
	if (req->chunked && req->has_length)
		return set_err(he, 400, "both Content-Length and chunked");
	return first ? set_err(he, 400, "empty request") : ERR_OK;
}

enum err webhook__http_read_head(struct webhook__io *io, size_t max_header,
				 struct webhook__http_req *req,
				 struct webhook__http_err *he)
{
	size_t n;
	enum err e;

	memset(req, 0, sizeof(*req));
	he->status = 0;
	while ((n = head_len(io)) == 0) {
		if (io->rlen - io->rpos >= max_header)
			return set_err(he, 431, "request header too large");
		e = fill(io);
		if (e == ERR_TOO_LARGE)
			return set_err(he, 431, "request header too large");
		if (e != ERR_OK)
			return e;
	}
	if (n > max_header)
		return set_err(he, 431, "request header too large");
	/* The head ends in "\r\n\r\n"; make it a string in place. */
	io->rbuf[io->rpos + n - 1] = 0;
	if (memchr(io->rbuf + io->rpos, 0, n - 1))
		e = set_err(he, 400, "NUL in request head");
	else
		e = parse_head(io->rbuf + io->rpos, req, he);
	io->rpos += n;
	return e;
}

/* Appends n body bytes: first those buffered, then straight from TLS. */
static enum err read_exact(struct webhook__io *io, struct buf *body, size_t n)
{
	char tmp[16384];
	enum err e = ERR_OK;

	while (n && e == ERR_OK) {
		size_t got = MIN(n, io->rlen - io->rpos);

		if (got) {
			e = buf_add(body, io->rbuf + io->rpos, got);
			io->rpos += got;
		} else {
			e = io_read(io, tmp, MIN(n, sizeof(tmp)), &got);
			if (e == ERR_OK)
				e = buf_add(body, tmp, got);
		}
		n -= got;
	}
	return e;
}

/* Reads one CRLF-terminated line of at most CHUNK_LINE_MAX into line. */
static enum err read_line(struct webhook__io *io, char *line)
{
	for (;;) {
		char *p = io->rbuf + io->rpos;
		size_t avail = io->rlen - io->rpos;
		char *nl = memchr(p, '\n', MIN(avail, CHUNK_LINE_MAX));
		enum err e;

		if (nl) {
			size_t n = (size_t)(nl - p);

			if (n && p[n - 1] == '\r')
				n--;
			memcpy(line, p, n);
			line[n] = 0;
			io->rpos += (size_t)(nl - p) + 1;
			return ERR_OK;
		}
		if (avail >= CHUNK_LINE_MAX)
			return ERR_TOO_LARGE;
		e = fill(io);
		if (e != ERR_OK)
			return e;
	}
}

static enum err chunk_size(const char *line, size_t *out)
{
	char *end;
	unsigned long long n;

	if (!((line[0] >= '0' && line[0] <= '9') ||
	      (line[0] >= 'a' && line[0] <= 'f') ||
	      (line[0] >= 'A' && line[0] <= 'F')))
		return ERR_INVALID;
	errno = 0;
	n = strtoull(line, &end, 16);
	if (errno || (*end && *end != ';' && *end != ' ') || n > SIZE_MAX / 2)
		return ERR_INVALID;
	*out = (size_t)n;
	return ERR_OK;
}

static enum err read_chunked(struct webhook__io *io, size_t max_body,
			     struct buf *body, struct webhook__http_err *he)
{
	char line[CHUNK_LINE_MAX + 1];
	size_t n;
	enum err e;

	for (;;) {
		if ((e = read_line(io, line)) != ERR_OK)
			return e == ERR_TOO_LARGE
				   ? set_err(he, 400, "chunk line too long")
				   : e;
		if (chunk_size(line, &n) != ERR_OK)
			return set_err(he, 400, "bad chunk size");
		if (n == 0)
			break;
		if (n > max_body - body->len)
			return set_err(he, 413, "request body too large");
		if ((e = read_exact(io, body, n)) != ERR_OK ||
		    (e = read_line(io, line)) != ERR_OK)
			return e;
		if (line[0])
			return set_err(he, 400, "bad chunk terminator");
	}
	/* Trailer fields, ignored, up to the empty line. */
	do {
		if ((e = read_line(io, line)) != ERR_OK)
			return e == ERR_TOO_LARGE
				   ? set_err(he, 400, "trailer too long")
				   : e;
	} while (line[0]);
	return ERR_OK;
}

enum err webhook__http_read_body(struct webhook__io *io,
				 const struct webhook__http_req *req,
				 size_t max_body, struct buf *body,
				 struct webhook__http_err *he)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	enum err e;

	he->status = 0;
	if (!req->chunked && req->content_length > max_body)
		return set_err(he, 413, "request body too large");
	if (req->expect_continue && (req->chunked || req->content_length) &&
	    (e = webhook__io_write(io, cont, sizeof(cont) - 1)) != ERR_OK)
		return e;
	if (req->chunked)
		return read_chunked(io, max_body, body, he);
	return read_exact(io, body, req->content_length);
}
