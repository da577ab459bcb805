/*
 * webhook_server: the admission webhook's HTTPS server (allocator.md
 * §8.4), also the plain-HTTP operations listener when no certificate is
 * given. Routes POST /mutate, GET /healthz, GET /readyz and, when the
 * owner gave a get callback, every other GET.
 *
 * Threads: one poller (the accept thread) and a fixed pool of workers.
 * The poller polls the listener, a self-pipe and every parked connection,
 * and checks the certificate files for rotation. Workers take connections
 * from one FIFO work queue: a new one gets its TLS handshake, then each
 * takes requests while one is buffered or arrives promptly. A connection
 * that goes idle between requests is parked: handed to the poller (the
 * self-pipe wakes it), and the worker takes the next queued connection.
 * A parked connection that turns readable goes back on the work queue
 * with its read buffer and SSL state; one the peer closed, or idle for
 * longer than idle_timeout_ms, is closed by the poller.
 *
 * Why: the kube-apiserver's Go client keeps one keep-alive connection per
 * concurrent admission call and reuses them at any time. An idle
 * connection must not hold a worker, or a few of them starve the rest;
 * and the server must not close one just because it is busy, since a
 * POST written into a connection we close fails with "broken pipe" and Go
 * does not retry it. So a keep-alive connection is closed only after
 * idle_timeout_ms without a request (ordinary keep-alive expiry, which
 * clients handle), at stop, after an answer sent with Connection: close,
 * or on a client error.
 *
 * Overload: a new TCP connection finding QUEUE_MAX connections queued is
 * accepted and closed at once (the apiserver retries); a parked one with
 * a request waiting is always queued. Past PARK_MAX parked connections,
 * the one idle longest leaves (closed, or queued if a request waits).
 *
 * Stop: the stop deadline is published first, then the poller is woken
 * and joined (it closes the parked connections) and the listener closed;
 * queued connections are closed unserved; workers finish the request in
 * hand (their I/O is cut at the deadline), answer it with Connection:
 * close and exit.
 *
 * Locking: lock guards the work queue and the hand-off list; a connection
 * belongs to whichever thread took it from one of them. The parked set
 * belongs to the poller (to webhook_stop once it is joined). ready,
 * stopping, stop_ns and queued are atomics.
 */
#include "base.h"
#include "webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "webhook_internal.h"

/* Connections waiting for a worker, new or resumed. */
#define QUEUE_MAX 64
/* Idle keep-alive connections the poller watches. */
#define PARK_MAX 1024
/* How long a worker waits for a client's next request before parking the
 * connection; 0 while other connections are queued. */
#define PROMPT_MS 5
/* The poller's longest sleep: idle expiry and reload checks. */
#define TICK_MS 100
/* New connections taken per poller wake-up, so parked ones stay served. */
#define ACCEPT_BATCH 16
/* How long an error response waits for the client to stop sending. */
#define LINGER_MS 1000

/* One client connection, owned by one thread at a time (see the top). */
struct conn {
	struct webhook__io io; /* rbuf NULL while parked */
	bool started;	       /* TLS handshake done, or plain HTTP */
	int64_t idle_since_ns; /* end of the last response (monotonic) */
	struct conn *next;     /* in the work queue or the hand-off list */
};

struct webhook {
	struct webhook_options o; /* copy; strings not used after new */
	int listen_fd;		  /* non-blocking */
	int port;
	bool tls_on;		 /* cert and key given; else plain HTTP */
	struct webhook__tls tls; /* initialised only when tls_on */
	pthread_t poller;
	pthread_t *workers; /* o.workers of them */
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* work queued, or stopping */
	struct conn *qhead;   /* guarded by lock; work queue, FIFO */
	struct conn *qtail;   /* guarded by lock */
	unsigned qlen;	      /* guarded by lock */
	struct conn *handoff; /* guarded by lock; parked, not yet polled */
	int wake[2];	      /* self-pipe to the poller, non-blocking */
	struct conn *parked[PARK_MAX];	  /* poller only */
	unsigned nparked;		  /* poller only */
	struct pollfd pfds[PARK_MAX + 2]; /* poller only; listener, pipe */
	atomic_bool ready;
	atomic_bool stopping;	 /* set under lock */
	_Atomic int64_t stop_ns; /* monotonic stop deadline, 0 = running */
	atomic_uint queued;	 /* qlen, readable without the lock */
	bool stopped;		 /* webhook_stop owner only */
};

