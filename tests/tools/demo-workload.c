/*
 * demo-workload: the small demo workload that `make run` loads into the
 * local cluster, and a compact view of the EndpointSlices the controller
 * keeps for it. No kubelet runs, so it plays one: it creates Nodes in three
 * zones and Pods on them, then writes each Pod's status (phase, IPs,
 * Ready) through the /status subresource.
 *
 *   demo-workload load --kubeconfig FILE   create namespace "demo" and objects
 *   demo-workload show --kubeconfig FILE   print the slices of namespace "demo"
 *   demo-workload flip --kubeconfig FILE   toggle the readiness of demo/web-0
 */
#include "base.h"

#include "apiclient.h"
#include "kubeconfig.h"

static struct apiclient *api;

static void post(const char *path, const char *json, bool status_patch)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	enum err e = apiclient_do(api,
				  &(struct apiclient_request){
					  .method = status_patch ? APICLIENT_PATCH
								 : APICLIENT_POST,
					  .path = path,
					  .body = json,
					  .body_len = strlen(json),
					  .content_type = status_patch
								  ? "application/merge-patch+json"
								  : NULL,
				  },
				  NULL, &res, &eb);

	if (e != ERR_OK && e != ERR_ALREADY_EXISTS && e != ERR_CONFLICT)
		(void)fprintf(stderr, "demo-workload: %s\n", eb.msg);
}

static void node(const char *name, const char *zone)
{
	char j[512], path[256];

	(void)snprintf(j, sizeof(j),
		       "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":{\"topology.kubernetes.io/zone\":\"%s\"}}}",
		       name, zone);
	post("/api/v1/nodes", j, false);
	(void)snprintf(path, sizeof(path), "/api/v1/nodes/%s/status", name);
	post(path,
	     "{\"status\":{\"allocatable\":{\"cpu\":\"4\",\"pods\":\"110\"},\"capacity\":{\"cpu\":\"4\",\"pods\":\"110\"},"
	     "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Demo\",\"lastHeartbeatTime\":\"2026-01-01T00:00:00Z\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}",
	     true);
}

static void pod_status(const char *name, int i, bool ready)
{
	char j[768], path[256], now[CLOCK_RFC3339_LEN];

	clock_format_rfc3339(clock_now_ms(), false, now);
	(void)snprintf(j, sizeof(j),
		       "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.%d\",\"podIPs\":[{\"ip\":\"10.244.0.%d\"},{\"ip\":\"fd00:244::%x\"}],"
		       "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
		       i + 10, i + 10, i + 10, ready ? "True" : "False", now);
	(void)snprintf(path, sizeof(path), "/api/v1/namespaces/demo/pods/%s/status",
		       name);
	post(path, j, true);
}

static void pod(const char *name, const char *app, int i, const char *extra)
{
	static const char *const nodes[] = { "demo-node-a", "demo-node-b",
					     "demo-node-c" };
	char j[1024];

	(void)snprintf(j, sizeof(j),
		       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\",\"labels\":{\"app\":\"%s\"}},"
		       "\"spec\":{%s\"nodeName\":\"%s\",\"containers\":[{\"name\":\"app\",\"image\":\"demo\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}]}}",
		       name, app, extra, nodes[i % 3]);
	post("/api/v1/namespaces/demo/pods", j, false);
	pod_status(name, i, i != 5);
}

static void load(void)
{
	char name[32];

	post("/api/v1/namespaces",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"demo\"}}",
	     false);
	node("demo-node-a", "zone-a");
	node("demo-node-b", "zone-b");
	node("demo-node-c", "zone-c");
	post("/api/v1/namespaces/demo/services",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
	     "\"spec\":{\"selector\":{\"app\":\"web\"},\"ipFamilyPolicy\":\"PreferDualStack\",\"trafficDistribution\":\"PreferSameZone\","
	     "\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"}]}}",
	     false);
	post("/api/v1/namespaces/demo/services",
	     "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"db\"},"
	     "\"spec\":{\"clusterIP\":\"None\",\"selector\":{\"app\":\"db\"},\"ports\":[{\"name\":\"sql\",\"port\":5432}]}}",
	     false);
	for (int i = 0; i < 6; i++) {
		(void)snprintf(name, sizeof(name), "web-%d", i);
		pod(name, "web", i, "");
	}
	pod("db-0", "db", 6, "\"hostname\":\"db-0\",\"subdomain\":\"db\",");
	pod("db-1", "db", 7, "\"hostname\":\"db-1\",\"subdomain\":\"db\",");
	(void)printf("demo-workload: namespace demo: 3 nodes, Services web (dual-stack, PreferSameZone) and db (headless), 8 pods (web-5 not ready)\n");
}

