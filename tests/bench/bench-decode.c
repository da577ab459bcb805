/*
 * bench-decode: decode throughput and cache footprint of the lean records,
 * each as a ratio against a baseline measured in the same run
 * (benchmarks.md §1, §5): our streaming decode of a watch stream of
 * reference pods (§3: ≈5 KB each with managedFields) versus a bare yajl
 * SAX pass over the same bytes (the tokenizer ceiling) and versus a yajl
 * tree (DOM) per event; and the bytes a cached pod costs versus its JSON.
 * Prints a Markdown section on stdout.
 */
#include "base.h"
#include "kube.h"
#include "store.h"

#include <sys/resource.h>
#include <time.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

/* The reference pod is one long format string on purpose: it reads as the
 * JSON it produces. */
#pragma GCC diagnostic ignored "-Woverlength-strings"

#define PODS 20000
#define REPS 3

static void add_pod(struct buf *b, int i, const char *type)
{
	BUG_ON(buf_addf(b,
		"{\"type\":\"%s\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
		"\"name\":\"app-%d-7d9f8c6b5d-x%05d\",\"generateName\":\"app-%d-7d9f8c6b5d-\","
		"\"namespace\":\"ns-%d\",\"uid\":\"0b6e%04x-3f1c-4c8e-9a6b-%012d\","
		"\"resourceVersion\":\"%d\",\"creationTimestamp\":\"2026-11-22T18:00:00Z\","
		"\"labels\":{\"app\":\"app-%d\",\"pod-template-hash\":\"7d9f8c6b5d\",\"tier\":\"backend\",\"version\":\"v1\"},"
		"\"annotations\":{\"kubernetes.io/psp\":\"restricted\",\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9090\"},"
		"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"app-%d-7d9f8c6b5d\",\"uid\":\"5c1f0e2a-1111-2222-3333-444455556666\",\"controller\":true,\"blockOwnerDeletion\":true}],"
		"\"managedFields\":[{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-11-22T18:00:00Z\",\"fieldsType\":\"FieldsV1\","
		"\"fieldsV1\":{\"f:metadata\":{\"f:generateName\":{},\"f:labels\":{\".\":{},\"f:app\":{},\"f:pod-template-hash\":{},\"f:tier\":{},\"f:version\":{}},\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":\\\"5c1f0e2a\\\"}\":{}}},"
		"\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"app\\\"}\":{\".\":{},\"f:env\":{},\"f:image\":{},\"f:ports\":{},\"f:readinessProbe\":{},\"f:resources\":{}}},\"f:tolerations\":{}}}},"
		"{\"manager\":\"kubelet\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"time\":\"2026-11-22T18:00:05Z\",\"fieldsType\":\"FieldsV1\",\"subresource\":\"status\","
		"\"fieldsV1\":{\"f:status\":{\"f:conditions\":{\"k:{\\\"type\\\":\\\"Ready\\\"}\":{\".\":{},\"f:lastProbeTime\":{},\"f:lastTransitionTime\":{},\"f:status\":{},\"f:type\":{}}},\"f:containerStatuses\":{},\"f:hostIP\":{},\"f:phase\":{},\"f:podIP\":{},\"f:podIPs\":{},\"f:startTime\":{}}}}]},"
		"\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"registry.example/app:1.2.3\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080,\"protocol\":\"TCP\"},{\"name\":\"metrics\",\"containerPort\":9090,\"protocol\":\"TCP\"}],"
		"\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"},{\"name\":\"C\",\"value\":\"3\"},{\"name\":\"D\",\"value\":\"4\"},{\"name\":\"E\",\"value\":\"5\"},{\"name\":\"F\",\"value\":\"6\"}],"
		"\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"256Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"128Mi\"}},"
		"\"readinessProbe\":{\"httpGet\":{\"path\":\"/healthz\",\"port\":\"http\",\"scheme\":\"HTTP\"},\"periodSeconds\":10,\"timeoutSeconds\":1,\"successThreshold\":1,\"failureThreshold\":3},"
		"\"volumeMounts\":[{\"name\":\"kube-api-access\",\"readOnly\":true,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}],"
		"\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\"}],"
		"\"volumes\":[{\"name\":\"kube-api-access\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\",\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}}],\"defaultMode\":420}}],"
		"\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\":\"default\",\"nodeName\":\"node-%d\",\"schedulerName\":\"default-scheduler\","
		"\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"priority\":0,\"enableServiceLinks\":true},"
		"\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"PodReadyToStartContainers\",\"status\":\"True\",\"lastTransitionTime\":\"2026-11-22T18:00:02Z\"},{\"type\":\"Initialized\",\"status\":\"True\",\"lastTransitionTime\":\"2026-11-22T18:00:01Z\"},"
		"{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"2026-11-22T18:00:05Z\"},{\"type\":\"ContainersReady\",\"status\":\"True\",\"lastTransitionTime\":\"2026-11-22T18:00:05Z\"},{\"type\":\"PodScheduled\",\"status\":\"True\",\"lastTransitionTime\":\"2026-11-22T18:00:00Z\"}],"
		"\"hostIP\":\"172.18.%d.%d\",\"hostIPs\":[{\"ip\":\"172.18.%d.%d\"}],\"podIP\":\"10.%d.%d.%d\",\"podIPs\":[{\"ip\":\"10.%d.%d.%d\"}],\"startTime\":\"2026-11-22T18:00:00Z\","
		"\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"running\":{\"startedAt\":\"2026-11-22T18:00:03Z\"}},\"lastState\":{},\"ready\":true,\"restartCount\":0,\"image\":\"registry.example/app:1.2.3\",\"imageID\":\"registry.example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"containerID\":\"containerd://%064d\",\"started\":true}],"
		"\"qosClass\":\"Burstable\"}}}\n",
		type, i % 300, i, i % 300, i % 50, i & 0xffff, i, 1000 + i, i % 300,
		i % 300, i % 5000, (i / 250) % 256, i % 250, (i / 250) % 256,
		i % 250, (i >> 16) & 255, (i >> 8) & 255, i & 255, (i >> 16) & 255,
		(i >> 8) & 255, i & 255, i) != ERR_OK);
}

