#!/usr/bin/env bash
# Send one signed request to a fabrx pharma service with curl and openssl only.
#
#   FABRX_SERVICE_CA=server.crt ./signed_request.sh METHOD URL APP_ID PRIVATE_KEY.pem [BODY.json]
#
# The request is signed as docs/service.md describes: HTTP Message Signatures (RFC 9421) over
# "@method" "@path" "@query" (+ "idempotency-key" when IDEMPOTENCY_KEY is set, + "content-digest"
# when there is a body), with created, nonce, keyid and alg; the key is an RSA key registered with
# `fabrx serve app add APP_ID --public-key ... --algorithm rsa-pss-sha512`.
# Prints the response body, then the HTTP status on a last line of its own.
set -euo pipefail

if [[ $# -lt 4 ]]; then
    echo "usage: FABRX_SERVICE_CA=ca.pem $0 METHOD URL APP_ID PRIVATE_KEY.pem [BODY.json]" >&2
    exit 2
fi
method=$1 url=$2 app_id=$3 key=$4 body=${5:-}
: "${FABRX_SERVICE_CA:?set FABRX_SERVICE_CA to the service certificate (or its CA)}"

target=/${url#*://*/}                 # path and query, as sent
path=${target%%\?*}
query='?'
[[ $target == *\?* ]] && query="?${target#*\?}"

components='"@method" "@path" "@query"'
base="\"@method\": ${method}"$'\n'"\"@path\": ${path}"$'\n'"\"@query\": ${query}"
headers=()
if [[ -n ${IDEMPOTENCY_KEY:-} ]]; then
    components+=' "idempotency-key"'
    base+=$'\n'"\"idempotency-key\": ${IDEMPOTENCY_KEY}"
    headers+=(-H "Idempotency-Key: ${IDEMPOTENCY_KEY}")
fi
if [[ -n $body ]]; then
    digest="sha-256=:$(openssl dgst -sha256 -binary "$body" | base64 -w0):"
    components+=' "content-digest"'
    base+=$'\n'"\"content-digest\": ${digest}"
    headers+=(-H "Content-Type: application/json" -H "Content-Digest: ${digest}" --data-binary "@${body}")
fi

created=$(date +%s)
nonce=$(openssl rand -base64 18 | tr '+/' '-_')
params="(${components});created=${created};keyid=\"${app_id}\";alg=\"rsa-pss-sha512\";nonce=\"${nonce}\""
base+=$'\n'"\"@signature-params\": ${params}"

signature=$(printf '%s' "$base" \
    | openssl dgst -sha512 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:64 -sign "$key" \
    | base64 -w0)

curl --silent --show-error --cacert "$FABRX_SERVICE_CA" -X "$method" "${headers[@]}" \
    -H "Signature-Input: sig1=${params}" -H "Signature: sig1=:${signature}:" \
    --write-out '\n%{http_code}\n' "$url"
