/*
 * itlib_http: loopback HTTP(S) helpers for tests that talk to the
 * binary's own listeners (the operations listener, the webhook server).
 */
#include "base.h"
#include "itlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

/* Whether port can be bound on 127.0.0.1 now. */
static bool bindable(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	bool ok;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		(void)close(fd);
	return ok;
}

/* Below the kernel's ephemeral range (32768 and up by default): a port
 * from bind(:0) may later be taken as the local port of some outgoing
 * connection, and a listener restarted on it would fail. */
int it_free_port(void)
{
	for (int attempt = 0; attempt < 200; attempt++) {
		int port = 20000 + (int)(rand_u64() % 10000);

		if (bindable(port))
			return port;
	}
	return -1;
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	return buf_add(arg, p, size * n) == ERR_OK ? size * n : 0;
}

long it_http_get(const char *url, const char *ca_file, struct buf *out)
{
	CURL *c = curl_easy_init();
	long status = 0;

	if (!c)
		return 0;
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (ca_file)
		(void)curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
	if (curl_easy_perform(c) == CURLE_OK)
		(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

bool it_metric_value(const char *page, const char *series, double *out)
{
	size_t n = strlen(series);

	for (const char *s = page; s && *s;) {
		const char *nl = strchr(s, '\n');

		if (strncmp(s, series, n) == 0 && s[n] == ' ') {
			*out = strtod(s + n + 1, NULL);
			return true;
		}
		s = nl ? nl + 1 : NULL;
	}
	return false;
}
