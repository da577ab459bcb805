/*
 * credential_exec: runs a client-go exec credential plugin (apiclient.md
 * §2.1, upstream client-go plugin/pkg/client/auth/exec). The command is
 * found on $PATH here (no shell), started with fork+execve with stdin on
 * /dev/null, stderr passed through and KUBERNETES_EXEC_INFO added to the
 * parent's environment; its stdout (at most 1 MiB, within 60 s) is decoded
 * as an ExecCredential with yajl.
 *
 * Everything is prepared before fork: between fork and execve the child
 * calls only async-signal-safe functions. No locks; callers hold none.
 */
#include "base.h"
#include "kubeconfig.h"
#include "credential.h"
#include "credential_internal.h"
#include "kubeconfig_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

extern char **environ;

/* Tests shorten the 60 s limit (credential_internal.h). */
TESTABLE int64_t credential__exec_timeout_ms = CREDENTIAL_EXEC_TIMEOUT_MS;

#define EXEC_MAX_DEPTH 32

struct child {
	char *path;  /* resolved executable */
	char **argv; /* NULL-terminated, owned strings */
	char **envp; /* NULL-terminated; borrowed from environ except extras */
	char **own;  /* the envp strings we allocated */
	pid_t pid;
	int out_fd; /* read end of the child's stdout */
};

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static size_t strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* upstream exec.LookPath: a name without '/' is searched on $PATH. */
static char *find_command(const char *cmd)
{
	/* NOLINTNEXTLINE(concurrency-mt-unsafe): nothing calls setenv. */
	const char *path = getenv("PATH");
	struct stat st;

	if (strchr(cmd, '/'))
		return xstrdup(cmd);
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path;; p++) {
		size_t len = strcspn(p, ":");
		char *cand = len ? xasprintf("%.*s/%s", (int)len, p, cmd)
				 : xasprintf("./%s", cmd);

		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			return cand;
		free(cand);
		p += len;
		if (!*p)
			return NULL;
	}
}

static void gen_str(yajl_gen g, const char *s)
{
	(void)yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void gen_cluster(yajl_gen g, const struct kubeconfig *cfg)
{
	struct buf b64;
	char *ca = (char *)cfg->ca_data;
	size_t ca_len = cfg->ca_len;

	if (!ca && cfg->ca_file &&
	    kubeconfig__read_all(cfg->ca_file, 1 << 20, &ca, &ca_len, NULL))
		ca = NULL;
	gen_str(g, "cluster");
	(void)yajl_gen_map_open(g);
	gen_str(g, "server");
	gen_str(g, cfg->server ? cfg->server : "");
	if (cfg->tls_server_name) {
		gen_str(g, "tls-server-name");
		gen_str(g, cfg->tls_server_name);
	}
	if (cfg->insecure_skip_tls_verify) {
		gen_str(g, "insecure-skip-tls-verify");
		(void)yajl_gen_bool(g, 1);
	}
	if (ca) {
		buf_init(&b64, 0);
		base64_encode(&b64, ca, ca_len);
		gen_str(g, "certificate-authority-data");
		gen_str(g, b64.data);
		buf_release(&b64);
	}
	if (cfg->proxy_url) {
		gen_str(g, "proxy-url");
		gen_str(g, cfg->proxy_url);
	}
	(void)yajl_gen_map_close(g);
	if (ca != (char *)cfg->ca_data)
		free(ca);
}

/* The KUBERNETES_EXEC_INFO value (upstream exec.go newExecCredential). */
static char *exec_info(const struct kubeconfig *cfg)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *out;
	size_t len;
	char *s;

	BUG_ON(!g);
	(void)yajl_gen_map_open(g);
	gen_str(g, "apiVersion");
	gen_str(g, cfg->exec->api_version);
	gen_str(g, "kind");
	gen_str(g, "ExecCredential");
	gen_str(g, "spec");
	(void)yajl_gen_map_open(g);
	gen_str(g, "interactive");
	(void)yajl_gen_bool(g, 0);
	if (cfg->exec->provide_cluster_info)
		gen_cluster(g, cfg);
	(void)yajl_gen_map_close(g);
	(void)yajl_gen_map_close(g);
	(void)yajl_gen_get_buf(g, &out, &len);
	s = xasprintf("KUBERNETES_EXEC_INFO=%.*s", (int)len, (const char *)out);
	yajl_gen_free(g);
	return s;
}

static bool env_overridden(const char *entry, char *const *extra)
{
	size_t n = strcspn(entry, "=");

	for (size_t i = 0; extra && extra[i]; i++)
		if (strncmp(entry, extra[i], n) == 0 && extra[i][n] == '=')
			return true;
	return false;
}

