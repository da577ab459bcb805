/*
 * it-writes: EndpointSlice writes against the real kube-apiserver, built
 * as the controller builds them (kube_object_new + kube_endpointslice_encode)
 * — optimistic concurrency (a stale PUT is a 409 Conflict with its
 * Status), generateName, ready=false on the wire and back, creates into a
 * terminating or missing namespace, and a 422 with its causes.
 */
#include "base.h"
#include "itlib.h"

#define SVC_LABEL  "kubernetes.io/service-name"
#define MANAGED_BY "endpointslice.kubernetes.io/managed-by"

struct slice_spec {
	const char *ns;
	const char *name;	   /* or NULL */
	const char *generate_name; /* or NULL */
	const char *rv;		   /* or NULL */
	uint32_t n_endpoints;
	uint32_t addrs_per_endpoint;
	enum kube_tristate ready;
	int32_t port;
};

static struct kube_object *mk_slice(const struct slice_spec *sp)
{
	struct kube_object *o = kube_object_new(KUBE_KIND_ENDPOINTSLICE);
	struct kube_endpointslice *s = (struct kube_endpointslice *)o;
	struct kube_label *l = kube_alloc(o, 2 * sizeof(*l));
	char ip[32];

	o->meta.ns = kube_intern(o, sp->ns);
	if (sp->name)
		o->meta.name = kube_set_str(o, sp->name);
	if (sp->generate_name)
		o->meta.generate_name = kube_set_str(o, sp->generate_name);
	if (sp->rv)
		o->meta.resource_version = kube_set_str(o, sp->rv);
	l[0] = (struct kube_label){kube_intern(o, MANAGED_BY),
				   kube_intern(o, "it.svc-controllers")};
	l[1] = (struct kube_label){kube_intern(o, SVC_LABEL),
				   kube_intern(o, "web")};
	o->meta.labels = (struct kube_labels){2, l};
	s->address_type = KUBE_ADDR_IPV4;
	s->n_ports = 1;
	s->ports = kube_alloc(o, sizeof(*s->ports));
	s->ports[0] = (struct kube_slice_port){.name = kube_set_str(o, "http"),
					       .protocol = KUBE_PROTO_TCP,
					       .has_port = true,
					       .port = sp->port};
	s->n_endpoints = sp->n_endpoints;
	s->endpoints = kube_alloc(o, sp->n_endpoints * sizeof(*s->endpoints));
	for (uint32_t i = 0; i < sp->n_endpoints; i++) {
		struct kube_endpoint *ep = &s->endpoints[i];

		memset(ep, 0, sizeof(*ep));
		ep->n_addresses = sp->addrs_per_endpoint;
		ep->addresses = kube_alloc(o, (sp->addrs_per_endpoint + 1) *
						  sizeof(*ep->addresses));
		for (uint32_t a = 0; a < sp->addrs_per_endpoint; a++) {
			(void)snprintf(ip, sizeof(ip), "10.3.%u.%u", i, a + 1);
			ep->addresses[a] = kube_set_str(o, ip);
		}
		ep->ready = sp->ready;
		ep->serving = KUBE_TRUE;
		ep->terminating = KUBE_FALSE;
		ep->node_name = kube_intern(o, "node-a");
	}
	return o;
}

/* Encodes the spec and POSTs it (PUTs when it has a name and an rv). */
static enum err write_slice(const struct slice_spec *sp,
			    struct kube_object **out,
			    struct apiclient_result *res, struct errbuf *eb)
{
	struct kube_object *o = mk_slice(sp);
	struct buf body;
	enum err e;

	buf_init(&body, 0);
	kube_endpointslice_encode(kube_endpointslice(o), &body);
	if (sp->rv)
		e = apiclient_update(it_api, KUBE_KIND_ENDPOINTSLICE, sp->ns,
				     sp->name, &body, out, res, eb);
	else
		e = apiclient_create(it_api, KUBE_KIND_ENDPOINTSLICE, sp->ns,
				     &body, out, res, eb);
	buf_release(&body);
	kube_object_unref(o);
	return e;
}

