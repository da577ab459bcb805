#ifndef CTRL_FAKE_HTTP_H
#define CTRL_FAKE_HTTP_H

/*
 * fake_http: a scripted HTTP/1.1 server for unit tests of the API client
 * and the informer, named in a test file with " * FAKES: fake_http". It
 * listens on 127.0.0.1 (port 0, so the kernel picks a free one), accepts
 * any number of connections (one thread each), keeps them alive across
 * sequential requests, records every request (method, target, headers,
 * body) and answers from a script:
 *
 *   - a handler callback, when set, builds the answer to each request;
 *   - else the next response of a FIFO queue (fake_http_push);
 *   - else the default: 503 with a Status body, or, after
 *     fake_http_hold_when_empty, a 200 chunked stream held open (an idle
 *     watch) until fake_http_release, the client disconnects or the
 *     server is freed.
 *
 * A response either has a plain body (Content-Length) or is a chunked
 * stream made of steps: chunks sent as they are (split anywhere the test
 * likes), pauses, and waits for fake_http_release. Status
 * FAKE_HTTP_DROP closes the connection after reading the request without
 * answering (a transport error for the client).
 *
 * Every loop is bounded: sockets are polled in 50 ms steps that check the
 * stop flag, so fake_http_free returns promptly even while streams are
 * held open or clients idle on keep-alive connections.
 *
 * Thread safety: all calls are thread-safe. Handlers run on connection
 * threads, so they must not use the unit CHECK macros (which longjmp).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_http;
struct fake_http_response;

struct fake_http_header {
	char *name;  /* as sent */
	char *value; /* leading and trailing blanks removed */
};

/* One recorded request; immutable once recorded, owned by the server. */
struct fake_http_request {
	unsigned seq;	   /* 0, 1, … in arrival order */
	unsigned conn;	   /* 0, 1, … in connection accept order */
	char method[16];
	char *target;	   /* path?query as sent */
	char *path;	   /* before '?' */
	char *query;	   /* after '?', "" when none */
	size_t n_headers;
	struct fake_http_header *headers;
	char *body;	   /* NUL-terminated, "" when none */
	size_t body_len;
};

/* Builds a response; the handler callback returns one (owned by the
 * server afterwards) or NULL to fall back to the queue. */
typedef struct fake_http_response *(*fake_http_handler_fn)(
	void *ctx, const struct fake_http_request *req);

/* ---- Life cycle ------------------------------------------------------ */

/* Binds 127.0.0.1:0 and starts the accept thread; aborts on failure. */
struct fake_http *fake_http_new(void);
/* Stops every thread (held streams are cut) and frees everything,
 * including responses still queued. NULL is a no-op. */
void fake_http_free(struct fake_http *s);
int fake_http_port(const struct fake_http *s);
/* "http://127.0.0.1:<port>", owned by the server. */
const char *fake_http_url(const struct fake_http *s);

/* ---- Script ---------------------------------------------------------- */

#define FAKE_HTTP_DROP 0 /* status: close without answering */

/* A new response with a status and no body. */
struct fake_http_response *fake_http_response_new(int status);
/* Adds a header line "Name: value" (no CRLF). */
void fake_http_response_header(struct fake_http_response *r,
			       const char *line);
/* A plain body sent with Content-Length (copied). */
void fake_http_response_body(struct fake_http_response *r, const char *body);
/* Stream steps; their presence makes the answer chunked. Each chunk is
 * sent as one HTTP chunk (copied). */
void fake_http_response_chunk(struct fake_http_response *r, const char *data,
			      size_t n);
void fake_http_response_pause(struct fake_http_response *r, int ms);
/* Waits for one fake_http_release (or a disconnect, or the server's end). */
void fake_http_response_wait(struct fake_http_response *r);
/* After the steps, close the connection instead of ending the chunked
 * body (a cut stream). */
void fake_http_response_cut(struct fake_http_response *r);
/* Sends "Connection: close" and closes after this answer. */
void fake_http_response_close(struct fake_http_response *r);
void fake_http_response_free(struct fake_http_response *r);

/* Appends r to the queue, taking it. */
void fake_http_push(struct fake_http *s, struct fake_http_response *r);
/* Shorthand: a JSON answer with Content-Length. */
void fake_http_push_json(struct fake_http *s, int status, const char *body);
void fake_http_set_handler(struct fake_http *s, fake_http_handler_fn fn,
			   void *ctx);
/* With the queue empty, answer a held-open empty 200 stream instead of
 * 503. */
void fake_http_hold_when_empty(struct fake_http *s, bool hold);
/* Lets one waiting step (now or later) proceed. */
void fake_http_release(struct fake_http *s);

/* ---- Assertions ------------------------------------------------------ */

/* Requests recorded so far. */
unsigned fake_http_count(struct fake_http *s);
/* Connections accepted so far. */
unsigned fake_http_connections(struct fake_http *s);
/* Requests answered by the default (nothing scripted). */
unsigned fake_http_unscripted(struct fake_http *s);
/* Waits until at least n requests were recorded, at most timeout_ms (a
 * hang guard); returns whether they were. */
bool fake_http_wait_count(struct fake_http *s, unsigned n, int timeout_ms);
/* Streams currently held in a wait step. */
unsigned fake_http_waiting(struct fake_http *s);
/* Waits until at least n streams sit in a wait step, at most timeout_ms. */
bool fake_http_wait_waiting(struct fake_http *s, unsigned n, int timeout_ms);
/* Request i (0-based), or NULL; valid until fake_http_free. */
const struct fake_http_request *fake_http_request(struct fake_http *s,
						  unsigned i);
/* The first value of a header (case-insensitive name), or NULL. */
const char *fake_http_header(const struct fake_http_request *req,
			     const char *name);
/* How many times a header appears. */
size_t fake_http_header_count(const struct fake_http_request *req,
			      const char *name);
/* The percent-decoded value of a query parameter, or NULL when absent;
 * owned by the caller (free). */
char *fake_http_query_param(const struct fake_http_request *req,
			    const char *key);

#endif /* CTRL_FAKE_HTTP_H */