static double now_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

static int sax_null(void *c)
{
	(void)c;
	return 1;
}
static int sax_bool(void *c, int v)
{
	(void)c;
	(void)v;
	return 1;
}
static int sax_int(void *c, long long v)
{
	(void)c;
	(void)v;
	return 1;
}
static int sax_dbl(void *c, double v)
{
	(void)c;
	(void)v;
	return 1;
}
static int sax_str(void *c, const unsigned char *s, size_t l)
{
	(void)c;
	(void)s;
	(void)l;
	return 1;
}

static const yajl_callbacks sax = { sax_null, sax_bool, sax_int, sax_dbl, NULL,
				    sax_str,  sax_null, sax_str, sax_null,
				    sax_null, sax_null };

static double bench_sax(const struct buf *in)
{
	double t = now_s();
	yajl_handle h = yajl_alloc(&sax, NULL, NULL);

	yajl_config(h, yajl_allow_multiple_values, 1);
	BUG_ON(yajl_parse(h, (const unsigned char *)in->data, in->len) != yajl_status_ok);
	BUG_ON(yajl_complete_parse(h) != yajl_status_ok);
	yajl_free(h);
	return now_s() - t;
}

/* The naive design: one DOM per event, a lookup, then free. */
static double bench_tree(const struct buf *in)
{
	double t = now_s();
	const char *p = in->data;
	char err[128];

	while (*p) {
		const char *nl = strchr(p, '\n');
		char *line = xstrndup(p, (size_t)(nl - p));
		const char *path[] = { "object", "metadata", "name", NULL };
		yajl_val v = yajl_tree_parse(line, err, sizeof(err));

		BUG_ON(!v || !yajl_tree_get(v, path, yajl_t_string));
		yajl_tree_free(v);
		free(line);
		p = nl + 1;
	}
	return now_s() - t;
}

struct collect {
	struct store *store;
	uint64_t n;
};

static enum err on_event(void *ctx, struct kube_event *ev)
{
	struct collect *c = ctx;

