/*
 * main: the svc-controllers binary. Parses flags (exit 2 on a bad one),
 * loads the kubeconfig, starts the manager, and waits for SIGTERM/SIGINT
 * in the main thread with the signals blocked everywhere else, then stops
 * every thread before exiting.
 */
#include "base.h"

#include <arpa/inet.h>
#include <signal.h>
#include <time.h>

#include "apiclient.h"
#include "flags.h"
#include "kubeconfig.h"
#include "manager.h"
#include "replay.h"
#include "webhook.h"

#define STATUS_INTERVAL_S 60

struct cli {
	const char *kubeconfig;
	const char *master;
	const char *context;
	double qps;
	long long burst;
	long long verbosity;
	const char *log_format;
	const char *managed_by;
	bool watch_list;
	int64_t sync_timeout_ms;
	long long max_per_slice;
	long long workers;
	int64_t batch_period_ms;
	const char *controllers;
	bool leader_elect;
	int64_t lease_duration_ms;
	int64_t renew_deadline_ms;
	int64_t retry_period_ms;
	const char *lease_ns;
	const char *lease_name;
	const char *bind_address;
	long long secure_port;
	const char *tls_cert_file;
	const char *tls_key_file;
	const char *service_cidrs;
	const char *node_port_range;
	const char *allocator_db;
	bool allocator_rebuild;
	int64_t repair_interval_ms;
	const char *webhook_bind_address;
	long long webhook_port;
	bool help;
	bool version;
};

static struct cli cli;

