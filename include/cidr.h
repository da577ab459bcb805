#ifndef CTRL_CIDR_H
#define CTRL_CIDR_H

/*
 * cidr: IP addresses, CIDR prefixes and the two range flags of
 * kube-apiserver that svc-controllers mirrors (allocator.md §8.1):
 * --service-cluster-ip-range (one CIDR, or two of different families,
 * comma-separated) and --service-node-port-range ("N1-N2", inclusive).
 *
 * All types are value structs with visible fields; nothing here allocates.
 * Invariants: a struct cidr_addr holds 4 meaningful bytes (IPv4, in
 * bytes[0..3], the rest zero) or 16 (IPv6); a struct cidr parsed by
 * cidr_parse() has no host bits set. Parsing is strict: no spaces, no
 * IPv4 leading zeros (upstream's ParseCIDRSloppy accepts them), no IPv6
 * zones.
 *
 * Thread safety: every function is thread-safe (no shared state).
 */

enum cidr_family {
	CIDR_FAMILY_V4 = 4,
	CIDR_FAMILY_V6 = 6,
};

struct cidr_addr {
	enum cidr_family family;
	uint8_t bytes[16]; /* network byte order; IPv4 uses bytes[0..3] */
};

struct cidr {
	struct cidr_addr addr; /* the network address: host bits are zero */
	unsigned prefix;       /* 0..32 (IPv4) or 0..128 (IPv6) */
};

/* Room for any formatted address or CIDR, including the NUL. */
#define CIDR_ADDR_STRLEN 46
#define CIDR_STRLEN 50

/* The largest service range the flag accepts: 20 host bits (upstream
 * validateMaxCIDRRange, maxCIDRBits = 20; allocator.md §2.2). */
#define CIDR_SERVICE_MAX_HOST_BITS 20

/* ---- Addresses -------------------------------------------------------- */

/*
 * Parses a dotted-quad IPv4 or an RFC 4291 IPv6 address. ERR_INVALID with
 * "invalid IP address: <s>" in eb otherwise.
 */
enum err cidr_addr_parse(const char *s, struct cidr_addr *out,
			 struct errbuf *eb) ATTR_WUR;
/* Canonical text: "10.96.0.1", "fd00::1" (RFC 5952). */
void cidr_addr_format(const struct cidr_addr *a, char out[CIDR_ADDR_STRLEN]);
bool cidr_addr_equal(const struct cidr_addr *a, const struct cidr_addr *b);
/* 32 or 128. */
unsigned cidr_family_bits(enum cidr_family f);

/* ---- Prefixes --------------------------------------------------------- */

/*
 * Parses "addr/prefix". ERR_INVALID with a message naming s when the text
 * is not a CIDR ("invalid CIDR address: <s>") or when host bits are set
 * (upstream masks them silently; we refuse, since "10.96.0.1/12" is
 * almost always a typo for a different range).
 */
enum err cidr_parse(const char *s, struct cidr *out,
		    struct errbuf *eb) ATTR_WUR;
/* "10.96.0.0/12". */
void cidr_format(const struct cidr *c, char out[CIDR_STRLEN]);
/* 32 − prefix or 128 − prefix. */
unsigned cidr_host_bits(const struct cidr *c);
/* Same family and inside the prefix. */
bool cidr_contains(const struct cidr *c, const struct cidr_addr *a);

/* ---- Flags ------------------------------------------------------------ */

struct cidr_service_ranges {
	struct cidr cidrs[2]; /* [0] is the primary (default) family */
	size_t n;	      /* 1 or 2; with 2 the families differ */
};

/*
 * Parses a --service-cluster-ip-range value with kube-apiserver's rules
 * (cmd/kube-apiserver/app/options/validation.go validateClusterIPFlags):
 * one or two comma-separated CIDRs, each at most 20 host bits (IPv4 mask
 * >= 12, IPv6 mask >= 108), two of different families. ERR_INVALID with a
 * message naming the flag and the value; *out is written only on success.
 */
enum err cidr_parse_service_ranges(const char *value,
				   struct cidr_service_ranges *out,
				   struct errbuf *eb) ATTR_WUR;

struct cidr_port_range {
	uint32_t base; /* first port, 1..65535 */
	uint32_t size; /* number of ports; base + size − 1 <= 65535 */
};

/* Upstream's default, "30000-32767" (KEP-3668). */
#define CIDR_PORT_RANGE_DEFAULT { 30000, 2768 }
/* Room for "65535-65535" and its NUL. */
#define CIDR_PORT_RANGE_STRLEN 12

/*
 * Parses a --service-node-port-range value "N1-N2" (inclusive; surrounding
 * spaces are trimmed as upstream's PortRange.Set does). ERR_INVALID with a
 * message naming the flag and the value when it is not two decimal ports,
 * a port is outside 1..65535 or N2 < N1. *out is written only on success.
 */
enum err cidr_parse_port_range(const char *value, struct cidr_port_range *out,
			       struct errbuf *eb) ATTR_WUR;
/* "30000-32767". */
void cidr_port_range_format(const struct cidr_port_range *r,
			    char out[CIDR_PORT_RANGE_STRLEN]);

#endif /* CTRL_CIDR_H */
