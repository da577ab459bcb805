#ifndef CTRL_KUBECONFIG_H
#define CTRL_KUBECONFIG_H

/*
 * kubeconfig: where the API server is and how to authenticate to it, from
 * a kubeconfig file (YAML or JSON, read with libyaml), the $KUBECONFIG
 * path list, or the in-cluster service-account files (apiclient.md §2).
 *
 * Loading follows client-go's rules: --kubeconfig names one file; else
 * $KUBECONFIG is a ':'-separated list merged first-wins per map key; else
 * ~/.kube/config; with none of these and no --master, the in-cluster
 * config. --context picks a context (default current-context), --master
 * overrides the server. Relative paths are resolved against the directory
 * of the file that set them. *-data fields are base64-decoded into memory,
 * never written to temporary files.
 *
 * $KUBERNETES_MASTER is client-go's ClusterDefaults.Server: it fills in a
 * server the selected cluster lacks and, with no kubeconfig file and no
 * in-cluster environment, is the server; it never replaces --master or a
 * server the file sets. --master with no kubeconfig at all gives a config
 * with just that server. As client-go, only the selected context is
 * validated: an unused user with auth-provider or an unused cluster with
 * no server is no error.
 *
 * Every error names the file, the field path and what is wrong, e.g.
 * "/root/.kube/config: users[0].user.client-key-data: invalid base64".
 * Codes: ERR_IO for a file that cannot be read (the kubeconfig, a
 * certificate, the service-account token or CA); ERR_DECODE for YAML
 * syntax ("<file>: line 7 column 3: <libyaml problem>"), wrong types and
 * bad base64; ERR_INVALID for what a usable config lacks or contradicts
 * (no current-context, unknown context, cluster or user, missing or
 * non-http(s) server, insecure-skip-tls-verify with a CA, auth-provider,
 * exec without command or apiVersion, no configuration at all).
 *
 * Thread safety: a loaded struct kubeconfig is immutable and may be read
 * from any thread.
 */

struct errbuf;

struct kubeconfig_exec {
	char *command;		 /* resolved against the file's directory if it
				  * contains a '/' */
	char **args;		 /* NULL-terminated */
	char **env;		 /* NULL-terminated "NAME=value" */
	char *api_version;	 /* e.g. client.authentication.k8s.io/v1 */
	bool provide_cluster_info;
	char *interactive_mode; /* "Never", "IfAvailable", "Always" or NULL */
};

/*
 * Of each data/path pair at most one is set (data overrides path), except
 * in-cluster, where ca_file names the CA that ca_data was read from (for
 * reloading on rotation). Paths are absolute.
 */
struct kubeconfig {
	char *source;		/* file path (of the file defining the context),
				 * "in-cluster", "--master" or
				 * "KUBERNETES_MASTER" */
	char *context;		/* context name used ("" in-cluster) */
	char *server;		/* e.g. https://127.0.0.1:6443 (no trailing /) */
	char *tls_server_name;	/* NULL unless set */
	bool insecure_skip_tls_verify;
	unsigned char *ca_data;	/* PEM, from certificate-authority-data */
	size_t ca_len;
	char *ca_file;		/* certificate-authority (absolute) */
	unsigned char *cert_data; /* PEM client certificate */
	size_t cert_len;
	char *cert_file;
	unsigned char *key_data;  /* PEM client key */
	size_t key_len;
	char *key_file;
	char *token;		/* static bearer token; in-cluster, the token
				 * file's content at load time */
	char *token_file;	/* re-read by struct credential (absolute) */
	char *username;		/* basic auth */
	char *password;
	char *proxy_url;
	bool disable_compression;
	char *impersonate_user;
	char *impersonate_uid;
	char **impersonate_groups; /* NULL-terminated, may be NULL */
	struct kubeconfig_exec *exec; /* NULL unless users[].user.exec */
	char *ns;		/* context or in-cluster namespace, else
				 * "default"; never NULL */
};

struct kubeconfig_options {
	const char *kubeconfig; /* --kubeconfig: one file; NULL to use the rules */
	const char *master;	/* --master: server override; NULL if unset */
	const char *context;	/* --context; NULL for current-context */
	/* For tests: the environment lookup (NULL = getenv) and the root that
	 * /var/run/secrets/kubernetes.io/serviceaccount is read under
	 * (NULL = "/"). */
	const char *(*getenv_fn)(const char *name);
	const char *in_cluster_root;
};

/* Loads by the rules above. *out is written only on success. */
enum err kubeconfig_load(const struct kubeconfig_options *opts,
			 struct kubeconfig **out, struct errbuf *eb) ATTR_WUR;
/* Parses one kubeconfig document held in memory; `source` names it in
 * errors and is the base for relative paths (its directory). */
enum err kubeconfig_parse(const char *source, const char *text, size_t len,
			  const char *context, struct kubeconfig **out,
			  struct errbuf *eb) ATTR_WUR;
/* The in-cluster config (KUBERNETES_SERVICE_HOST/PORT, token, CA,
 * namespace from $POD_NAMESPACE or the namespace file, else "default"). */
enum err kubeconfig_in_cluster(const struct kubeconfig_options *opts,
			       struct kubeconfig **out,
			       struct errbuf *eb) ATTR_WUR;
void kubeconfig_free(struct kubeconfig *cfg);

#endif /* CTRL_KUBECONFIG_H */
