/*
 * Unit tests of kubeconfig: good files of every kind from
 * tests/data/kubeconfig, the $KUBECONFIG merge, --context and --master,
 * in-cluster with a fake root, and broken files, each asserting the error
 * code and that the message names the file and the field. The environment
 * is faked through getenv_fn, so the host's ~/.kube and variables never
 * matter.
 */
#include "base.h"
#include "kubeconfig.h"
#include "unit.h"

#include <unistd.h>

/* ---- Fake environment ------------------------------------------------- */

static const char *env_names[16];
static const char *env_values[16];

static const char *fake_getenv(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_names); i++)
		if (env_names[i] && strcmp(env_names[i], name) == 0)
			return env_values[i];
	return NULL;
}

static void env_set(const char *name, const char *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_names); i++) {
		if (!env_names[i] || strcmp(env_names[i], name) == 0) {
			env_names[i] = name;
			env_values[i] = value;
			return;
		}
	}
	BUG_ON("fake environment full");
}

/* Options with an empty fake environment. */
static struct kubeconfig_options opts_new(void)
{
	struct kubeconfig_options o = { .getenv_fn = fake_getenv };

	memset(env_names, 0, sizeof(env_names));
	memset(env_values, 0, sizeof(env_values));
	return o;
}

/* ---- Paths ------------------------------------------------------------ */

static char path_buf[8][1024];
static unsigned path_next;

/* tests/data/kubeconfig/<rel>, in a rotating static buffer. */
static const char *kc(const char *rel)
{
	char *p = path_buf[path_next++ % ARRAY_SIZE(path_buf)];

	(void)snprintf(p, sizeof(path_buf[0]), "%s/kubeconfig/%s",
		       unit_data_dir(), rel);
	return p;
}

/* The absolute form of kc(rel), as relative paths are resolved. */
static const char *kc_abs(const char *rel)
{
	char *p = path_buf[path_next++ % ARRAY_SIZE(path_buf)];
	char cwd[512];

	if (unit_data_dir()[0] == '/')
		return kc(rel);
	BUG_ON(!getcwd(cwd, sizeof(cwd)));
	(void)snprintf(p, sizeof(path_buf[0]), "%s/%s/kubeconfig/%s", cwd,
		       unit_data_dir(), rel);
	return p;
}

static struct kubeconfig *load_ok(struct kubeconfig_options *o)
{
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg = NULL;
	enum err e = kubeconfig_load(o, &cfg, &eb);

	if (e != ERR_OK)
		unit_fail(__FILE__, __LINE__, "kubeconfig_load: %s: %s",
			  err_name(e), eb.msg);
	CHECK_NOT_NULL(cfg);
	return cfg;
}

static struct kubeconfig *load_file(const char *rel, const char *context)
{
	struct kubeconfig_options o = opts_new();

	o.kubeconfig = kc(rel);
	o.context = context;
	return load_ok(&o);
}

/*
 * data == the contents of tests/data/<rel>. (Not unit_read_data, which
 * leaks the buffer buf_detach re-initialises.)
 */
static void check_file_eq(const unsigned char *data, size_t len,
			  const char *rel)
{
	char path[1024], want[4096];
	size_t want_len;
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/%s", unit_data_dir(), rel);
	f = fopen(path, "rb");
	CHECK_NOT_NULL(f);
	want_len = fread(want, 1, sizeof(want), f);
	(void)fclose(f);
	CHECK_NOT_NULL(data);
	CHECK_INT_EQ(len, want_len);
	CHECK(memcmp(data, want, len) == 0);
}

/* ---- Good files ------------------------------------------------------- */

static void test_token_ca_proxy_impersonation(void)
{
	struct kubeconfig *cfg = load_file("token.yaml", NULL);

	CHECK_STR_EQ(cfg->source, kc("token.yaml"));
	CHECK_STR_EQ(cfg->context, "dev");
	CHECK_STR_EQ(cfg->server, "https://dev.example.com:6443");
	CHECK_STR_EQ(cfg->ca_file, kc_abs("certs/ca.crt"));
	CHECK_NULL(cfg->ca_data);
	CHECK_STR_EQ(cfg->tls_server_name, "api.dev.internal");
	CHECK_STR_EQ(cfg->proxy_url, "socks5://proxy.example.com:1080");
	CHECK(cfg->disable_compression);
	CHECK(!cfg->insecure_skip_tls_verify);
	CHECK_STR_EQ(cfg->token, "abc.def");
	CHECK_NULL(cfg->token_file);
	CHECK_STR_EQ(cfg->impersonate_user, "bob");
	CHECK_STR_EQ(cfg->impersonate_uid, "1234");
	CHECK_NOT_NULL(cfg->impersonate_groups);
	CHECK_STR_EQ(cfg->impersonate_groups[0], "devs");
	CHECK_STR_EQ(cfg->impersonate_groups[1], "ops");
	CHECK_NULL(cfg->impersonate_groups[2]);
	CHECK_NULL(cfg->exec);
	CHECK_STR_EQ(cfg->ns, "team-a");
	kubeconfig_free(cfg);
}

