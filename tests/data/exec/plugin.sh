#!/bin/sh
# A fake client-go exec credential plugin for tests/test-credential.c.
# COUNT_FILE (optional) counts runs, one line each; beside it the plugin
# leaves KUBERNETES_EXEC_INFO (.info) and its arguments (.args).
# MODE picks the output; SUFFIX, if set, is appended to the token.
n=1
if [ -n "$COUNT_FILE" ]; then
	if [ -f "$COUNT_FILE" ]; then
		n=$(( $(wc -l < "$COUNT_FILE") + 1 ))
	fi
	echo run >> "$COUNT_FILE"
	printf '%s' "$KUBERNETES_EXEC_INFO" > "$COUNT_FILE.info"
	printf '%s\n' "$@" > "$COUNT_FILE.args"
fi
v=client.authentication.k8s.io/v1
tok="token-$n${SUFFIX:+-$SUFFIX}"
case "$MODE" in
token)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2099-01-01T00:00:00Z"}}\n' "$v" "$tok" ;;
expired)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2000-01-01T00:00:00Z"}}\n' "$v" "$tok" ;;
noexpiry)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s"}}\n' "$v" "$tok" ;;
cert)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\\nC%s\\n-----END CERTIFICATE-----\\n","clientKeyData":"-----BEGIN PRIVATE KEY-----\\nK\\n-----END PRIVATE KEY-----\\n"}}\n' "$v" "$n" ;;
fail)
	echo "plugin.sh: failing on purpose" >&2
	exit 3 ;;
garbage)
	echo "this is not an ExecCredential" ;;
wrongkind)
	printf '{"apiVersion":"%s","kind":"Secret","status":{"token":"x"}}\n' "$v" ;;
wrongversion)
	printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"x"}}\n' ;;
notoken)
	printf '{"apiVersion":"%s","kind":"ExecCredential","status":{}}\n' "$v" ;;
sleep)
	exec sleep 10 ;;
closed)
	exec >&- 2>&-
	exec sleep 10 ;;
flood)
	head -c 2000000 /dev/zero | tr '\0' x ;;
*)
	echo "plugin.sh: unknown MODE '$MODE'" >&2
	exit 2 ;;
esac