static const struct flag flags[] = {
	{ "kubeconfig", FLAG_STRING, &cli.kubeconfig, NULL,
	  "Path to a kubeconfig file; without it $KUBECONFIG, ~/.kube/config, then the in-cluster config",
	  0, 0, NULL },
	{ "master", FLAG_STRING, &cli.master, NULL,
	  "The address of the Kubernetes API server (overrides the kubeconfig's server)",
	  0, 0, NULL },
	{ "context", FLAG_STRING, &cli.context, NULL,
	  "The kubeconfig context to use (default: its current-context)", 0, 0,
	  NULL },
	{ "kube-api-qps", FLAG_DOUBLE, &cli.qps, "20",
	  "QPS to use while talking with the API server (watches are exempt)",
	  0, 100000, NULL },
	{ "kube-api-burst", FLAG_INT, &cli.burst, "30",
	  "Burst to use while talking with the API server", 1, 100000, NULL },
	{ "managed-by", FLAG_STRING, &cli.managed_by,
	  "endpointslice-controller.k8s.io",
	  "Value of the endpointslice.kubernetes.io/managed-by label of the EndpointSlices this process owns",
	  0, 0, NULL },
	{ "watch-list", FLAG_BOOL, &cli.watch_list, "true",
	  "Sync caches with watch-list (sendInitialEvents) when the server supports it",
	  0, 0, NULL },
	{ "cache-sync-timeout", FLAG_DURATION, &cli.sync_timeout_ms, "5m",
	  "How long to wait for the caches to sync before giving up (0: forever)",
	  0, 0, NULL },
	{ "controllers", FLAG_STRING, &cli.controllers, "*",
	  "Controllers to run: '*' for all, or a comma list of names, '-name' to disable one (names: endpointslice, allocator; '*' runs the allocator only when --service-cluster-ip-range is set)",
	  0, 0, NULL },
	/* The allocator: kube-apiserver's range flag names and defaults. */
	{ "service-cluster-ip-range", FLAG_STRING, &cli.service_cidrs, NULL,
	  "CIDR(s) to allocate ClusterIPs from: one, or two of different families (dual-stack, primary first); must equal or lie inside the API server's own. Setting it runs the allocator",
	  0, 0, NULL },
	{ "service-node-port-range", FLAG_STRING, &cli.node_port_range,
	  "30000-32767", "Inclusive port range to allocate NodePorts from",
	  0, 0, NULL },
	{ "allocator-db", FLAG_STRING, &cli.allocator_db,
	  "/var/lib/svc-controllers/allocator.db",
	  "sqlite file holding the allocator's record (WAL, synchronous=FULL)",
	  0, 0, NULL },
	{ "allocator-rebuild", FLAG_BOOL, &cli.allocator_rebuild, "false",
	  "Move a corrupt or foreign --allocator-db aside and rebuild it from the API instead of refusing to start",
	  0, 0, NULL },
	{ "repair-interval", FLAG_DURATION, &cli.repair_interval_ms, "3m",
	  "How often the leader checks the allocator's record against all Services (and at every takeover)",
	  0, 0, NULL },
	{ "webhook-bind-address", FLAG_STRING, &cli.webhook_bind_address,
	  "0.0.0.0",
	  "The IP address on which the allocator serves the admission webhook (HTTPS with --tls-cert-file)",
	  0, 0, NULL },
	{ "webhook-port", FLAG_INT, &cli.webhook_port, "9443",
	  "The port on which the allocator serves the admission webhook (POST /mutate, GET /healthz, GET /readyz: 200 only on the replica answering with allocations)",
	  1, 65535, NULL },
	{ "max-endpoints-per-slice", FLAG_INT, &cli.max_per_slice, "100",
	  "The maximum number of endpoints added to one EndpointSlice", 1,
	  1000, NULL },
	{ "concurrent-service-endpoint-syncs", FLAG_INT, &cli.workers, "5",
	  "How many Services are synced at once", 1, 50, NULL },
	{ "endpointslice-updates-batch-period", FLAG_DURATION,
	  &cli.batch_period_ms, "0s",
	  "How long to batch pod changes before syncing their Services", 0, 0,
	  NULL },
	{ "leader-elect", FLAG_BOOL, &cli.leader_elect, "true",
	  "Run the controllers only while holding the coordination.k8s.io/v1 Lease (replicas wait as warm standbys)",
	  0, 0, NULL },
	{ "leader-elect-lease-duration", FLAG_DURATION, &cli.lease_duration_ms,
	  "15s", "How long a standby waits after the last renewal it saw before taking over",
	  0, 0, NULL },
	{ "leader-elect-renew-deadline", FLAG_DURATION, &cli.renew_deadline_ms,
	  "10s", "How long the leader keeps trying to renew before it stops writing and steps down",
	  0, 0, NULL },
	{ "leader-elect-retry-period", FLAG_DURATION, &cli.retry_period_ms, "2s",
	  "How long candidates wait between attempts to acquire or renew", 0,
	  0, NULL },
	{ "leader-elect-resource-namespace", FLAG_STRING, &cli.lease_ns,
	  "kube-system", "Namespace of the Lease", 0, 0, NULL },
	{ "leader-elect-resource-name", FLAG_STRING, &cli.lease_name,
	  "svc-controllers", "Name of the Lease", 0, 0, NULL },
	/* The operations listener: kube-controller-manager's names and
	 * --bind-address default; 10257-10259 are taken by the control
	 * plane's own components, so our port is 10260. NEEDSWORK: without
	 * a certificate kube-controller-manager generates a self-signed one
	 * (--cert-dir); we serve plain HTTP instead, until we decide whether
	 * to self-sign too. */
	{ "bind-address", FLAG_STRING, &cli.bind_address, "0.0.0.0",
	  "The IP address on which to serve /healthz, /readyz, /metrics and /debug/services (0.0.0.0 or :: for all interfaces)",
	  0, 0, NULL },
	{ "secure-port", FLAG_INT, &cli.secure_port, "10260",
	  "The port on which to serve /healthz, /readyz, /metrics and /debug/services; 0 disables the listener",
	  0, 65535, NULL },
	{ "tls-cert-file", FLAG_STRING, &cli.tls_cert_file, NULL,
	  "File with the x509 certificate (chain, PEM) for HTTPS on --secure-port; needs --tls-private-key-file. Without both the listener serves plain HTTP (unlike kube-controller-manager, no self-signed certificate is generated)",
	  0, 0, NULL },
	{ "tls-private-key-file", FLAG_STRING, &cli.tls_key_file, NULL,
	  "File with the PEM private key matching --tls-cert-file; needs --tls-cert-file",
	  0, 0, NULL },
	{ "v", FLAG_INT, &cli.verbosity, "0",
	  "Log verbosity: 0 (default) to 6", 0, 10, "v" },
	{ "log-format", FLAG_STRING, &cli.log_format, "text",
	  "Log format: text (klog style) or json", 0, 0, NULL },
	{ "version", FLAG_BOOL, &cli.version, NULL,
	  "Print the version and exit", 0, 0, NULL },
	{ "help", FLAG_BOOL, &cli.help, NULL, "Print this help and exit", 0, 0,
	  "h" },
};