static void test_cert_data(void)
{
	struct kubeconfig *cfg = load_file("certdata.yaml", NULL);

	CHECK_STR_EQ(cfg->server, "https://10.0.0.1:6443");
	check_file_eq(cfg->ca_data, cfg->ca_len, "kubeconfig/certs/ca.crt");
	CHECK_NULL(cfg->ca_file); /* data overrides the (missing) path */
	check_file_eq(cfg->cert_data, cfg->cert_len,
		      "kubeconfig/certs/client.crt");
	check_file_eq(cfg->key_data, cfg->key_len,
		      "kubeconfig/certs/client.key");
	CHECK_NULL(cfg->cert_file);
	CHECK_NULL(cfg->key_file);
	CHECK_NULL(cfg->token);
	CHECK_STR_EQ(cfg->ns, "default");
	kubeconfig_free(cfg);
}

static void test_cert_files_relative(void)
{
	struct kubeconfig *cfg = load_file("certfiles.yaml", NULL);

	CHECK_STR_EQ(cfg->server, "http://127.0.0.1:8080");
	CHECK_STR_EQ(cfg->cert_file, kc_abs("certs/client.crt"));
	CHECK_STR_EQ(cfg->key_file, kc_abs("./certs/client.key"));
	CHECK_STR_EQ(cfg->token_file, kc_abs("certs/token"));
	CHECK(cfg->cert_file[0] == '/');
	CHECK_NULL(cfg->cert_data);
	CHECK_NULL(cfg->key_data);
	kubeconfig_free(cfg);
}

static void test_insecure_basic_ipv6(void)
{
	struct kubeconfig *cfg = load_file("insecure.yaml", NULL);

	CHECK_STR_EQ(cfg->server, "https://[fd00::1]:6443");
	CHECK(cfg->insecure_skip_tls_verify);
	CHECK_NULL(cfg->ca_data);
	CHECK_NULL(cfg->ca_file);
	CHECK_STR_EQ(cfg->username, "admin");
	CHECK_STR_EQ(cfg->password, "s3cret: yes");
	kubeconfig_free(cfg);
}

static void test_exec(void)
{
	struct kubeconfig *cfg = load_file("exec.yaml", NULL);
	const struct kubeconfig_exec *x = cfg->exec;

	CHECK_NOT_NULL(x);
	CHECK_STR_EQ(x->command, kc_abs("../exec/plugin.sh"));
	CHECK_STR_EQ(x->args[0], "--mode");
	CHECK_STR_EQ(x->args[1], "token");
	CHECK_NULL(x->args[2]);
	CHECK_STR_EQ(x->env[0], "MODE=token");
	CHECK_STR_EQ(x->env[1], "EMPTY=");
	CHECK_NULL(x->env[2]);
	CHECK_STR_EQ(x->api_version, "client.authentication.k8s.io/v1");
	CHECK(x->provide_cluster_info);
	CHECK_STR_EQ(x->interactive_mode, "Never");
	kubeconfig_free(cfg);

	/* A bare name stays as it is: it is searched on $PATH at run time. */
	cfg = load_file("exec.yaml", "onpath");
	CHECK_STR_EQ(cfg->exec->command, "kubectl-oidc_login");
	CHECK_NULL(cfg->exec->args);
	CHECK_NULL(cfg->exec->env);
	CHECK(!cfg->exec->provide_cluster_info);
	CHECK_NULL(cfg->exec->interactive_mode);
	kubeconfig_free(cfg);
}

static void test_json_format(void)
{
	struct kubeconfig *cfg = load_file("json.json", NULL);

	CHECK_STR_EQ(cfg->server, "https://json.example.com:443");
	CHECK_STR_EQ(cfg->token, "json-token");
	CHECK_STR_EQ(cfg->impersonate_groups[1], "b");
	CHECK_STR_EQ(cfg->ns, "json-ns");
	CHECK(!cfg->insecure_skip_tls_verify);
	kubeconfig_free(cfg);
}

