#ifndef CTRL_CREDENTIAL_H
#define CTRL_CREDENTIAL_H

/*
 * credential: the credentials to present on each request, kept fresh for
 * long runs (apiclient.md §2.3, §2.1 exec plugins). A token file (kubeconfig
 * tokenFile or the in-cluster service-account token) is re-read at most
 * once a minute and at once after credential_invalidate (a 401). An exec
 * plugin is run with execve (never a shell) and KUBERNETES_EXEC_INFO set;
 * its ExecCredential is cached until status.expirationTimestamp or an
 * invalidate. Static tokens, basic auth and client certificates from the
 * kubeconfig pass through.
 *
 * Thread safety: all calls are thread-safe; credential_get may block while
 * a plugin runs (bounded by a 60 s timeout). No lock is held while a plugin
 * runs; concurrent callers wait for that one run instead of starting more.
 *
 * Errors: ERR_UNAUTHORIZED when no credential can be had: a token file
 * never read successfully (and no static token to fall back on), or a
 * plugin that cannot be found or started, exits non-zero ("exit status
 * N"), times out, writes more than 1 MiB or prints no valid ExecCredential
 * of the configured apiVersion; eb names the path or the command.
 * credential_new fails with ERR_INVALID for interactiveMode: Always (stdin
 * is never a terminal).
 */

struct errbuf;
struct kubeconfig;

struct credential;

/* A snapshot of what to send; owned by the caller, freed with
 * credential_value_release. */
struct credential_value {
	char *token;		  /* bearer token or NULL */
	unsigned char *cert_data; /* PEM client cert from a plugin, or NULL */
	size_t cert_len;
	unsigned char *key_data;
	size_t key_len;
	uint64_t generation;	  /* changes whenever token, cert or key
				   * change; equal values mean equal contents */
};

/* Keeps a pointer to cfg, which must outlive the credential. */
enum err credential_new(const struct kubeconfig *cfg, struct credential **out,
			struct errbuf *eb) ATTR_WUR;
void credential_free(struct credential *c);
/* The current credential; refreshes a token file older than refresh_ms
 * (60 s by default) or an expired plugin credential first. */
enum err credential_get(struct credential *c, struct credential_value *out,
			struct errbuf *eb) ATTR_WUR;
/* After a 401: the next credential_get re-reads the file or re-runs the
 * plugin. */
void credential_invalidate(struct credential *c);
void credential_value_release(struct credential_value *v);
/* Tests: how old a token file read may get before a re-read. */
void credential_set_refresh_ms(struct credential *c, int64_t refresh_ms);

#endif /* CTRL_CREDENTIAL_H */
