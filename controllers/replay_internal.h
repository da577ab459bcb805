#ifndef CTRL_REPLAY_INTERNAL_H
#define CTRL_REPLAY_INTERNAL_H

/*
 * Folder-internal parts of replay: the Service admission path
 * (replay_admit.c) and the JSON Patch applier it uses (replay_patch.c),
 * shared with the trace driver (replay.c). One thread, as replay.
 */

#include "kube.h"

struct allocator;
struct errbuf;
struct memapi;

/*
 * Applies the operations of an admission patch (webhook_patch.ops: the
 * comma-separated operations without brackets; "" or NULL for none) to
 * svc, a Service record the caller owns alone and has not shared yet.
 * Only what the allocator writes is known (admission_patch.c): "add" or
 * "replace" of /spec/clusterIP (string), /spec/clusterIPs and
 * /spec/ipFamilies (arrays of strings), /spec/ports/<i>/nodePort and
 * /spec/healthCheckNodePort (integers). Any other operation, path or
 * value type is ERR_INVALID with eb naming the operation and path;
 * operations before it stay applied, so the caller drops svc then.
 */
enum err replay__patch_apply(struct kube_object *svc, const char *ops,
			     struct errbuf *eb) ATTR_WUR;

/* What became of one Service event (replay__service_event). */
enum replay__verdict {
	REPLAY__STORED = 0, /* admitted (patched) and applied */
	REPLAY__DENIED,	    /* denied; reported on stderr, not applied */
	REPLAY__REFUSED,    /* the in-memory API refused it; eb says why */
	REPLAY__FAILED,	    /* patch or record failure; eb says why */
};

/*
 * Runs one Service event of trace line lineno the way the API server and
 * the allocator's watch would, taking the reference to obj (fresh from
 * the decoder, not shared). ADDED and MODIFIED are admission requests:
 * a CREATE when no Service of that name is stored, else an UPDATE with
 * the stored version as oldObject (so a repeated ADDED is an update, as
 * the store treats it). Denied: one line on stderr naming the line, the
 * Service, the code, reason and message; nothing changes. Allowed: the
 * patch is applied to obj, obj is stored with memapi_apply, then
 * allocator_observe(stored, obj) confirms its values and releases what
 * the stored version held and obj does not. DELETED: memapi_apply, then
 * allocator_observe(stored, NULL).
 */
enum replay__verdict
replay__service_event(struct allocator *a, struct memapi *api,
		      enum kube_event_type type, struct kube_object *obj,
		      unsigned long lineno, struct errbuf *eb);

#endif /* CTRL_REPLAY_INTERNAL_H */
