/*
 * itlib_proc: the process and timing side of the integration-test helpers
 * — bounded polling, hack/local-cluster subcommands, the svc-controllers
 * binary run with its output in files, and a small thread fan-out for
 * creating many objects. Every wait has a deadline; a child that outlives
 * it is killed and reaped.
 */
#include "base.h"
#include "itlib.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_MS		       100
#define CLUSTER_CMD_TIMEOUT_MS 240000

extern char **environ;

bool it_wait_until(bool (*pred)(void *ctx), void *ctx, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ns() + timeout_ms * 1000000LL;

	for (;;) {
		if (pred(ctx))
			return true;
		if (clock_mono_ns() >= deadline)
			return false;
		clock_sleep_ms(POLL_MS);
	}
}

/* waitpid with a deadline; kills (SIGKILL) and reaps on timeout. */
static bool wait_child(pid_t pid, int64_t timeout_ms, int *status)
{
	int64_t deadline = clock_mono_ns() + timeout_ms * 1000000LL;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0)
			return false;
		if (clock_mono_ns() >= deadline)
			break;
		clock_sleep_ms(20);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, status, 0);
	return false;
}

/*
 * environ plus LOCAL_CLUSTER_STOP_TIMEOUT=5 unless set: an apiserver with
 * open watches does not finish a graceful stop within the script's 20 s
 * default anyway, so waiting longer for the SIGKILL only slows the suite.
 */
static char **cluster_env(void)
{
	size_t n = 0;
	char **env;
	bool set = false;

	while (environ[n]) {
		set |=
		    str_has_prefix(environ[n], "LOCAL_CLUSTER_STOP_TIMEOUT=");
		n++;
	}
	env = xcalloc(n + 2, sizeof(*env));
	memcpy(env, environ, n * sizeof(*env));
	if (!set)
		env[n] = (char *)"LOCAL_CLUSTER_STOP_TIMEOUT=5";
	return env;
}

