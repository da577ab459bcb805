/*
 * bench-create: what our admission webhook costs a Service create
 * (benchmarks.md S7, "Service-create latency ratio, webhook vs
 * apiserver-only"). Against the real local kube-apiserver that
 * hack/bench.sh starts, one svc-controllers process (allocator only) serves
 * the webhook on 127.0.0.1, registered for one namespace; ClusterIP
 * Services (thousands: more than the 2,768 node ports) are created in that
 * namespace and in one the webhook does not cover, where the apiserver
 * allocates alone. Rounds alternate between the two, so both see the same
 * machine state. Sequential creates give the latency percentiles; eight
 * concurrent clients give the throughput.
 *
 * Needs BENCH_CLUSTER_DIR (the cluster's state directory: kubeconfig and
 * pki/) and SVC_BIN; without them it prints that it was skipped.
 */
#include "base.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apiclient.h"
#include "integration/itlib.h"
#include "kubeconfig.h"

#define ROUNDS	   6
#define PER_ROUND  40 /* sequential creates per side per round */
#define CLIENTS	   8
#define PER_CLIENT 40

extern char **environ;

static struct {
	const char *dir, *bin;
	char ca[512], cert[512], key[512], db[512];
	char ns_wh[64], ns_api[64], wh_name[64];
	int port;
	pid_t pid;
	struct kubeconfig *cfg;
	struct apiclient *api;
} g;

/* GET https://127.0.0.1:<webhook port><path>, trusting the cluster CA. */
static long https_get(const char *path)
{
	char url[128];
	struct buf b;
	long code;

	buf_init(&b, 0);
	(void)snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", g.port, path);
	code = it_http_get(url, g.ca, &b);
	buf_release(&b);
	return code;
}

static atomic_bool reported; /* only the first failure is printed */

static enum err post(const char *path, const char *body, const char *ctype)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	enum err e = apiclient_do(
	    g.api,
	    &(struct apiclient_request){.method = APICLIENT_POST,
					.path = path,
					.body = body,
					.body_len = strlen(body),
					.content_type = ctype},
	    NULL, &res, &eb);

	if (e != ERR_OK && !atomic_exchange(&reported, true))
		(void)fprintf(stderr, "bench-create: %s\n", eb.msg);
	return e;
}

static void del(const char *path)
{
	struct apiclient_result res;
	enum err e = apiclient_do(
	    g.api,
	    &(struct apiclient_request){.method = APICLIENT_DELETE, .path = path},
	    NULL, &res, NULL);

	(void)e; /* best effort: the bench cluster is torn down anyway */
}

/* The webhook's configuration, as `svc-controllers webhook-config` prints
 * it, registered for ns_wh only. */
static enum err register_webhook(void)
{
	char *cmd = xasprintf("%s webhook-config --ca-file %s --url "
			      "https://127.0.0.1:%d/mutate --name %s "
			      "--namespace-selector kubernetes.io/metadata.name=%s",
			      g.bin, g.ca, g.port, g.wh_name, g.ns_wh);
	FILE *f = popen(cmd, "r");
	struct buf yaml;
	char chunk[4096];
	size_t n;
	enum err e;

	free(cmd);
	if (!f)
		return ERR_IO;
	buf_init(&yaml, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		BUG_ON(buf_add(&yaml, chunk, n) != ERR_OK);
	e = pclose(f) == 0 && yaml.data
		? post("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
		       yaml.data, "application/yaml")
		: ERR_IO;
	buf_release(&yaml);
	return e;
}

static enum err start_binary(void)
{
	char port[16], kc[600];
	const char *argv[] = {
	    g.bin, "--kubeconfig", kc, "--controllers", "allocator",
	    "--leader-elect=false", "--service-cluster-ip-range",
	    "10.96.0.0/16,fd00:10:96::/112", "--allocator-db", g.db,
	    "--webhook-bind-address", "127.0.0.1", "--webhook-port", port,
	    "--secure-port", "0", "--tls-cert-file", g.cert,
	    "--tls-private-key-file", g.key, NULL};
	posix_spawn_file_actions_t fa;

