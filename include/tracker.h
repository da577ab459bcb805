#ifndef CTRL_TRACKER_H
#define CTRL_TRACKER_H

/*
 * tracker: upstream's EndpointSliceTracker (endpointslice.md §7.5). It
 * remembers, per Service (namespace/name and UID) and slice UID, the
 * metadata.generation of every slice we wrote, or that we deleted it, so
 * that our own echoes are ignored, foreign changes trigger a sync, and a
 * sync never runs on a cache older than our own last write.
 *
 * Thread safety: all calls are thread-safe (one mutex).
 */

#include "kube.h"

struct tracker;

struct tracker *tracker_new(void);
void tracker_free(struct tracker *t);
/*
 * After a successful create or update: remember the returned generation.
 * The Service UID is taken from s's controller ownerReference (kind
 * Service); a UID other than the one recorded drops what was recorded for
 * the old Service first.
 */
void tracker_update(struct tracker *t, const struct kube_endpointslice *s);
/* After a successful delete. Never drops state, even for a slice owned
 * by an older Service UID. */
void tracker_expect_deletion(struct tracker *t,
			     const struct kube_endpointslice *s);
/* An informer add/update of s: true unless it is our own echo. */
bool tracker_should_sync(struct tracker *t, const struct kube_endpointslice *s);
/*
 * True when the listed slices of Service ns/name (uid) lag our writes: a
 * slice we deleted is still listed, a listed one is older than what we
 * wrote, or one we wrote is missing. Tracker state of an older Service UID
 * with the same name is dropped first (upstream PR #141593), and the
 * answer is then false; a state recorded without a UID adopts svc_uid.
 * svc_uid NULL or "" skips the UID check. slices may be NULL when n is 0.
 */
bool tracker_stale(struct tracker *t, const char *ns, const char *name,
		   const char *svc_uid,
		   const struct kube_endpointslice *const *slices, size_t n);
/* An informer delete of s: false when it was not expected (someone else
 * deleted a slice we wrote), so the Service must be synced. */
bool tracker_handle_deletion(struct tracker *t,
			     const struct kube_endpointslice *s);
void tracker_delete_service(struct tracker *t, const char *ns,
			    const char *name);

#endif /* CTRL_TRACKER_H */