int it_cluster(const char *cmd)
{
	const char *script = getenv("IT_LOCAL_CLUSTER");
	const char *dir = getenv("IT_CLUSTER_DIR");
	posix_spawn_file_actions_t fa;
	char *argv[5];
	char **env;
	int status = 0;
	pid_t pid;
	int rc;

	if (!script || !*script || !dir || !*dir)
		return -1;
	argv[0] = (char *)script;
	argv[1] = (char *)cmd;
	argv[2] = (char *)"--dir";
	argv[3] = (char *)dir;
	argv[4] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	env = cluster_env();
	rc = posix_spawn(&pid, script, &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc != 0)
		return -1;
	if (!wait_child(pid, CLUSTER_CMD_TIMEOUT_MS, &status))
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- Child processes ------------------------------------------------------
 */

static int temp_file(char path[256], const char *what)
{
	const char *tmp = getenv("TMPDIR");

	(void)snprintf(path, 256, "%s/it-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp",
		       what);
	return mkstemp(path);
}

static void proc_cleanup(void *arg)
{
	struct it_proc *p = arg;
	int status;

	if (!p->reaped && p->pid > 0) {
		(void)kill(p->pid, SIGKILL);
		(void)waitpid(p->pid, &status, 0);
		p->reaped = true;
	}
	(void)unlink(p->out_path);
	(void)unlink(p->err_path);
}

/* posix_spawn with stdout and stderr in fresh temporary files. */
static enum err spawn(char *const argv[], struct it_proc *p, struct errbuf *eb)
{
	posix_spawn_file_actions_t fa;
	int out_fd, err_fd, rc;

	memset(p, 0, sizeof(*p));
	out_fd = temp_file(p->out_path, "out");
	err_fd = temp_file(p->err_path, "err");
	if (out_fd < 0 || err_fd < 0) {
		if (out_fd >= 0)
			(void)close(out_fd);
		if (err_fd >= 0)
			(void)close(err_fd);
		return errbuf_set(eb, ERR_IO, "cannot create temporary files");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	rc = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(out_fd);
	(void)close(err_fd);
	if (rc != 0) {
		char tmp[128];

		(void)unlink(p->out_path);
		(void)unlink(p->err_path);
		return errbuf_set(eb, ERR_IO, "cannot run %s: %s", argv[0],
				  err_errno_str(rc, tmp, sizeof(tmp)));
	}
	return ERR_OK;
}

enum err it_proc_start(char *const argv[], struct it_proc *p, struct errbuf *eb)
{
	enum err e = spawn(argv, p, eb);

	if (e == ERR_OK)
		it_defer(proc_cleanup, p);
	return e;
}

bool it_proc_stop(struct it_proc *p, int64_t timeout_ms, int *status)
{
	if (p->reaped)
		return false;
	(void)kill(p->pid, SIGTERM);
	return it_proc_wait(p, timeout_ms, status);
}

const char *it_sanitizer_report(const char *text)
{
	static const char *const needles[] = {
	    "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
	    "WARNING: ThreadSanitizer", "runtime error:"};
	const char *first = NULL;

	for (size_t i = 0; text && i < ARRAY_SIZE(needles); i++) {
		const char *p = strstr(text, needles[i]);

		if (p && (!first || p < first))
			first = p;
	}
	return first;
}

bool it_proc_wait(struct it_proc *p, int64_t timeout_ms, int *status)
{
	bool ok;

	if (p->reaped)
		return false;
	ok = wait_child(p->pid, timeout_ms, status);
	p->reaped = true; /* reaped either way (killed on timeout) */
	return ok;
}

void it_read_file(const char *path, struct buf *out)
{
	char chunk[8192];
	FILE *f = fopen(path, "rb");
	size_t n;

	buf_reset(out);
	if (!f)
		return;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_add(out, chunk, n) != ERR_OK)
			break;
	(void)fclose(f);
}

int it_run(char *const argv[], int64_t timeout_ms, struct buf *out,
	   struct buf *err)
{
	struct errbuf eb = ERRBUF_INIT;
	struct it_proc p;
	int status = 0;
	int rc = -1;

	if (spawn(argv, &p, &eb) != ERR_OK) {
		printf("#   %s\n", eb.msg);
		return -1;
	}
	/* wait_child kills and reaps on timeout: nothing is left behind. */
	if (wait_child(p.pid, timeout_ms, &status) && WIFEXITED(status))
		rc = WEXITSTATUS(status);
	it_read_file(p.out_path, out);
	it_read_file(p.err_path, err);
	(void)unlink(p.out_path);
	(void)unlink(p.err_path);
	return rc;
}

/* ---- Fan-out ------------------------------------------------------------ */

struct fanout {
	enum err (*fn)(void *ctx, size_t i, struct errbuf *eb);
	void *ctx;
	size_t n;
	atomic_size_t next;
	atomic_bool failed;
	pthread_mutex_t lock;
	enum err first;		/* guarded by lock */
	struct errbuf first_eb; /* guarded by lock */
};

static void *fanout_run(void *arg)
{
	struct fanout *f = arg;

	while (!atomic_load(&f->failed)) {
		struct errbuf eb = ERRBUF_INIT;
		size_t i = atomic_fetch_add(&f->next, 1);
		enum err e;

		if (i >= f->n)
			break;
		e = f->fn(f->ctx, i, &eb);
		if (e == ERR_OK)
			continue;
		pthread_mutex_lock(&f->lock);
		if (f->first == ERR_OK) {
			f->first = e;
			f->first_eb = eb;
		}
		pthread_mutex_unlock(&f->lock);
		atomic_store(&f->failed, true);
	}
	return NULL;
}

enum err it_parallel(unsigned threads, size_t n,
		     enum err (*fn)(void *ctx, size_t i, struct errbuf *eb),
		     void *ctx, struct errbuf *eb)
{
	struct fanout f = {.fn = fn, .ctx = ctx, .n = n};
	pthread_t tids[16];
	unsigned started = 0;

	threads = MIN(MAX(threads, 1U), (unsigned)ARRAY_SIZE(tids));
	atomic_init(&f.next, 0);
	atomic_init(&f.failed, false);
	pthread_mutex_init(&f.lock, NULL);
	for (unsigned t = 0; t < threads; t++)
		if (pthread_create(&tids[t], NULL, fanout_run, &f) == 0)
			started++;
	if (started == 0)
		(void)fanout_run(&f);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	pthread_mutex_destroy(&f.lock);
	if (f.first != ERR_OK && eb)
		*eb = f.first_eb;
	return f.first;
}