	(void)snprintf(port, sizeof(port), "%d", g.port);
	(void)snprintf(kc, sizeof(kc), "%s/kubeconfig", g.dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&g.pid, g.bin, &fa, NULL, (char *const *)argv,
			environ) != 0)
		g.pid = 0;
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; g.pid && i < 600; i++) {
		if (https_get("/readyz") == 200)
			return ERR_OK;
		clock_sleep_ms(100);
	}
	return ERR_TIMEOUT;
}

/* ---- Measuring --------------------------------------------------------- */

static enum err create_one(const char *ns, unsigned long long id,
			   double *ms)
{
	char path[160], body[256];
	int64_t t0 = clock_mono_ns();
	enum err e;

	(void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s/services", ns);
	(void)snprintf(body, sizeof(body),
		       "{\"metadata\":{\"name\":\"s-%llu\"},\"spec\":{"
		       "\"ports\":[{\"port\":80}]}}",
		       id);
	e = post(path, body, NULL);
	*ms = (double)(clock_mono_ns() - t0) / 1e6;
	return e;
}

struct side {
	const char *name;
	const char *ns;
	double *lat; /* sequential latencies, ms */
	size_t n;
	double seq_s;  /* time spent in sequential creates */
	double conc_s; /* wall time of the concurrent phase */
	size_t conc_n;
};

static atomic_ullong next_id;

struct client {
	struct side *s;
	int failures;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	double ms;

	for (int i = 0; i < PER_CLIENT; i++)
		if (create_one(c->s->ns, atomic_fetch_add(&next_id, 1), &ms) !=
		    ERR_OK)
			c->failures++;
	return NULL;
}

static int concurrent(struct side *s)
{
	pthread_t th[CLIENTS];
	struct client cl[CLIENTS];
	int64_t t0 = clock_mono_ns();
	int failures = 0;

	for (int i = 0; i < CLIENTS; i++) {
		cl[i] = (struct client){s, 0};
		BUG_ON(pthread_create(&th[i], NULL, client_main, &cl[i]) != 0);
	}
	for (int i = 0; i < CLIENTS; i++) {
		(void)pthread_join(th[i], NULL);
		failures += cl[i].failures;
	}
	s->conc_s += (double)(clock_mono_ns() - t0) / 1e9;
	s->conc_n += CLIENTS * PER_CLIENT;
	return failures;
}

static int sequential(struct side *s)
{
	int64_t t0 = clock_mono_ns();
	int failures = 0;

	for (int i = 0; i < PER_ROUND; i++)
		failures += create_one(s->ns, atomic_fetch_add(&next_id, 1),
				       &s->lat[s->n++]) != ERR_OK;
	s->seq_s += (double)(clock_mono_ns() - t0) / 1e9;
	return failures;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const struct side *s, double p)
{
	size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);

	return s->lat[i];
}

static void report(struct side *w, struct side *a)
{
	struct side *sides[2] = {a, w};

	qsort(w->lat, w->n, sizeof(double), cmp_double);
	qsort(a->lat, a->n, sizeof(double), cmp_double);
	(void)printf("ClusterIP Service creates through kube-apiserver v1.35 "
		     "on 127.0.0.1, %d rounds alternating the two namespaces; "
		     "sequential: %d creates per side per round; concurrent: "
		     "%d clients x %d creates per side per round. One run, not a "
		     "median of 3: the ratios move by ±0.3 between runs on a "
		     "shared machine.\n\n",
		     ROUNDS, PER_ROUND, CLIENTS, PER_CLIENT);
	(void)printf("| path | p50 ms | p90 ms | p99 ms | sequential creates/s "
		     "| concurrent creates/s |\n|---|---|---|---|---|---|\n");
	for (int i = 0; i < 2; i++)
		(void)printf("| %s | %.2f | %.2f | %.2f | %.0f | %.0f |\n",
			     sides[i]->name, pct(sides[i], 0.5),
			     pct(sides[i], 0.9), pct(sides[i], 0.99),
			     (double)sides[i]->n / sides[i]->seq_s,
			     (double)sides[i]->conc_n / sides[i]->conc_s);
	(void)printf("\nRatio webhook / apiserver-only: p50 latency %.2f×, "
		     "p99 latency %.2f×, concurrent throughput %.2f×.\n\n",
		     pct(w, 0.5) / pct(a, 0.5), pct(w, 0.99) / pct(a, 0.99),
		     ((double)w->conc_n / w->conc_s) /
			 ((double)a->conc_n / a->conc_s));
}

