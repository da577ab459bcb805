/*
 * unit: runner for the TAP-style unit tests declared in unit.h. A case
 * ends at its first failed check through longjmp; with -f each case runs
 * in a child process so a crash or hang fails only that case.
 */
#include "base.h"
#include "unit.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned long unit_checks;

static jmp_buf case_jump;
static char skip_reason[256];

enum outcome { OUTCOME_PASS, OUTCOME_FAIL, OUTCOME_SKIP };

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stdout, "#   %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	longjmp(case_jump, 1);
}

void unit_skip(const char *reason)
{
	(void)snprintf(skip_reason, sizeof(skip_reason), "%s", reason);
	longjmp(case_jump, 2);
}

const char *unit_data_dir(void)
{
	const char *d = getenv("UNIT_DATA_DIR");

	return d && *d ? d : "tests/data";
}

char *unit_read_data(const char *rel, size_t *len)
{
	char *path = xasprintf("%s/%s", unit_data_dir(), rel);
	FILE *f = fopen(path, "rb");
	struct buf b;
	char *data;
	char chunk[8192];
	size_t n;

	if (!f) {
		free(path);
		unit_fail(__FILE__, __LINE__, "cannot open test data %s", rel);
	}
	free(path);
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		BUG_ON(buf_add(&b, chunk, n) != ERR_OK);
	fclose(f);
	data = buf_detach(&b, len);
	buf_release(&b);
	return data;
}

static enum outcome run_inline(const struct unit_case *c)
{
	volatile int jumped;

	unit_checks = 0;
	skip_reason[0] = '\0';
	jumped = setjmp(case_jump);
	if (jumped == 0) {
		c->fn();
		if (unit_checks == 0) {
			printf("#   %s checked nothing\n", c->name);
			return OUTCOME_FAIL;
		}
		return OUTCOME_PASS;
	}
	return jumped == 2 ? OUTCOME_SKIP : OUTCOME_FAIL;
}

static enum outcome run_forked(const struct unit_case *c, int timeout_s)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm((unsigned)timeout_s);
		enum outcome o = run_inline(c);
		if (o == OUTCOME_SKIP)
			printf("#   skip: %s\n", skip_reason);
		fflush(stdout);
		_exit((int)o);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return OUTCOME_FAIL;
	if (WIFSIGNALED(status)) {
		printf("#   %s died with signal %d\n", c->name, WTERMSIG(status));
		return OUTCOME_FAIL;
	}
	return (enum outcome)WEXITSTATUS(status);
}

int unit_main(int argc, char **argv, const char *suite,
	      const struct unit_case *cases, size_t ncases)
{
	const char *filter = NULL;
	const char *t = getenv("UNIT_TIMEOUT");
	bool fork_each = false;
	int timeout_s = t && *t ? (int)strtol(t, NULL, 10) : 120;
	int failed = 0;
	int num = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0)
			fork_each = true;
		else
			filter = argv[i];
	}
	for (size_t i = 0; i < ncases; i++) {
		enum outcome o;

		if (filter && !strstr(cases[i].name, filter))
			continue;
		o = fork_each ? run_forked(&cases[i], timeout_s)
			      : run_inline(&cases[i]);
		num++;
		if (o == OUTCOME_SKIP)
			printf("ok %d - %s.%s # SKIP %s\n", num, suite,
			       cases[i].name, skip_reason);
		else
			printf("%s %d - %s.%s\n", o == OUTCOME_PASS ? "ok" : "not ok",
			       num, suite, cases[i].name);
		failed += o == OUTCOME_FAIL;
		fflush(stdout);
	}
	printf("1..%d\n", num);
	return failed ? 1 : 0;
}

char *unit_tmpdir(const char *prefix)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char *t = xasprintf("%s/%s-XXXXXX", base, prefix);

	if (!mkdtemp(t))
		unit_fail(__FILE__, __LINE__, "mkdtemp %s failed", t);
	return t;
}

void unit_rmtree(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		(void)unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	(void)rmdir(dir);
	free(dir);
}

void unit_lines_add(struct unit_lines *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(s);
}

void unit_lines_free(struct unit_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void unit_lines_sort(struct unit_lines *l)
{
	if (l->n) /* qsort's base must not be NULL */
		qsort(l->v, l->n, sizeof(char *), cmp_line);
}
