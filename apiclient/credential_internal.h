#ifndef CTRL_CREDENTIAL_INTERNAL_H
#define CTRL_CREDENTIAL_INTERNAL_H

/*
 * credential_internal: the exec-plugin runner (credential_exec.c) as used
 * by the cache in credential.c. Only the credential*.c files include it.
 */

/* What one plugin run produced; every pointer owned. */
struct credential_exec_result {
	char *token;		  /* status.token, or NULL */
	unsigned char *cert_data; /* status.clientCertificateData (PEM) */
	size_t cert_len;
	unsigned char *key_data; /* status.clientKeyData (PEM) */
	size_t key_len;
	int64_t expiry_ms; /* status.expirationTimestamp; 0 = never */
};

/* Largest plugin output read, and how long a run may take. */
#define CREDENTIAL_EXEC_MAX_OUTPUT ((size_t)1 << 20)
#define CREDENTIAL_EXEC_TIMEOUT_MS 60000

/*
 * Runs cfg->exec (which must be set) with KUBERNETES_EXEC_INFO and decodes
 * its ExecCredential. Blocks up to the timeout; call it with no lock held.
 * ERR_UNAUTHORIZED with the command name and reason in eb on any failure.
 */
enum err credential__exec_run(const struct kubeconfig *cfg,
			      struct credential_exec_result *out,
			      struct errbuf *eb) ATTR_WUR;
/* Decodes an ExecCredential; api_version must match its apiVersion. */
enum err credential__exec_decode(const char *api_version, const char *text,
				 struct credential_exec_result *out,
				 struct errbuf *eb) ATTR_WUR;
void credential__exec_result_release(struct credential_exec_result *r);

#ifdef UNIT_TESTING
/* The plugin time limit; tests shorten it. */
extern int64_t credential__exec_timeout_ms;
#endif

#endif /* CTRL_CREDENTIAL_INTERNAL_H */
