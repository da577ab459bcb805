/*
 * it-binary: the svc-controllers binary ($SVC_BIN) as an operator runs it
 * — against the real cluster its caches hold what a fresh list holds and
 * SIGTERM ends it with status 0; bad flags exit 2 naming the flag, a
 * missing kubeconfig exits 1 naming the path; --help documents the flags
 * and --version prints one.
 */
#include "base.h"
#include "itlib.h"

#include <signal.h>
#include <sys/wait.h>

#define MANAGED_BY_DEFAULT "endpointslice-controller.k8s.io"
#define SLICE_SELECTOR                                                         \
	"endpointslice.kubernetes.io/managed-by=" MANAGED_BY_DEFAULT
#define RUN_TIMEOUT_MS 30000

struct caches {
	size_t pods, services, nodes, endpointslices;
};

static const char *svc_bin(void)
{
	return it_env("SVC_BIN");
}

/* Runs $SVC_BIN with up to three arguments; returns the exit code. */
static int run_bin(const char *a1, const char *a2, const char *a3,
		   struct buf *out, struct buf *err)
{
	char *argv[] = {(char *)svc_bin(), (char *)a1, (char *)a2, (char *)a3,
			NULL};

	return it_run(argv, RUN_TIMEOUT_MS, out, err);
}

static size_t count(enum kube_kind kind, const char *selector)
{
	struct errbuf eb = ERRBUF_INIT;
	struct it_list l;
	size_t n;

	IT_CHECK_OK(it_list(kind, NULL, selector, &l, &eb), &eb);
	n = l.n;
	it_list_release(&l);
	return n;
}

static void post(const char *path, const char *body)
{
	struct errbuf eb = ERRBUF_INIT;

	IT_CHECK_OK(it_post(path, body, NULL, NULL, &eb), &eb);
}

