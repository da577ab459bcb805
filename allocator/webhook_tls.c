/*
 * webhook_tls: the server's TLS context (TLS 1.2 and later) and its reload
 * when the certificate or key file changes, so a rotated certificate
 * (cert-manager, a re-mounted Secret) needs no restart. The accept thread
 * checks the files' stat at most every reload interval; a pair that fails
 * to load (cert written, key not yet) keeps the old context and is tried
 * again at the next check. Connections already open keep the context they
 * started with: each SSL holds its own reference.
 *
 * Locking: lock guards ctx only; it is never held while loading files.
 */
#include "base.h"
#include "webhook.h"

#include <errno.h>

#include <openssl/err.h>

#include "webhook_internal.h"

static void ssl_errors(struct errbuf *eb, const char *what)
{
	char detail[256] = "unknown error";
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	ERR_clear_error();
	(void)errbuf_set(eb, ERR_INVALID, "%s: %s", what, detail);
}

static SSL_CTX *load_ctx(const char *cert, const char *key, struct errbuf *eb)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx) {
		ssl_errors(eb, "SSL_CTX_new");
		return NULL;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Renegotiation is a DoS lever and nothing we need. */
	(void)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
					   SSL_OP_CIPHER_SERVER_PREFERENCE);
	(void)SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_errors(eb, "--tls-cert-file");
		goto out_free_ctx;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ssl_errors(eb, "--tls-private-key-file");
		goto out_free_ctx;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errors(
		    eb,
		    "--tls-private-key-file does not match --tls-cert-file");
		goto out_free_ctx;
	}
	return ctx;
out_free_ctx:
	SSL_CTX_free(ctx);
	return NULL;
}

static bool stat_pair(const struct webhook__tls *t, struct stat *c,
		      struct stat *k)
{
	return stat(t->cert_file, c) == 0 && stat(t->key_file, k) == 0;
}

enum err webhook__tls_init(struct webhook__tls *t, const char *cert,
			   const char *key, struct errbuf *eb)
{
	memset(t, 0, sizeof(*t));
	t->cert_file = xstrdup(cert);
	t->key_file = xstrdup(key);
	/* Stat first: a change between stat and load is seen next check. */
	if (!stat_pair(t, &t->cert_st, &t->key_st)) {
		char tmp[128];

		(void)errbuf_set(
		    eb, ERR_INVALID,
		    "--tls-cert-file %s / --tls-private-key-file %s: %s", cert,
		    key, err_errno_str(errno, tmp, sizeof(tmp)));
		goto out_free_names;
	}
	t->ctx = load_ctx(cert, key, eb);
	if (!t->ctx)
		goto out_free_names;
	BUG_ON(pthread_mutex_init(&t->lock, NULL) != 0);
	return ERR_OK;
out_free_names:
	free(t->cert_file);
	free(t->key_file);
	return ERR_INVALID;
}

void webhook__tls_release(struct webhook__tls *t)
{
	SSL_CTX_free(t->ctx);
	(void)pthread_mutex_destroy(&t->lock);
	free(t->cert_file);
	free(t->key_file);
}

SSL *webhook__tls_new_ssl(struct webhook__tls *t)
{
	SSL *ssl;

	(void)pthread_mutex_lock(&t->lock);
	ssl = SSL_new(t->ctx);
	(void)pthread_mutex_unlock(&t->lock);
	return ssl;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void webhook__tls_maybe_reload(struct webhook__tls *t, int interval_ms)
{
	struct stat c, k;
	struct errbuf eb = ERRBUF_INIT;
	int64_t now = clock_mono_ns();
	SSL_CTX *ctx, *old;

	if (now < t->next_check_ns)
		return;
	t->next_check_ns = now + (int64_t)interval_ms * 1000000;
	if (!stat_pair(t, &c, &k) ||
	    (same_file(&c, &t->cert_st) && same_file(&k, &t->key_st)))
		return;
	ctx = load_ctx(t->cert_file, t->key_file, &eb);
	if (!ctx) {
		log_warn("webhook: certificate reload failed, keeping the old one: %s",
			 eb.msg);
		return;
	}
	(void)pthread_mutex_lock(&t->lock);
	old = t->ctx;
	t->ctx = ctx;
	(void)pthread_mutex_unlock(&t->lock);
	SSL_CTX_free(old);
	t->cert_st = c;
	t->key_st = k;
	atomic_fetch_add(&t->reloads, 1);
	log_info("webhook: reloaded certificate cert=%s", t->cert_file);
}
