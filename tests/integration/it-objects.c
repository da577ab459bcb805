/*
 * Integration tests of the remaining typed writes against the real
 * kube-apiserver: Leases (get, create, update with optimistic concurrency,
 * the 404 and 409 outcomes), a merge patch of a Service, and an
 * events.k8s.io/v1 Event about a Service.
 */
#include "base.h"

#include "apiclient.h"
#include "itlib.h"

static struct kube_object *lease_record(const char *ns, const char *name,
					const char *holder, const char *rv)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_LEASE);
	struct kube_lease *l = (struct kube_lease *)o;

	o->meta.ns = kube_intern(o, ns);
	o->meta.name = kube_set_str(o, name);
	if (rv)
		o->meta.resource_version = kube_set_str(o, rv);
	l->holder_identity = kube_set_str(o, holder);
	l->lease_duration_s = 15;
	l->acquire_ms = clock_now_ms();
	l->renew_ms = l->acquire_ms;
	return o;
}

static void lease_get_create_update_conflict(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *want, *got = NULL, *upd = NULL, *stale;
	const char *ns;
	struct buf body;
	char rv1[64];

	it_begin();
	ns = it_ns_create("lease");
	CHECK_ERR(apiclient_get(it_api, KUBE_KIND_LEASE, ns, "svc-controllers",
				&got, &res, &eb),
		  ERR_NOT_FOUND);
	CHECK_INT_EQ(res.http_code, 404);
	buf_init(&body, 0);
	want = lease_record(ns, "svc-controllers", "host-a_1", NULL);
	kube_lease_encode(kube_lease(want), &body);
	IT_CHECK_OK(apiclient_create(it_api, KUBE_KIND_LEASE, ns, &body, &got,
				     &res, &eb),
		    &eb);
	CHECK_STR_EQ(kube_lease(got)->holder_identity, "host-a_1");
	CHECK_INT_EQ(kube_lease(got)->lease_duration_s, 15);
	/* MicroTime survives the round trip to the millisecond. */
	CHECK_INT_EQ(kube_lease(got)->renew_ms, kube_lease(want)->renew_ms);
	(void)snprintf(rv1, sizeof(rv1), "%s", got->meta.resource_version);
	kube_object_unref(want);
	kube_object_unref(got);

	want = lease_record(ns, "svc-controllers", "host-b_2", rv1);
	buf_reset(&body);
	kube_lease_encode(kube_lease(want), &body);
	IT_CHECK_OK(apiclient_update(it_api, KUBE_KIND_LEASE, ns,
				     "svc-controllers", &body, &upd, &res, &eb),
		    &eb);
	CHECK_STR_EQ(kube_lease(upd)->holder_identity, "host-b_2");
	CHECK(strcmp(upd->meta.resource_version, rv1) != 0);
	kube_object_unref(want);

	/* Another candidate still holding rv1 loses the race. */
	stale = lease_record(ns, "svc-controllers", "host-c_3", rv1);
	buf_reset(&body);
	kube_lease_encode(kube_lease(stale), &body);
	CHECK_ERR(apiclient_update(it_api, KUBE_KIND_LEASE, ns,
				   "svc-controllers", &body, NULL, &res, &eb),
		  ERR_CONFLICT);
	CHECK_INT_EQ(res.http_code, 409);
	CHECK_STR_EQ(res.status.reason, "Conflict");
	kube_object_unref(stale);
	kube_object_unref(upd);
	buf_release(&body);
	it_end();
}

static void service_merge_patch_and_event(void)
{
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *svc = NULL;
	struct buf body, resp, path;
	const char *ns;

	it_begin();
	ns = it_ns_create("patch");
	buf_init(&path, 0);
	buf_init(&resp, 0);
	buf_init(&body, 0);
	BUG_ON(buf_addf(&path, "/api/v1/namespaces/%s/services", ns) != ERR_OK);
	IT_CHECK_OK(it_post(path.data,
			    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\"},"
			    "\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"port\":80}]}}",
			    NULL, NULL, &eb),
		    &eb);
	CHECK_OK(buf_adds(&body, "{\"metadata\":{\"labels\":{\"tier\":\"front\"}}}"));
	IT_CHECK_OK(apiclient_patch(it_api, KUBE_KIND_SERVICE, ns, "web",
				    APICLIENT_PATCH_MERGE, &body, &res, &eb),
		    &eb);
	CHECK_INT_EQ(res.http_code, 200);
	IT_CHECK_OK(apiclient_get(it_api, KUBE_KIND_SERVICE, ns, "web", &svc,
				  &res, &eb),
		    &eb);
	CHECK_STR_EQ(kube_labels_get(&svc->meta.labels, "tier"), "front");
	/* The API allocated a ClusterIP from the dual-stack range. */
	CHECK(kube_service(svc)->cluster_ip != NULL);

	IT_CHECK_OK(apiclient_create_event(
			    it_api,
			    &(struct kube_event_record){
				    .ns = ns, .name = "web.test1",
				    .regarding_kind = KUBE_KIND_SERVICE,
				    .regarding_ns = ns, .regarding_name = "web",
				    .regarding_uid = svc->meta.uid,
				    .type = "Warning",
				    .reason = "FailedToUpdateEndpointSlices",
				    .action = "FailedToUpdateEndpointSlices",
				    .note = "test note",
				    .reporting_controller = "endpoint-slice-controller",
				    .reporting_instance = "it-objects",
				    .event_ms = clock_now_ms() },
			    &res, &eb),
		    &eb);
	CHECK_INT_EQ(res.http_code, 201);
	buf_reset(&path);
	BUG_ON(buf_addf(&path, "/apis/events.k8s.io/v1/namespaces/%s/events/web.test1",
			ns) != ERR_OK);
	IT_CHECK_OK(it_request(APICLIENT_GET, path.data, NULL, NULL, NULL, &resp,
			       &res, &eb),
		    &eb);
	CHECK_CONTAINS(resp.data, "\"reason\":\"FailedToUpdateEndpointSlices\"");
	CHECK_CONTAINS(resp.data, "\"note\":\"test note\"");
	kube_object_unref(svc);
	buf_release(&body);
	buf_release(&resp);
	buf_release(&path);
	it_end();
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(lease_get_create_update_conflict),
		UNIT_CASE(service_merge_patch_and_event),
	};

	return it_main(argc, argv, "it-objects", cases, ARRAY_SIZE(cases));
}
