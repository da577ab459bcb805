/*
 * Unit tests of cidr: address and prefix round trips, containment, host
 * bits, and the two flag parsers with every rejection naming the flag and
 * the value (allocator.md §2.2, §3.1, §8.1).
 */
#include "base.h"
#include "cidr.h"
#include "unit.h"

static void test_addr_round_trip(void)
{
	static const struct {
		const char *in, *out;
		enum cidr_family fam;
	} cases[] = {
	    {"10.96.0.1", "10.96.0.1", CIDR_FAMILY_V4},
	    {"0.0.0.0", "0.0.0.0", CIDR_FAMILY_V4},
	    {"255.255.255.255", "255.255.255.255", CIDR_FAMILY_V4},
	    {"fd00:0:0:0::1", "fd00::1", CIDR_FAMILY_V6},
	    {"::", "::", CIDR_FAMILY_V6},
	    {"FD00::ABCD", "fd00::abcd", CIDR_FAMILY_V6},
	    /* RFC 5952, as Go prints: not glibc's "::0.1.0.0". */
	    {"::1:0", "::1:0", CIDR_FAMILY_V6},
	    {"::1", "::1", CIDR_FAMILY_V6},
	    {"::ffff:10.0.0.1", "::ffff:10.0.0.1", CIDR_FAMILY_V6},
	    {"1:0:0:1:0:0:0:1", "1:0:0:1::1", CIDR_FAMILY_V6},
	    {"1:0:0:2:0:0:3:4", "1::2:0:0:3:4", CIDR_FAMILY_V6},
	    {"0:0:1:0:0:0:0:0", "0:0:1::", CIDR_FAMILY_V6},
	    {"1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7", CIDR_FAMILY_V6},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", CIDR_FAMILY_V6},
	    {"fd00:0:0:0:0:0:0:0", "fd00::", CIDR_FAMILY_V6},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr_addr a;
		char s[CIDR_ADDR_STRLEN];

		CHECK_OK(cidr_addr_parse(cases[i].in, &a, NULL));
		CHECK_INT_EQ(a.family, cases[i].fam);
		cidr_addr_format(&a, s);
		CHECK_STR_EQ(s, cases[i].out);
	}
}

static void test_addr_rejects(void)
{
	static const char *const bad[] = {
	    "", "10.0.0", "10.0.0.256", "010.0.0.1", " 10.0.0.1", "10.0.0.1 ",
	    "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "hello", "10.0.0.1/32",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct errbuf eb = ERRBUF_INIT;
		struct cidr_addr a;

		CHECK_ERR(cidr_addr_parse(bad[i], &a, &eb), ERR_INVALID);
		CHECK_CONTAINS(eb.msg, "invalid IP address");
	}
}

static void test_cidr_parse(void)
{
	static const struct {
		const char *in, *out;
		unsigned host_bits;
	} cases[] = {
	    {"10.96.0.0/12", "10.96.0.0/12", 20},
	    {"10.0.0.1/32", "10.0.0.1/32", 0},
	    {"0.0.0.0/0", "0.0.0.0/0", 32},
	    {"fd00:10:96::/112", "fd00:10:96::/112", 16},
	    {"fd00::1/128", "fd00::1/128", 0},
	    {"::/0", "::/0", 128},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr c;
		char s[CIDR_STRLEN];

		CHECK_OK(cidr_parse(cases[i].in, &c, NULL));
		cidr_format(&c, s);
		CHECK_STR_EQ(s, cases[i].out);
		CHECK_INT_EQ(cidr_host_bits(&c), cases[i].host_bits);
	}
}