static enum err on_slice(void *ctx, struct kube_event *ev)
{
	const struct kube_endpointslice *s = kube_endpointslice(ev->obj);
	unsigned ready = 0;

	(void)ctx;
	for (uint32_t i = 0; i < s->n_endpoints; i++)
		ready += s->endpoints[i].ready != KUBE_FALSE;
	(void)printf("  %-10s %-14s %-5s endpoints=%u ready=%u\n",
		     kube_labels_get(&s->obj.meta.labels, "kubernetes.io/service-name"),
		     s->obj.meta.name, kube_address_type_name(s->address_type),
		     s->n_endpoints, ready);
	kube_object_unref(ev->obj);
	ev->obj = NULL;
	return ERR_OK;
}

static void show(void)
{
	struct kube_stream_options so = { .kind = KUBE_KIND_ENDPOINTSLICE,
					  .mode = KUBE_STREAM_LIST,
					  .on_event = on_slice };
	struct kube_stream *s = kube_stream_new(&so);
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct buf body;

	buf_init(&body, 0);
	(void)printf("EndpointSlices in namespace demo:\n");
	if (apiclient_do(api,
			 &(struct apiclient_request){
				 .path = "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices" },
			 &body, &res, &eb) != ERR_OK ||
	    kube_stream_feed(s, body.data, body.len, &eb) != ERR_OK ||
	    kube_stream_finish(s, &eb) != ERR_OK)
		(void)fprintf(stderr, "demo-workload: %s\n", eb.msg);
	kube_stream_free(s);
	buf_release(&body);
}

static void flip(void)
{
	static bool ready;
	struct kube_object *o = NULL;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;

	if (apiclient_get(api, KUBE_KIND_POD, "demo", "web-0", &o, &res, &eb) ==
	    ERR_OK)
		ready = kube_pod(o)->ready != KUBE_TRUE;
	kube_object_unref(o);
	pod_status("web-0", 0, ready);
	(void)printf("demo-workload: web-0 is now %s\n", ready ? "ready" : "not ready");
}

int main(int argc, char **argv)
{
	struct kubeconfig_options ko = { 0 };
	struct kubeconfig *cfg = NULL;
	struct errbuf eb = ERRBUF_INIT;

	if (argc != 4 || strcmp(argv[2], "--kubeconfig") != 0) {
		(void)fprintf(stderr, "usage: demo-workload load|show|flip --kubeconfig FILE\n");
		return 2;
	}
	ko.kubeconfig = argv[3];
	apiclient_global_init();
	if (kubeconfig_load(&ko, &cfg, &eb) != ERR_OK ||
	    apiclient_new(cfg, NULL, &api, &eb) != ERR_OK) {
		(void)fprintf(stderr, "demo-workload: %s\n", eb.msg);
		return 1;
	}
	if (strcmp(argv[1], "load") == 0)
		load();
	else if (strcmp(argv[1], "flip") == 0)
		flip();
	else
		show();
	apiclient_free(api);
	kubeconfig_free(cfg);
	apiclient_global_cleanup();
	return 0;
}
