#ifndef CTRL_WEBHOOK_INTERNAL_H
#define CTRL_WEBHOOK_INTERNAL_H

/*
 * webhook_internal: what the webhook server's files share: the TLS
 * context holder with reload (webhook_tls.c) and one connection's
 * buffered I/O (TLS, or plain when ssl is NULL) plus HTTP/1.1 request
 * parsing (webhook_http.c). A struct webhook__io belongs to one thread at
 * a time: the worker serving it, or the server's poller while it is
 * parked; it changes hands under the server's lock.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include <openssl/ssl.h>

/* ---- TLS context and reload ------------------------------------------ */

struct webhook__tls {
	pthread_mutex_t lock;
	SSL_CTX *ctx;	       /* guarded by lock; one reference held here */
	char *cert_file;       /* owned */
	char *key_file;	       /* owned */
	struct stat cert_st;   /* of the loaded pair; accept thread only */
	struct stat key_st;    /* accept thread only */
	int64_t next_check_ns; /* accept thread only */
	atomic_uint reloads;
};

enum err webhook__tls_init(struct webhook__tls *t, const char *cert,
			   const char *key, struct errbuf *eb) ATTR_WUR;
void webhook__tls_release(struct webhook__tls *t);
/* A new SSL object on the current context (the SSL holds its own ref). */
SSL *webhook__tls_new_ssl(struct webhook__tls *t);
/* At most every interval_ms, reloads when either file changed. */
void webhook__tls_maybe_reload(struct webhook__tls *t, int interval_ms);

/* ---- One connection --------------------------------------------------- */

struct webhook__io {
	int fd;
	SSL *ssl;   /* NULL: plain HTTP on fd */
	char *rbuf; /* owned, rcap bytes; unread bytes are rbuf[rpos, rlen);
		     * may be NULL while the connection is parked (empty) */
	size_t rpos, rlen;
	size_t rcap;
	int idle_ms;	     /* longest wait for one byte */
	int64_t deadline_ns; /* current operation's deadline (monotonic) */
	const _Atomic int64_t *stop_ns; /* server's stop deadline, 0 if none */
};

struct webhook__http_req {
	char method[16];
	char path[512];	 /* target without the query string */
	char query[512]; /* after '?', "" when none */
	bool keep_alive;
	bool chunked;
	bool expect_continue;
	bool has_length;
	size_t content_length;
};

/* Maps a parse failure to the HTTP status sent before closing. */
struct webhook__http_err {
	int status; /* 400, 411, 413, 431, 501; 0 = close silently */
	const char *msg;
};

/* What webhook__io_wait_request found between two requests. */
enum webhook__wait {
	WEBHOOK__WAIT_READY,  /* request bytes buffered or arriving: serve */
	WEBHOOK__WAIT_IDLE,   /* nothing buffered anywhere: may be parked */
	WEBHOOK__WAIT_CLOSED, /* peer closed (FIN, close_notify) or error */
};

enum err webhook__io_handshake(struct webhook__io *io) ATTR_WUR;
/*
 * Between two requests: tries one read that never blocks and, while
 * nothing arrives, polls for up to wait_ms (0: no wait). IDLE means rbuf
 * is empty and the SSL holds no byte either, so polling fd for POLLIN is
 * enough to learn that the next request starts. READY when a byte is
 * buffered, including a partial TLS record (the caller then reads it
 * under the usual idle and request deadlines).
 */
enum webhook__wait webhook__io_wait_request(struct webhook__io *io,
					    int wait_ms);
enum err webhook__http_read_head(struct webhook__io *io, size_t max_header,
				 struct webhook__http_req *req,
				 struct webhook__http_err *he) ATTR_WUR;
enum err webhook__http_read_body(struct webhook__io *io,
				 const struct webhook__http_req *req,
				 size_t max_body, struct buf *body,
				 struct webhook__http_err *he) ATTR_WUR;
/* Half-closes and discards input for up to ms, after an error response. */
void webhook__io_linger(struct webhook__io *io, int ms);
enum err webhook__io_write(struct webhook__io *io, const char *p,
			   size_t n) ATTR_WUR;

#endif /* CTRL_WEBHOOK_INTERNAL_H */
