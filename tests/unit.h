#ifndef CTRL_UNIT_H
#define CTRL_UNIT_H

/*
 * unit: the project's test framework (about 150 lines, as redis's
 * testhelp.h and libuv's task.h). Each test file registers its cases in a
 * table and calls unit_main(). Output is TAP: "ok N - suite.case",
 * "not ok N - suite.case", "ok N - suite.case # SKIP reason". A failed
 * check prints expression, file:line and both values, and ends that case;
 * the run goes on. Options: a name filter (substring) and -f to fork each
 * case with a timeout (UNIT_TIMEOUT seconds, default 120).
 */

#include <setjmp.h>

struct unit_case {
	const char *name;
	void (*fn)(void);
};
#define UNIT_CASE(fn) { #fn, fn }

int unit_main(int argc, char **argv, const char *suite,
	      const struct unit_case *cases, size_t ncases);

ATTR_NORETURN void unit_fail(const char *file, int line, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
ATTR_NORETURN void unit_skip(const char *reason);
/* Counts checks, so a case that checked nothing is reported as a failure. */
extern unsigned long unit_checks;

#define CHECK(cond)                                                          \
	do {                                                                 \
		unit_checks++;                                               \
		if (!(cond))                                                 \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);   \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                   \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		unit_checks++;                                               \
		if (a_ != b_)                                                \
			unit_fail(__FILE__, __LINE__,                        \
				  "%s == %s: %lld != %lld", #a, #b, a_, b_);   \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                   \
	do {                                                                 \
		const char *a_ = (a), *b_ = (b);                             \
		unit_checks++;                                               \
		if (!str_eq(a_, b_))                                         \
			unit_fail(__FILE__, __LINE__,                        \
				  "%s == %s: \"%s\" != \"%s\"", #a, #b,        \
				  a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
	} while (0)

#define CHECK_NULL(p)                                                        \
	do {                                                                 \
		unit_checks++;                                               \
		if ((p) != NULL)                                             \
			unit_fail(__FILE__, __LINE__, "%s is not NULL", #p); \
	} while (0)

#define CHECK_NOT_NULL(p)                                                    \
	do {                                                                 \
		unit_checks++;                                               \
		if ((p) == NULL)                                             \
			unit_fail(__FILE__, __LINE__, "%s is NULL", #p);     \
	} while (0)

#define CHECK_ERR(expr, expected)                                            \
	do {                                                                 \
		enum err e_ = (expr), x_ = (expected);                       \
		unit_checks++;                                               \
		if (e_ != x_)                                                \
			unit_fail(__FILE__, __LINE__, "%s: got %s, want %s",  \
				  #expr, err_name(e_), err_name(x_));          \
	} while (0)

#define CHECK_OK(expr) CHECK_ERR(expr, ERR_OK)

/* The errbuf message contains the substring. */
#define CHECK_CONTAINS(hay, needle)                                          \
	do {                                                                 \
		const char *h_ = (hay), *n_ = (needle);                      \
		unit_checks++;                                               \
		if (!h_ || !strstr(h_, n_))                                  \
			unit_fail(__FILE__, __LINE__,                        \
				  "%s does not contain \"%s\": \"%s\"", #hay,  \
				  n_, h_ ? h_ : "(null)");                     \
	} while (0)

/* Directory of test data (tests/data), overridable by UNIT_DATA_DIR. */
const char *unit_data_dir(void);
/* Reads tests/data/<rel> into a NUL-terminated heap string; fails the case
 * if missing. */
char *unit_read_data(const char *rel, size_t *len);

/* A growable list of owned strings (canonical forms to compare). */
struct unit_lines {
	size_t n, cap;
	char **v;
};
void unit_lines_add(struct unit_lines *l, const char *s);
void unit_lines_sort(struct unit_lines *l);
void unit_lines_free(struct unit_lines *l);

/* A new empty directory "<prefix>-XXXXXX" on /dev/shm (else /tmp); fails
 * the case if it cannot be made. The caller frees it with unit_rmtree. */
char *unit_tmpdir(const char *prefix);
/* Removes the files in dir, then dir, and frees the string. */
void unit_rmtree(char *dir);

#endif /* CTRL_UNIT_H */
