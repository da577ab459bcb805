/*
 * base_str: checked number parsing (atoi is banned), string predicates and
 * a thread-safe random source seeded from the kernel. The generator is
 * xoshiro256** behind a mutex: not for secrets, fine for jitter and picks.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

enum err str_to_ll(const char *s, long long min, long long max,
		   long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return ERR_INVALID;
	if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
		return ERR_INVALID;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return ERR_INVALID;
	*out = v;
	return ERR_OK;
}

enum err str_to_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return ERR_INVALID;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end)
		return ERR_INVALID;
	*out = v;
	return ERR_OK;
}

bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static pthread_mutex_t rand_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rand_state[4];
static bool rand_seeded;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void seed(void)
{
	uint64_t s = (uint64_t)clock_mono_ns() ^ ((uint64_t)getpid() << 32);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		uint64_t r;

		if (read(fd, &r, sizeof(r)) == (ssize_t)sizeof(r))
			s ^= r;
		close(fd);
	}
	for (int i = 0; i < 4; i++)
		rand_state[i] = splitmix(&s);
	rand_seeded = true;
}

uint64_t rand_u64(void)
{
	uint64_t *st = rand_state;
	uint64_t result;
	uint64_t t;

	pthread_mutex_lock(&rand_lock);
	if (!rand_seeded)
		seed();
	result = rotl(st[1] * 5, 7) * 9;
	t = st[1] << 17;
	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	pthread_mutex_unlock(&rand_lock);
	return result;
}

uint64_t rand_below(uint64_t n)
{
	uint64_t limit;
	uint64_t r;

	BUG_ON(n == 0);
	/* Rejection sampling removes the modulo bias. */
	limit = UINT64_MAX - UINT64_MAX % n;
	do {
		r = rand_u64();
	} while (r >= limit);
	return r % n;
}

void rand_uuid(char out[37])
{
	uint64_t hi = rand_u64();
	uint64_t lo = rand_u64();

	hi = (hi & ~0xf000ULL) | 0x4000ULL;		   /* version 4 */
	lo = (lo & ~(3ULL << 62)) | (2ULL << 62);	   /* variant 10 */
	(void)snprintf(out, 37, "%08llx-%04llx-%04llx-%04llx-%012llx",
		       (unsigned long long)(hi >> 32),
		       (unsigned long long)((hi >> 16) & 0xffff),
		       (unsigned long long)(hi & 0xffff),
		       (unsigned long long)(lo >> 48),
		       (unsigned long long)(lo & 0xffffffffffffULL));
}