/* The parent's environment + exec.env + KUBERNETES_EXEC_INFO; later wins. */
static void build_env(struct child *ch, const struct kubeconfig *cfg)
{
	char *const *conf = cfg->exec->env;
	size_t nc = strv_len(conf), np = strv_len(environ), n = 0;

	ch->own = xcalloc(nc + 2, sizeof(*ch->own));
	for (size_t i = 0; i < nc; i++)
		ch->own[i] = xstrdup(conf[i]);
	ch->own[nc] = exec_info(cfg);
	ch->envp = xcalloc(np + nc + 2, sizeof(*ch->envp));
	for (size_t i = 0; i < np; i++)
		if (!env_overridden(environ[i], ch->own))
			ch->envp[n++] = environ[i];
	for (size_t i = 0; i <= nc; i++)
		ch->envp[n++] = ch->own[i];
}

static void build_argv(struct child *ch, const struct kubeconfig_exec *x)
{
	size_t na = strv_len(x->args);

	ch->argv = xcalloc(na + 2, sizeof(*ch->argv));
	ch->argv[0] = xstrdup(x->command);
	for (size_t i = 0; i < na; i++)
		ch->argv[i + 1] = xstrdup(x->args[i]);
}

static void child_release(struct child *ch)
{
	free(ch->path);
	strv_free(ch->argv);
	strv_free(ch->own);
	free(ch->envp);
	if (ch->out_fd >= 0)
		(void)close(ch->out_fd);
}

/* In the child: only async-signal-safe calls until execve. */
ATTR_NORETURN static void child_exec(struct child *ch, int devnull, int out)
{
	sigset_t none;

	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0)
		_exit(127);
	execve(ch->path, ch->argv, ch->envp);
	_exit(127);
}

/*
 * pipe2 is a GNU extension here, so the close-on-exec flags are set after
 * pipe(); spawn_lock keeps our other plugin runs from forking in between
 * and inheriting the write end (which would delay our EOF).
 */
static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

static int cloexec_pipe(int fds[2])
{
	if (pipe(fds) < 0)
		return -1;
	(void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

static enum err spawn(struct child *ch, const char *name, struct errbuf *eb)
{
	int fds[2], devnull, saved;
	char tmp[128];

	(void)pthread_mutex_lock(&spawn_lock);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || cloexec_pipe(fds) < 0) {
		saved = errno;
		(void)pthread_mutex_unlock(&spawn_lock);
		if (devnull >= 0)
			(void)close(devnull);
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": cannot start: %s", name,
				  err_errno_str(saved, tmp, sizeof(tmp)));
	}
	ch->pid = fork();
	if (ch->pid == 0)
		child_exec(ch, devnull, fds[1]);
	saved = errno;
	(void)close(fds[1]);
	(void)pthread_mutex_unlock(&spawn_lock);
	(void)close(devnull);
	ch->out_fd = fds[0];
	if (ch->pid < 0)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": cannot fork: %s", name,
				  err_errno_str(saved, tmp, sizeof(tmp)));
	return ERR_OK;
}

/* Reads stdout until EOF; ERR_TIMEOUT or ERR_TOO_LARGE stop early. */
static enum err read_output(struct child *ch, int64_t deadline,
			    struct buf *out)
{
	char chunk[8192];

	for (;;) {
		struct pollfd pfd = { .fd = ch->out_fd, .events = POLLIN };
		int64_t left_ms = (deadline - clock_mono_ns()) / 1000000;
		ssize_t n;

		if (left_ms <= 0)
			return ERR_TIMEOUT;
		if (poll(&pfd, 1, (int)MIN(left_ms, INT_MAX)) < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		if (!pfd.revents)
			continue;
		n = read(ch->out_fd, chunk, sizeof(chunk));
		if (n == 0)
			return ERR_OK;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return ERR_IO;
		if (buf_add(out, chunk, (size_t)n) != ERR_OK)
			return ERR_TOO_LARGE;
	}
}

/*
 * Waits for the child, killing it first when *rd failed or when it keeps
 * running past the deadline after closing its stdout (then *rd becomes
 * ERR_TIMEOUT).
 */
static int reap(pid_t pid, int64_t deadline, enum err *rd)
{
	int status = 0;
	pid_t r;

	while (*rd == ERR_OK) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return status;
		if (clock_mono_ns() >= deadline)
			*rd = ERR_TIMEOUT;
		else
			clock_sleep_ms(5);
	}
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static enum err run_status(const char *name, enum err rd, int status,
			   struct errbuf *eb)
{
	if (rd == ERR_TIMEOUT)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": timed out after %lld ms, killed",
				  name, (long long)credential__exec_timeout_ms);
	if (rd == ERR_TOO_LARGE)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": output larger than %zu bytes",
				  name, CREDENTIAL_EXEC_MAX_OUTPUT);
	if (rd)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": cannot read its output",
				  name);
	if (WIFSIGNALED(status))
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": killed by signal %d",
				  name, WTERMSIG(status));
	if (WEXITSTATUS(status) == 127)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": exit status 127 (could not be executed)",
				  name);
	if (WEXITSTATUS(status) != 0)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": exit status %d", name,
				  WEXITSTATUS(status));
	return ERR_OK;
}