static void test_multiple_contexts(void)
{
	struct kubeconfig *cfg = load_file("multi.yaml", NULL);
	struct kubeconfig_options o = opts_new();
	struct errbuf eb = ERRBUF_INIT;

	/* Incomplete entries that are not selected do not matter. */
	CHECK_STR_EQ(cfg->context, "prod");
	CHECK_STR_EQ(cfg->server, "https://prod.example.com");
	CHECK_STR_EQ(cfg->token, "ops-token");
	CHECK_STR_EQ(cfg->ns, "prod-ns");
	kubeconfig_free(cfg);

	cfg = load_file("multi.yaml", "staging");
	CHECK_STR_EQ(cfg->context, "staging");
	CHECK_STR_EQ(cfg->server, "https://staging.example.com");
	CHECK_NULL(cfg->token); /* no user: anonymous, as client-go */
	CHECK_STR_EQ(cfg->ns, "default");
	kubeconfig_free(cfg);

	cfg = NULL;
	o.kubeconfig = kc("multi.yaml");
	o.context = "broken";
	CHECK_ERR(kubeconfig_load(&o, &cfg, &eb), ERR_INVALID);
	CHECK_NULL(cfg);
	CHECK_CONTAINS(eb.msg, "clusters[2].cluster.server: required");
}

static void test_kubeconfig_env_merge_first_wins(void)
{
	struct kubeconfig_options o = opts_new();
	struct kubeconfig *cfg;
	char list[4096];

	/* Missing and empty entries are skipped; repeats count once. */
	(void)snprintf(list, sizeof(list), "%s:%s::%s:%s", kc("missing.yaml"),
		       kc("merge-a.yaml"), kc("merge-b.yaml"),
		       kc("merge-a.yaml"));
	env_set("KUBECONFIG", list);
	cfg = load_ok(&o);
	/* current-context from b (a sets none); cluster "shared" from a. */
	CHECK_STR_EQ(cfg->context, "ctx-b");
	CHECK_STR_EQ(cfg->source, kc("merge-b.yaml"));
	CHECK_STR_EQ(cfg->server, "https://a.example.com");
	CHECK_STR_EQ(cfg->token, "token-b");
	kubeconfig_free(cfg);

	o.context = "ctx-a";
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "https://a.example.com");
	CHECK_STR_EQ(cfg->token, "token-a");
	kubeconfig_free(cfg);

	/* The other order: b's ctx-a, b-only cluster, b's u-a. */
	(void)snprintf(list, sizeof(list), "%s:%s", kc("merge-b.yaml"),
		       kc("merge-a.yaml"));
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "https://b-only.example.com");
	CHECK_STR_EQ(cfg->token, "token-a-from-b");
	kubeconfig_free(cfg);
}

static void test_home_default_and_kubeconfig_flag_precedence(void)
{
	struct kubeconfig_options o = opts_new();
	struct kubeconfig *cfg;

	env_set("HOME", kc("home"));
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->source, kc("home/.kube/config"));
	CHECK_STR_EQ(cfg->token, "json-token");
	kubeconfig_free(cfg);

	/* --kubeconfig beats $KUBECONFIG, which beats ~/.kube/config. */
	env_set("KUBECONFIG", kc("merge-b.yaml"));
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->token, "token-b");
	kubeconfig_free(cfg);
	o.kubeconfig = kc("token.yaml");
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->token, "abc.def");
	kubeconfig_free(cfg);
}

static void test_master_override(void)
{
	struct kubeconfig_options o = opts_new();
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg;

	o.kubeconfig = kc("token.yaml");
	o.master = "https://override.example.com:8443/";
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "https://override.example.com:8443");
	CHECK_STR_EQ(cfg->token, "abc.def");
	CHECK_STR_EQ(cfg->ns, "team-a");
	kubeconfig_free(cfg);

	/* --master and nothing else: a config with just that server. */
	o.kubeconfig = NULL;
	env_set("HOME", "/nonexistent");
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "https://override.example.com:8443");
	CHECK_NULL(cfg->token);
	CHECK_STR_EQ(cfg->ns, "default");
	kubeconfig_free(cfg);

	cfg = NULL;
	o.master = "override.example.com";
	CHECK_ERR(kubeconfig_load(&o, &cfg, &eb), ERR_INVALID);
	CHECK_NULL(cfg);
	CHECK_CONTAINS(eb.msg, "--master: \"override.example.com\" is not");
}

