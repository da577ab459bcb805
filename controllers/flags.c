/*
 * flags: the command-line parser declared in flags.h. Table driven: each
 * entry knows its type, default and bounds, so parsing, validation and
 * --help come from one place. Main thread only.
 */
#include "base.h"
#include "flags.h"

static enum err duration_unit(const char **p, double *scale)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = { { "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 },
		      { "s", 1000 },   { "m", 60000 },	{ "h", 3600000 } };

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		size_t l = strlen(units[i].unit);

		/* "m" must not swallow the "m" of "ms". */
		if (strncmp(*p, units[i].unit, l) == 0 &&
		    !(l == 1 && (*p)[1] == 's')) {
			*p += l;
			*scale = units[i].ms;
			return ERR_OK;
		}
	}
	return ERR_INVALID;
}

enum err flags_parse_duration(const char *s, int64_t *out_ms)
{
	const char *p = s;
	double total = 0;

	if (!*p)
		return ERR_INVALID;
	if (strcmp(p, "0") == 0) {
		*out_ms = 0;
		return ERR_OK;
	}
	while (*p) {
		char *end;
		double v = strtod(p, &end);
		double scale;

		if (end == p || v < 0)
			return ERR_INVALID;
		p = end;
		if (duration_unit(&p, &scale) != ERR_OK)
			return ERR_INVALID;
		total += v * scale;
	}
	if (total > 9.2e15)
		return ERR_INVALID;
	*out_ms = (int64_t)(total + 0.5);
	return ERR_OK;
}

static bool bounded(const struct flag *f, double v)
{
	if (f->min == 0 && f->max == 0)
		return true;
	return v >= (double)f->min && v <= (double)f->max;
}

static enum err set_bool(const struct flag *f, const char *v)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*(bool *)f->ptr = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*(bool *)f->ptr = false;
	else
		return ERR_INVALID;
	return ERR_OK;
}

static enum err set_value(const struct flag *f, const char *v)
{
	long long ll;
	double d;
	int64_t ms;

	switch (f->type) {
	case FLAG_BOOL:
		return set_bool(f, v);
	case FLAG_INT:
		if (str_to_ll(v, LLONG_MIN, LLONG_MAX, &ll) != ERR_OK ||
		    !bounded(f, (double)ll))
			return ERR_INVALID;
		*(long long *)f->ptr = ll;
		return ERR_OK;
	case FLAG_DOUBLE:
		if (str_to_double(v, &d) != ERR_OK || !bounded(f, d))
			return ERR_INVALID;
		*(double *)f->ptr = d;
		return ERR_OK;
	case FLAG_STRING:
		*(const char **)f->ptr = v;
		return ERR_OK;
	case FLAG_DURATION:
		if (flags_parse_duration(v, &ms) != ERR_OK ||
		    !bounded(f, (double)ms))
			return ERR_INVALID;
		*(int64_t *)f->ptr = ms;
		return ERR_OK;
	}
	return ERR_INVALID;
}

static const char *type_hint(const struct flag *f)
{
	static const char *const hints[] = { "", "an integer", "a number",
					     "a string", "a duration" };

	return hints[f->type];
}

static enum err bad_value(const struct flag *f, const char *v,
			  struct errbuf *eb)
{
	if (f->min != 0 || f->max != 0)
		return errbuf_set(eb, ERR_INVALID,
				  "invalid value \"%s\" for flag --%s: want %s in [%lld, %lld]",
				  v, f->name, type_hint(f), f->min, f->max);
	return errbuf_set(eb, ERR_INVALID,
			  "invalid value \"%s\" for flag --%s: want %s", v,
			  f->name,
			  f->type == FLAG_BOOL ? "true or false" : type_hint(f));
}

static const struct flag *find(const struct flag *flags, size_t n,
			       const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		const char *fn = flags[i].name;
		const char *sh = flags[i].shorthand;

		if ((strlen(fn) == len && strncmp(fn, name, len) == 0) ||
		    (sh && strlen(sh) == len && strncmp(sh, name, len) == 0))
			return &flags[i];
	}
	return NULL;
}

static enum err set_defaults(const struct flag *flags, size_t n,
			     struct errbuf *eb)
{
	for (size_t i = 0; i < n; i++) {
		const struct flag *f = &flags[i];
		const char *def = f->def;

		if (!def)
			def = f->type == FLAG_STRING ? ""
			      : f->type == FLAG_BOOL ? "false"
						     : "0";
		if (f->type == FLAG_STRING && !f->def) {
			*(const char **)f->ptr = NULL;
			continue;
		}
		if (set_value(f, def) != ERR_OK)
			return errbuf_set(eb, ERR_INVALID,
					  "BUG: bad default \"%s\" for --%s", def,
					  f->name);
	}
	return ERR_OK;
}

/* Parses argv[*i], a flag; may consume the next argument as its value. */
static enum err parse_one(const struct flag *flags, size_t n, int argc,
			  char **argv, int *i, struct errbuf *eb)
{
	const char *arg = argv[*i];
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct flag *f = find(flags, n, name, len);
	const char *v;

	if (!f)
		return errbuf_set(eb, ERR_INVALID, "unknown flag: %.*s",
				  (int)(len + (size_t)(name - arg)), arg);
	if (eq)
		v = eq + 1;
	else if (f->type == FLAG_BOOL)
		v = "true";
	else if (*i + 1 < argc)
		v = argv[++*i];
	else
		return errbuf_set(eb, ERR_INVALID, "flag needs an argument: --%s",
				  f->name);
	if (set_value(f, v) != ERR_OK)
		return bad_value(f, v, eb);
	return ERR_OK;
}

enum err flags_parse(const struct flag *flags, size_t n, int argc,
		     char **argv, int first, int *npos, struct errbuf *eb)
{
	int pos = first;
	enum err e = set_defaults(flags, n, eb);

	for (int i = first; i < argc && e == ERR_OK; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				argv[pos++] = argv[i];
			break;
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			e = parse_one(flags, n, argc, argv, &i, eb);
		else
			argv[pos++] = argv[i];
	}
	*npos = pos - first;
	return e;
}

void flags_usage(FILE *out, const struct flag *flags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct flag *f = &flags[i];
		char left[64];

		(void)snprintf(left, sizeof(left), "%s%s%s --%s %s",
			       f->shorthand ? "-" : "",
			       f->shorthand ? f->shorthand : "",
			       f->shorthand ? "," : "   ", f->name, type_hint(f));
		/* Help goes to a terminal or a pipe; a failed write is moot. */
		(void)fprintf(out, "  %-44s %s", left, f->help);
		if (f->def && *f->def)
			(void)fprintf(out, " (default %s)", f->def);
		(void)fputc('\n', out);
	}
}
