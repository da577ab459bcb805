#ifndef CTRL_FLAGS_H
#define CTRL_FLAGS_H

/*
 * flags: a table-driven command-line parser with kube-controller-manager's
 * conventions: --name=value or --name value, booleans as --name,
 * --name=true|false; durations as Go writes them ("15s", "3m", "500ms",
 * "1h30m"). Every flag has a default and a help line, so --help documents
 * all of them. A bad flag or value is an ERR_INVALID whose message names
 * the flag and the value; callers exit with status 2.
 *
 * Thread safety: call from main before threads start.
 */

struct errbuf;

enum flag_type {
	FLAG_BOOL = 0,	 /* bool * */
	FLAG_INT,	 /* long long *, within [min, max] */
	FLAG_DOUBLE,	 /* double *, within [min, max] */
	FLAG_STRING,	 /* const char ** (points into argv or the default) */
	FLAG_DURATION,	 /* int64_t * in milliseconds, within [min, max] */
};

struct flag {
	const char *name;  /* without the dashes, e.g. "kube-api-qps" */
	enum flag_type type;
	void *ptr;
	const char *def;   /* default as text; NULL: empty string / 0 */
	const char *help;
	long long min;	   /* bounds for INT, DOUBLE, DURATION (ms); */
	long long max;	   /* min == max == 0 means unbounded */
	const char *shorthand; /* e.g. "v", or NULL */
};

/*
 * Sets every flag to its default, then parses argv[first..]. Positional
 * arguments are left in order in argv[first..first + *npos). "--" ends the
 * flags. Returns ERR_INVALID naming the flag on any error.
 */
enum err flags_parse(const struct flag *flags, size_t n, int argc,
		     char **argv, int first, int *npos,
		     struct errbuf *eb) ATTR_WUR;
/* Prints "  --name <type>  help (default …)" lines. */
void flags_usage(FILE *out, const struct flag *flags, size_t n);
/* Parses a Go duration string into ms. */
enum err flags_parse_duration(const char *s, int64_t *out_ms) ATTR_WUR;

#endif /* CTRL_FLAGS_H */
