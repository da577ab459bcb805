/*
 * cidr: parsing and formatting of IP addresses, CIDR prefixes and the two
 * range flags. Addresses go through inet_pton/inet_ntop, so the accepted
 * syntax is the C library's strict one; the flag rules and their messages
 * copy kube-apiserver's (allocator.md §2.2, §3.1, §8.1). No state, so no
 * locking.
 */
#include "base.h"
#include "cidr.h"

#include <arpa/inet.h>
#include <ctype.h>

#define SERVICE_FLAG "--service-cluster-ip-range"
#define PORT_FLAG "--service-node-port-range"

unsigned cidr_family_bits(enum cidr_family f)
{
	return f == CIDR_FAMILY_V4 ? 32 : 128;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Parses the n bytes at s as an address; no errbuf, callers word it. */
static bool parse_addr_n(const char *s, size_t n, struct cidr_addr *out)
{
	char tmp[CIDR_ADDR_STRLEN];
	struct cidr_addr a = {0};

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, a.bytes) == 1) {
		a.family = CIDR_FAMILY_V4;
	} else if (inet_pton(AF_INET6, tmp, a.bytes) == 1) {
		a.family = CIDR_FAMILY_V6;
	} else {
		return false;
	}
	*out = a;
	return true;
}

enum err cidr_addr_parse(const char *s, struct cidr_addr *out,
			 struct errbuf *eb)
{
	if (!parse_addr_n(s, strlen(s), out))
		return errbuf_set(eb, ERR_INVALID, "invalid IP address: %s", s);
	return ERR_OK;
}

/* The longest run of two or more zero groups, the first on a tie. */
static void zero_run(const uint16_t g[8], int *start, int *len)
{
	*start = -1;
	*len = 1;
	for (int i = 0; i < 8;) {
		int j = i;

		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > *len) {
			*start = i;
			*len = j - i;
		}
		i = j > i ? j : i + 1;
	}
}

/* RFC 5952 text, as Go's netip prints it: glibc's inet_ntop writes
 * "::0.1.0.0" for ::1:0, which no Kubernetes client would produce. */
static void format_v6(const uint8_t *b, char out[CIDR_ADDR_STRLEN])
{
	uint16_t g[8];
	int start, len;
	size_t n = 0;

	if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		(void)snprintf(out, CIDR_ADDR_STRLEN, "::ffff:%u.%u.%u.%u",
			       b[12], b[13], b[14], b[15]);
		return;
	}
	for (size_t i = 0; i < 8; i++)
		g[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
	zero_run(g, &start, &len);
	for (int i = 0; i < 8; i++) {
		if (i == start) {
			n += (size_t)snprintf(out + n, CIDR_ADDR_STRLEN - n,
					      "::");
			i += len - 1;
			continue;
		}
		n += (size_t)snprintf(out + n, CIDR_ADDR_STRLEN - n, "%s%x",
				      n && out[n - 1] != ':' ? ":" : "", g[i]);
	}
	out[n] = '\0';
}

void cidr_addr_format(const struct cidr_addr *a, char out[CIDR_ADDR_STRLEN])
{
	const uint8_t *b = a->bytes;

	if (a->family == CIDR_FAMILY_V6) {
		format_v6(b, out);
		return;
	}
	(void)snprintf(out, CIDR_ADDR_STRLEN, "%u.%u.%u.%u", b[0], b[1], b[2],
		       b[3]);
}