struct response {
	int status;
	const char *type;
	struct buf body;
};

static void set_defaults(struct webhook_options *o)
{
	if (!o->bind_address || !o->bind_address[0])
		o->bind_address = "0.0.0.0";
	if (!o->workers)
		o->workers = 4;
	if (!o->max_body)
		o->max_body = WEBHOOK_MAX_BODY_DEFAULT;
	if (!o->max_header)
		o->max_header = 16384;
	if (o->idle_timeout_ms <= 0)
		o->idle_timeout_ms = 10000;
	if (o->request_timeout_ms <= 0)
		o->request_timeout_ms = 30000;
	if (o->reload_interval_ms <= 0)
		o->reload_interval_ms = 10000;
	if (o->stop_grace_ms <= 0)
		o->stop_grace_ms = 5000;
	if (!o->bind_flag)
		o->bind_flag = "--webhook-bind-address";
	if (!o->port_flag)
		o->port_flag = "--webhook-port";
}

static const char *status_text(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

static enum err send_response(struct webhook__io *io, struct response *r,
			      bool keep_alive)
{
	struct buf head;
	enum err e;

	buf_init(&head, 1024);
	e = buf_addf(&head,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
		     r->status, status_text(r->status), r->type, r->body.len,
		     keep_alive ? "keep-alive" : "close");
	if (e == ERR_OK)
		e = webhook__io_write(io, head.data, head.len);
	if (e == ERR_OK)
		e = webhook__io_write(io, r->body.data, r->body.len);
	buf_release(&head);
	return e;
}

static void text(struct response *r, int status, const char *msg)
{
	r->status = status;
	r->type = "text/plain; charset=utf-8";
	buf_reset(&r->body);
	BUG_ON(buf_addf(&r->body, "%s\n", msg) != ERR_OK);
}

static void mutate(struct webhook *w, const struct buf *body,
		   struct response *r)
{
	struct webhook_request req;
	struct webhook_response resp;
	struct errbuf eb = ERRBUF_INIT;

	if (webhook_request_decode(body->data, body->len, &req, &eb) !=
	    ERR_OK) {
		/* The message names a field, never the body's content. */
		log_v(1, "webhook: rejected review: %s", eb.msg);
		text(r, 400, eb.msg);
		return;
	}
	webhook_response_init(&resp);
	w->o.mutate(w->o.ctx, &req, &resp);
	log_v(2,
	      "webhook: review uid=%s op=%s service=%s/%s allowed=%d ops=%zu",
	      req.uid, webhook_operation_name(req.operation), req.namespace,
	      req.name, resp.allowed, resp.patch.n);
	r->status = 200;
	r->type = "application/json";
	webhook_response_encode(&resp, req.uid, &r->body);
	webhook_response_release(&resp);
	webhook_request_release(&req);
}

/* The owner's page for a GET of any other path. */
static void get_page(struct webhook *w, const struct webhook__http_req *req,
		     struct response *r)
{
	const char *type = NULL;

	buf_reset(&r->body);
	r->status = w->o.get(w->o.ctx, req->path, req->query, &r->body, &type);
	r->type = type ? type : "text/plain; charset=utf-8";
}

static void route(struct webhook *w, const struct webhook__http_req *req,
		  const struct buf *body, struct response *r)
{
	bool get = str_eq(req->method, "GET");
	bool mutate_path = str_eq(req->path, "/mutate");

	if (mutate_path && w->o.mutate) {
		if (str_eq(req->method, "POST"))
			mutate(w, body, r);
		else
			text(r, 405, "use POST");
	} else if (str_eq(req->path, "/healthz")) {
		text(r, get ? 200 : 405, get ? "ok" : "use GET");
	} else if (str_eq(req->path, "/readyz")) {
		/* A standby is alive but not ready for admission. */
		if (!get)
			text(r, 405, "use GET");
		else if (atomic_load(&w->ready))
			text(r, 200, "ok");
		else
			text(r, 503, "not ready");
	} else if (get && w->o.get && !mutate_path) {
		get_page(w, req, r);
	} else {
		text(r, 404, "not found");
	}
}

/* Serves one request; false when the connection must close. */
static bool serve_one(struct webhook *w, struct webhook__io *io,
		      struct response *r)
{
	struct webhook__http_req req;
	struct webhook__http_err he = {0, NULL};
	struct buf body;
	enum err e;
	bool keep;

	io->deadline_ns =
	    clock_mono_ns() + (int64_t)w->o.request_timeout_ms * 1000000;
	/* The worker's one response buffer serves every request it
	 * answers: start each answer empty. */
	buf_reset(&r->body);
	e = webhook__http_read_head(io, w->o.max_header, &req, &he);
	buf_init(&body, w->o.max_body);
	if (e == ERR_OK)
		e = webhook__http_read_body(io, &req, w->o.max_body, &body,
					    &he);
	if (e == ERR_OK)
		route(w, &req, &body, r);
	else if (he.status)
		text(r, he.status, he.msg);
	buf_release(&body);
	if (e != ERR_OK && !he.status)
		return false; /* timeout or transport: nothing to answer */
	keep = e == ERR_OK && req.keep_alive && !atomic_load(&w->stopping);
	io->deadline_ns =
	    clock_mono_ns() + (int64_t)w->o.request_timeout_ms * 1000000;
	if (send_response(io, r, keep) != ERR_OK)
		return false;
	if (he.status) {
		if (io->ssl)
			(void)SSL_shutdown(io->ssl);
		webhook__io_linger(io, LINGER_MS);
	}
	return keep;
}

static struct conn *conn_new(struct webhook *w, int fd)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->io.fd = fd;
	c->io.idle_ms = w->o.idle_timeout_ms;
	c->io.stop_ns = &w->stop_ns;
	c->io.rcap = w->o.max_header + 1024;
	c->started = !w->tls_on;
	c->idle_since_ns = clock_mono_ns();
	return c;
}