static void test_cidr_rejects(void)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
	    {"10.0.0.0", "invalid CIDR address: 10.0.0.0"},
	    {"10.0.0.0/33", "invalid CIDR address: 10.0.0.0/33"},
	    {"10.0.0.0/", "invalid CIDR address: 10.0.0.0/"},
	    {"10.0.0.0/08", "invalid CIDR address: 10.0.0.0/08"},
	    {"10.0.0.0/+8", "invalid CIDR address: 10.0.0.0/+8"},
	    {"10.0.0.0/8/8", "invalid CIDR address: 10.0.0.0/8/8"},
	    {"/8", "invalid CIDR address: /8"},
	    {"fd00::/129", "invalid CIDR address: fd00::/129"},
	    {"10.96.0.1/12", "10.96.0.1/12 has host bits set; the network is 10.96.0.0/12"},
	    {"fd00::1/112", "fd00::1/112 has host bits set; the network is fd00::/112"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct errbuf eb = ERRBUF_INIT;
		struct cidr c;

		CHECK_ERR(cidr_parse(cases[i].in, &c, &eb), ERR_INVALID);
		CHECK_STR_EQ(eb.msg, cases[i].msg);
	}
}

static void test_contains(void)
{
	static const struct {
		const char *cidr, *ip;
		bool want;
	} cases[] = {
	    {"10.96.0.0/12", "10.96.0.0", true},
	    {"10.96.0.0/12", "10.111.255.255", true},
	    {"10.96.0.0/12", "10.112.0.0", false},
	    {"10.96.0.0/12", "10.95.255.255", false},
	    {"10.96.0.0/12", "::ffff:10.96.0.1", false},
	    {"fd00::/64", "fd00::ffff:ffff:ffff:ffff", true},
	    {"fd00::/64", "fd00:0:0:1::", false},
	    {"fd00::/64", "10.96.0.1", false},
	    {"0.0.0.0/0", "1.2.3.4", true},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr c;
		struct cidr_addr a;

		CHECK_OK(cidr_parse(cases[i].cidr, &c, NULL));
		CHECK_OK(cidr_addr_parse(cases[i].ip, &a, NULL));
		CHECK_INT_EQ(cidr_contains(&c, &a), cases[i].want);
	}
}

static void test_service_ranges(void)
{
	struct cidr_service_ranges r;
	char s[CIDR_STRLEN];

	CHECK_OK(cidr_parse_service_ranges("10.96.0.0/12", &r, NULL));
	CHECK_INT_EQ(r.n, 1);
	cidr_format(&r.cidrs[0], s);
	CHECK_STR_EQ(s, "10.96.0.0/12");

	CHECK_OK(cidr_parse_service_ranges("fd00::/108,10.96.0.0/16", &r,
					   NULL));
	CHECK_INT_EQ(r.n, 2);
	CHECK_INT_EQ(r.cidrs[0].addr.family, CIDR_FAMILY_V6);
	CHECK_INT_EQ(r.cidrs[1].addr.family, CIDR_FAMILY_V4);
	cidr_format(&r.cidrs[1], s);
	CHECK_STR_EQ(s, "10.96.0.0/16");
}

static void test_service_ranges_reject(void)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
	    {"", "invalid --service-cluster-ip-range \"\": invalid CIDR address: "},
	    {"10.96.0.0/11", "invalid --service-cluster-ip-range \"10.96.0.0/11\": specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12"},
	    {"fd00::/107", "invalid --service-cluster-ip-range \"fd00::/107\": specified --service-cluster-ip-range is too large; for 128-bit addresses, the mask must be >= 108"},
	    {"10.96.0.0/16,fd00::/64", "invalid --service-cluster-ip-range \"10.96.0.0/16,fd00::/64\": specified --service-cluster-ip-range is too large; for 128-bit addresses, the mask must be >= 108"},
	    {"10.96.0.0/16,10.97.0.0/16", "invalid --service-cluster-ip-range \"10.96.0.0/16,10.97.0.0/16\": --service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP family"},
	    {"10.96.0.0/16,fd00::/112,fd01::/112", "invalid --service-cluster-ip-range \"10.96.0.0/16,fd00::/112,fd01::/112\": --service-cluster-ip-range must not contain more than two entries"},
	    {"10.96.0.1/16", "invalid --service-cluster-ip-range \"10.96.0.1/16\": 10.96.0.1/16 has host bits set; the network is 10.96.0.0/16"},
	    {"10.96.0.0/16,", "invalid --service-cluster-ip-range \"10.96.0.0/16,\": invalid CIDR address: "},
	    {"10.96.0.0/16, fd00::/112", "invalid --service-cluster-ip-range \"10.96.0.0/16, fd00::/112\": invalid CIDR address:  fd00::/112"},
	    {"bogus", "invalid --service-cluster-ip-range \"bogus\": invalid CIDR address: bogus"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct errbuf eb = ERRBUF_INIT;
		struct cidr_service_ranges r = {.n = 7};

		CHECK_ERR(cidr_parse_service_ranges(cases[i].in, &r, &eb),
			  ERR_INVALID);
		CHECK_STR_EQ(eb.msg, cases[i].msg);
		CHECK_INT_EQ(r.n, 7); /* out untouched on failure */
	}
}

