/*
 * Unit tests of base: errors, buffers, base64, RFC 3339 time, number
 * parsing, randomness.
 */
#include "base.h"
#include "unit.h"

static void test_err_names(void)
{
	CHECK_STR_EQ(err_name(ERR_OK), "ERR_OK");
	CHECK_STR_EQ(err_name(ERR_CONFLICT), "ERR_CONFLICT");
	CHECK_STR_EQ(err_str(ERR_GONE), "resource version expired");
	CHECK_STR_EQ(err_name((enum err)9999), "ERR_UNKNOWN");
}

static void test_errbuf(void)
{
	struct errbuf eb = ERRBUF_INIT;

	CHECK_ERR(errbuf_set(&eb, ERR_INVALID, "field %s", "x"), ERR_INVALID);
	CHECK_STR_EQ(eb.msg, "field x");
	errbuf_prefix(&eb, "file %d", 3);
	CHECK_STR_EQ(eb.msg, "file 3: field x");
	CHECK_ERR(errbuf_set(NULL, ERR_DECODE, "ignored"), ERR_DECODE);
}

static void test_buf_limit(void)
{
	struct buf b;

	buf_init(&b, 8);
	CHECK_OK(buf_adds(&b, "abcd"));
	CHECK_OK(buf_addf(&b, "%d", 123));
	CHECK_STR_EQ(b.data, "abcd123");
	CHECK_ERR(buf_adds(&b, "xy"), ERR_TOO_LARGE);
	CHECK_STR_EQ(b.data, "abcd123");
	CHECK_OK(buf_adds(&b, "z"));
	CHECK_INT_EQ(b.len, 8);
	buf_release(&b);
}

static void test_buf_grow_detach(void)
{
	struct buf b;
	size_t len;
	char *s;

	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		CHECK_OK(buf_add(&b, "x", 1));
	s = buf_detach(&b, &len);
	CHECK_INT_EQ(len, 10000);
	CHECK_INT_EQ(strlen(s), 10000);
	CHECK_INT_EQ(b.len, 0);
	free(s);
	buf_release(&b);
}

static void test_base64_roundtrip(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob",
					     "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v",
					   "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		buf_reset(&b);
		base64_encode(&b, plain[i], strlen(plain[i]));
		CHECK_STR_EQ(b.data, enc[i]);
		buf_reset(&b);
		CHECK_OK(base64_decode(&b, enc[i], strlen(enc[i])));
		CHECK_STR_EQ(b.data, plain[i]);
	}
	buf_reset(&b);
	CHECK_OK(base64_decode(&b, "Zm9v\nYmFy\n", 10));
	CHECK_STR_EQ(b.data, "foobar");
	CHECK_ERR(base64_decode(&b, "Zm9*", 4), ERR_DECODE);
	CHECK_ERR(base64_decode(&b, "Zg=a", 4), ERR_DECODE);
	buf_release(&b);
}

static void test_rfc3339(void)
{
	char out[CLOCK_RFC3339_LEN];
	int64_t ms;

	CHECK_OK(clock_parse_rfc3339("1970-01-01T00:00:00Z", &ms));
	CHECK_INT_EQ(ms, 0);
	CHECK_OK(clock_parse_rfc3339("2026-11-22T18:00:01.5Z", &ms));
	clock_format_rfc3339(ms, false, out);
	CHECK_STR_EQ(out, "2026-11-22T18:00:01Z");
	clock_format_rfc3339(ms, true, out);
	CHECK_STR_EQ(out, "2026-11-22T18:00:01.500000Z");
	CHECK_OK(clock_parse_rfc3339("2026-11-22T20:00:01.500+02:00", &ms));
	clock_format_rfc3339(ms, true, out);
	CHECK_STR_EQ(out, "2026-11-22T18:00:01.500000Z");
	CHECK_OK(clock_parse_rfc3339("2024-02-29T23:59:59Z", &ms));
	clock_format_rfc3339(ms + 1000, false, out);
	CHECK_STR_EQ(out, "2024-03-01T00:00:00Z");
	CHECK_ERR(clock_parse_rfc3339("2026-13-01T00:00:00Z", &ms), ERR_INVALID);
	CHECK_ERR(clock_parse_rfc3339("2026-11-22", &ms), ERR_INVALID);
	CHECK_ERR(clock_parse_rfc3339("2026-11-22T18:00:00Zjunk", &ms),
		  ERR_INVALID);
}

static void test_str_to_ll(void)
{
	long long v = 7;

	CHECK_OK(str_to_ll("42", 0, 100, &v));
	CHECK_INT_EQ(v, 42);
	CHECK_OK(str_to_ll("-5", -10, 10, &v));
	CHECK_INT_EQ(v, -5);
	CHECK_ERR(str_to_ll("101", 0, 100, &v), ERR_INVALID);
	CHECK_ERR(str_to_ll("4x", 0, 100, &v), ERR_INVALID);
	CHECK_ERR(str_to_ll("", 0, 100, &v), ERR_INVALID);
	CHECK_ERR(str_to_ll(" 4", 0, 100, &v), ERR_INVALID);
	CHECK_ERR(str_to_ll("99999999999999999999", 0, LLONG_MAX, &v),
		  ERR_INVALID);
	CHECK_INT_EQ(v, -5);
}

static void test_rand_below_spread(void)
{
	int counts[8] = { 0 };
	char uuid[37];

	for (int i = 0; i < 8000; i++)
		counts[rand_below(8)]++;
	for (int i = 0; i < 8; i++)
		CHECK(counts[i] > 800 && counts[i] < 1200);
	rand_uuid(uuid);
	CHECK_INT_EQ(strlen(uuid), 36);
	CHECK(uuid[14] == '4');
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_err_names),	  UNIT_CASE(test_errbuf),
		UNIT_CASE(test_buf_limit),	  UNIT_CASE(test_buf_grow_detach),
		UNIT_CASE(test_base64_roundtrip), UNIT_CASE(test_rfc3339),
		UNIT_CASE(test_str_to_ll),	  UNIT_CASE(test_rand_below_spread),
	};

	return unit_main(argc, argv, "base", cases, ARRAY_SIZE(cases));
}
