/*
 * Unit tests of credential: token file rotation and invalidation, a read
 * failure keeping the last token, static tokens, and exec plugins run
 * through tests/data/exec/plugin.sh (a shell script that counts its runs
 * in a temporary file): tokens with expiry, expiry and invalidate causing
 * a re-run, client certificates, failures, garbage, timeouts, oversized
 * output, $PATH search and concurrent callers sharing one run.
 */
#include "base.h"
#include "kubeconfig.h"
#include "credential.h"
#include "unit.h"
/* The plugin time limit and ExecCredential decoding (TESTABLE). */
#include "../apiclient/credential_internal.h"

#include <pthread.h>
#include <unistd.h>

/* One temporary directory with a kubeconfig and a credential. */
struct fix {
	char dir[64];
	char path[128]; /* dir/<name> scratch */
	struct kubeconfig *cfg;
	struct credential *cred;
};

static const char *in_dir(struct fix *f, const char *name)
{
	(void)snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	CHECK_NOT_NULL(fp);
	CHECK(fputs(text, fp) >= 0);
	CHECK(fclose(fp) == 0);
}

static int count_runs(struct fix *f)
{
	FILE *fp = fopen(in_dir(f, "count"), "r");
	char line[64];
	int n = 0;

	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		n++;
	(void)fclose(fp);
	return n;
}

