/*
 * webhook_server: the admission webhook's HTTPS server (allocator.md
 * §8.4). One accept thread polls the listener, checks the certificate
 * files for rotation and queues accepted sockets; a fixed pool of workers
 * each serves one connection at a time (TLS handshake, then keep-alive
 * requests) and routes POST /mutate, GET /healthz, GET /readyz and, when
 * the owner gave a get callback, every other GET. Without a certificate
 * the same loop serves plain HTTP (the operations listener). A
 * worker drops an idle keep-alive connection early when other clients are
 * queued, so a few idle apiserver connections cannot starve the rest.
 *
 * Stop: the stop deadline is published first, then the accept thread is
 * joined and the listener closed; queued sockets are closed unserved;
 * workers finish the request in hand (their I/O is cut at the deadline),
 * answer it with Connection: close and exit.
 *
 * Locking: lock guards the queue; ready, stopping and stop_ns are atomics.
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

#define QUEUE_MAX 64
/* Idle keep-alive time after which a worker yields to queued clients. */
#define YIELD_IDLE_MS 200
/* How long an error response waits for the client to stop sending. */
#define LINGER_MS 1000

struct webhook {
	struct webhook_options o; /* copy; strings not used after new */
	int listen_fd;
	int port;
	bool tls_on;		 /* cert and key given; else plain HTTP */
	struct webhook__tls tls; /* initialised only when tls_on */
	pthread_t acceptor;
	pthread_t *workers; /* o.workers of them */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int queue[QUEUE_MAX]; /* guarded by lock; accepted sockets */
	unsigned qhead;	      /* guarded by lock */
	unsigned qlen;	      /* guarded by lock */
	atomic_bool ready;
	atomic_bool stopping;
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

/* An idle keep-alive connection yields at stop or when others wait. */
static bool should_leave(void *arg, int64_t idle_ns)
{
	struct webhook *w = arg;

	return atomic_load(&w->stopping) ||
	       (atomic_load(&w->queued) > 0 &&
		idle_ns >= (int64_t)YIELD_IDLE_MS * 1000000);
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
	/* One response buffer serves every request of a keep-alive
	 * connection: start each answer empty. */
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

static void serve_conn(struct webhook *w, int fd)
{
	struct webhook__io io = {
	    .fd = fd,
	    .idle_ms = w->o.idle_timeout_ms,
	    .stop_ns = &w->stop_ns,
	    .rcap = w->o.max_header + 1024,
	};
	struct response r;
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (w->tls_on) {
		io.ssl = webhook__tls_new_ssl(&w->tls);
		if (!io.ssl || SSL_set_fd(io.ssl, fd) != 1)
			goto out_free_ssl;
		/* Fails for plain HTTP, scanners and slow clients. */
		if (webhook__io_handshake(&io) != ERR_OK)
			goto out_free_ssl;
	}
	io.rbuf = xmalloc(io.rcap);
	buf_init(&r.body, 0);
	while (serve_one(w, &io, &r) &&
	       webhook__io_wait_request(&io, should_leave, w))
		;
	buf_release(&r.body);
	free(io.rbuf);
	if (io.ssl)
		(void)SSL_shutdown(io.ssl);
out_free_ssl:
	SSL_free(io.ssl);
	ERR_clear_error();
	(void)close(fd);
}

/* Next queued socket, or -1 when stopping. */
static int dequeue(struct webhook *w)
{
	int fd = -1;

	(void)pthread_mutex_lock(&w->lock);
	while (!w->qlen && !atomic_load(&w->stopping))
		(void)pthread_cond_wait(&w->cond, &w->lock);
	if (w->qlen && !atomic_load(&w->stopping)) {
		fd = w->queue[w->qhead];
		w->qhead = (w->qhead + 1) % QUEUE_MAX;
		w->qlen--;
		atomic_store(&w->queued, w->qlen);
	}
	(void)pthread_mutex_unlock(&w->lock);
	return fd;
}

static void *worker_main(void *arg)
{
	struct webhook *w = arg;
	int fd;

	log_set_thread_name("webhook");
	while ((fd = dequeue(w)) >= 0)
		serve_conn(w, fd);
	return NULL;
}

static void enqueue(struct webhook *w, int fd)
{
	bool full;

	(void)pthread_mutex_lock(&w->lock);
	full = w->qlen == QUEUE_MAX;
	if (!full) {
		w->queue[(w->qhead + w->qlen) % QUEUE_MAX] = fd;
		w->qlen++;
		atomic_store(&w->queued, w->qlen);
		(void)pthread_cond_signal(&w->cond);
	}
	(void)pthread_mutex_unlock(&w->lock);
	if (full) {
		/* Overload: refuse at TCP level; the apiserver retries. */
		log_v(1, "webhook: connection queue full, dropping a client");
		(void)close(fd);
	}
}

static void *accept_main(void *arg)
{
	struct webhook *w = arg;

	log_set_thread_name("webhook-accept");
	while (!atomic_load(&w->stopping)) {
		struct pollfd pfd = {.fd = w->listen_fd, .events = POLLIN};
		int fd;

		if (w->tls_on)
			webhook__tls_maybe_reload(&w->tls,
						  w->o.reload_interval_ms);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		/* accept4 is not POSIX; two fcntl calls are cheap enough. */
		fd = accept(w->listen_fd, NULL, NULL);
		if (fd >= 0 && (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
				fcntl(fd, F_SETFL, O_NONBLOCK) != 0)) {
			(void)close(fd);
			continue;
		}
		if (fd >= 0)
			enqueue(w, fd);
		else if (errno == EMFILE || errno == ENFILE)
			clock_sleep_ms(50); /* let workers close some */
	}
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
	BUG_ON(pthread_create(&w->acceptor, NULL, accept_main, w) != 0);
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
	BUG_ON(pthread_mutex_init(&w->lock, NULL) != 0);
	BUG_ON(pthread_cond_init(&w->cond, NULL) != 0);
	w->o.bind_address = NULL;
	w->o.cert_file = w->o.key_file = NULL;
	w->o.bind_flag = w->o.port_flag = NULL;
	start_threads(w);
	*out = w;
	return ERR_OK;
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
	(void)pthread_join(w->acceptor, NULL);
	(void)close(w->listen_fd);
	w->listen_fd = -1;
	for (unsigned i = 0; i < w->o.workers; i++)
		(void)pthread_join(w->workers[i], NULL);
	/* Accepted but never served: the clients see a closed connection. */
	for (; w->qlen; w->qlen--, w->qhead = (w->qhead + 1) % QUEUE_MAX)
		(void)close(w->queue[w->qhead]);
}

void webhook_free(struct webhook *w)
{
	if (!w)
		return;
	webhook_stop(w);
	free(w->workers);
	(void)pthread_cond_destroy(&w->cond);
	(void)pthread_mutex_destroy(&w->lock);
	if (w->tls_on)
		webhook__tls_release(&w->tls);
	free(w);
}