static void conn_close(struct conn *c)
{
	if (c->io.ssl && c->started)
		(void)SSL_shutdown(c->io.ssl);
	SSL_free(c->io.ssl);
	ERR_clear_error();
	(void)close(c->io.fd);
	free(c->io.rbuf);
	free(c);
}

static void close_list(struct conn *c)
{
	while (c) {
		struct conn *next = c->next;

		conn_close(c);
		c = next;
	}
}

static bool handshake(struct webhook *w, struct conn *c)
{
	c->io.ssl = webhook__tls_new_ssl(&w->tls);
	if (!c->io.ssl || SSL_set_fd(c->io.ssl, c->io.fd) != 1)
		return false;
	/* Parked connections keep their SSL: let it drop idle buffers. */
	(void)SSL_set_mode(c->io.ssl, SSL_MODE_RELEASE_BUFFERS);
	/* Fails for plain HTTP, scanners and slow clients. */
	c->started = webhook__io_handshake(&c->io) == ERR_OK;
	return c->started;
}

static void wake_poller(struct webhook *w)
{
	/* Full pipe: the poller has a wake-up pending anyway. */
	if (write(w->wake[1], "", 1) < 0 && errno != EAGAIN)
		log_warn("webhook: cannot wake the poller: errno=%d", errno);
}

/* Hands an idle connection to the poller; closes it when stopping. */
static void park(struct webhook *w, struct conn *c)
{
	bool stopping;

	free(c->io.rbuf); /* empty when idle */
	c->io.rbuf = NULL;
	c->io.rpos = c->io.rlen = 0;
	(void)pthread_mutex_lock(&w->lock);
	stopping = atomic_load(&w->stopping);
	if (!stopping) {
		c->next = w->handoff;
		w->handoff = c;
	}
	(void)pthread_mutex_unlock(&w->lock);
	if (stopping)
		conn_close(c);
	else
		wake_poller(w);
}

/* Serves c until it goes idle (parked) or must close (closed). */
static void serve_conn(struct webhook *w, struct conn *c, struct response *r)
{
	if (!c->started && !handshake(w, c))
		goto out_close;
	if (!c->io.rbuf)
		c->io.rbuf = xmalloc(c->io.rcap);
	while (!atomic_load(&w->stopping)) {
		int wait = atomic_load(&w->queued) ? 0 : PROMPT_MS;

		switch (webhook__io_wait_request(&c->io, wait)) {
		case WEBHOOK__WAIT_READY:
			if (!serve_one(w, &c->io, r))
				goto out_close;
			c->idle_since_ns = clock_mono_ns();
			break;
		case WEBHOOK__WAIT_IDLE:
			park(w, c);
			return;
		case WEBHOOK__WAIT_CLOSED:
			goto out_close;
		}
	}
out_close:
	conn_close(c);
}

