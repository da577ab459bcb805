/*
 * fuzz-admission: libFuzzer target for the AdmissionReview decoder. The
 * input is decoded as a review; a decoded review is answered (a patch
 * built from its fields, the response encoded) so the encoder sees
 * whatever strings the decoder let through. Nothing may crash or leak.
 *
 * Build: see hack/fuzz.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include "base.h"
#include "webhook.h"

#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answer(const struct webhook_request *req)
{
	struct webhook_response resp;
	struct buf out;
	const char *v[2] = {req->name, req->namespace};

	webhook_response_init(&resp);
	webhook_patch_str(&resp.patch, WEBHOOK_PATCH_ADD, req->sub_resource,
			  req->uid);
	webhook_patch_strv(&resp.patch, WEBHOOK_PATCH_REPLACE, req->kind, v, 2);
	webhook_patch_int(&resp.patch, WEBHOOK_PATCH_ADD, "/spec/ports/0/nodePort",
			  req->object ? (long long)kube_service(req->object)->n_ports
				      : -1);
	if (req->dry_run)
		webhook_response_deny(&resp, 422, req->resource, "%s", req->name);
	webhook_response_warn(&resp, "%s", req->kind_version);
	buf_init(&out, 0);
	webhook_response_encode(&resp, req->uid, &out);
	buf_release(&out);
	webhook_response_release(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_request req;
	struct errbuf eb = ERRBUF_INIT;

	if (webhook_request_decode((const char *)data, size, &req, &eb) ==
	    ERR_OK) {
		answer(&req);
		webhook_request_release(&req);
	}
	return 0;
}
