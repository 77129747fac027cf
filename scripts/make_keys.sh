#!/usr/bin/env bash
# Make the project's published demo material in keys/ by running the real `edl` CLI.
#
# An operator "edl-demo-operator" (3 keys, 2 must sign), three cities in two countries
# (cn-qingdao Qingdao CN, cn-guangzhou Guangzhou CN, jp-ichikawa Ichikawa JP), each with a root
# and a first document signer, and trust list #1 valid 365 days, all at the fixed time
# 2026-11-25T00:00:00Z. Everything happens in a temporary folder: the key stores (private keys,
# encrypted under a random passphrase that is never printed or saved) and EDL_HOME. Only public
# material is copied into keys/; the temporary folder is deleted on exit, whatever happens.
#
#   scripts/make_keys.sh            # refuses when keys/ already holds material
#   scripts/make_keys.sh --force    # replace it (new keys: verifiers must pin the new root)
#
# EDL=/path/to/edl selects the command (default: .venv/bin/edl, else `edl` on PATH).
set -euo pipefail
umask 077

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/keys"
AT="2026-11-25T00:00:00Z"
CHECK_AT="2026-11-26T00:00:00Z"
OPERATOR="edl-demo-operator"
CITIES=("cn-qingdao|Qingdao|CN" "cn-guangzhou|Guangzhou|CN" "jp-ichikawa|Ichikawa|JP")

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "make_keys.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done

if [[ -z "${EDL:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/edl" ]]; then EDL="$ROOT/.venv/bin/edl"; else EDL="$(command -v edl)"; fi
fi
PYTHON="$(dirname "$EDL")/python"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"

if [[ -e "$OUT/operator" || -e "$OUT/trust-list.cbor" || -e "$OUT/cities" || -e "$OUT/history" ]]; then
    if [[ $force -ne 1 ]]; then
        echo "make_keys.sh: $OUT already holds published material; --force replaces it with new keys" >&2
        exit 1
    fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/edl-keys.XXXXXXXX")"
cleanup() { rm -rf -- "$WORK"; }
trap cleanup EXIT INT TERM

EDL_KEYSTORE_PASSPHRASE="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(32))')"
export EDL_KEYSTORE_PASSPHRASE
export EDL_HOME="$WORK/home"
OPS="$WORK/operator"
CITY_STORE="$WORK/cities"

run() { "$EDL" "$@" >/dev/null; }

run trust init --name "$OPERATOR" --keys 3 --threshold 2 --keystore "$OPS" --at "$AT"
for spec in "${CITIES[@]}"; do
    IFS='|' read -r id name country <<<"$spec"
    run city init "$id" --name "$name" --country "$country" --keystore "$CITY_STORE" --at "$AT"
    run city export "$id" --keystore "$CITY_STORE" --out "$WORK/$id.export.cbor" --at "$AT"
    run trust add "$WORK/$id.export.cbor" --keystore "$OPS"
done
run trust publish --keystore "$OPS" --out "$WORK/trust-list.cbor" --valid-days 365 --at "$AT"

# Check what will be published, with a verifier that knows nothing but the root file.
EDL_HOME="$WORK/fresh-home" "$EDL" trust show "$WORK/trust-list.cbor" \
    --trust-root "$OPS/trust/roots/v1.root.cbor" --at "$CHECK_AT" >/dev/null

# Copy the public material only.
stage="$WORK/keys"
mkdir -p "$stage/operator" "$stage/history" "$stage/cities"
cp "$OPS/trust/roots/v1.root.cbor" "$stage/operator/root-v1.cbor"
cp "$WORK/trust-list.cbor" "$stage/trust-list.cbor"
cp "$OPS/trust/history/1.trust.cbor" "$stage/history/1.trust.cbor"
for spec in "${CITIES[@]}"; do
    IFS='|' read -r id _ _ <<<"$spec"
    mkdir -p "$stage/cities/$id"
    cp "$CITY_STORE/cities/$id/root-1.pem" "$CITY_STORE/cities/$id"/ds-*.pem "$stage/cities/$id/"
    cp "$WORK/$id.export.cbor" "$stage/cities/$id/$id.export.cbor"
done
if grep -rlaE "PRIVATE KEY|ENCRYPTED" "$stage"; then
    echo "make_keys.sh: private key material in the staged files; nothing published" >&2
    exit 1
fi

umask 022  # public files: readable by everyone
mkdir -p "$OUT"
rm -rf -- "$OUT/operator" "$OUT/history" "$OUT/cities" "$OUT/trust-list.cbor"
cp -R "$stage/operator" "$stage/history" "$stage/cities" "$stage/trust-list.cbor" "$OUT/"
chmod 755 "$OUT"
find "$OUT" -mindepth 1 -type d -exec chmod 755 {} +
find "$OUT" -type f -exec chmod 644 {} +
echo "wrote $OUT: operator $OPERATOR root v1, trust list #1 ($AT, 365 days), ${#CITIES[@]} cities; no private keys"
