/*
 * base_buf: a growable byte buffer with a hard maximum (curl's dynbuf), and
 * base64 on top of it. Invariant: data[len] == 0 after every operation.
 * One thread at a time per buffer.
 */
#include "base.h"


void buf_init(struct buf *b, size_t max)
{
	b->cap = 64;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
	b->len = 0;
	b->max = max ? max : BUF_MAX_DEFAULT;
}

void buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

static void grow(struct buf *b, size_t need)
{
	size_t cap = b->cap;

	while (cap < need)
		cap = cap < 4096 ? cap * 2 : cap + cap / 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

enum err buf_add(struct buf *b, const void *data, size_t n)
{
	if (n > b->max - b->len)
		return ERR_TOO_LARGE;
	if (b->len + n + 1 > b->cap)
		grow(b, b->len + n + 1);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return ERR_OK;
}

enum err buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum err buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_list ap2;
	int n;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > b->max - b->len) {
		va_end(ap2);
		return ERR_TOO_LARGE;
	}
	if (b->len + (size_t)n + 1 > b->cap)
		grow(b, b->len + (size_t)n + 1);
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
	return ERR_OK;
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p = b->data;
	size_t max = b->max;

	if (len)
		*len = b->len;
	buf_init(b, max);
	return p;
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void base64_encode(struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	char quad[4];
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		quad[0] = b64_alphabet[p[i] >> 2];
		quad[1] = b64_alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		quad[2] = b64_alphabet[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		quad[3] = b64_alphabet[p[i + 2] & 63];
		BUG_ON(buf_add(out, quad, 4) != ERR_OK);
	}
	if (i < n) {
		quad[0] = b64_alphabet[p[i] >> 2];
		if (i + 1 < n) {
			quad[1] = b64_alphabet[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			quad[2] = b64_alphabet[(p[i + 1] & 15) << 2];
		} else {
			quad[1] = b64_alphabet[(p[i] & 3) << 4];
			quad[2] = '=';
		}
		quad[3] = '=';
		BUG_ON(buf_add(out, quad, 4) != ERR_OK);
	}
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum err base64_decode(struct buf *out, const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	int pad = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad)
			return ERR_DECODE;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			char byte = (char)((acc >> (bits - 8)) & 0xff);

			bits -= 8;
			if (buf_add(out, &byte, 1) != ERR_OK)
				return ERR_TOO_LARGE;
		}
	}
	if (pad > 2 || bits >= 6)
		return ERR_DECODE;
	return ERR_OK;
}