static void usage(FILE *out)
{
	(void)fprintf(out,
		"svc-controllers: EndpointSlice controller and ClusterIP/NodePort allocator for Kubernetes\n\n"
		"Usage: svc-controllers [flags]\n"
		"       svc-controllers replay --trace FILE [flags]   (see 'svc-controllers replay --help')\n"
		"       svc-controllers webhook-config --ca-file FILE [flags]   (see 'svc-controllers webhook-config --help')\n\nFlags:\n");
	flags_usage(out, flags, ARRAY_SIZE(flags));
}

/* Which controllers --controllers selects (kube-controller-manager's
 * syntax: '*', names, '-name'). */
static int parse_controllers(const char *spec, bool *epslice, bool *alloc,
			     bool *alloc_named)
{
	char *copy = xstrdup(spec);
	char *save;
	bool all = false;
	int rc = 0;

	*epslice = *alloc = *alloc_named = false;
	for (char *tok = copy; tok && *tok; tok = save) {
		char *comma = strchr(tok, ',');
		bool neg = tok[0] == '-';
		const char *name = neg ? tok + 1 : tok;

		save = comma ? comma + 1 : NULL;
		if (comma)
			*comma = '\0';
		if (strcmp(name, "*") == 0 && !neg) {
			all = true;
			*epslice = *alloc = true;
		} else if (strcmp(name, "allocator") == 0) {
			*alloc = !neg;
			*alloc_named = !neg;
		} else if (strcmp(name, "endpointslice") == 0 ||
			   strcmp(name, "endpointslice-controller") == 0) {
			*epslice = !neg;
		} else {
			(void)fprintf(stderr, "svc-controllers: invalid value \"%s\" for flag --controllers: unknown controller \"%s\"\n",
				      spec, name);
			rc = 2;
			break;
		}
	}
	(void)all;
	free(copy);
	return rc;
}

/* A string flag that was given a non-empty value. */
static bool given(const char *s)
{
	return s && s[0];
}

/* The listener's flags: a numeric address, the TLS files both or neither. */
static int check_listener_flags(void)
{
	unsigned char addr[16];
	bool cert = given(cli.tls_cert_file), key = given(cli.tls_key_file);

	if (inet_pton(AF_INET, cli.bind_address, addr) != 1 &&
	    inet_pton(AF_INET6, cli.bind_address, addr) != 1) {
		(void)fprintf(stderr, "svc-controllers: invalid value \"%s\" for flag --bind-address: want a numeric IPv4 or IPv6 address\n",
			      cli.bind_address);
		return 2;
	}
	if (cert != key) {
		(void)fprintf(stderr, "svc-controllers: flag %s requires %s (both or neither; neither serves plain HTTP)\n",
			      cert ? "--tls-cert-file" : "--tls-private-key-file",
			      cert ? "--tls-private-key-file" : "--tls-cert-file");
		return 2;
	}
	if (inet_pton(AF_INET, cli.webhook_bind_address, addr) != 1 &&
	    inet_pton(AF_INET6, cli.webhook_bind_address, addr) != 1) {
		(void)fprintf(stderr, "svc-controllers: invalid value \"%s\" for flag --webhook-bind-address: want a numeric IPv4 or IPv6 address\n",
			      cli.webhook_bind_address);
		return 2;
	}
	return 0;
}

