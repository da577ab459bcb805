/*
 * replay_patch: applies the allocator's JSON Patch (RFC 6902) to a
 * Service record, so replay stores what the API server would after our
 * mutating webhook. The record is changed in place, which is safe only
 * because the caller holds its one reference; new strings and arrays go
 * into the record's own arena. Only the paths admission_patch.c writes
 * are known; anything else is an error, never skipped, so a new path in
 * the allocator shows up as a failing replay instead of a Service
 * silently missing its value. One thread.
 */
#include "base.h"
#include "replay_internal.h"

#include <ctype.h>
#include <yajl/yajl_tree.h>

#define PORTS_PREFIX "/spec/ports/"

/* The record behind o; records embed struct kube_object first. */
static struct kube_service *service_of(struct kube_object *o)
{
	BUG_ON(o->kind != KUBE_KIND_SERVICE);
	return (struct kube_service *)(void *)o;
}

static enum err bad_value(const char *path, const char *want, struct errbuf *eb)
{
	return errbuf_set(eb, ERR_INVALID, "%s: value: expected %s", path,
			  want);
}

static enum err set_port(const char *path, const yajl_val v, int32_t *out,
			 struct errbuf *eb)
{
	long long n;

	if (!YAJL_IS_INTEGER(v))
		return bad_value(path, "an integer", eb);
	n = YAJL_GET_INTEGER(v);
	if (n < 1 || n > 65535)
		return bad_value(path, "a port in 1..65535", eb);
	*out = (int32_t)n;
	return ERR_OK;
}

/* An array of 1..max strings; returns its length, 0 when it is not one. */
static size_t string_array(const yajl_val v, size_t max)
{
	size_t n;

	if (!YAJL_IS_ARRAY(v))
		return 0;
	n = v->u.array.len;
	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!YAJL_IS_STRING(v->u.array.values[i]))
			return 0;
	return n;
}

static enum err set_cluster_ips(struct kube_service *s, const char *path,
				const yajl_val v, struct errbuf *eb)
{
	size_t n = string_array(v, 2);
	const char **ips;

	if (n == 0)
		return bad_value(path, "an array of 1 or 2 strings", eb);
	ips = kube_alloc(&s->obj, n * sizeof(*ips));
	for (size_t i = 0; i < n; i++)
		ips[i] = kube_set_str(&s->obj,
				      YAJL_GET_STRING(v->u.array.values[i]));
	s->cluster_ips = ips;
	s->n_cluster_ips = (uint32_t)n;
	return ERR_OK;
}

static enum err set_families(struct kube_service *s, const char *path,
			     const yajl_val v, struct errbuf *eb)
{
	enum kube_ip_family f[2];
	size_t n = string_array(v, 2);

	if (n == 0)
		return bad_value(path, "an array of 1 or 2 strings", eb);
	for (size_t i = 0; i < n; i++) {
		const char *name = YAJL_GET_STRING(v->u.array.values[i]);

		if (strcmp(name, "IPv4") == 0)
			f[i] = KUBE_FAMILY_IPV4;
		else if (strcmp(name, "IPv6") == 0)
			f[i] = KUBE_FAMILY_IPV6;
		else
			return bad_value(path, "IPv4 or IPv6", eb);
	}
	memcpy(s->families, f, n * sizeof(f[0]));
	s->n_families = (uint32_t)n;
	return ERR_OK;
}

/* "/spec/ports/<i>/nodePort" with an RFC 6901 array index i. */
static bool port_index(const char *path, uint32_t *out)
{
	const char *p = path + strlen(PORTS_PREFIX);
	unsigned long i = 0;

	if (strncmp(path, PORTS_PREFIX, strlen(PORTS_PREFIX)) != 0 ||
	    !isdigit((unsigned char)*p) ||
	    (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	for (; isdigit((unsigned char)*p) && i <= UINT32_MAX; p++)
		i = i * 10 + (unsigned long)(*p - '0');
	if (i > UINT32_MAX || strcmp(p, "/nodePort") != 0)
		return false;
	*out = (uint32_t)i;
	return true;
}

/* Sets the member at path; add and replace mean the same here. */
static enum err apply_value(struct kube_service *s, const char *path,
			    const yajl_val v, struct errbuf *eb)
{
	uint32_t i;

	if (strcmp(path, "/spec/clusterIP") == 0) {
		if (!YAJL_IS_STRING(v))
			return bad_value(path, "a string", eb);
		s->cluster_ip = kube_set_str(&s->obj, YAJL_GET_STRING(v));
		return ERR_OK;
	}
	if (strcmp(path, "/spec/clusterIPs") == 0)
		return set_cluster_ips(s, path, v, eb);
	if (strcmp(path, "/spec/ipFamilies") == 0)
		return set_families(s, path, v, eb);
	if (strcmp(path, "/spec/healthCheckNodePort") == 0)
		return set_port(path, v, &s->health_check_node_port, eb);
	if (port_index(path, &i)) {
		if (i >= s->n_ports)
			return errbuf_set(eb, ERR_INVALID,
					  "%s: the Service has %u ports", path,
					  s->n_ports);
		return set_port(path, v, &s->ports[i].node_port, eb);
	}
	return errbuf_set(eb, ERR_INVALID, "%s: path not supported by replay",
			  path);
}

/* The member key of object o, or NULL. */
static yajl_val member(const yajl_val o, const char *key)
{
	if (!YAJL_IS_OBJECT(o))
		return NULL;
	for (size_t i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], key) == 0)
			return o->u.object.values[i];
	return NULL;
}

/*
 * One operation. Our lean record cannot tell an absent member from an
 * empty one, so "replace" is not checked for an existing target; the
 * allocator chooses between add and replace from the same object.
 */
static enum err apply_op(struct kube_service *s, const yajl_val op,
			 struct errbuf *eb)
{
	const char *name = YAJL_GET_STRING(member(op, "op"));
	const char *path = YAJL_GET_STRING(member(op, "path"));
	yajl_val v = member(op, "value");

	if (!name || !path)
		return errbuf_set(eb, ERR_INVALID,
				  "expected an object with op and path");
	if (strcmp(name, "add") != 0 && strcmp(name, "replace") != 0)
		return errbuf_set(eb, ERR_INVALID,
				  "%s: op \"%s\" not supported by replay", path,
				  name);
	if (!v)
		return errbuf_set(eb, ERR_INVALID, "%s: value is missing",
				  path);
	return apply_value(s, path, v, eb);
}

enum err replay__patch_apply(struct kube_object *svc, const char *ops,
			     struct errbuf *eb)
{
	struct kube_service *s = service_of(svc);
	char msg[128] = "";
	char *text;
	yajl_val root;
	enum err e = ERR_OK;

	if (!ops || !*ops)
		return ERR_OK;
	/* Changing a record someone else can see would break kube.h's
	 * immutability promise. */
	BUG_ON(atomic_load(&svc->refs) != 1);
	text = xasprintf("[%s]", ops);
	root = yajl_tree_parse(text, msg, sizeof(msg));
	free(text);
	if (!YAJL_IS_ARRAY(root)) {
		yajl_tree_free(root);
		return errbuf_set(eb, ERR_INVALID,
				  "admission patch: not a JSON array: %s", msg);
	}
	for (size_t i = 0; e == ERR_OK && i < root->u.array.len; i++) {
		e = apply_op(s, root->u.array.values[i], eb);
		if (e != ERR_OK)
			errbuf_prefix(eb, "admission patch operation %zu", i);
	}
	yajl_tree_free(root);
	return e;
}
