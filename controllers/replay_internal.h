#ifndef CTRL_REPLAY_INTERNAL_H
#define CTRL_REPLAY_INTERNAL_H

/*
 * Folder-internal parts of replay: the JSON Patch applier
 * (replay_patch.c). One thread, as replay.
 */

#include "kube.h"

struct errbuf;

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

#endif /* CTRL_REPLAY_INTERNAL_H */