/* The allocator runs when selected and given its range; the API server
 * calls webhooks over HTTPS only, so it needs the certificate too. */
static int check_allocator_flags(bool *alloc, bool named)
{
	if (!given(cli.service_cidrs)) {
		if (named) {
			(void)fprintf(stderr, "svc-controllers: --controllers names allocator but --service-cluster-ip-range is not set\n");
			return 2;
		}
		*alloc = false;
		return 0;
	}
	if (*alloc && !given(cli.tls_cert_file)) {
		(void)fprintf(stderr, "svc-controllers: the allocator's webhook needs --tls-cert-file and --tls-private-key-file (the API server calls webhooks over HTTPS only)\n");
		return 2;
	}
	if (*alloc && !given(cli.allocator_db)) {
		(void)fprintf(stderr, "svc-controllers: invalid value \"\" for flag --allocator-db: want a file path\n");
		return 2;
	}
	return 0;
}

static int parse_cli(int argc, char **argv)
{
	struct errbuf eb = ERRBUF_INIT;
	int npos = 0;

	if (flags_parse(flags, ARRAY_SIZE(flags), argc, argv, 1, &npos, &eb) !=
	    ERR_OK) {
		(void)fprintf(stderr, "svc-controllers: %s\nRun 'svc-controllers --help' for usage.\n",
			eb.msg);
		return 2;
	}
	if (npos > 0) {
		(void)fprintf(stderr, "svc-controllers: unexpected argument \"%s\"\n",
			argv[1]);
		return 2;
	}
	if (strcmp(cli.log_format, "text") != 0 &&
	    strcmp(cli.log_format, "json") != 0) {
		(void)fprintf(stderr, "svc-controllers: invalid value \"%s\" for flag --log-format: want text or json\n",
			cli.log_format);
		return 2;
	}
	return check_listener_flags();
}

static void block_signals(sigset_t *set)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Waits for SIGTERM/SIGINT, logging the cache sizes now and then. */
static void wait_for_signal(struct manager *m, const sigset_t *set)
{
	struct timespec ts = { STATUS_INTERVAL_S, 0 };

	for (;;) {
		int sig = sigtimedwait(set, NULL, &ts);

		if (sig == SIGINT || sig == SIGTERM) {
			log_info("received %s; shutting down",
				 sig == SIGINT ? "SIGINT" : "SIGTERM");
			return;
		}
		if (log_verbosity >= 1)
			manager_log_counts(m);
	}
}

static void manager_options_from_cli(struct manager_options *mo)
{
	*mo = (struct manager_options){
		.qps = cli.qps,
		.burst = (int)cli.burst,
		.managed_by = cli.managed_by,
		.watch_list = cli.watch_list,
		.sync_timeout_ms = cli.sync_timeout_ms,
		.max_per_slice = (int)cli.max_per_slice,
		.workers = (int)cli.workers,
		.batch_period_ms = cli.batch_period_ms,
		.leader_elect = cli.leader_elect,
		.lease_ns = cli.lease_ns,
		.lease_name = cli.lease_name,
		.lease_duration_ms = cli.lease_duration_ms,
		.renew_deadline_ms = cli.renew_deadline_ms,
		.retry_period_ms = cli.retry_period_ms,
		.bind_address = cli.bind_address,
		.secure_port = (int)cli.secure_port,
		.tls_cert_file = given(cli.tls_cert_file) ? cli.tls_cert_file : NULL,
		.tls_key_file = given(cli.tls_key_file) ? cli.tls_key_file : NULL,
		.alloc = {
			.service_cidrs = cli.service_cidrs,
			.node_port_range = cli.node_port_range,
			.db_path = cli.allocator_db,
			.rebuild = cli.allocator_rebuild,
		},
		.repair_interval_ms = cli.repair_interval_ms,
		.webhook_bind_address = cli.webhook_bind_address,
		.webhook_port = (int)cli.webhook_port,
	};
}