static void test_kubernetes_master_env(void)
{
	struct kubeconfig_options o = opts_new();
	struct kubeconfig *cfg;

	/* As client-go's ClusterDefaults: fills in a missing server... */
	env_set("KUBERNETES_MASTER", "http://127.0.0.1:8080");
	o.kubeconfig = kc("no-server.yaml");
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "http://127.0.0.1:8080");
	kubeconfig_free(cfg);
	/* ...but does not replace one the file sets, nor --master. */
	o.kubeconfig = kc("token.yaml");
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "https://dev.example.com:6443");
	kubeconfig_free(cfg);
	o.kubeconfig = kc("no-server.yaml");
	o.master = "https://flag.example.com";
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "https://flag.example.com");
	kubeconfig_free(cfg);
	/* With no file at all it is the server. */
	o.kubeconfig = NULL;
	o.master = NULL;
	cfg = load_ok(&o);
	CHECK_STR_EQ(cfg->server, "http://127.0.0.1:8080");
	CHECK_STR_EQ(cfg->source, "KUBERNETES_MASTER");
	kubeconfig_free(cfg);
}

/* ---- In-cluster ------------------------------------------------------- */

#define SA_REL "incluster/var/run/secrets/kubernetes.io/serviceaccount"

static void test_in_cluster(void)
{
	struct kubeconfig_options o = opts_new();
	char token_path[1024];
	struct kubeconfig *cfg;

	env_set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
	env_set("KUBERNETES_SERVICE_PORT", "443");
	env_set("HOME", "/nonexistent");
	o.in_cluster_root = kc("incluster/");
	(void)snprintf(token_path, sizeof(token_path), "%s",
		       kc(SA_REL "/token"));
	cfg = load_ok(&o); /* no kubeconfig anywhere: in-cluster */
	CHECK_STR_EQ(cfg->source, "in-cluster");
	CHECK_STR_EQ(cfg->context, "");
	CHECK_STR_EQ(cfg->server, "https://10.96.0.1:443");
	CHECK_STR_EQ(cfg->token_file, token_path);
	CHECK_STR_EQ(cfg->token, "sa-token-1");
	check_file_eq(cfg->ca_data, cfg->ca_len,
		      "kubeconfig/" SA_REL "/ca.crt");
	CHECK_STR_EQ(cfg->ns, "kube-system"); /* trimmed */
	CHECK(!cfg->insecure_skip_tls_verify);
	kubeconfig_free(cfg);
}

static void test_in_cluster_ipv6_pod_namespace(void)
{
	struct kubeconfig_options o = opts_new();
	struct kubeconfig *cfg;

	env_set("KUBERNETES_SERVICE_HOST", "fd00:10:96::1");
	env_set("KUBERNETES_SERVICE_PORT", "6443");
	env_set("POD_NAMESPACE", "from-env");
	o.in_cluster_root = kc("incluster");
	cfg = NULL;
	CHECK_OK(kubeconfig_in_cluster(&o, &cfg, NULL));
	CHECK_STR_EQ(cfg->server, "https://[fd00:10:96::1]:6443");
	CHECK_STR_EQ(cfg->ns, "from-env");
	kubeconfig_free(cfg);

	/* No namespace file and no $POD_NAMESPACE: "default". */
	env_set("POD_NAMESPACE", "");
	o.in_cluster_root = kc("incluster-nons");
	CHECK_OK(kubeconfig_in_cluster(&o, &cfg, NULL));
	CHECK_STR_EQ(cfg->ns, "default");
	CHECK_STR_EQ(cfg->token, "sa-token-2");
	kubeconfig_free(cfg);
}