bool cidr_addr_equal(const struct cidr_addr *a, const struct cidr_addr *b)
{
	return a->family == b->family &&
	       memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

unsigned cidr_host_bits(const struct cidr *c)
{
	return cidr_family_bits(c->addr.family) - c->prefix;
}

/* The mask byte at index i for a prefix length. */
static uint8_t mask_byte(unsigned prefix, unsigned i)
{
	if (prefix >= 8 * (i + 1))
		return 0xff;
	if (prefix <= 8 * i)
		return 0;
	return (uint8_t)(0xff << (8 - (prefix - 8 * i)));
}

bool cidr_contains(const struct cidr *c, const struct cidr_addr *a)
{
	unsigned nbytes = cidr_family_bits(c->addr.family) / 8;

	if (a->family != c->addr.family)
		return false;
	for (unsigned i = 0; i < nbytes; i++) {
		uint8_t m = mask_byte(c->prefix, i);

		if ((a->bytes[i] & m) != (c->addr.bytes[i] & m))
			return false;
	}
	return true;
}

static bool has_host_bits(const struct cidr *c)
{
	unsigned nbytes = cidr_family_bits(c->addr.family) / 8;

	for (unsigned i = 0; i < nbytes; i++)
		if (c->addr.bytes[i] & (uint8_t)~mask_byte(c->prefix, i))
			return true;
	return false;
}

static void mask_host_bits(struct cidr *c)
{
	for (unsigned i = 0; i < sizeof(c->addr.bytes); i++)
		c->addr.bytes[i] &= mask_byte(c->prefix, i);
}

/* Decimal prefix length without sign or leading zeros, as Go's netip. */
static bool parse_prefix(const char *s, unsigned max, unsigned *out)
{
	size_t n = strlen(s);
	unsigned v = 0;

	if (!all_digits(s, n) || n > 3 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max)
		return false;
	*out = v;
	return true;
}

enum err cidr_parse(const char *s, struct cidr *out, struct errbuf *eb)
{
	const char *slash = strchr(s, '/');
	struct cidr c = {0};
	char net[CIDR_STRLEN];

	if (!slash || !parse_addr_n(s, (size_t)(slash - s), &c.addr) ||
	    !parse_prefix(slash + 1, cidr_family_bits(c.addr.family),
			  &c.prefix))
		return errbuf_set(eb, ERR_INVALID, "invalid CIDR address: %s",
				  s);
	if (has_host_bits(&c)) {
		mask_host_bits(&c);
		cidr_format(&c, net);
		return errbuf_set(eb, ERR_INVALID,
				  "%s has host bits set; the network is %s", s,
				  net);
	}
	*out = c;
	return ERR_OK;
}

void cidr_format(const struct cidr *c, char out[CIDR_STRLEN])
{
	char a[CIDR_ADDR_STRLEN];

	cidr_addr_format(&c->addr, a);
	(void)snprintf(out, CIDR_STRLEN, "%s/%u", a, c->prefix);
}

/* Upstream validateMaxCIDRRange (allocator.md §2.2). */
static enum err check_max_range(const struct cidr *c, const char *value,
				struct errbuf *eb)
{
	unsigned bits = cidr_family_bits(c->addr.family);

	if (cidr_host_bits(c) <= CIDR_SERVICE_MAX_HOST_BITS)
		return ERR_OK;
	return errbuf_set(eb, ERR_INVALID,
			  "invalid %s \"%s\": specified %s is too large; for %u-bit addresses, the mask must be >= %u",
			  SERVICE_FLAG, value, SERVICE_FLAG, bits,
			  bits - CIDR_SERVICE_MAX_HOST_BITS);
}

static enum err parse_one_range(const char *value, const char *s, size_t n,
				struct cidr *out, struct errbuf *eb)
{
	char *part = xstrndup(s, n);
	enum err e = cidr_parse(part, out, eb);

	free(part);
	if (e != ERR_OK) {
		errbuf_prefix(eb, "invalid %s \"%s\"", SERVICE_FLAG, value);
		return e;
	}
	return check_max_range(out, value, eb);
}

enum err cidr_parse_service_ranges(const char *value,
				   struct cidr_service_ranges *out,
				   struct errbuf *eb)
{
	struct cidr_service_ranges r = {0};
	const char *comma = strchr(value, ',');
	size_t first = comma ? (size_t)(comma - value) : strlen(value);
	enum err e;

	if (comma && strchr(comma + 1, ','))
		return errbuf_set(eb, ERR_INVALID,
				  "invalid %s \"%s\": %s must not contain more than two entries",
				  SERVICE_FLAG, value, SERVICE_FLAG);
	e = parse_one_range(value, value, first, &r.cidrs[0], eb);
	if (e != ERR_OK)
		return e;
	r.n = 1;
	if (comma) {
		e = parse_one_range(value, comma + 1, strlen(comma + 1),
				    &r.cidrs[1], eb);
		if (e != ERR_OK)
			return e;
		r.n = 2;
		if (r.cidrs[0].addr.family == r.cidrs[1].addr.family)
			return errbuf_set(
			    eb, ERR_INVALID,
			    "invalid %s \"%s\": %s[0] and %s[1] must be of different IP family",
			    SERVICE_FLAG, value, SERVICE_FLAG, SERVICE_FLAG);
	}
	*out = r;
	return ERR_OK;
}

/* A decimal port of at most 5 digits; range checks are the caller's. */
static bool parse_port(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (!all_digits(s, n) || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint32_t)(s[i] - '0');
	*out = v;
	return true;
}

/* The value without surrounding spaces, as upstream's strings.TrimSpace. */
static void trim(const char *value, const char **s, size_t *n)
{
	const char *p = value;
	size_t len;

	while (isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	*s = p;
	*n = len;
}

/* Messages after upstream's PortRange.Set (apimachinery util/net). */
enum err cidr_parse_port_range(const char *value, struct cidr_port_range *out,
			       struct errbuf *eb)
{
	const char *s, *dash;
	size_t n;
	uint32_t lo, hi;

	trim(value, &s, &n);
	dash = memchr(s, '-', n);
	if (!dash || !parse_port(s, (size_t)(dash - s), &lo) ||
	    !parse_port(dash + 1, n - (size_t)(dash + 1 - s), &hi))
		return errbuf_set(eb, ERR_INVALID,
				  "invalid %s \"%s\": unable to parse port range: %s",
				  PORT_FLAG, value, value);
	if (lo > 65535 || hi > 65535)
		return errbuf_set(eb, ERR_INVALID,
				  "invalid %s \"%s\": the port range cannot be greater than 65535: %s",
				  PORT_FLAG, value, value);
	if (lo == 0)
		return errbuf_set(eb, ERR_INVALID,
				  "invalid %s \"%s\": ports must be in 1..65535",
				  PORT_FLAG, value);
	if (hi < lo)
		return errbuf_set(eb, ERR_INVALID,
				  "invalid %s \"%s\": end port cannot be less than start port: %s",
				  PORT_FLAG, value, value);
	out->base = lo;
	out->size = hi - lo + 1;
	return ERR_OK;
}

void cidr_port_range_format(const struct cidr_port_range *r,
			    char out[CIDR_PORT_RANGE_STRLEN])
{
	(void)snprintf(out, CIDR_PORT_RANGE_STRLEN, "%u-%u", r->base,
		       r->base + r->size - 1);
}
