#ifndef CTRL_KUBECONFIG_INTERNAL_H
#define CTRL_KUBECONFIG_INTERNAL_H

/*
 * kubeconfig_internal: what kubeconfig_yaml.c (reading one file) shares
 * with kubeconfig.c (merging, selecting, validating). Used only by the
 * kubeconfig*.c files; it lives beside them rather than in
 * apiclient/internal.h so that the kubeconfig module stays self-contained.
 */

/*
 * One named cluster, user or context as read from one file. Structure and
 * types are checked when the file is read; what a usable config needs
 * (a server, readable certificate files, ...) is checked only for the
 * selected context, as client-go does.
 */
struct kubeconfig_entry {
	char *name;		 /* owned */
	const char *source;	 /* borrowed from the kubeconfig_file */
	size_t index;		 /* position in its list, for error paths */
	struct kubeconfig part; /* cluster or user fields, or ns (owned) */
	char *ctx_cluster;	 /* contexts only: cluster name (owned) */
	char *ctx_user;		 /* contexts only: user name (owned) */
	bool auth_provider;	 /* users only: legacy auth-provider set */
};

struct kubeconfig_file {
	char *path;			   /* owned; names the file in errors */
	struct kubeconfig_entry *clusters; /* owned arrays */
	size_t nclusters;
	struct kubeconfig_entry *users;
	size_t nusers;
	struct kubeconfig_entry *contexts;
	size_t ncontexts;
	char *current_context; /* owned; NULL when unset or empty */
};

/* Largest kubeconfig file read. */
#define KUBECONFIG_MAX_FILE ((size_t)16 << 20)

/*
 * Parses one document; `source` names it in errors and its directory
 * resolves relative paths. ERR_DECODE for YAML syntax, wrong types and bad
 * base64. *out is written only on success.
 */
enum err kubeconfig__parse_file(const char *source, const char *text,
				size_t len, struct kubeconfig_file *out,
				struct errbuf *eb) ATTR_WUR;
void kubeconfig__file_release(struct kubeconfig_file *f);
/* Frees every field of cfg and zeroes it; the struct itself stays. */
void kubeconfig__clear(struct kubeconfig *cfg);
/*
 * Reads a whole file (at most max bytes) into a NUL-terminated heap
 * string. ERR_IO "<path>: cannot read: <reason>", ERR_TOO_LARGE.
 */
enum err kubeconfig__read_all(const char *path, size_t max, char **out,
			      size_t *len, struct errbuf *eb) ATTR_WUR;

/* Cuts leading and trailing whitespace (Go strings.TrimSpace), as
 * client-go does for token and namespace files. */
void kubeconfig__trim(char *s);

#endif /* CTRL_KUBECONFIG_INTERNAL_H */