static char *read_text(const char *path)
{
	static char text[4096];
	FILE *fp = fopen(path, "r");
	size_t n;

	CHECK_NOT_NULL(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	(void)fclose(fp);
	return text;
}

static void fix_dir(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test-credential-XXXXXX");
	CHECK_NOT_NULL(mkdtemp(f->dir));
}

/* Parses yaml as <dir>/config and makes the credential. */
static void fix_parse(struct fix *f, const char *yaml)
{
	struct errbuf eb = ERRBUF_INIT;
	enum err e;

	e = kubeconfig_parse(in_dir(f, "config"), yaml, strlen(yaml), NULL,
			     &f->cfg, &eb);
	if (e)
		unit_fail(__FILE__, __LINE__, "kubeconfig_parse: %s", eb.msg);
	CHECK_OK(credential_new(f->cfg, &f->cred, &eb));
}

static void fix_start(struct fix *f, const char *yaml)
{
	fix_dir(f);
	fix_parse(f, yaml);
}

static void fix_stop(struct fix *f)
{
	static const char *const names[] = { "token", "count", "count.info",
					     "count.args" };

	credential_free(f->cred);
	kubeconfig_free(f->cfg);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		(void)unlink(in_dir(f, names[i]));
	CHECK(rmdir(f->dir) == 0);
}

static const char token_file_yaml[] =
	"clusters: [{name: c, cluster: {server: 'https://x.example.com'}}]\n"
	"users: [{name: u, user: {tokenFile: token}}]\n"
	"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
	"current-context: x\n";

/* Expects OK and returns the token (static copy) and generation. */
static const char *get_token(struct fix *f, uint64_t *gen)
{
	static char token[256];
	struct credential_value v = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	enum err e = credential_get(f->cred, &v, &eb);

	if (e)
		unit_fail(__FILE__, __LINE__, "credential_get: %s: %s",
			  err_name(e), eb.msg);
	(void)snprintf(token, sizeof(token), "%s", v.token ? v.token : "(null)");
	if (gen)
		*gen = v.generation;
	credential_value_release(&v);
	return token;
}

/* ---- Token files ------------------------------------------------------ */

static void test_token_file_rotation(void)
{
	struct fix f;
	uint64_t g1, g2, g3;

	fix_start(&f, token_file_yaml);
	write_file(in_dir(&f, "token"), "t1\n");
	CHECK_STR_EQ(get_token(&f, &g1), "t1"); /* trailing newline cut */
	write_file(in_dir(&f, "token"), "t2 \r\n");
	CHECK_STR_EQ(get_token(&f, &g2), "t1"); /* cached for 60 s */
	CHECK_INT_EQ(g2, g1);
	credential_set_refresh_ms(f.cred, 0);
	CHECK_STR_EQ(get_token(&f, &g2), "t2");
	CHECK(g2 != g1);
	CHECK_STR_EQ(get_token(&f, &g3), "t2"); /* same text: same gen */
	CHECK_INT_EQ(g3, g2);
	fix_stop(&f);
}

static void test_token_file_invalidate_after_401(void)
{
	struct fix f;
	uint64_t g1, g2;

	fix_start(&f, token_file_yaml);
	write_file(in_dir(&f, "token"), "old");
	CHECK_STR_EQ(get_token(&f, &g1), "old");
	write_file(in_dir(&f, "token"), "new");
	CHECK_STR_EQ(get_token(&f, NULL), "old");
	/* The HTTP layer saw a 401. */
	credential_invalidate(f.cred);
	CHECK_STR_EQ(get_token(&f, &g2), "new");
	CHECK(g2 != g1);
	fix_stop(&f);
}

static void test_token_file_failure_keeps_last(void)
{
	struct fix f;
	uint64_t g1, g2;

	fix_start(&f, token_file_yaml);
	write_file(in_dir(&f, "token"), "good");
	CHECK_STR_EQ(get_token(&f, &g1), "good");
	CHECK(unlink(in_dir(&f, "token")) == 0);
	credential_invalidate(f.cred);
	CHECK_STR_EQ(get_token(&f, &g2), "good"); /* warns once */
	CHECK_INT_EQ(g2, g1);
	credential_set_refresh_ms(f.cred, 0);
	CHECK_STR_EQ(get_token(&f, NULL), "good");
	write_file(in_dir(&f, "token"), "back");
	CHECK_STR_EQ(get_token(&f, NULL), "back");
	fix_stop(&f);
}

static void test_token_file_never_readable(void)
{
	struct credential_value v = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	struct fix f;

	fix_start(&f, token_file_yaml);
	CHECK_ERR(credential_get(f.cred, &v, &eb), ERR_UNAUTHORIZED);
	CHECK_CONTAINS(eb.msg, in_dir(&f, "token"));
	CHECK_CONTAINS(eb.msg, "No such file or directory");
	CHECK_NULL(v.token);
	write_file(in_dir(&f, "token"), "  \n");
	CHECK_ERR(credential_get(f.cred, &v, &eb), ERR_UNAUTHORIZED);
	CHECK_CONTAINS(eb.msg, "empty token file");
	fix_stop(&f);
}

static void test_static_token_and_fallback(void)
{
	static const char yaml[] =
		"clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
		"users: [{name: u, user: {token: static, tokenFile: token}}]\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"current-context: x\n";
	static const char anon[] =
		"clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
		"contexts: [{name: x, context: {cluster: c}}]\n"
		"current-context: x\n";
	struct fix f;

	/* The token file wins once readable; until then the token. */
	fix_start(&f, yaml);
	CHECK_STR_EQ(get_token(&f, NULL), "static");
	write_file(in_dir(&f, "token"), "from-file");
	credential_invalidate(f.cred);
	CHECK_STR_EQ(get_token(&f, NULL), "from-file");
	fix_stop(&f);

	fix_start(&f, anon);
	CHECK_STR_EQ(get_token(&f, NULL), "(null)");
	fix_stop(&f);
}

/* ---- Exec plugins ----------------------------------------------------- */

/* A kubeconfig running plugin.sh (or `command`) in the given MODE. */
static void exec_start(struct fix *f, const char *mode, const char *command)
{
	char cwd[512], cmd[1024], *yaml;

	BUG_ON(!getcwd(cwd, sizeof(cwd)));
	if (command)
		(void)snprintf(cmd, sizeof(cmd), "%s", command);
	else if (unit_data_dir()[0] == '/')
		(void)snprintf(cmd, sizeof(cmd), "%s/exec/plugin.sh",
			       unit_data_dir());
	else
		(void)snprintf(cmd, sizeof(cmd), "%s/%s/exec/plugin.sh", cwd,
			       unit_data_dir());
	fix_dir(f);
	yaml = xasprintf(
		"clusters:\n"
		"- name: c\n"
		"  cluster:\n"
		"    server: https://exec.example.com:6443\n"
		"    certificate-authority-data: Q0EtUEVN\n"
		"    tls-server-name: api.internal\n"
		"users:\n"
		"- name: u\n"
		"  user:\n"
		"    exec:\n"
		"      apiVersion: client.authentication.k8s.io/v1\n"
		"      command: %s\n"
		"      args: [one, \"two words\"]\n"
		"      env:\n"
		"      - {name: MODE, value: %s}\n"
		"      - {name: COUNT_FILE, value: %s/count}\n"
		"      provideClusterInfo: true\n"
		"      interactiveMode: IfAvailable\n"
		"contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		"current-context: x\n",
		cmd, mode, f->dir);
	fix_parse(f, yaml);
	free(yaml);
}

static void test_exec_token_cached_until_expiry(void)
{
	struct fix f;
	uint64_t g1, g2;
	const char *info;

	exec_start(&f, "token", NULL);
	CHECK_STR_EQ(get_token(&f, &g1), "token-1");
	CHECK_STR_EQ(get_token(&f, &g2), "token-1"); /* expires in 2099 */
	CHECK_INT_EQ(g2, g1);
	CHECK_INT_EQ(count_runs(&f), 1);
	CHECK_STR_EQ(read_text(in_dir(&f, "count.args")), "one\ntwo words\n");
	info = read_text(in_dir(&f, "count.info"));
	CHECK_CONTAINS(info, "\"apiVersion\":\"client.authentication.k8s.io/v1\"");
	CHECK_CONTAINS(info, "\"kind\":\"ExecCredential\"");
	CHECK_CONTAINS(info, "\"interactive\":false");
	CHECK_CONTAINS(info, "\"server\":\"https://exec.example.com:6443\"");
	CHECK_CONTAINS(info, "\"tls-server-name\":\"api.internal\"");
	CHECK_CONTAINS(info, "\"certificate-authority-data\":\"Q0EtUEVN\"");
	fix_stop(&f);
}

static void test_exec_expiry_reruns(void)
{
	struct fix f;
	uint64_t g1, g2;

	/* expirationTimestamp in the past: every get runs the plugin. */
	exec_start(&f, "expired", NULL);
	CHECK_STR_EQ(get_token(&f, &g1), "token-1");
	CHECK_STR_EQ(get_token(&f, &g2), "token-2");
	CHECK(g2 != g1);
	CHECK_INT_EQ(count_runs(&f), 2);
	fix_stop(&f);
}

static void test_exec_invalidate_reruns(void)
{
	struct fix f;

	exec_start(&f, "noexpiry", NULL);
	CHECK_STR_EQ(get_token(&f, NULL), "token-1");
	CHECK_STR_EQ(get_token(&f, NULL), "token-1");
	credential_invalidate(f.cred);
	CHECK_STR_EQ(get_token(&f, NULL), "token-2");
	CHECK_INT_EQ(count_runs(&f), 2);
	fix_stop(&f);
}

static void test_exec_client_certificate(void)
{
	struct credential_value v = { 0 };
	struct fix f;

	exec_start(&f, "cert", NULL);
	CHECK_OK(credential_get(f.cred, &v, NULL));
	CHECK_NULL(v.token);
	CHECK_NOT_NULL(v.cert_data);
	CHECK_STR_EQ((const char *)v.cert_data,
		     "-----BEGIN CERTIFICATE-----\nC1\n-----END CERTIFICATE-----\n");
	CHECK_INT_EQ(v.cert_len, strlen((const char *)v.cert_data));
	CHECK_NOT_NULL(v.key_data);
	CHECK(str_has_prefix((const char *)v.key_data,
			     "-----BEGIN PRIVATE KEY-----\n"));
	credential_value_release(&v);
	fix_stop(&f);
}

/* The plugin fails in `mode`; the error names the command and `what`. */
static void check_exec_error(const char *mode, const char *what)
{
	struct credential_value v = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	struct fix f;

	exec_start(&f, mode, NULL);
	CHECK_ERR(credential_get(f.cred, &v, &eb), ERR_UNAUTHORIZED);
	CHECK_NULL(v.token);
	CHECK_CONTAINS(eb.msg, "exec plugin \"");
	CHECK_CONTAINS(eb.msg, "plugin.sh\"");
	CHECK_CONTAINS(eb.msg, what);
	/* A failure is not cached: the next get runs it again. */
	CHECK_ERR(credential_get(f.cred, &v, &eb), ERR_UNAUTHORIZED);
	CHECK_INT_EQ(count_runs(&f), 2);
	fix_stop(&f);
}

static void test_exec_nonzero_exit(void)
{
	check_exec_error("fail", "exit status 3");
}

static void test_exec_garbage(void)
{
	check_exec_error("garbage", "ExecCredential: invalid JSON");
}

static void test_exec_wrong_kind(void)
{
	check_exec_error("wrongkind", "kind: \"Secret\" is not ExecCredential");
}

static void test_exec_wrong_api_version(void)
{
	check_exec_error("wrongversion",
			 "apiVersion: \"client.authentication.k8s.io/v1beta1\" does not match");
}

static void test_exec_no_token(void)
{
	check_exec_error("notoken", "status: neither token nor");
}

static void test_exec_output_too_large(void)
{
	check_exec_error("flood", "output larger than 1048576 bytes");
}

static void test_exec_timeout(void)
{
	int64_t saved = credential__exec_timeout_ms;

	credential__exec_timeout_ms = 200;
	check_exec_error("sleep", "timed out after 200 ms");
	credential__exec_timeout_ms = saved;
}

/* Closing stdout does not let a plugin outlive the time limit. */
static void test_exec_timeout_after_stdout_closed(void)
{
	int64_t saved = credential__exec_timeout_ms;

	credential__exec_timeout_ms = 200;
	check_exec_error("closed", "timed out after 200 ms");
	credential__exec_timeout_ms = saved;
}

static void test_exec_path_search(void)
{
	const char *old = getenv("PATH");
	char *saved = old ? xstrdup(old) : NULL;
	char cwd[512], *path;
	struct credential_value v = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	struct fix f;

	BUG_ON(!getcwd(cwd, sizeof(cwd)));
	path = xasprintf("/nonexistent:%s%s%s/exec:/bin",
			 unit_data_dir()[0] == '/' ? "" : cwd,
			 unit_data_dir()[0] == '/' ? "" : "/", unit_data_dir());
	CHECK(setenv("PATH", path, 1) == 0);
	exec_start(&f, "noexpiry", "plugin.sh");
	CHECK_STR_EQ(get_token(&f, NULL), "token-1");
	fix_stop(&f);
	exec_start(&f, "noexpiry", "no-such-plugin");
	CHECK_ERR(credential_get(f.cred, &v, &eb), ERR_UNAUTHORIZED);
	CHECK_STR_EQ(eb.msg,
		     "exec plugin \"no-such-plugin\": not found in $PATH");
	fix_stop(&f);
	if (saved)
		CHECK(setenv("PATH", saved, 1) == 0);
	free(saved);
	free(path);
}

static void test_exec_interactive_always_rejected(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct credential *c = NULL;
	struct fix f;

	exec_start(&f, "token", NULL);
	free(f.cfg->exec->interactive_mode);
	f.cfg->exec->interactive_mode = xstrdup("Always");
	CHECK_ERR(credential_new(f.cfg, &c, &eb), ERR_INVALID);
	CHECK_NULL(c);
	CHECK_CONTAINS(eb.msg, "interactiveMode Always");
	fix_stop(&f);
}

static void *get_thread(void *arg)
{
	struct credential_value v = { 0 };
	enum err e = credential_get(arg, &v, NULL);

	if (!e && !str_eq(v.token, "token-1"))
		e = ERR_INVALID;
	credential_value_release(&v);
	return (void *)(intptr_t)e;
}

static void test_exec_concurrent_callers_share_one_run(void)
{
	pthread_t t[6];
	struct fix f;

	exec_start(&f, "noexpiry", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		CHECK(pthread_create(&t[i], NULL, get_thread, f.cred) == 0);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		void *ret;

		CHECK(pthread_join(t[i], &ret) == 0);
		CHECK_INT_EQ((intptr_t)ret, ERR_OK);
	}
	CHECK_INT_EQ(count_runs(&f), 1);
	fix_stop(&f);
}

static void test_exec_decode(void)
{
	struct credential_exec_result r = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	const char *v = "client.authentication.k8s.io/v1";

	CHECK_OK(credential__exec_decode(
		v,
		"{\"apiVersion\":\"client.authentication.k8s.io/v1\","
		"\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\","
		"\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}",
		&r, &eb));
	CHECK_STR_EQ(r.token, "t");
	CHECK_INT_EQ(r.expiry_ms, 1893553445000LL);
	credential__exec_result_release(&r);
	CHECK_ERR(credential__exec_decode(
			  v,
			  "{\"apiVersion\":\"client.authentication.k8s.io/v1\","
			  "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\","
			  "\"expirationTimestamp\":\"tomorrow\"}}",
			  &r, &eb),
		  ERR_DECODE);
	CHECK_CONTAINS(eb.msg, "status.expirationTimestamp: invalid time");
	CHECK_ERR(credential__exec_decode(v, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
					  &r, &eb),
		  ERR_DECODE);
	CHECK_CONTAINS(eb.msg, "nested deeper");
	CHECK_NULL(r.token);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_token_file_rotation),
		UNIT_CASE(test_token_file_invalidate_after_401),
		UNIT_CASE(test_token_file_failure_keeps_last),
		UNIT_CASE(test_token_file_never_readable),
		UNIT_CASE(test_static_token_and_fallback),
		UNIT_CASE(test_exec_token_cached_until_expiry),
		UNIT_CASE(test_exec_expiry_reruns),
		UNIT_CASE(test_exec_invalidate_reruns),
		UNIT_CASE(test_exec_client_certificate),
		UNIT_CASE(test_exec_nonzero_exit),
		UNIT_CASE(test_exec_garbage),
		UNIT_CASE(test_exec_wrong_kind),
		UNIT_CASE(test_exec_wrong_api_version),
		UNIT_CASE(test_exec_no_token),
		UNIT_CASE(test_exec_output_too_large),
		UNIT_CASE(test_exec_timeout),
		UNIT_CASE(test_exec_timeout_after_stdout_closed),
		UNIT_CASE(test_exec_path_search),
		UNIT_CASE(test_exec_interactive_always_rejected),
		UNIT_CASE(test_exec_concurrent_callers_share_one_run),
		UNIT_CASE(test_exec_decode),
	};

	return unit_main(argc, argv, "credential", cases, ARRAY_SIZE(cases));
}