/* Builds and starts the manager; the exit status on failure, else 0. */
static int start(const struct kubeconfig *cfg, struct manager_options *mo,
		 struct manager **m)
{
	struct errbuf eb = ERRBUF_INIT;
	enum err e = manager_new(cfg, mo, m, &eb);

	if (e == ERR_INVALID) {
		/* A flag combination the checks refuse: a usage error. */
		log_error("invalid configuration: %s", eb.msg);
		return 2;
	}
	if (e == ERR_OK)
		e = manager_start(*m, &eb);
	if (e != ERR_OK) {
		log_error("cannot start: %s", eb.msg);
		return 1;
	}
	return 0;
}

static int run(const sigset_t *set)
{
	struct kubeconfig_options ko = {
		.kubeconfig = cli.kubeconfig,
		.master = cli.master,
		.context = cli.context,
	};
	struct manager_options mo;
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg = NULL;
	struct manager *m = NULL;
	bool alloc_named;
	int rc;

	manager_options_from_cli(&mo);
	if (parse_controllers(cli.controllers, &mo.run_epslice,
			      &mo.run_allocator, &alloc_named) != 0 ||
	    check_allocator_flags(&mo.run_allocator, alloc_named) != 0)
		return 2;
	if (kubeconfig_load(&ko, &cfg, &eb) != ERR_OK) {
		log_error("cannot load the API server configuration: %s", eb.msg);
		return 1;
	}
	log_info("svc-controllers %s starting server=%s context=%s", SVC_VERSION,
		 cfg->server, cfg->context ? cfg->context : "");
	rc = start(cfg, &mo, &m);
	if (rc == 0) {
		manager_log_counts(m);
		wait_for_signal(m, set);
	}
	manager_free(m);
	kubeconfig_free(cfg);
	return rc;
}

/* ---- replay ---------------------------------------------------------- */

struct replay_cli {
	const char *trace;
	long long max_per_slice;
	const char *managed_by;
	const char *print;
	bool stats;
	long long sync_every;
	long long seed;
	const char *service_cidrs;
	const char *node_port_range;
	long long verbosity;
	bool help;
};

static struct replay_cli rcli;

static const struct flag replay_flags[] = {
	{ "trace", FLAG_STRING, &rcli.trace, NULL,
	  "JSON-lines file of watch events to replay ('-' for stdin); required",
	  0, 0, NULL },
	{ "max-endpoints-per-slice", FLAG_INT, &rcli.max_per_slice, "100",
	  "The maximum number of endpoints added to one EndpointSlice", 1,
	  1000, NULL },
	{ "managed-by", FLAG_STRING, &rcli.managed_by,
	  "endpointslice-controller.k8s.io",
	  "The endpointslice.kubernetes.io/managed-by value of our slices", 0,
	  0, NULL },
	{ "print", FLAG_STRING, &rcli.print, "endpointslices",
	  "What to print at the end: endpointslices, services or all", 0, 0,
	  NULL },
	{ "stats", FLAG_BOOL, &rcli.stats, NULL,
	  "Print writes by verb and kind, events and events per second to stderr",
	  0, 0, NULL },
	{ "sync-every", FLAG_INT, &rcli.sync_every, "1",
	  "Run the controllers to quiescence after every N events", 1,
	  1000000000, NULL },
	{ "seed", FLAG_INT, &rcli.seed, "1",
	  "Seed of generated names and UIDs", 0, 0, NULL },
	{ "service-cluster-ip-range", FLAG_STRING, &rcli.service_cidrs,
	  REPLAY_SERVICE_CIDRS_DEFAULT,
	  "CIDR(s) the trace's Services get ClusterIPs from, one or an IPv4,IPv6 pair (the default is kubeadm's, not kube-apiserver's historical 10.0.0.0/24)",
	  0, 0, NULL },
	{ "service-node-port-range", FLAG_STRING, &rcli.node_port_range,
	  REPLAY_NODE_PORT_RANGE_DEFAULT,
	  "Port range (inclusive) the trace's Services get node ports from", 0,
	  0, NULL },
	{ "v", FLAG_INT, &rcli.verbosity, "0", "Log verbosity", 0, 10, "v" },
	{ "help", FLAG_BOOL, &rcli.help, NULL, "Print this help and exit", 0,
	  0, "h" },
};

