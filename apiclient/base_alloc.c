/*
 * base_alloc: allocation wrappers that abort on OOM (git's wrapper.c), so
 * no caller checks for NULL, and the error enum's tables. Stateless.
 */
#include "base.h"

#include <errno.h>
#include <unistd.h>

static ATTR_NORETURN void die_oom(size_t n)
{
	char msg[96];
	int len = snprintf(msg, sizeof(msg), "fatal: out of memory (%zu bytes)\n", n);

	if (len > 0 && write(2, msg, (size_t)len) < 0)
		abort();
	abort();
}

void base_bug(const char *file, int line, const char *what)
{
	char msg[512];
	int len = snprintf(msg, sizeof(msg), "BUG: %s:%d: %s\n", file, line, what);

	if (len > 0 && write(2, msg, (size_t)MIN((size_t)len, sizeof(msg) - 1)) < 0)
		abort();
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_oom(n);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		die_oom(nmemb * size);
	return p;
}

void *xrealloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);

	if (!p)
		die_oom(n);
	return p;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *xmemdup(const void *src, size_t n)
{
	void *p = xmalloc(n);

	if (n)
		memcpy(p, src, n);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_list ap2;
	int n;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	BUG_ON(n < 0);
	p = xmalloc((size_t)n + 1);
	(void)vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

static const char *const err_names[] = {
#define ERR_NAME(name, text) "ERR_" #name,
	ERR_MAP(ERR_NAME)
#undef ERR_NAME
};

static const char *const err_texts[] = {
#define ERR_TEXT(name, text) text,
	ERR_MAP(ERR_TEXT)
#undef ERR_TEXT
};

const char *err_name(enum err e)
{
	if ((unsigned)e >= ERR__COUNT)
		return "ERR_UNKNOWN";
	return err_names[e];
}

const char *err_str(enum err e)
{
	if ((unsigned)e >= ERR__COUNT)
		return "unknown error";
	return err_texts[e];
}

enum err errbuf_set(struct errbuf *eb, enum err e, const char *fmt, ...)
{
	va_list ap;

	if (!eb)
		return e;
	va_start(ap, fmt);
	(void)vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	return e;
}

void errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char old[ERRBUF_SIZE];
	size_t pos;
	va_list ap;
	int n;

	if (!eb)
		return;
	memcpy(old, eb->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	n = vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	if (n < 0 || !old[0])
		return;
	pos = MIN((size_t)n, sizeof(eb->msg) - 1);
	/* Truncation is fine: the message is a one-line reason. */
	for (const char *p = ": "; *p && pos + 1 < sizeof(eb->msg); p++)
		eb->msg[pos++] = *p;
	for (const char *p = old; *p && pos + 1 < sizeof(eb->msg); p++)
		eb->msg[pos++] = *p;
	eb->msg[pos] = '\0';
}

const char *err_errno_str(int errnum, char *tmp, size_t tmplen)
{
	/* XSI strerror_r under _POSIX_C_SOURCE=200809L returns int. */
	if (strerror_r(errnum, tmp, tmplen) != 0)
		(void)snprintf(tmp, tmplen, "errno %d", errnum);
	return tmp;
}
