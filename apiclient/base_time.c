/*
 * base_time: RFC 3339 formatting and parsing by civil-date arithmetic
 * (Howard Hinnant's days-from-civil), UTC only, so no timezone database,
 * locale or non-reentrant libc is involved. Pure functions.
 */
#include "base.h"

#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe;
	unsigned doy;
	unsigned doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe;
	unsigned yoe;
	unsigned doy;
	unsigned mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void clock_format_rfc3339(int64_t ms, bool micro, char out[CLOCK_RFC3339_LEN])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t frac = ms - secs * 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	int64_t y;
	unsigned m;
	unsigned d;

	civil_from_days(days, &y, &m, &d);
	if (micro)
		(void)snprintf(out, CLOCK_RFC3339_LEN,
			       "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lld000Z",
			       (long long)y, m, d, (long long)(rem / 3600),
			       (long long)(rem / 60 % 60), (long long)(rem % 60),
			       (long long)frac);
	else
		(void)snprintf(out, CLOCK_RFC3339_LEN,
			       "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
			       (long long)y, m, d, (long long)(rem / 3600),
			       (long long)(rem / 60 % 60), (long long)(rem % 60));
}

/* Reads exactly n digits at *p. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c && !(c == 'T' && (**p == 't' || **p == ' ')))
		return false;
	(*p)++;
	return true;
}

static bool parse_fraction(const char **p, int *ms)
{
	int scale = 100;

	*ms = 0;
	if (**p != '.')
		return true;
	(*p)++;
	if (**p < '0' || **p > '9')
		return false;
	while (**p >= '0' && **p <= '9') {
		*ms += (**p - '0') * scale;
		scale /= 10;
		(*p)++;
	}
	return true;
}

static bool parse_offset(const char **p, int *off_s)
{
	int hh;
	int mm;
	int sign;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*off_s = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (!digits(p, 2, &hh) || !expect(p, ':') || !digits(p, 2, &mm))
		return false;
	*off_s = sign * (hh * 3600 + mm * 60);
	return true;
}

enum err clock_parse_rfc3339(const char *s, int64_t *out_ms)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, ms, off;

	if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) ||
	    !expect(&p, '-') || !digits(&p, 2, &d) || !expect(&p, 'T') ||
	    !digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) ||
	    !expect(&p, ':') || !digits(&p, 2, &sec) ||
	    !parse_fraction(&p, &ms) || !parse_offset(&p, &off) || *p)
		return ERR_INVALID;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return ERR_INVALID;
	*out_ms = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
		   (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off) * 1000 + ms;
	return ERR_OK;
}

/* Real time, not base_clock.c: condition variables wait on CLOCK_REALTIME,
 * and tests that fake the clock still get working timed waits. */
void clock_deadline_ts(int64_t ms, struct timespec *ts)
{
	(void)clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

