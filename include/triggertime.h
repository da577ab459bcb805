#ifndef CTRL_TRIGGERTIME_H
#define CTRL_TRIGGERTIME_H

/*
 * triggertime: the value of endpoints.kubernetes.io/last-change-trigger-time
 * (endpointslice.md §7.6, upstream TriggerTimeTracker): per Service, the
 * creation time and each selected pod's Ready lastTransitionTime seen at
 * the last sync; a sync's trigger time is the earliest change since then.
 *
 * Thread safety: all calls are thread-safe; calls for the same Service are
 * serialised by the work queue.
 */

#include "kube.h"

struct triggertime;

struct triggertime *triggertime_new(void);
void triggertime_free(struct triggertime *t);
/*
 * The trigger time in ms since the epoch, or 0 for none; updates the
 * remembered state. pods are the Service's selected pods (before any
 * filtering). The first call for a Service (or the first after
 * triggertime_delete_service) returns its creationTimestamp; later calls
 * the earliest Ready lastTransitionTime that is newer than remembered or
 * of a pod not remembered, and the creation time if it moved forward (a
 * recreation). Pods without a Ready transition time are not remembered.
 */
int64_t triggertime_compute(struct triggertime *t,
			    const struct kube_service *svc,
			    const struct kube_pod *const *pods, size_t n);
void triggertime_delete_service(struct triggertime *t, const char *ns,
				const char *name);
/* Formats ms as upstream does: RFC 3339 UTC with the fraction's trailing
 * zeros trimmed ("2026-11-22T18:00:00.5Z", "2026-11-22T18:00:00Z"). */
void triggertime_format(int64_t ms, char out[CLOCK_RFC3339_LEN]);

#endif /* CTRL_TRIGGERTIME_H */