static int replay_main(int argc, char **argv)
{
	struct errbuf eb = ERRBUF_INIT;
	struct replay_options ro;
	int npos = 0;

	if (flags_parse(replay_flags, ARRAY_SIZE(replay_flags), argc, argv, 2,
			&npos, &eb) != ERR_OK) {
		(void)fprintf(stderr, "svc-controllers replay: %s\n", eb.msg);
		return 2;
	}
	if (rcli.help) {
		(void)printf("Usage: svc-controllers replay --trace FILE [flags]\n\n"
			     "Replays recorded watch events through the controllers against an\n"
			     "in-memory API and prints the final objects as a kubectl-style List.\n\n"
			     "Services pass through the allocator's admission as webhook requests:\n"
			     "an ADDED or MODIFIED Service is a create (or, when one of that name is\n"
			     "stored, an update) that gets its ClusterIPs and node ports from the\n"
			     "ranges below, or is denied (taken or out-of-range value, full range)\n"
			     "and then not stored, with one line on stderr:\n"
			     "  svc-controllers replay: line N: service NS/NAME denied: CODE REASON: MESSAGE\n"
			     "Denials leave the exit status 0. DELETED and type-changing MODIFIED\n"
			     "events release values as the allocator's watch does. --print services\n"
			     "shows the allocations; dynamic values are random, as upstream's.\n\nFlags:\n");
		flags_usage(stdout, replay_flags, ARRAY_SIZE(replay_flags));
		return 0;
	}
	if (npos > 0 || !rcli.trace) {
		(void)fprintf(stderr, "svc-controllers replay: %s\n",
			      npos > 0 ? "unexpected argument" : "--trace is required");
		return 2;
	}
	if (strcmp(rcli.print, "endpointslices") != 0 &&
	    strcmp(rcli.print, "services") != 0 && strcmp(rcli.print, "all") != 0) {
		(void)fprintf(stderr, "svc-controllers replay: invalid value \"%s\" for flag --print: want endpointslices, services or all\n",
			      rcli.print);
		return 2;
	}
	log_verbosity = (int)rcli.verbosity;
	ro = (struct replay_options){ rcli.trace, (int)rcli.max_per_slice,
				      rcli.managed_by, rcli.print, rcli.stats,
				      rcli.sync_every, (uint64_t)rcli.seed,
				      stdout, rcli.service_cidrs,
				      rcli.node_port_range };
	return replay_run(&ro);
}

/* ---- webhook-config --------------------------------------------------- */

static struct {
	const char *ca_file, *service_ns, *service_name, *service_path, *url;
	const char *name, *failure_policy, *ns_selector;
	long long service_port, timeout_s;
	bool help;
} wcli;

static const struct flag webhook_config_flags[] = {
	{ "ca-file", FLAG_STRING, &wcli.ca_file, NULL,
	  "PEM file of the CA that signed the webhook's serving certificate (the caBundle); required",
	  0, 0, NULL },
	{ "service-namespace", FLAG_STRING, &wcli.service_ns, "kube-system",
	  "Namespace of the Service in front of the replicas", 0, 0, NULL },
	{ "service-name", FLAG_STRING, &wcli.service_name, "svc-controllers-webhook",
	  "Name of that Service (ignored with --url)", 0, 0, NULL },
	{ "service-port", FLAG_INT, &wcli.service_port, "443",
	  "Port of that Service", 1, 65535, NULL },
	{ "service-path", FLAG_STRING, &wcli.service_path, "/mutate",
	  "Path the API server posts to", 0, 0, NULL },
	{ "url", FLAG_STRING, &wcli.url, NULL,
	  "https://host:port/mutate to call instead of a Service (a standalone node, tests)",
	  0, 0, NULL },
	{ "name", FLAG_STRING, &wcli.name, "svc-controllers",
	  "metadata.name of the MutatingWebhookConfiguration", 0, 0, NULL },
	{ "failure-policy", FLAG_STRING, &wcli.failure_policy, "Ignore",
	  "Ignore (the API server allocates while we are down) or Fail (Service writes stop while we are down)",
	  0, 0, NULL },
	{ "timeout-seconds", FLAG_INT, &wcli.timeout_s, "10",
	  "How long the API server waits for an answer", 1, 30, NULL },
	{ "namespace-selector", FLAG_STRING, &wcli.ns_selector, NULL,
	  "key=value: only Services in namespaces carrying that label pass through the webhook (default: all)",
	  0, 0, NULL },
	{ "help", FLAG_BOOL, &wcli.help, NULL, "Print this help and exit", 0, 0,
	  "h" },
};

