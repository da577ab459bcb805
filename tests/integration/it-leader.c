/*
 * Integration tests of leader election against the real kube-apiserver:
 * one of two electors leads and only its gate is open; stopping the
 * leader releases the Lease so the other takes over well before the
 * lease duration; a Lease held by someone else is respected until it
 * expires on our own clock. Durations are short to keep the suite quick;
 * every wait is bounded.
 */
#include "base.h"

#include "apiclient.h"
#include "itlib.h"
#include "leaderelect.h"

struct counter {
	atomic_int started;
	atomic_int stopped;
};

static void on_started(void *ctx)
{
	atomic_fetch_add(&((struct counter *)ctx)->started, 1);
}

static void on_stopped(void *ctx)
{
	atomic_fetch_add(&((struct counter *)ctx)->stopped, 1);
}

static struct leaderelect *elector(const char *ns, const char *id,
				   struct counter *c)
{
	struct leaderelect_options o = {
		.ns = ns,
		.name = "svc-controllers",
		.identity = id,
		.lease_duration_ms = 4000,
		.renew_deadline_ms = 3000,
		.retry_period_ms = 500,
		.on_started = on_started,
		.on_stopped = on_stopped,
		.ctx = c,
	};
	struct errbuf eb = ERRBUF_INIT;
	struct leaderelect *le = NULL;

	IT_CHECK_OK(leaderelect_new(it_api, &o, &le, &eb), &eb);
	return le;
}

static bool gate_open(void *ctx)
{
	return leaderelect_gate(ctx);
}

static void one_leader_then_handover_on_stop(void)
{
	struct counter ca = { 0 }, cb = { 0 };
	struct leaderelect *a, *b;
	struct leaderelect_stats st;
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *rec = NULL;
	const struct kube_lease *l;
	const char *ns;

	it_begin();
	ns = it_ns_create("lease");
	a = elector(ns, "host-a_11111111", &ca);
	CHECK_OK(leaderelect_start(a));
	CHECK(it_wait_until(gate_open, a, IT_TIMEOUT_MS));
	b = elector(ns, "host-b_22222222", &cb);
	CHECK_OK(leaderelect_start(b));
	/* B sees A's fresh Lease and stays a standby. */
	clock_sleep_ms(1500);
	CHECK(!leaderelect_gate(b));
	CHECK(leaderelect_gate(a));
	leaderelect_stats(b, &st);
	CHECK_STR_EQ(st.holder, "host-a_11111111");
	CHECK_INT_EQ(atomic_load(&ca.started), 1);
	CHECK_INT_EQ(atomic_load(&cb.started), 0);

	/* A stops: it calls on_stopped, then releases the Lease, so the
	 * record names no holder with a 1 s duration, or already names B
	 * (which could not have taken a Lease A renewed every retry period
	 * unless A released it). */
	leaderelect_stop(a);
	CHECK(!leaderelect_gate(a));
	CHECK_INT_EQ(atomic_load(&ca.stopped), 1);
	IT_CHECK_OK(apiclient_get(it_api, KUBE_KIND_LEASE, ns, "svc-controllers",
				  &rec, &res, &eb),
		    &eb);
	l = kube_lease(rec);
	if (l->holder_identity)
		CHECK_STR_EQ(l->holder_identity, "host-b_22222222");
	else
		CHECK_INT_EQ(l->lease_duration_s, 1);
	kube_object_unref(rec);
	CHECK(it_wait_until(gate_open, b, IT_TIMEOUT_MS));
	leaderelect_stats(b, &st);
	CHECK_INT_EQ(st.acquired, 1);
	leaderelect_stop(b);
	leaderelect_free(a);
	leaderelect_free(b);
	it_end();
}

static void foreign_holder_respected_until_expiry(void)
{
	struct counter c = { 0 };
	struct apiclient_result res;
	struct errbuf eb = ERRBUF_INIT;
	struct kube_object *o = kube_object_new(KUBE_KIND_LEASE);
	struct kube_lease *l = (struct kube_lease *)o;
	struct leaderelect *le;
	struct leaderelect_stats st;
	struct buf body;
	const char *ns;

	it_begin();
	ns = it_ns_create("lease");
	o->meta.ns = kube_intern(o, ns);
	o->meta.name = kube_set_str(o, "svc-controllers");
	l->holder_identity = kube_set_str(o, "someone-else_0");
	l->lease_duration_s = 3;
	l->acquire_ms = l->renew_ms = clock_now_ms();
	buf_init(&body, 0);
	kube_lease_encode(l, &body);
	IT_CHECK_OK(apiclient_create(it_api, KUBE_KIND_LEASE, ns, &body, NULL,
				     &res, &eb),
		    &eb);
	le = elector(ns, "host-c_33333333", &c);
	CHECK_OK(leaderelect_start(le));
	clock_sleep_ms(1000);
	CHECK(!leaderelect_gate(le));
	/* Nobody renews it: after 3 s on our clock it is ours, a takeover. */
	CHECK(it_wait_until(gate_open, le, IT_TIMEOUT_MS));
	leaderelect_stats(le, &st);
	CHECK_INT_EQ(st.acquired, 1);
	kube_object_unref(o);
	o = NULL;
	IT_CHECK_OK(apiclient_get(it_api, KUBE_KIND_LEASE, ns, "svc-controllers",
				  &o, &res, &eb),
		    &eb);
	CHECK_STR_EQ(kube_lease(o)->holder_identity, "host-c_33333333");
	CHECK_INT_EQ(kube_lease(o)->lease_transitions, 1);
	leaderelect_free(le);
	kube_object_unref(o);
	buf_release(&body);
	it_end();
}

static void bad_durations_are_refused(void)
{
	struct leaderelect_options o = { .ns = "kube-system",
					 .name = "x",
					 .identity = "id",
					 .lease_duration_ms = 10000,
					 .renew_deadline_ms = 10000,
					 .retry_period_ms = 2000 };
	struct errbuf eb = ERRBUF_INIT;
	struct leaderelect *le = NULL;

	CHECK_ERR(leaderelect_new(NULL, &o, &le, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "--leader-elect-lease-duration");
	o.lease_duration_ms = 15000;
	o.retry_period_ms = 9000;
	CHECK_ERR(leaderelect_new(NULL, &o, &le, &eb), ERR_INVALID);
	CHECK_CONTAINS(eb.msg, "1.2 x --leader-elect-retry-period");
	CHECK_NULL(le);
}

int main(int argc, char **argv)
{
	static const struct unit_case cases[] = {
		UNIT_CASE(one_leader_then_handover_on_stop),
		UNIT_CASE(foreign_holder_respected_until_expiry),
		UNIT_CASE(bad_durations_are_refused),
	};

	return it_main(argc, argv, "it-leader", cases, ARRAY_SIZE(cases));
}
