#ifndef CTRL_APICLIENT_INTERNAL_H
#define CTRL_APICLIENT_INTERNAL_H

/*
 * Folder-internal pieces of the apiclient module: the client struct and
 * the libcurl handle setup shared by apiclient.c and apiclient_curl.c.
 */

#include <curl/curl.h>
#include <pthread.h>

#include "apiclient.h"
#include "credential.h"
#include "kubeconfig.h"
#include "ratelimit.h"

#define APICLIENT__POOL_MAX 16

struct apiclient {
	const struct kubeconfig *cfg; /* borrowed; outlives the client */
	struct apiclient_options opts;
	char *user_agent;	     /* owned */
	char *base_url;		     /* owned; server, host replaced by
					tls-server-name when set */
	struct curl_slist *connect_to; /* owned; routes tls-server-name */
	struct credential *cred;     /* owned */
	struct ratelimit *rl;	     /* owned */
	CURLSH *share;		     /* owned; connections, DNS, TLS sessions */
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *pool[APICLIENT__POOL_MAX]; /* idle easy handles; guarded by
					    pool_lock */
	size_t n_pool;		     /* guarded by pool_lock */
	atomic_uint_fast64_t n_requests;
	atomic_uint_fast64_t n_retries;
	atomic_uint_fast64_t n_by_method[5];
	atomic_uint_fast64_t n_by_class[6];
	atomic_uint_fast64_t throttled_ns;
	atomic_uint_fast64_t n_by_method_class[5][6];
	/* Non-watch attempts by method and class, per latency bucket (not
	 * cumulative; the last one is +Inf), and their summed duration. */
	atomic_uint_fast64_t n_latency[5][6][APICLIENT_LATENCY_BUCKETS + 1];
	atomic_uint_fast64_t latency_ns[5][6];
};

/* One attempt's transfer state. */
struct apiclient__xfer {
	const struct apiclient_request *req;
	struct buf *resp;	/* 2xx body when there is no on_data */
	struct buf errbody;	/* non-2xx body, bounded */
	long code;
	bool delivered;		/* bytes reached on_data: never retry */
	enum err sink_err;	/* from on_data or a full resp */
	int64_t retry_after_ms;
	char audit_id[64];
};

CURL *apiclient__handle_get(struct apiclient *c);
void apiclient__handle_put(struct apiclient *c, CURL *h);
/* Sets every option for one attempt; ERR_UNAUTHORIZED etc. from the
 * credential. *hdrs is owned by the caller afterwards. */
enum err apiclient__setup(struct apiclient *c, CURL *h,
			  struct apiclient__xfer *x, const char *url,
			  struct curl_slist **hdrs, struct errbuf *eb);
enum err apiclient__share_init(struct apiclient *c);
void apiclient__share_free(struct apiclient *c);

#endif /* CTRL_APICLIENT_INTERNAL_H */