/* Next queued connection, or NULL when stopping. */
static struct conn *dequeue(struct webhook *w)
{
	struct conn *c = NULL;

	(void)pthread_mutex_lock(&w->lock);
	while (!w->qlen && !atomic_load(&w->stopping))
		(void)pthread_cond_wait(&w->cond, &w->lock);
	if (w->qlen && !atomic_load(&w->stopping)) {
		c = w->qhead;
		w->qhead = c->next;
		if (!w->qhead)
			w->qtail = NULL;
		w->qlen--;
		atomic_store(&w->queued, w->qlen);
	}
	(void)pthread_mutex_unlock(&w->lock);
	return c;
}

static void *worker_main(void *arg)
{
	struct webhook *w = arg;
	struct response r;
	struct conn *c;

	log_set_thread_name("webhook");
	buf_init(&r.body, 0);
	while ((c = dequeue(w)) != NULL)
		serve_conn(w, c, &r);
	buf_release(&r.body);
	return NULL;
}

/* Queues c for a worker. A new connection is refused when the queue is
 * full; a resumed one has a request waiting and is always queued. */
static void enqueue(struct webhook *w, struct conn *c, bool is_new)
{
	bool refuse;

	(void)pthread_mutex_lock(&w->lock);
	refuse = is_new && w->qlen >= QUEUE_MAX;
	if (!refuse) {
		c->next = NULL;
		if (w->qtail)
			w->qtail->next = c;
		else
			w->qhead = c;
		w->qtail = c;
		w->qlen++;
		atomic_store(&w->queued, w->qlen);
		(void)pthread_cond_signal(&w->cond);
	}
	(void)pthread_mutex_unlock(&w->lock);
	if (refuse) {
		/* Overload: refuse at TCP level; the apiserver retries. */
		log_v(1, "webhook: connection queue full, dropping a client");
		conn_close(c);
	}
}

/* Takes up to ACCEPT_BATCH waiting connections off the listener. */
static void accept_new(struct webhook *w)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		/* accept4 is not POSIX; two fcntl calls are cheap enough. */
		int fd = accept(w->listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				clock_sleep_ms(50); /* let workers close some */
			return;
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
		    fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
			(void)close(fd);
			continue;
		}
		enqueue(w, conn_new(w, fd), true);
	}
}

static void unpark_at(struct webhook *w, unsigned i)
{
	w->parked[i] = w->parked[--w->nparked];
}

/* Adds c to the parked set; when full, the longest idle one leaves it:
 * closed, or queued if its next request is already waiting. */
static void add_parked(struct webhook *w, struct conn *c)
{
	unsigned old = 0;
	char b;

	if (w->nparked == PARK_MAX) {
		for (unsigned i = 1; i < w->nparked; i++)
			if (w->parked[i]->idle_since_ns <
			    w->parked[old]->idle_since_ns)
				old = i;
		if (recv(w->parked[old]->io.fd, &b, 1, MSG_PEEK) > 0) {
			enqueue(w, w->parked[old], false);
		} else {
			log_v(1, "webhook: %d parked, closing the oldest",
			      PARK_MAX);
			conn_close(w->parked[old]);
		}
		unpark_at(w, old);
	}
	w->parked[w->nparked++] = c;
}

static void take_handoff(struct webhook *w)
{
	struct conn *c;

	(void)pthread_mutex_lock(&w->lock);
	c = w->handoff;
	w->handoff = NULL;
	(void)pthread_mutex_unlock(&w->lock);
	while (c) {
		struct conn *next = c->next;

		add_parked(w, c);
		c = next;
	}
}

/* The peer closed: readable with nothing to read. */
static bool peer_closed(int fd)
{
	char b;
	ssize_t r = recv(fd, &b, 1, MSG_PEEK);

	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			  errno != EINTR);
}

