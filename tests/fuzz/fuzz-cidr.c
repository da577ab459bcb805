/*
 * fuzz-cidr: libFuzzer target for the cidr parsers. The input, as a
 * string, goes to the address, CIDR, --service-cluster-ip-range and
 * --service-node-port-range parsers. Whatever parses must format and
 * parse back to the same value, and a parsed service range must build an
 * ipalloc whose first and last addresses map back to their bits. Nothing
 * may crash, leak or read out of bounds.
 *
 * Build: hack/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "base.h"
#include "cidr.h"
#include "ipalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_addr(const char *s)
{
	struct cidr_addr a, b;
	char out[CIDR_ADDR_STRLEN];

	if (cidr_addr_parse(s, &a, NULL) != ERR_OK)
		return;
	cidr_addr_format(&a, out);
	BUG_ON(cidr_addr_parse(out, &b, NULL) != ERR_OK);
	BUG_ON(!cidr_addr_equal(&a, &b));
}

static void check_ipalloc(const struct cidr *c)
{
	struct ipalloc *ia = NULL;
	struct cidr_addr a;
	uint64_t i = 0;

	if (ipalloc_new(c, &ia, NULL) != ERR_OK)
		return;
	if (ipalloc_geom(ia)->max > 0) {
		ipalloc_addr_at(ia, ipalloc_geom(ia)->max - 1, &a);
		BUG_ON(!ipalloc_index(ia, &a, &i) ||
		       i != ipalloc_geom(ia)->max - 1);
		BUG_ON(ipalloc_allocate_next(ia, &a, NULL) != ERR_OK);
		BUG_ON(!ipalloc_has(ia, &a));
	}
	ipalloc_free(ia);
}

static void check_cidr(const char *s)
{
	struct cidr c, d;
	char out[CIDR_STRLEN];

	if (cidr_parse(s, &c, NULL) != ERR_OK)
		return;
	cidr_format(&c, out);
	BUG_ON(cidr_parse(out, &d, NULL) != ERR_OK);
	BUG_ON(!cidr_addr_equal(&c.addr, &d.addr) || c.prefix != d.prefix);
	BUG_ON(!cidr_contains(&c, &c.addr));
}

static void check_flags(const char *s)
{
	struct cidr_service_ranges r;
	struct cidr_port_range p;
	struct errbuf eb = ERRBUF_INIT;

	if (cidr_parse_service_ranges(s, &r, &eb) == ERR_OK) {
		BUG_ON(r.n < 1 || r.n > 2);
		for (size_t i = 0; i < r.n; i++)
			check_ipalloc(&r.cidrs[i]);
	} else {
		BUG_ON(eb.msg[0] == '\0');
	}
	eb.msg[0] = '\0';
	if (cidr_parse_port_range(s, &p, &eb) == ERR_OK)
		BUG_ON(p.base < 1 || p.size < 1 || p.base + p.size - 1 > 65535);
	else
		BUG_ON(eb.msg[0] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);

	check_addr(s);
	check_cidr(s);
	check_flags(s);
	free(s);
	return 0;
}