static void unref_cleanup(void *arg)
{
	kube_object_unref(arg);
}

/* Keeps o until the case's cleanup, so a failed check leaks nothing. */
static struct kube_object *keep(struct kube_object *o)
{
	if (o)
		it_defer(unref_cleanup, o);
	return o;
}

/* ---- Cases ------------------------------------------------------------- */

static void stale_update_conflicts(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	struct kube_object *v1 = NULL, *v2 = NULL;
	struct slice_spec sp = {.name = "web-conflict",
				.n_endpoints = 2,
				.addrs_per_endpoint = 1,
				.ready = KUBE_TRUE,
				.port = 8080};

	it_begin();
	sp.ns = it_ns_create("it-conflict");
	IT_CHECK_OK(write_slice(&sp, &v1, &res, &eb), &eb);
	keep(v1);
	CHECK_INT_EQ(res.http_code, 201);
	CHECK(v1->meta.resource_version[0] != '\0');

	sp.rv = v1->meta.resource_version;
	sp.port = 8081;
	IT_CHECK_OK(write_slice(&sp, &v2, &res, &eb), &eb);
	keep(v2);
	CHECK_INT_EQ(res.http_code, 200);
	CHECK(!str_eq(v2->meta.resource_version, v1->meta.resource_version));
	CHECK_INT_EQ(kube_endpointslice(v2)->ports[0].port, 8081);

	/* The same write from a stale cache. */
	sp.port = 8082;
	CHECK_ERR(write_slice(&sp, NULL, &res, &eb), ERR_CONFLICT);
	CHECK_INT_EQ(res.http_code, 409);
	CHECK_INT_EQ(res.status.code, 409);
	CHECK_STR_EQ(res.status.reason, "Conflict");
	CHECK(res.status.message[0] != '\0');
	CHECK_CONTAINS(eb.msg, "409");
	printf("# %s\n", res.status.message);
	it_end();
}

static void generate_name_gets_a_name(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	struct kube_object *o = NULL;
	struct slice_spec sp = {.generate_name = "web-",
				.n_endpoints = 1,
				.addrs_per_endpoint = 1,
				.ready = KUBE_TRUE,
				.port = 80};

	it_begin();
	sp.ns = it_ns_create("it-genname");
	IT_CHECK_OK(write_slice(&sp, &o, &res, &eb), &eb);
	keep(o);
	CHECK(str_has_prefix(o->meta.name, "web-"));
	CHECK(strlen(o->meta.name) > strlen("web-"));
	CHECK_STR_EQ(o->meta.generate_name, "web-");
	CHECK_STR_EQ(o->meta.ns, sp.ns);
	CHECK_STR_EQ(kube_labels_get(&o->meta.labels, SVC_LABEL), "web");
	it_end();
}

static void ready_false_round_trips(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	struct kube_object *o = NULL, *got = NULL;
	const struct kube_endpointslice *s;
	struct slice_spec sp = {.name = "web-notready",
				.n_endpoints = 2,
				.addrs_per_endpoint = 1,
				.ready = KUBE_FALSE,
				.port = 80};
	struct buf raw, path;

	it_begin();
	sp.ns = it_ns_create("it-ready");
	IT_CHECK_OK(write_slice(&sp, &o, &res, &eb), &eb);
	keep(o);
	IT_CHECK_OK(apiclient_get(it_api, KUBE_KIND_ENDPOINTSLICE, sp.ns,
				  sp.name, &got, &res, &eb),
		    &eb);
	keep(got);
	s = kube_endpointslice(got);
	CHECK_INT_EQ(s->n_endpoints, 2);
	CHECK_INT_EQ(s->endpoints[0].ready, KUBE_FALSE);
	CHECK_INT_EQ(s->endpoints[1].ready, KUBE_FALSE);
	CHECK_INT_EQ(s->endpoints[0].serving, KUBE_TRUE);
	CHECK_INT_EQ(s->endpoints[0].terminating, KUBE_FALSE);
	CHECK_STR_EQ(s->endpoints[0].node_name, "node-a");

	/* And on the wire, as the server stored it. */
	buf_init(&raw, 0);
	buf_init(&path, 0);
	apiclient_path(&path, KUBE_KIND_ENDPOINTSLICE, sp.ns, sp.name);
	eb.msg[0] = '\0';
	IT_CHECK_OK(
	    apiclient_do(it_api,
			 &(struct apiclient_request){.method = APICLIENT_GET,
						     .path = path.data},
			 &raw, &res, &eb),
	    &eb);
	CHECK_CONTAINS(raw.data, "\"ready\":false");
	CHECK_CONTAINS(raw.data, "\"serving\":true");
	buf_release(&raw);
	buf_release(&path);
	it_end();
}

