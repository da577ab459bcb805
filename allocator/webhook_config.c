/*
 * webhook_config: prints the MutatingWebhookConfiguration for
 * `svc-controllers webhook-config` (allocator.md §8.4): services CREATE
 * and UPDATE, admissionReviewVersions v1, sideEffects NoneOnDryRun (we
 * persist nothing on dry-run), reinvocationPolicy IfNeeded (a re-invoked
 * call returns the same values), failurePolicy Ignore unless Fail is asked
 * for, matchPolicy Equivalent. Scalars are written as JSON strings, which
 * are valid YAML double-quoted scalars, so no value needs YAML escaping.
 */
#include "base.h"
#include "webhook.h"

#include <errno.h>

#include "kube.h"

#define CA_MAX ((size_t)1 << 20)

static enum err read_ca(const char *path, struct buf *pem, struct errbuf *eb)
{
	char chunk[4096], tmp[128];
	FILE *f = fopen(path, "r");
	size_t n;
	enum err e = ERR_OK;

	if (!f)
		return errbuf_set(eb, ERR_IO, "--ca-file %s: %s", path,
				  err_errno_str(errno, tmp, sizeof(tmp)));
	while (e == ERR_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		e = buf_add(pem, chunk, n);
	if (ferror(f))
		e = errbuf_set(eb, ERR_IO, "--ca-file %s: read error", path);
	else if (e != ERR_OK)
		e = errbuf_set(eb, ERR_IO,
			       "--ca-file %s: larger than %zu bytes", path,
			       CA_MAX);
	(void)fclose(f);
	if (e == ERR_OK && !strstr(pem->data, "-----BEGIN CERTIFICATE-----"))
		e = errbuf_set(eb, ERR_IO, "--ca-file %s: no PEM certificate",
			       path);
	return e;
}

static enum err check_options(const struct webhook_config_options *o,
			      struct errbuf *eb)
{
	bool svc = o->service_name && o->service_name[0];
	bool url = o->url && o->url[0];

	if (svc == url)
		return errbuf_set(eb, ERR_INVALID,
				  "webhook-config: give exactly one of --service-name and --url");
	if (url && !str_has_prefix(o->url, "https://"))
		return errbuf_set(eb, ERR_INVALID,
				  "--url %s: must start with https://", o->url);
	if (o->service_port < 0 || o->service_port > 65535)
		return errbuf_set(eb, ERR_INVALID,
				  "--service-port %d: want 1..65535",
				  o->service_port);
	if (o->timeout_seconds < 0 || o->timeout_seconds > 30)
		return errbuf_set(eb, ERR_INVALID,
				  "--timeout-seconds %d: want 1..30",
				  o->timeout_seconds);
	if (!o->ca_file || !o->ca_file[0])
		return errbuf_set(eb, ERR_INVALID,
				  "webhook-config: --ca-file is required");
	if (o->namespace_selector && o->namespace_selector[0] &&
	    (o->namespace_selector[0] == '=' ||
	     !strchr(o->namespace_selector, '=')))
		return errbuf_set(eb, ERR_INVALID,
				  "webhook-config: --namespace-selector \"%s\": want key=value",
				  o->namespace_selector);
	return ERR_OK;
}

static const char * or (const char *s, const char *def)
{
	return s && s[0] ? s : def;
}

/* Appends a JSON-quoted scalar and a newline. */
static void scalar(struct buf *out, const char *s)
{
	kube_json_quote(out, s);
	BUG_ON(buf_adds(out, "\n") != ERR_OK);
}

static void print_client(const struct webhook_config_options *o,
			 const struct buf *ca64, struct buf *out)
{
	enum err e = ERR_OK;

	e |= buf_adds(out, "    clientConfig:\n");
	if (o->url && o->url[0]) {
		e |= buf_adds(out, "      url: ");
		scalar(out, o->url);
	} else {
		e |= buf_adds(out, "      service:\n        namespace: ");
		scalar(out, or (o->service_namespace, "default"));
		e |= buf_adds(out, "        name: ");
		scalar(out, o->service_name);
		e |= buf_adds(out, "        path: ");
		scalar(out, or (o->service_path, "/mutate"));
		e |= buf_addf(out, "        port: %d\n",
			      o->service_port ? o->service_port : 443);
	}
	e |= buf_addf(out, "      caBundle: \"%s\"\n", ca64->data);
	BUG_ON(e != ERR_OK);
}

/* One matchLabels entry limits the webhook to labelled namespaces. */
static void print_selector(const struct webhook_config_options *o,
			   struct buf *out)
{
	const char *sel = o->namespace_selector;
	const char *eq = sel ? strchr(sel, '=') : NULL;
	char *key;

	if (!eq)
		return;
	key = xstrndup(sel, (size_t)(eq - sel));
	BUG_ON(buf_adds(out, "    namespaceSelector:\n"
			     "      matchLabels:\n        ") != ERR_OK);
	kube_json_quote(out, key);
	BUG_ON(buf_adds(out, ": ") != ERR_OK);
	scalar(out, eq + 1);
	free(key);
}

static void print_all(const struct webhook_config_options *o,
		      const struct buf *ca64, struct buf *out)
{
	enum err e = ERR_OK;

	e |= buf_adds(out, "apiVersion: admissionregistration.k8s.io/v1\n"
			   "kind: MutatingWebhookConfiguration\n"
			   "metadata:\n  name: ");
	scalar(out, or (o->name, "svc-controllers"));
	e |= buf_adds(out, "webhooks:\n  - name: ");
	scalar(out, or (o->webhook_name, "allocate.svc-controllers.k8s.io"));
	print_client(o, ca64, out);
	print_selector(o, out);
	e |= buf_adds(out, "    rules:\n"
			   "      - apiGroups: [\"\"]\n"
			   "        apiVersions: [\"v1\"]\n"
			   "        operations: [\"CREATE\", \"UPDATE\"]\n"
			   "        resources: [\"services\"]\n"
			   "        scope: \"Namespaced\"\n"
			   "    admissionReviewVersions: [\"v1\"]\n"
			   "    sideEffects: NoneOnDryRun\n"
			   "    reinvocationPolicy: IfNeeded\n"
			   "    matchPolicy: Equivalent\n");
	e |= buf_addf(out, "    failurePolicy: %s\n    timeoutSeconds: %d\n",
		      o->failure_policy == WEBHOOK_FAILURE_FAIL ? "Fail"
								: "Ignore",
		      o->timeout_seconds ? o->timeout_seconds : 10);
	BUG_ON(e != ERR_OK);
}

enum err webhook_config_print(const struct webhook_config_options *o, FILE *out,
			      struct errbuf *eb)
{
	struct buf pem, ca64, doc;
	enum err e = check_options(o, eb);

	if (e != ERR_OK)
		return e;
	buf_init(&pem, CA_MAX);
	e = read_ca(o->ca_file, &pem, eb);
	if (e != ERR_OK)
		goto out_free_pem;
	buf_init(&ca64, 0);
	base64_encode(&ca64, pem.data, pem.len);
	buf_init(&doc, 0);
	print_all(o, &ca64, &doc);
	if (fwrite(doc.data, 1, doc.len, out) != doc.len || fflush(out))
		e = errbuf_set(eb, ERR_IO, "webhook-config: write failed");
	buf_release(&doc);
	buf_release(&ca64);
out_free_pem:
	buf_release(&pem);
	return e;
}