static int measure(void)
{
	struct side w = {"with our webhook (sqlite FULL)", g.ns_wh, NULL, 0,
			 0, 0, 0};
	struct side a = {"apiserver alone", g.ns_api, NULL, 0, 0, 0, 0};
	int failures = 0;
	double ms;

	w.lat = xcalloc(ROUNDS * PER_ROUND, sizeof(double));
	a.lat = xcalloc(ROUNDS * PER_ROUND, sizeof(double));
	for (int i = 0; i < 20; i++) { /* warm both paths */
		failures += create_one(g.ns_wh, atomic_fetch_add(&next_id, 1), &ms) != ERR_OK;
		failures += create_one(g.ns_api, atomic_fetch_add(&next_id, 1), &ms) != ERR_OK;
	}
	for (int r = 0; r < ROUNDS; r++) {
		struct side *first = r % 2 ? &a : &w, *second = r % 2 ? &w : &a;

		failures += sequential(first) + sequential(second);
		failures += concurrent(first) + concurrent(second);
	}
	if (failures == 0)
		report(&w, &a);
	else
		(void)printf("_failed: %d creates failed_\n\n", failures);
	free(w.lat);
	free(a.lat);
	return failures ? 1 : 0;
}

/* ---- Set-up --------------------------------------------------------------- */

static enum err setup(void)
{
	char kc[600], body[160];
	struct kubeconfig_options ko = {.kubeconfig = kc};
	struct apiclient_options ao = APICLIENT_OPTIONS_DEFAULT;
	unsigned long long tag = rand_u64() & 0xffffffULL;
	enum err e;

	(void)snprintf(kc, sizeof(kc), "%s/kubeconfig", g.dir);
	(void)snprintf(g.ca, sizeof(g.ca), "%s/pki/ca.crt", g.dir);
	(void)snprintf(g.cert, sizeof(g.cert), "%s/pki/apiserver.crt", g.dir);
	(void)snprintf(g.key, sizeof(g.key), "%s/pki/apiserver.key", g.dir);
	(void)snprintf(g.db, sizeof(g.db), "%s/bench-create.db", g.dir);
	(void)snprintf(g.ns_wh, sizeof(g.ns_wh), "bench-wh-%06llx", tag);
	(void)snprintf(g.ns_api, sizeof(g.ns_api), "bench-api-%06llx", tag);
	(void)snprintf(g.wh_name, sizeof(g.wh_name), "bench-create-%06llx", tag);
	ao.qps = 0;
	e = kubeconfig_load(&ko, &g.cfg, NULL);
	if (e == ERR_OK)
		e = apiclient_new(g.cfg, &ao, &g.api, NULL);
	for (int i = 0; e == ERR_OK && i < 2; i++) {
		(void)snprintf(body, sizeof(body), "{\"metadata\":{\"name\":\"%s\"}}",
			       i ? g.ns_api : g.ns_wh);
		e = post("/api/v1/namespaces", body, NULL);
	}
	g.port = it_free_port();
	if (e == ERR_OK)
		e = start_binary();
	if (e == ERR_OK)
		e = register_webhook();
	return e;
}

static void cleanup(void)
{
	char path[200];
	int status;

	(void)snprintf(path, sizeof(path),
		       "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/%s",
		       g.wh_name);
	if (g.api) {
		del(path);
		(void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s", g.ns_wh);
		del(path);
		(void)snprintf(path, sizeof(path), "/api/v1/namespaces/%s", g.ns_api);
		del(path);
	}
	if (g.pid > 0) {
		(void)kill(g.pid, SIGTERM);
		(void)waitpid(g.pid, &status, 0);
	}
	apiclient_free(g.api);
	kubeconfig_free(g.cfg);
	(void)unlink(g.db);
}

int main(void)
{
	int rc = 1;

	g.dir = getenv("BENCH_CLUSTER_DIR");
	g.bin = getenv("SVC_BIN");
	if (!g.dir || !g.bin) {
		(void)printf("_skipped: needs BENCH_CLUSTER_DIR and SVC_BIN "
			     "(make bench sets them)_\n\n");
		return 0;
	}
	apiclient_global_init();
	if (setup() == ERR_OK)
		rc = measure();
	else
		(void)printf("_failed: set-up (see stderr)_\n\n");
	cleanup();
	return rc;
}