/* Acts on one parked connection after poll; false when it left the set. */
static bool check_parked(struct webhook *w, struct conn *c, short revents,
			 int64_t now)
{
	if (revents & (POLLERR | POLLHUP | POLLNVAL) ||
	    (revents & POLLIN && peer_closed(c->io.fd))) {
		conn_close(c);
		return false;
	}
	if (revents & POLLIN) {
		enqueue(w, c, false);
		return false;
	}
	if (now - c->idle_since_ns >= (int64_t)w->o.idle_timeout_ms * 1000000) {
		/* Ordinary keep-alive expiry, which clients expect. */
		conn_close(c);
		return false;
	}
	return true;
}

static void poll_once(struct webhook *w)
{
	unsigned n = w->nparked;
	int64_t now;

	w->pfds[0] = (struct pollfd){.fd = w->listen_fd, .events = POLLIN};
	w->pfds[1] = (struct pollfd){.fd = w->wake[0], .events = POLLIN};
	for (unsigned i = 0; i < n; i++)
		w->pfds[2 + i] = (struct pollfd){.fd = w->parked[i]->io.fd,
						 .events = POLLIN};
	if (poll(w->pfds, n + 2, TICK_MS) < 0) {
		if (errno != EINTR)
			clock_sleep_ms(TICK_MS);
		return;
	}
	if (w->pfds[1].revents) {
		char tmp[256];

		while (read(w->wake[0], tmp, sizeof(tmp)) > 0)
			;
	}
	now = clock_mono_ns();
	/* Downwards, so unpark_at only moves entries already looked at. */
	for (unsigned i = n; i-- > 0;)
		if (!check_parked(w, w->parked[i], w->pfds[2 + i].revents, now))
			unpark_at(w, i);
	if (w->pfds[0].revents)
		accept_new(w);
}

static void *poller_main(void *arg)
{
	struct webhook *w = arg;

	log_set_thread_name("webhook-accept");
	while (!atomic_load(&w->stopping)) {
		if (w->tls_on)
			webhook__tls_maybe_reload(&w->tls,
						  w->o.reload_interval_ms);
		take_handoff(w);
		poll_once(w);
	}
	/* Stop: idle keep-alive connections are closed now. */
	for (unsigned i = 0; i < w->nparked; i++)
		conn_close(w->parked[i]);
	w->nparked = 0;
	return NULL;
}

static enum err resolve(const char *addr, int port, struct sockaddr_storage *ss,
			socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return ERR_OK;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return ERR_OK;
	}
	return ERR_INVALID;
}

static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static enum err listen_on(struct webhook *w, struct errbuf *eb)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	char tmp[128];

	if (w->o.port < 0 || w->o.port > 65535 ||
	    resolve(w->o.bind_address, w->o.port, &ss, &len) != ERR_OK)
		return errbuf_set(
		    eb, ERR_INVALID,
		    "%s %s %s %d: want a numeric address and a port in 0..65535",
		    w->o.bind_flag, w->o.bind_address, w->o.port_flag,
		    w->o.port);
	w->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (w->listen_fd < 0)
		goto out_errno;
	(void)setsockopt(w->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one,
			 sizeof(one));
	if (bind(w->listen_fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(w->listen_fd, 128) != 0)
		goto out_errno;
	/* Non-blocking, so the poller's accept loop stops when empty. */
	if (fcntl(w->listen_fd, F_SETFL, O_NONBLOCK) != 0)
		goto out_errno;
	w->port = bound_port(w->listen_fd);
	return ERR_OK;
out_errno:
	(void)errbuf_set(eb, ERR_IO, "%s %s %s %d: listen: %s", w->o.bind_flag,
			 w->o.bind_address, w->o.port_flag, w->o.port,
			 err_errno_str(errno, tmp, sizeof(tmp)));
	if (w->listen_fd >= 0)
		(void)close(w->listen_fd);
	w->listen_fd = -1;
	return ERR_IO;
}

/* The poller's self-pipe, both ends non-blocking and close-on-exec. */
static enum err open_wake_pipe(struct webhook *w, struct errbuf *eb)
{
	char tmp[128];

	if (pipe(w->wake) != 0)
		return errbuf_set(eb, ERR_IO, "webhook: pipe: %s",
				  err_errno_str(errno, tmp, sizeof(tmp)));
	for (int i = 0; i < 2; i++) {
		(void)fcntl(w->wake[i], F_SETFD, FD_CLOEXEC);
		(void)fcntl(w->wake[i], F_SETFL, O_NONBLOCK);
	}
	return ERR_OK;
}