enum err credential__exec_run(const struct kubeconfig *cfg,
			      struct credential_exec_result *out,
			      struct errbuf *eb)
{
	const char *name = cfg->exec->command;
	struct child ch = { .out_fd = -1 };
	struct buf b;
	int64_t deadline;
	enum err e, rd;
	int status;

	ch.path = find_command(name);
	if (!ch.path)
		return errbuf_set(eb, ERR_UNAUTHORIZED,
				  "exec plugin \"%s\": not found in $PATH", name);
	build_argv(&ch, cfg->exec);
	build_env(&ch, cfg);
	e = spawn(&ch, name, eb);
	if (e) {
		child_release(&ch);
		return e;
	}
	buf_init(&b, CREDENTIAL_EXEC_MAX_OUTPUT);
	deadline = clock_mono_ns() + credential__exec_timeout_ms * 1000000;
	rd = read_output(&ch, deadline, &b);
	status = reap(ch.pid, deadline, &rd);
	e = run_status(name, rd, status, eb);
	child_release(&ch);
	if (!e) {
		e = credential__exec_decode(cfg->exec->api_version, b.data,
					    out, eb);
		if (e) {
			errbuf_prefix(eb, "exec plugin \"%s\"", name);
			e = ERR_UNAUTHORIZED;
		}
	}
	buf_release(&b);
	return e;
}

/* ---- ExecCredential decoding ----------------------------------------- */

/* yajl_tree_free recurses: refuse deep nesting before building a tree. */
static bool too_deep(const char *s)
{
	int depth = 0;
	bool in_str = false;

	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				in_str = false;
		} else if (*s == '"') {
			in_str = true;
		} else if (*s == '{' || *s == '[') {
			if (++depth > EXEC_MAX_DEPTH)
				return true;
		} else if (*s == '}' || *s == ']') {
			depth--;
		}
	}
	return false;
}

static const char *get_string(yajl_val root, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };

	return YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
}

static enum err decode_status(yajl_val root, struct credential_exec_result *r,
			      struct errbuf *eb)
{
	const char *token = get_string(root, "status", "token");
	const char *cert = get_string(root, "status", "clientCertificateData");
	const char *key = get_string(root, "status", "clientKeyData");
	const char *exp = get_string(root, "status", "expirationTimestamp");

	if (!cert != !key)
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: status.%s: required with status.%s",
				  cert ? "clientKeyData" : "clientCertificateData",
				  cert ? "clientCertificateData" : "clientKeyData");
	if ((!token || !token[0]) && !cert)
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: status: neither token nor clientCertificateData and clientKeyData");
	if (exp && exp[0] && clock_parse_rfc3339(exp, &r->expiry_ms) != ERR_OK)
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: status.expirationTimestamp: invalid time \"%.40s\"",
				  exp);
	if (token && token[0])
		r->token = xstrdup(token);
	if (cert) {
		r->cert_len = strlen(cert);
		r->cert_data = xmemdup(cert, r->cert_len + 1);
		r->key_len = strlen(key);
		r->key_data = xmemdup(key, r->key_len + 1);
	}
	return ERR_OK;
}

static enum err decode_root(const char *api_version, yajl_val root,
			    struct credential_exec_result *r,
			    struct errbuf *eb)
{
	const char *kind = get_string(root, "kind", NULL);
	const char *ver = get_string(root, "apiVersion", NULL);
	const char *status[] = { "status", NULL };

	if (!YAJL_IS_OBJECT(root))
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: expected a JSON object");
	if (!str_eq(kind, "ExecCredential"))
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: kind: \"%.40s\" is not ExecCredential",
				  kind ? kind : "");
	if (!str_eq(ver, api_version))
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: apiVersion: \"%.60s\" does not match the configured \"%.60s\"",
				  ver ? ver : "", api_version);
	if (!YAJL_IS_OBJECT(yajl_tree_get(root, status, yajl_t_object)))
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: status: required");
	return decode_status(root, r, eb);
}

enum err credential__exec_decode(const char *api_version, const char *text,
				 struct credential_exec_result *out,
				 struct errbuf *eb)
{
	struct credential_exec_result r = { 0 };
	char msg[256];
	yajl_val root;
	enum err e;

	if (too_deep(text))
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: nested deeper than %d",
				  EXEC_MAX_DEPTH);
	root = yajl_tree_parse(text, msg, sizeof(msg));
	if (!root) {
		kubeconfig__trim(msg);
		return errbuf_set(eb, ERR_DECODE,
				  "ExecCredential: invalid JSON: %s", msg);
	}
	e = decode_root(api_version, root, &r, eb);
	yajl_tree_free(root);
	if (e) {
		credential__exec_result_release(&r);
		return e;
	}
	*out = r;
	return ERR_OK;
}

void credential__exec_result_release(struct credential_exec_result *r)
{
	free(r->token);
	free(r->cert_data);
	free(r->key_data);
	memset(r, 0, sizeof(*r));
}