/* Something of every kind, so no count is trivially zero. */
static void populate(const char *ns, const char *node)
{
	struct errbuf eb = ERRBUF_INIT;
	char *path;

	IT_CHECK_OK(it_node_create(node, "zone-a", &eb), &eb);
	for (int i = 0; i < 3; i++) {
		char name[16];

		(void)snprintf(name, sizeof(name), "web-%d", i);
		IT_CHECK_OK(it_pod_create(ns, name, node, "web", NULL, &eb),
			    &eb);
	}
	path = xasprintf("/api/v1/namespaces/%s/services", ns);
	it_defer(free, path);
	post(path, "{\"apiVersion\":\"v1\",\"kind\":\"Service\","
		   "\"metadata\":{\"name\":\"web\"},\"spec\":{"
		   "\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":"
		   "\"http\",\"port\":80,\"targetPort\":\"http\"}]}}");
	path = xasprintf(
	    "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
	it_defer(free, path);
	/* One slice this process would own, one it would not. */
	post(path, "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
		   "\"EndpointSlice\",\"metadata\":{\"name\":\"web-owned\","
		   "\"labels\":{\"kubernetes.io/service-name\":\"web\","
		   "\"endpointslice.kubernetes.io/managed-by\":"
		   "\"" MANAGED_BY_DEFAULT "\"}},\"addressType\":\"IPv4\","
		   "\"endpoints\":[{\"addresses\":[\"10.4.0.1\"]}],"
		   "\"ports\":[{\"name\":\"http\",\"port\":8080}]}");
	post(path,
	     "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":"
	     "\"EndpointSlice\",\"metadata\":{\"name\":\"web-other\","
	     "\"labels\":{\"kubernetes.io/service-name\":\"web\","
	     "\"endpointslice.kubernetes.io/managed-by\":\"someone-else\"}},"
	     "\"addressType\":\"IPv4\",\"endpoints\":[],\"ports\":[]}");
}

struct log_wait {
	const char *path;
	struct buf text;
	const char *needle;
};

static bool log_has(void *arg)
{
	struct log_wait *w = arg;

	it_read_file(w->path, &w->text);
	return strstr(w->text.data, w->needle) != NULL;
}

static bool parse_caches(const char *log, struct caches *c)
{
	const char *p = strstr(log, "caches pods=");

	return p &&
	       sscanf(
		   p,
		   "caches pods=%zu services=%zu nodes=%zu endpointslices=%zu",
		   &c->pods, &c->services, &c->nodes, &c->endpointslices) == 4;
}

/* ---- Cases ------------------------------------------------------------- */

static void caches_match_the_cluster(void)
{
	static struct it_proc proc;
	struct log_wait w = {.needle = "caches pods="};
	struct caches c = {0};
	char *node;
	const char *ns;
	int status = 0;
	bool seen;

	it_begin();
	ns = it_ns_create("it-binary");
	node = it_unique_name("it-node");
	it_defer(free, node);
	populate(ns, node);

	{
		char *argv[] = {(char *)svc_bin(), (char *)"--kubeconfig",
				(char *)it_env("KUBECONFIG"),
				(char *)"--cache-sync-timeout=60s",
				(char *)"--secure-port=0", NULL};
		struct errbuf eb = ERRBUF_INIT;

		IT_CHECK_OK(it_proc_start(argv, &proc, &eb), &eb);
	}
	w.path = proc.err_path;
	buf_init(&w.text, 0);
	seen = it_wait_until(log_has, &w, IT_TIMEOUT_MS);
	if (!seen)
		printf("#   no cache line; stderr:\n%s\n", w.text.data);
	CHECK(seen);
	CHECK(parse_caches(w.text.data, &c));
	buf_release(&w.text);
	printf("# binary: pods=%zu services=%zu nodes=%zu endpointslices=%zu\n",
	       c.pods, c.services, c.nodes, c.endpointslices);
	CHECK_INT_EQ(c.pods, count(KUBE_KIND_POD, NULL));
	CHECK_INT_EQ(c.services, count(KUBE_KIND_SERVICE, NULL));
	CHECK_INT_EQ(c.nodes, count(KUBE_KIND_NODE, NULL));
	CHECK_INT_EQ(c.endpointslices,
		     count(KUBE_KIND_ENDPOINTSLICE, SLICE_SELECTOR));
	CHECK(c.pods >= 3);
	CHECK(c.nodes >= 1);
	CHECK(c.services >= 1);
	CHECK(c.endpointslices >= 1);

	CHECK_INT_EQ(kill(proc.pid, SIGTERM), 0);
	CHECK(it_proc_wait(&proc, IT_TIMEOUT_MS, &status));
	CHECK(WIFEXITED(status));
	CHECK_INT_EQ(WEXITSTATUS(status), 0);
	it_end();
}

static void bogus_flag_exits_2(void)
{
	struct buf out, err;

	it_begin();
	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK_INT_EQ(run_bin("--bogus-flag", NULL, NULL, &out, &err), 2);
	CHECK_CONTAINS(err.data, "bogus-flag");
	CHECK_INT_EQ(run_bin("--kube-api-qps=abc", NULL, NULL, &out, &err), 2);
	CHECK_CONTAINS(err.data, "kube-api-qps");
	CHECK_CONTAINS(err.data, "abc");
	buf_release(&out);
	buf_release(&err);
	it_end();
}

static void missing_kubeconfig_exits_1(void)
{
	static const char path[] = "/nonexistent/it-kubeconfig";
	struct buf out, err;

	it_begin();
	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK_INT_EQ(run_bin("--kubeconfig", path, NULL, &out, &err), 1);
	CHECK_CONTAINS(err.data, path);
	buf_release(&out);
	buf_release(&err);
	it_end();
}

static void help_lists_the_flags(void)
{
	static const char *const names[] = {
	    "--kubeconfig",	"--master",
	    "--context",	"--kube-api-qps",
	    "--kube-api-burst", "--managed-by",
	    "--watch-list",	"--cache-sync-timeout",
	    "--log-format",	"--version",
	    "--help",
	};
	struct buf out, err;

	it_begin();
	buf_init(&out, 0);
	buf_init(&err, 0);
	CHECK_INT_EQ(run_bin("--help", NULL, NULL, &out, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		CHECK_CONTAINS(out.data, names[i]);
	CHECK_INT_EQ(run_bin("--version", NULL, NULL, &out, &err), 0);
	CHECK_CONTAINS(out.data, "svc-controllers");
	buf_release(&out);
	buf_release(&err);
	it_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(caches_match_the_cluster),
    UNIT_CASE(bogus_flag_exits_2),
    UNIT_CASE(missing_kubeconfig_exits_1),
    UNIT_CASE(help_lists_the_flags),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-binary", cases, ARRAY_SIZE(cases));
}
