/*
 * base_log: klog-style log lines on stderr, e.g.
 *   I1122 18:00:00.123456   12 reflector.c:88] watch started kind=Pod rv=42
 * or one JSON object per line with --log-format=json. Each line is built in
 * a stack buffer and written with one write(2), so threads never interleave.
 * The level check happens in the macros, before arguments are evaluated.
 */
#include "base.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

int log_verbosity;
enum log_level log_level = LOG_LEVEL_INFO;

static enum log_format log_fmt = LOG_FORMAT_TEXT;
static int log_fd = 2;
static _Thread_local char thread_name[16];

void log_set_format(enum log_format fmt)
{
	log_fmt = fmt;
}

void log_set_thread_name(const char *name)
{
	(void)snprintf(thread_name, sizeof(thread_name), "%s", name);
}

void log_set_fd(int fd)
{
	log_fd = fd < 0 ? 2 : fd;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Appends s to line as a JSON string body (no quotes). */
static size_t json_escape(char *line, size_t pos, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s && pos + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			line[pos++] = '\\';
			line[pos++] = (char)c;
		} else if (c < 0x20) {
			line[pos++] = '\\';
			line[pos++] = 'u';
			line[pos++] = '0';
			line[pos++] = '0';
			line[pos++] = hex[c >> 4];
			line[pos++] = hex[c & 15];
		} else {
			line[pos++] = (char)c;
		}
	}
	return pos;
}

static void emit_line(const char *line, size_t len)
{
	while (len > 0) {
		ssize_t n = write(log_fd, line, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

static size_t format_text(char *line, size_t cap, enum log_level lvl,
			  const char *file, int lineno, const char *msg)
{
	static const char letters[] = "EWID";
	struct timespec ts;
	struct tm tm;
	int n;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	(void)gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, cap, "%c%02d%02d %02d:%02d:%02d.%06ld %s %s:%d] %s",
		     letters[lvl], tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
		     thread_name[0] ? thread_name : "main", basename_of(file),
		     lineno, msg);
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

static size_t format_json(char *line, size_t cap, enum log_level lvl,
			  const char *file, int lineno, const char *msg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char ts[CLOCK_RFC3339_LEN];
	size_t pos;
	int n;

	clock_format_rfc3339(clock_now_ms(), true, ts);
	n = snprintf(line, cap,
		     "{\"ts\":\"%s\",\"level\":\"%s\",\"thread\":\"%s\","
		     "\"caller\":\"%s:%d\",\"msg\":\"",
		     ts, names[lvl], thread_name[0] ? thread_name : "main",
		     basename_of(file), lineno);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	pos = json_escape(line, (size_t)n, cap, msg);
	if (pos + 2 < cap) {
		line[pos++] = '"';
		line[pos++] = '}';
	}
	return pos;
}

void log_emit(enum log_level lvl, const char *file, int lineno,
	      const char *fmt, ...)
{
	char msg[2048];
	char line[4096];
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((unsigned)lvl > LOG_LEVEL_DEBUG)
		lvl = LOG_LEVEL_DEBUG;
	if (log_fmt == LOG_FORMAT_JSON)
		len = format_json(line, sizeof(line) - 1, lvl, file, lineno, msg);
	else
		len = format_text(line, sizeof(line) - 1, lvl, file, lineno, msg);
	line[len++] = '\n';
	emit_line(line, len);
}