static void test_in_cluster_errors(void)
{
	struct kubeconfig_options o = opts_new();
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg = NULL;

	CHECK_ERR(kubeconfig_in_cluster(&o, &cfg, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "KUBERNETES_SERVICE_HOST");
	env_set("KUBERNETES_SERVICE_HOST", "10.96.0.1");
	env_set("KUBERNETES_SERVICE_PORT", "https");
	CHECK_ERR(kubeconfig_in_cluster(&o, &cfg, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "KUBERNETES_SERVICE_PORT: \"https\"");
	env_set("KUBERNETES_SERVICE_PORT", "443");
	o.in_cluster_root = kc("nonexistent-root");
	CHECK_ERR(kubeconfig_in_cluster(&o, &cfg, &eb), ERR_IO);
	CHECK_CONTAINS(eb.msg, "serviceaccount/token: cannot read: No such file");
	CHECK_NULL(cfg);

	/* Nothing configured at all. */
	o = opts_new();
	CHECK_ERR(kubeconfig_load(&o, &cfg, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "no configuration");
	CHECK_NULL(cfg);
}

/* ---- In-memory parsing: exact messages -------------------------------- */

static void test_parse_exact_messages(void)
{
	static const char bad64[] =
		"clusters:\n"
		"- name: c\n"
		"  cluster: {server: 'https://x'}\n"
		"users:\n"
		"- name: u\n"
		"  user: {client-key-data: '@@@'}\n";
	static const char syntax[] = "clusters:\n"
				     "- name: c\n"
				     "  cluster: {server: x\n"
				     "users: []\n";
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg = NULL;

	CHECK_ERR(kubeconfig_parse("/tmp/x/config", bad64, strlen(bad64),
				   NULL, &cfg, &eb),
		  ERR_DECODE);
	CHECK_STR_EQ(eb.msg,
		     "/tmp/x/config: users[0].user.client-key-data: invalid base64");
	CHECK_ERR(kubeconfig_parse("/tmp/x/config", syntax, strlen(syntax),
				   NULL, &cfg, &eb),
		  ERR_DECODE);
	CHECK_CONTAINS(eb.msg, "/tmp/x/config: line 4 column ");
	CHECK_NULL(cfg);

	/* The context argument picks one; an empty document has none. */
	CHECK_ERR(kubeconfig_parse("/tmp/x/config", "", 0, "prod", &cfg, &eb),
		  ERR_INVALID);
	CHECK_STR_EQ(eb.msg, "/tmp/x/config: context \"prod\" not found");
}

/* ---- Broken files ----------------------------------------------------- */

static void check_broken(const char *rel, const char *context, enum err code,
			 const char *field)
{
	struct kubeconfig_options o = opts_new();
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg = NULL;

	o.kubeconfig = kc(rel);
	o.context = context;
	CHECK_ERR(kubeconfig_load(&o, &cfg, &eb), code);
	CHECK_NULL(cfg);
	CHECK_CONTAINS(eb.msg, kc(rel));
	CHECK_CONTAINS(eb.msg, field);
}

#define BROKEN(name, rel, context, code, field)                              \
	static void name(void)                                               \
	{                                                                    \
		check_broken(rel, context, code, field);                     \
	}

BROKEN(test_bad_missing_file, "nonexistent.yaml", NULL, ERR_IO,
       "nonexistent.yaml: cannot read: No such file or directory")
BROKEN(test_bad_yaml_syntax, "bad-syntax.yaml", NULL, ERR_DECODE,
       "bad-syntax.yaml: line 6 column 4: did not find expected key")
BROKEN(test_bad_no_current_context, "bad-no-current.yaml", NULL, ERR_INVALID,
       ": current-context: not set")
BROKEN(test_bad_unknown_context, "token.yaml", "prod", ERR_INVALID,
       "token.yaml: context \"prod\" not found")
BROKEN(test_bad_missing_cluster, "bad-missing-cluster.yaml", NULL,
       ERR_INVALID, ": contexts[0].context.cluster: cluster \"nope\" not found")
BROKEN(test_bad_missing_user, "bad-missing-user.yaml", NULL, ERR_INVALID,
       ": contexts[1].context.user: user \"ghost\" not found")
BROKEN(test_bad_no_server, "no-server.yaml", NULL, ERR_INVALID,
       ": clusters[0].cluster.server: required")
BROKEN(test_bad_server_not_url, "bad-server-url.yaml", NULL, ERR_INVALID,
       ": clusters[1].cluster.server: \"x.example.com:6443\" is not an http(s) URL")
BROKEN(test_bad_base64, "bad-base64.yaml", NULL, ERR_DECODE,
       ": users[0].user.client-key-data: invalid base64")
BROKEN(test_bad_insecure_with_ca, "bad-insecure-ca.yaml", NULL, ERR_INVALID,
       ": clusters[0].cluster.insecure-skip-tls-verify: cannot be combined")
BROKEN(test_bad_auth_provider, "bad-auth-provider.yaml", NULL, ERR_INVALID,
       ": users[0].user.auth-provider: not supported")
BROKEN(test_bad_list_for_mapping, "bad-type.yaml", NULL, ERR_DECODE,
       ": clusters[0].cluster: expected a mapping, got a list")
BROKEN(test_bad_string_got_list, "bad-token-list.yaml", NULL, ERR_DECODE,
       ": users[0].user.token: expected a string, got a list")
BROKEN(test_bad_top_level, "bad-toplevel.yaml", NULL, ERR_DECODE,
       ": (top level): expected a mapping, got a list")
BROKEN(test_bad_exec_no_command, "bad-exec-no-command.yaml", NULL,
       ERR_INVALID, ": users[0].user.exec.command: required")
BROKEN(test_bad_exec_env_no_name, "bad-env.yaml", NULL, ERR_DECODE,
       ": users[0].user.exec.env[0].name: required")
BROKEN(test_bad_interactive_mode, "bad-interactive.yaml", NULL, ERR_DECODE,
       ": users[0].user.exec.interactiveMode: \"Sometimes\" is not")
BROKEN(test_bad_cert_file_missing, "bad-cert-missing.yaml", NULL, ERR_IO,
       ": users[0].user.client-certificate: cannot read ")
BROKEN(test_bad_ca_file_missing, "bad-ca-missing.yaml", NULL, ERR_IO,
       ": clusters[0].cluster.certificate-authority: cannot read /nonexistent/ca.crt: No such file")
BROKEN(test_bad_key_without_cert, "bad-key-only.yaml", NULL, ERR_INVALID,
       ": users[0].user.client-certificate: required with client-key")
BROKEN(test_bad_boolean, "bad-bool.yaml", NULL, ERR_DECODE,
       ": clusters[0].cluster.insecure-skip-tls-verify: expected true or false, got \"maybe\"")
BROKEN(test_bad_duplicate_name, "bad-duplicate.yaml", NULL, ERR_DECODE,
       ": clusters[1].name: duplicate name \"c\"")
BROKEN(test_bad_token_and_basic, "bad-token-basic.yaml", NULL, ERR_INVALID,
       ": users[0].user: more than one authentication method")

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(test_token_ca_proxy_impersonation),
		UNIT_CASE(test_cert_data),
		UNIT_CASE(test_cert_files_relative),
		UNIT_CASE(test_insecure_basic_ipv6),
		UNIT_CASE(test_exec),
		UNIT_CASE(test_json_format),
		UNIT_CASE(test_multiple_contexts),
		UNIT_CASE(test_kubeconfig_env_merge_first_wins),
		UNIT_CASE(test_home_default_and_kubeconfig_flag_precedence),
		UNIT_CASE(test_master_override),
		UNIT_CASE(test_kubernetes_master_env),
		UNIT_CASE(test_in_cluster),
		UNIT_CASE(test_in_cluster_ipv6_pod_namespace),
		UNIT_CASE(test_in_cluster_errors),
		UNIT_CASE(test_parse_exact_messages),
		UNIT_CASE(test_bad_missing_file),
		UNIT_CASE(test_bad_yaml_syntax),
		UNIT_CASE(test_bad_no_current_context),
		UNIT_CASE(test_bad_unknown_context),
		UNIT_CASE(test_bad_missing_cluster),
		UNIT_CASE(test_bad_missing_user),
		UNIT_CASE(test_bad_no_server),
		UNIT_CASE(test_bad_server_not_url),
		UNIT_CASE(test_bad_base64),
		UNIT_CASE(test_bad_insecure_with_ca),
		UNIT_CASE(test_bad_auth_provider),
		UNIT_CASE(test_bad_list_for_mapping),
		UNIT_CASE(test_bad_string_got_list),
		UNIT_CASE(test_bad_top_level),
		UNIT_CASE(test_bad_exec_no_command),
		UNIT_CASE(test_bad_exec_env_no_name),
		UNIT_CASE(test_bad_interactive_mode),
		UNIT_CASE(test_bad_cert_file_missing),
		UNIT_CASE(test_bad_ca_file_missing),
		UNIT_CASE(test_bad_key_without_cert),
		UNIT_CASE(test_bad_boolean),
		UNIT_CASE(test_bad_duplicate_name),
		UNIT_CASE(test_bad_token_and_basic),
	};

	return unit_main(argc, argv, "kubeconfig", cases, ARRAY_SIZE(cases));
}