/* Prints the MutatingWebhookConfiguration for the allocator's webhook. */
static int webhook_config_main(int argc, char **argv)
{
	struct webhook_config_options o = { 0 };
	struct errbuf eb = ERRBUF_INIT;
	int npos = 0;

	if (flags_parse(webhook_config_flags, ARRAY_SIZE(webhook_config_flags),
			argc, argv, 2, &npos, &eb) != ERR_OK || npos > 0) {
		(void)fprintf(stderr, "svc-controllers webhook-config: %s\n",
			      npos > 0 ? "unexpected argument" : eb.msg);
		return 2;
	}
	if (wcli.help) {
		(void)printf("Usage: svc-controllers webhook-config --ca-file FILE [flags]\n\n"
			     "Prints the admissionregistration.k8s.io/v1 MutatingWebhookConfiguration of the allocator's webhook as YAML.\n\nFlags:\n");
		flags_usage(stdout, webhook_config_flags,
			    ARRAY_SIZE(webhook_config_flags));
		return 0;
	}
	if (!str_eq(wcli.failure_policy, "Ignore") &&
	    !str_eq(wcli.failure_policy, "Fail")) {
		(void)fprintf(stderr, "svc-controllers webhook-config: invalid value \"%s\" for flag --failure-policy: want Ignore or Fail\n",
			      wcli.failure_policy);
		return 2;
	}
	o.name = wcli.name;
	o.ca_file = given(wcli.ca_file) ? wcli.ca_file : NULL;
	o.url = given(wcli.url) ? wcli.url : NULL;
	o.service_namespace = wcli.service_ns;
	o.service_name = o.url ? NULL : wcli.service_name;
	o.service_path = wcli.service_path;
	o.service_port = (int)wcli.service_port;
	o.failure_policy = str_eq(wcli.failure_policy, "Fail")
				   ? WEBHOOK_FAILURE_FAIL
				   : WEBHOOK_FAILURE_IGNORE;
	o.timeout_seconds = (int)wcli.timeout_s;
	o.namespace_selector = wcli.ns_selector;
	if (webhook_config_print(&o, stdout, &eb) != ERR_OK) {
		(void)fprintf(stderr, "svc-controllers %s\n", eb.msg);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int rc;

	if (argc > 1 && strcmp(argv[1], "replay") == 0)
		return replay_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "webhook-config") == 0)
		return webhook_config_main(argc, argv);
	rc = parse_cli(argc, argv);

	if (rc)
		return rc;
	if (cli.help) {
		usage(stdout);
		return 0;
	}
	if (cli.version) {
		(void)printf("svc-controllers %s (commit %s)\n", SVC_VERSION, SVC_COMMIT);
		return 0;
	}
	log_verbosity = (int)cli.verbosity;
	if (log_verbosity >= 6)
		log_level = LOG_LEVEL_DEBUG;
	log_set_format(strcmp(cli.log_format, "json") == 0 ? LOG_FORMAT_JSON
							 : LOG_FORMAT_TEXT);
	block_signals(&set);
	apiclient_global_init();
	rc = run(&set);
	apiclient_global_cleanup();
	return rc;
}
