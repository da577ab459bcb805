/*
 * fuzz-kube-stream: libFuzzer target for the kube decoders. The input
 * (after its first byte) is fed to a WATCH stream and a LIST stream of
 * every kind, cut in two at a point chosen from the first byte; it is also
 * decoded as a single object of every kind and as a Status, and decoded
 * EndpointSlices and Leases are encoded again. Small limits are used on
 * some runs so the limit paths are reached. Nothing may crash or leak.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude
 *        tests/fuzz/fuzz-kube-stream.c build/fuzz/libsvc-t.a -lyajl ...
 */
#include "base.h"
#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum err drop(void *ctx, struct kube_event *ev)
{
	(void)ctx;
	kube_object_unref(ev->obj);
	return ERR_OK;
}

static void run_stream(enum kube_kind kind, enum kube_stream_mode mode,
		       const char *p, size_t n, size_t split,
		       const struct kube_limits *lim)
{
	struct kube_stream_options o = {
	    .kind = kind,
	    .mode = mode,
	    .on_event = drop,
	    .limits = *lim,
	};
	struct kube_stream *s = kube_stream_new(&o);
	struct errbuf eb = ERRBUF_INIT;

	if (kube_stream_feed(s, p, split, &eb) == ERR_OK &&
	    kube_stream_feed(s, p + split, n - split, &eb) == ERR_OK &&
	    kube_stream_finish(s, &eb) == ERR_OK)
		(void)kube_stream_list_rv(s);
	kube_stream_free(s);
}

static void reencode(const struct kube_object *o)
{
	struct buf out;
	struct kube_object *back = NULL;

	buf_init(&out, 0);
	if (o->kind == KUBE_KIND_ENDPOINTSLICE)
		kube_endpointslice_encode(kube_endpointslice(o), &out);
	else if (o->kind == KUBE_KIND_LEASE)
		kube_lease_encode(kube_lease(o), &out);
	if (out.len && kube_object_decode(o->kind, out.data, out.len, &back,
					  NULL) == ERR_OK)
		kube_object_unref(back);
	buf_release(&out);
}

static void run_single(enum kube_kind kind, const char *p, size_t n)
{
	struct kube_object *o = NULL;
	struct kube_status st;

	if (kube_object_decode(kind, p, n, &o, NULL) == ERR_OK) {
		reencode(o);
		kube_object_unref(o);
	}
	if (kind == KUBE_KIND_POD &&
	    kube_status_decode(p, n, &st, NULL) == ERR_OK)
		(void)st.code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kube_limits small = {64, 8, 512};
	static const struct kube_limits defaults = KUBE_LIMITS_DEFAULT;
	const struct kube_limits *lim;
	const char *p;
	size_t n, split;

	if (size < 1)
		return 0;
	p = (const char *)data + 1;
	n = size - 1;
	split = n ? (size_t)data[0] * n / 255 : 0;
	lim = data[0] & 1 ? &small : &defaults;
	for (int k = 0; k < KUBE_KIND__COUNT; k++) {
		run_stream((enum kube_kind)k, KUBE_STREAM_WATCH, p, n, split,
			   lim);
		run_stream((enum kube_kind)k, KUBE_STREAM_LIST, p, n, split,
			   lim);
		run_single((enum kube_kind)k, p, n);
	}
	return 0;
}
