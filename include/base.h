#ifndef CTRL_BASE_H
#define CTRL_BASE_H

/*
 * base: the basics every file of svc-controllers uses. Included first by
 * every .c file. It holds the error enum and its detail buffer, logging,
 * a bounded byte buffer, the only sources of time, checked number parsing,
 * base64, randomness and allocation wrappers that abort on OOM.
 *
 * Thread safety: everything here is thread-safe except operations on one
 * struct buf or struct errbuf, which belong to one thread at a time.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Attributes and small macros ------------------------------------ */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_WUR __attribute__((warn_unused_result))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * TESTABLE marks a function that is file-local in the product but visible
 * to unit tests (curl's UNITTEST). Test builds define UNIT_TESTING.
 */
#ifdef UNIT_TESTING
#define TESTABLE
#else
#define TESTABLE static
#endif

/* Programmer errors only; never for data from the network or the disk. */
#define BUG_ON(cond)                                                         \
	do {                                                                 \
		if (cond)                                                    \
			base_bug(__FILE__, __LINE__, #cond);                 \
	} while (0)
ATTR_NORETURN void base_bug(const char *file, int line, const char *what);

/* ---- Allocation: abort on OOM, never return NULL -------------------- */

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Copies n bytes of s and adds a NUL. */
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Like asprintf, aborting on OOM. */
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* ---- Errors ---------------------------------------------------------- */

/*
 * One error enum for the project; zero is success. The HTTP mapping lives
 * in apiclient/ (apiclient.md §1.8). Detail travels beside the code in a
 * struct errbuf.
 */
#define ERR_MAP(X)                                                           \
	X(OK, "success")                                                     \
	X(INVALID, "invalid input")                                          \
	X(DECODE, "malformed document")                                      \
	X(TOO_LARGE, "size limit exceeded")                                  \
	X(IO, "input/output error")                                          \
	X(TRANSPORT, "transport error")                                      \
	X(TIMEOUT, "timed out")                                              \
	X(HTTP, "unexpected HTTP status")                                    \
	X(BAD_REQUEST, "bad request")                                        \
	X(UNAUTHORIZED, "unauthorized")                                      \
	X(FORBIDDEN, "forbidden")                                            \
	X(NOT_FOUND, "not found")                                            \
	X(ALREADY_EXISTS, "already exists")                                  \
	X(CONFLICT, "conflict")                                              \
	X(GONE, "resource version expired")                                  \
	X(UNPROCESSABLE, "rejected as invalid by the server")                \
	X(TOO_MANY_REQUESTS, "too many requests")                            \
	X(SERVER, "server error")                                            \
	X(EXHAUSTED, "range exhausted")                                      \
	X(DB, "database error")                                              \
	X(SHUTDOWN, "shutting down")

enum err {
#define ERR_ENUM(name, text) ERR_##name,
	ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
	ERR__COUNT
};

/* "ERR_CONFLICT" */
const char *err_name(enum err e);
/* "conflict" */
const char *err_str(enum err e);

/*
 * A one-line reason naming the subject, e.g.
 * "kubeconfig /x: users[0].user.token: expected a string".
 * Every function taking a struct errbuf * accepts NULL.
 */
#define ERRBUF_SIZE 512
struct errbuf {
	char msg[ERRBUF_SIZE]; /* NUL-terminated, "" when unset */
};
#define ERRBUF_INIT { { 0 } }

/* Formats into eb (if not NULL) and returns e, for "return errbuf_set(…)". */
enum err errbuf_set(struct errbuf *eb, enum err e, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
/* Prepends "prefix: " to the message already in eb. */
void errbuf_prefix(struct errbuf *eb, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Thread-safe strerror. */
const char *err_errno_str(int errnum, char *tmp, size_t tmplen);

/* ---- Logging --------------------------------------------------------- */

/*
 * klog-style lines on stderr, one write(2) per line so threads never
 * interleave. The macros test the level before evaluating arguments.
 * log_v(n, …) prints when the -v verbosity is at least n (info level).
 */
enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON = 1,
};

extern int log_verbosity;	  /* -v; 0 by default */
extern enum log_level log_level; /* INFO by default */

void log_set_format(enum log_format fmt);
/* Names the calling thread in its log lines (at most 15 characters). */
void log_set_thread_name(const char *name);
/* Redirects log output (tests); fd < 0 restores stderr. */
void log_set_fd(int fd);
void log_emit(enum log_level lvl, const char *file, int line, const char *fmt,
	      ...) ATTR_PRINTF(4, 5);

#define log_at(lvl, ...)                                                     \
	do {                                                                 \
		if ((lvl) <= log_level)                                      \
			log_emit((lvl), __FILE__, __LINE__, __VA_ARGS__);    \
	} while (0)
#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_v(n, ...)                                                        \
	do {                                                                 \
		if ((n) <= log_verbosity && LOG_LEVEL_INFO <= log_level)     \
			log_emit(LOG_LEVEL_INFO, __FILE__, __LINE__,         \
				 __VA_ARGS__);                               \
	} while (0)

/* ---- struct buf: a growable byte buffer with a hard maximum ---------- */

/*
 * Invariants: data is always NUL-terminated (data[len] == 0) once
 * initialised, even when len is 0; len <= max. A buffer belongs to one
 * thread at a time.
 */
struct buf {
	char *data;  /* owned; never NULL after buf_init */
	size_t len;  /* bytes used, excluding the NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* hard limit on len; adds beyond it fail */
};
#define BUF_MAX_DEFAULT ((size_t)64 << 20)

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Appends; ERR_TOO_LARGE (and nothing appended) when max would be passed. */
enum err buf_add(struct buf *b, const void *data, size_t n) ATTR_WUR;
enum err buf_adds(struct buf *b, const char *s) ATTR_WUR;
enum err buf_addf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3)
	ATTR_WUR;
/* Returns the owned string and leaves b empty (re-initialised). */
char *buf_detach(struct buf *b, size_t *len);

/* ---- Time: the only sources of time ---------------------------------- */

/* Wall clock in milliseconds since the epoch (timestamps on the wire). */
int64_t clock_now_ms(void);
/* Monotonic nanoseconds (intervals, deadlines). */
int64_t clock_mono_ns(void);
/* Sleeps on the monotonic clock; returns early only never. */
void clock_sleep_ms(int64_t ms);
struct timespec;
/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait. */
void clock_deadline_ts(int64_t ms, struct timespec *ts);

#define CLOCK_RFC3339_LEN 96
/*
 * Formats ms since the epoch as RFC 3339 UTC: "2026-11-22T18:00:00Z", or
 * with six fractional digits when micro is true (Kubernetes MicroTime).
 */
void clock_format_rfc3339(int64_t ms, bool micro, char out[CLOCK_RFC3339_LEN]);
/* Parses RFC 3339 (any fraction, Z or ±hh:mm) to ms since the epoch. */
enum err clock_parse_rfc3339(const char *s, int64_t *out_ms) ATTR_WUR;

/* ---- Checked number parsing (atoi and friends are banned) ------------ */

/* The whole string must be a base-10 integer within [min, max]. */
enum err str_to_ll(const char *s, long long min, long long max,
		   long long *out) ATTR_WUR;
enum err str_to_double(const char *s, double *out) ATTR_WUR;
bool str_has_prefix(const char *s, const char *prefix);
bool str_eq(const char *a, const char *b); /* NULL-safe */

/* ---- base64 (standard alphabet, padding) ----------------------------- */

void base64_encode(struct buf *out, const void *data, size_t n);
/* Skips whitespace; ERR_DECODE on any other non-alphabet byte. */
enum err base64_decode(struct buf *out, const char *s, size_t n) ATTR_WUR;

/* ---- Randomness (not for secrets) ------------------------------------ */

uint64_t rand_u64(void);
/* Uniform in [0, n); n > 0. */
uint64_t rand_below(uint64_t n);
/* Fills a 36-character lower-case v4 UUID plus NUL. */
void rand_uuid(char out[37]);

#include "banned.h"

#endif /* CTRL_BASE_H */
