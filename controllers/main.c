/*
 * main: the svc-controllers binary. Parses flags (exit 2 on a bad one),
 * loads the kubeconfig, starts the manager, and waits for SIGTERM/SIGINT
 * in the main thread with the signals blocked everywhere else, then stops
 * every thread before exiting.
 */
#include "base.h"

#include <signal.h>
#include <time.h>

#include "apiclient.h"
#include "flags.h"
#include "kubeconfig.h"
#include "manager.h"

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
		"Usage: svc-controllers [flags]\n\nFlags:\n");
	flags_usage(out, flags, ARRAY_SIZE(flags));
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
	return 0;
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

static int run(const sigset_t *set)
{
	struct kubeconfig_options ko = {
		.kubeconfig = cli.kubeconfig,
		.master = cli.master,
		.context = cli.context,
	};
	struct manager_options mo = {
		.qps = cli.qps,
		.burst = (int)cli.burst,
		.managed_by = cli.managed_by,
		.watch_list = cli.watch_list,
		.sync_timeout_ms = cli.sync_timeout_ms,
	};
	struct errbuf eb = ERRBUF_INIT;
	struct kubeconfig *cfg = NULL;
	struct manager *m = NULL;
	int rc = 1;

	if (kubeconfig_load(&ko, &cfg, &eb) != ERR_OK) {
		log_error("cannot load the API server configuration: %s", eb.msg);
		return 1;
	}
	log_info("svc-controllers %s starting server=%s context=%s", SVC_VERSION,
		 cfg->server, cfg->context ? cfg->context : "");
	if (manager_new(cfg, &mo, &m, &eb) != ERR_OK ||
	    manager_start(m, &eb) != ERR_OK) {
		log_error("cannot start: %s", eb.msg);
		goto out;
	}
	manager_log_counts(m);
	wait_for_signal(m, set);
	rc = 0;
out:
	manager_free(m);
	kubeconfig_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	sigset_t set;
	int rc = parse_cli(argc, argv);

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