	c->n++;
	if (c->store && ev->obj)
		store_upsert(c->store, ev->obj, NULL);
	else
		kube_object_unref(ev->obj);
	return ERR_OK;
}

/* Our path: stream decode into lean records, optionally into a store. */
static double bench_ours(const struct buf *in, struct store *st)
{
	struct collect c = { st, 0 };
	struct kube_stream_options o = { .kind = KUBE_KIND_POD,
					 .mode = KUBE_STREAM_WATCH,
					 .on_event = on_event,
					 .ctx = &c };
	struct kube_stream *s = kube_stream_new(&o);
	double t = now_s();
	size_t off = 0;

	/* Feed in 16 KiB chunks, as a socket would deliver them. */
	while (off < in->len) {
		size_t n = MIN((size_t)16384, in->len - off);

		BUG_ON(kube_stream_feed(s, in->data + off, n, NULL) != ERR_OK);
		off += n;
	}
	BUG_ON(kube_stream_finish(s, NULL) != ERR_OK);
	t = now_s() - t;
	BUG_ON(c.n != PODS);
	kube_stream_free(s);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void median3(double (*fn)(const struct buf *), const struct buf *in,
		    double out[3])
{
	for (int r = 0; r < REPS; r++)
		out[r] = fn(in);
	qsort(out, REPS, sizeof(double), cmp_double);
}

static double ours_nostore(const struct buf *in)
{
	return bench_ours(in, NULL);
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

int main(void)
{
	struct buf in;
	double sax_t[REPS], tree_t[REPS], ours_t[REPS];
	double mb;
	struct store *st;
	long rss0, rss1;

	buf_init(&in, (size_t)1 << 31);
	for (int i = 0; i < PODS; i++)
		add_pod(&in, i, "ADDED");
	mb = (double)in.len / 1e6;
	median3(bench_sax, &in, sax_t);
	median3(bench_tree, &in, tree_t);
	median3(ours_nostore, &in, ours_t);
	printf("### Decode: %d reference pods as a watch stream (%.1f MB, %.0f B/pod)\n\n",
	       PODS, mb, (double)in.len / PODS);
	printf("| path | median MB/s (min–max) | events/s | vs yajl SAX |\n|---|---|---|---|\n");
	printf("| yajl SAX, no-op callbacks (baseline) | %.0f (%.0f–%.0f) | %.0f | 1.00 |\n",
	       mb / sax_t[1], mb / sax_t[2], mb / sax_t[0], PODS / sax_t[1]);
	printf("| yajl tree per event (naive DOM) | %.0f (%.0f–%.0f) | %.0f | %.2f |\n",
	       mb / tree_t[1], mb / tree_t[2], mb / tree_t[0], PODS / tree_t[1],
	       sax_t[1] / tree_t[1]);
	printf("| kube_stream → lean records (ours) | %.0f (%.0f–%.0f) | %.0f | %.2f |\n\n",
	       mb / ours_t[1], mb / ours_t[2], mb / ours_t[0], PODS / ours_t[1],
	       sax_t[1] / ours_t[1]);

	rss0 = rss_kb();
	st = store_new(KUBE_KIND_POD);
	(void)store_add_index(st, "namespace", store_index_namespace);
	(void)store_add_index(st, "node", store_index_node_name);
	(void)bench_ours(&in, st);
	rss1 = rss_kb();
	printf("### Cache footprint: %d pods in a store with namespace and node indexes\n\n", PODS);
	printf("| measure | bytes per pod | vs JSON size |\n|---|---|---|\n");
	printf("| JSON of the pod (watch event) | %.0f | 1.00 |\n", (double)in.len / PODS);
	printf("| store_bytes (records + tables) | %.0f | %.3f |\n",
	       (double)store_bytes(st) / PODS,
	       (double)store_bytes(st) / (double)in.len);
	printf("| RSS growth (malloc overhead, interning included) | %.0f | %.3f |\n\n",
	       (double)(rss1 - rss0) * 1024 / PODS,
	       (double)(rss1 - rss0) * 1024 / (double)in.len);
	store_free(st);
	buf_release(&in);
	return 0;
}