/* Threads inherit a blocked SIGPIPE: a peer that vanished mid-write
 * must cost an EPIPE, not the process. */
static void start_threads(struct webhook *w)
{
	sigset_t pipe, old;

	(void)sigemptyset(&pipe);
	(void)sigaddset(&pipe, SIGPIPE);
	BUG_ON(pthread_sigmask(SIG_BLOCK, &pipe, &old) != 0);
	w->workers = xcalloc(w->o.workers, sizeof(*w->workers));
	for (unsigned i = 0; i < w->o.workers; i++)
		BUG_ON(pthread_create(&w->workers[i], NULL, worker_main, w) !=
		       0);
	BUG_ON(pthread_create(&w->poller, NULL, poller_main, w) != 0);
	BUG_ON(pthread_sigmask(SIG_SETMASK, &old, NULL) != 0);
}

enum err webhook_new(const struct webhook_options *o, struct webhook **out,
		     struct errbuf *eb)
{
	struct webhook *w;
	enum err e = ERR_OK;

	if (!o->cert_file != !o->key_file)
		return errbuf_set(eb, ERR_INVALID, "%s requires %s",
				  o->cert_file ? "--tls-cert-file"
					       : "--tls-private-key-file",
				  o->cert_file ? "--tls-private-key-file"
					       : "--tls-cert-file");
	w = xcalloc(1, sizeof(*w));
	w->o = *o;
	set_defaults(&w->o);
	w->listen_fd = -1;
	w->tls_on = o->cert_file != NULL;
	if (w->tls_on)
		e = webhook__tls_init(&w->tls, o->cert_file, o->key_file, eb);
	if (e != ERR_OK)
		goto out_free;
	e = listen_on(w, eb);
	if (e != ERR_OK)
		goto out_release_tls;
	e = open_wake_pipe(w, eb);
	if (e != ERR_OK)
		goto out_close_listener;
	BUG_ON(pthread_mutex_init(&w->lock, NULL) != 0);
	BUG_ON(pthread_cond_init(&w->cond, NULL) != 0);
	w->o.bind_address = NULL;
	w->o.cert_file = w->o.key_file = NULL;
	w->o.bind_flag = w->o.port_flag = NULL;
	start_threads(w);
	*out = w;
	return ERR_OK;
out_close_listener:
	(void)close(w->listen_fd);
out_release_tls:
	if (w->tls_on)
		webhook__tls_release(&w->tls);
out_free:
	free(w);
	return e;
}

int webhook_port(const struct webhook *w)
{
	return w->port;
}

void webhook_set_ready(struct webhook *w, bool ready)
{
	atomic_store(&w->ready, ready);
}

unsigned webhook_reloads(const struct webhook *w)
{
	return w->tls_on ? atomic_load(&w->tls.reloads) : 0;
}

void webhook_stop(struct webhook *w)
{
	if (w->stopped)
		return;
	w->stopped = true;
	atomic_store(&w->stop_ns,
		     clock_mono_ns() + (int64_t)w->o.stop_grace_ms * 1000000);
	(void)pthread_mutex_lock(&w->lock);
	atomic_store(&w->stopping, true);
	(void)pthread_cond_broadcast(&w->cond);
	(void)pthread_mutex_unlock(&w->lock);
	wake_poller(w);
	(void)pthread_join(w->poller, NULL);
	(void)close(w->listen_fd);
	w->listen_fd = -1;
	for (unsigned i = 0; i < w->o.workers; i++)
		(void)pthread_join(w->workers[i], NULL);
	/* Queued but never served, or parked after the poller left: the
	 * clients see a closed connection. */
	close_list(w->qhead);
	w->qhead = w->qtail = NULL;
	w->qlen = 0;
	close_list(w->handoff);
	w->handoff = NULL;
}

void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	webhook_stop(w);
	free(w->workers);
	(void)close(w->wake[0]);
	(void)close(w->wake[1]);
	(void)pthread_cond_destroy(&w->cond);
	(void)pthread_mutex_destroy(&w->lock);
	if (w->tls_on)
		webhook__tls_release(&w->tls);
	free(w);
}