static void create_in_terminating_or_missing_namespace(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	struct slice_spec sp = {.name = "web-late",
				.n_endpoints = 1,
				.addrs_per_endpoint = 1,
				.ready = KUBE_TRUE,
				.port = 80};
	char *missing;
	bool cause = false;

	it_begin();
	sp.ns = it_ns_create("it-terminating");
	/* Without a namespace controller it stays Terminating until the
	 * case's cleanup finalizes it. */
	IT_CHECK_OK(it_ns_delete(sp.ns, false, &eb), &eb);
	CHECK_ERR(write_slice(&sp, NULL, &res, &eb), ERR_FORBIDDEN);
	CHECK_INT_EQ(res.http_code, 403);
	CHECK_STR_EQ(res.status.reason, "Forbidden");
	for (uint32_t i = 0; i < res.status.n_causes; i++)
		cause |= strcmp(res.status.causes[i].type,
				"NamespaceTerminating") == 0;
	CHECK(cause);
	CHECK_CONTAINS(res.status.message, "being terminated");

	missing = it_unique_name("it-missing");
	sp.ns = missing;
	it_defer(free, missing);
	CHECK_ERR(write_slice(&sp, NULL, &res, &eb), ERR_NOT_FOUND);
	CHECK_INT_EQ(res.http_code, 404);
	CHECK_STR_EQ(res.status.reason, "NotFound");
	CHECK_CONTAINS(res.status.message, missing);
	it_end();
}

static void invalid_slice_is_unprocessable(void)
{
	struct errbuf eb = ERRBUF_INIT;
	struct apiclient_result res;
	struct slice_spec sp = {.name = "web-invalid",
				.n_endpoints = 1,
				.addrs_per_endpoint = 0,
				.ready = KUBE_TRUE,
				.port = 80};
	bool field = false;

	it_begin();
	sp.ns = it_ns_create("it-invalid");
	CHECK_ERR(write_slice(&sp, NULL, &res, &eb), ERR_UNPROCESSABLE);
	CHECK_INT_EQ(res.http_code, 422);
	CHECK_STR_EQ(res.status.reason, "Invalid");
	CHECK(res.status.n_causes >= 1);
	for (uint32_t i = 0; i < res.status.n_causes; i++) {
		printf("# cause %s %s: %s\n", res.status.causes[i].type,
		       res.status.causes[i].field,
		       res.status.causes[i].message);
		field |= strstr(res.status.causes[i].field,
				"endpoints[0].addresses") != NULL;
	}
	CHECK(field);
	CHECK_CONTAINS(eb.msg, "422");
	it_end();
}

static const struct unit_case cases[] = {
    UNIT_CASE(stale_update_conflicts),
    UNIT_CASE(generate_name_gets_a_name),
    UNIT_CASE(ready_false_round_trips),
    UNIT_CASE(create_in_terminating_or_missing_namespace),
    UNIT_CASE(invalid_slice_is_unprocessable),
};

int main(int argc, char **argv)
{
	return it_main(argc, argv, "it-writes", cases, ARRAY_SIZE(cases));
}