static void test_port_range(void)
{
	static const struct {
		const char *in, *out;
		uint32_t base, size;
	} cases[] = {
	    {"30000-32767", "30000-32767", 30000, 2768},
	    {" 20000-20100 ", "20000-20100", 20000, 101},
	    {"1-16", "1-16", 1, 16},
	    {"1-65535", "1-65535", 1, 65535},
	    {"8080-8080", "8080-8080", 8080, 1},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct cidr_port_range r;
		char s[CIDR_PORT_RANGE_STRLEN];

		CHECK_OK(cidr_parse_port_range(cases[i].in, &r, NULL));
		CHECK_INT_EQ(r.base, cases[i].base);
		CHECK_INT_EQ(r.size, cases[i].size);
		cidr_port_range_format(&r, s);
		CHECK_STR_EQ(s, cases[i].out);
	}
}

static void test_port_range_reject(void)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
	    {"32767-30000", "invalid --service-node-port-range \"32767-30000\": end port cannot be less than start port: 32767-30000"},
	    {"30000-65536", "invalid --service-node-port-range \"30000-65536\": the port range cannot be greater than 65535: 30000-65536"},
	    {"0-100", "invalid --service-node-port-range \"0-100\": ports must be in 1..65535"},
	    {"30000", "invalid --service-node-port-range \"30000\": unable to parse port range: 30000"},
	    {"30000-", "invalid --service-node-port-range \"30000-\": unable to parse port range: 30000-"},
	    {"-5-10", "invalid --service-node-port-range \"-5-10\": unable to parse port range: -5-10"},
	    {"30000-+5", "invalid --service-node-port-range \"30000-+5\": unable to parse port range: 30000-+5"},
	    {"300000-300001", "invalid --service-node-port-range \"300000-300001\": unable to parse port range: 300000-300001"},
	    {"a-b", "invalid --service-node-port-range \"a-b\": unable to parse port range: a-b"},
	    {"", "invalid --service-node-port-range \"\": unable to parse port range: "},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct errbuf eb = ERRBUF_INIT;
		struct cidr_port_range r = {7, 7};

		CHECK_ERR(cidr_parse_port_range(cases[i].in, &r, &eb),
			  ERR_INVALID);
		CHECK_STR_EQ(eb.msg, cases[i].msg);
		CHECK_INT_EQ(r.base, 7);
	}
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
	    UNIT_CASE(test_addr_round_trip),
	    UNIT_CASE(test_addr_rejects),
	    UNIT_CASE(test_cidr_parse),
	    UNIT_CASE(test_cidr_rejects),
	    UNIT_CASE(test_contains),
	    UNIT_CASE(test_service_ranges),
	    UNIT_CASE(test_service_ranges_reject),
	    UNIT_CASE(test_port_range),
	    UNIT_CASE(test_port_range_reject),
	};

	return unit_main(argc, argv, "cidr", cases, ARRAY_SIZE(cases));
}
