#!/usr/bin/env bash
# Self-check of the interop peers (not part of pytest): known-good vectors,
# negative controls, and cross-issuance between the two peers with a scratch
# PKI made here. Prints one PASS/FAIL line per check; exit 1 if any FAIL.
# Needs: bash scripts/setup-interop.sh  (done first when the peers are missing).
#   SELFCHECK_BENCH_N=50   repetitions for the closing benchmark lines (0: skip)
#   SELFCHECK_KEEP=1       keep the scratch directory
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VPY="$HERE/.venv-pymdoccbor/bin/python"
PY="$HERE/peers/pymdoc_peer.py"
A0="$HERE/peers/auth0_peer.mjs"
VEC="${VECTORS:-$ROOT/../shared/vectors/iso18013-5}"
[ -d "$VEC" ] || VEC=/work/shared/vectors/iso18013-5
BENCH_N="${SELFCHECK_BENCH_N:-50}"

if [ ! -x "$VPY" ] || [ ! -d "$HERE/node/node_modules/@auth0/mdl" ]; then
    bash "$ROOT/scripts/setup-interop.sh" >&2 || { echo "FAIL setup-interop.sh"; exit 1; }
fi

W="$(mktemp -d /tmp/edl-interop-selfcheck.XXXXXX)"
[ "${SELFCHECK_KEEP:-0}" = 1 ] && echo "scratch: $W" || trap 'rm -rf "$W"' EXIT

NPASS=0; NFAIL=0
pass() { echo "PASS $*"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL $*"; NFAIL=$((NFAIL + 1)); }

# ---------------------------------------------------------------- helper (python, venv)
cat > "$W/helper.py" <<'EOF'
import base64, datetime as dt, json, sys
import cryptography.x509  # noqa: F401
import cbor2
from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

def pki(d, name="Test"):
    def key(n):
        k = ec.generate_private_key(ec.SECP256R1())
        open(f"{d}/{n}_key.pem", "wb").write(k.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        open(f"{d}/{n}_pub.pem", "wb").write(k.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return k
    nb = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)
    iaca, ds = key("iaca"), key("ds")
    key("device")
    iname = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                       x509.NameAttribute(NameOID.COMMON_NAME, f"{name} IACA")])
    root = (x509.CertificateBuilder().subject_name(iname).issuer_name(iname)
            .public_key(iaca.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(nb).not_valid_after(nb + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(iaca.public_key()), critical=False)
            .sign(iaca, hashes.SHA256()))
    dname = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                       x509.NameAttribute(NameOID.COMMON_NAME, f"{name} DS")])
    dsc = (x509.CertificateBuilder().subject_name(dname).issuer_name(iname)
           .public_key(ds.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(nb).not_valid_after(nb + dt.timedelta(days=1825))
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ObjectIdentifier("1.0.18013.5.1.2")]), critical=True)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(iaca.public_key()), critical=False)
           .add_extension(x509.SubjectKeyIdentifier.from_public_key(ds.public_key()), critical=False)
           .sign(iaca, hashes.SHA256()))
    open(f"{d}/iaca_cert.pem", "wb").write(root.public_bytes(serialization.Encoding.PEM))
    open(f"{d}/ds_cert.pem", "wb").write(dsc.public_bytes(serialization.Encoding.PEM))
    st = cbor2.dumps([None, None, ["mdoc-nonce", "client-id", "https://verifier.invalid/cb", "nonce-1"]])
    open(f"{d}/st.cbor", "wb").write(st)
    open(f"{d}/stb.cbor", "wb").write(cbor2.dumps(cbor2.CBORTag(24, st)))
    st2 = cbor2.dumps([None, None, ["mdoc-nonce", "client-id", "https://verifier.invalid/cb", "nonce-2"]])
    open(f"{d}/st_other.cbor", "wb").write(st2)

def flip_issuer_sig(src, dst):
    """Flip one byte inside documents[0].issuerSigned.issuerAuth signature, in place in the bytes."""
    data = bytearray(open(src, "rb").read())
    sig = cbor2.loads(bytes(data))["documents"][0]["issuerSigned"]["issuerAuth"][3]
    i = bytes(data).find(sig)
    assert i > 0 and bytes(data).find(sig, i + 1) < 0
    data[i + 10] ^= 0x01
    open(dst, "wb").write(bytes(data))

def flip_element(src, dst, needle):
    """Change one byte of an element value (bytes found by search) -> digest mismatch."""
    data = bytearray(open(src, "rb").read())
    i = bytes(data).find(needle.encode())
    assert i > 0
    data[i] ^= 0x20
    open(dst, "wb").write(bytes(data))

PORTRAIT = bytes.fromhex("ffd8ffe000104a464946") + b"\x00" * 32 + bytes.fromhex("ffd9")
EXPECTED = {
    "family_name": "Mustermann", "given_name": "Erika", "birth_date": "1971-09-01",
    "issue_date": "2024-01-15", "expiry_date": "2034-01-14", "issuing_country": "DE",
    "issuing_authority": "Test Authority", "document_number": "T22000129",
    "portrait": base64.b64encode(PORTRAIT).decode(),
    "driving_privileges": [{"vehicle_category_code": "B", "issue_date": "2024-01-15", "expiry_date": "2034-01-14"}],
    "un_distinguishing_sign": "D", "age_over_18": True,
}

def check(out_file, want_valid, error_has=None, elements=False, error_only=None):
    try:
        r = json.load(open(out_file))
    except Exception as e:  # noqa: BLE001
        print(f"unreadable peer output: {e}"); return 1
    msgs = []
    if r.get("valid") is not want_valid:
        msgs.append(f"valid={r.get('valid')} (want {want_valid}) error={r.get('error')!r}")
    if error_has and error_has not in (r.get("error") or ""):
        msgs.append(f"error {r.get('error')!r} lacks {error_has!r}")
    if error_only is not None:
        parts = [p.split(":")[0].strip() for p in (r.get("error") or "").split("; ")]
        if parts != [error_only]:
            msgs.append(f"error {r.get('error')!r} is not only {error_only}")
    if elements:
        got = (r.get("elements") or {}).get("org.iso.18013.5.1", {})
        if got != EXPECTED:
            diff = {k: (got.get(k), EXPECTED.get(k)) for k in set(got) | set(EXPECTED) if got.get(k) != EXPECTED.get(k)}
            msgs.append(f"elements differ: {diff}")
    if msgs:
        print("; ".join(msgs)); return 1
    return 0

if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "pki":
        pki(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "Test")
    elif cmd == "flip-sig":
        flip_issuer_sig(sys.argv[2], sys.argv[3])
    elif cmd == "flip-element":
        flip_element(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "check":
        kw = {}
        for a in sys.argv[4:]:
            k, _, v = a.partition("=")
            kw[k] = True if v == "" else v
        sys.exit(check(sys.argv[2], sys.argv[3] == "valid", **kw))
EOF
H() { "$VPY" "$W/helper.py" "$@"; }

# expect NAME valid|invalid [check-options...] -- PEER-COMMAND...
expect() {
    local name="$1" want="$2"; shift 2
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    local out="$W/out.json" err="$W/err.txt" rc msg
    "$@" >"$out" 2>"$err"; rc=$?
    if [ "$rc" != 0 ]; then fail "$name (exit $rc: $(tail -n 3 "$err" | tr '\n' ' '))"; return; fi
    if msg="$(H check "$out" "$want" "${opts[@]}")"; then pass "$name"; else fail "$name: $msg"; fi
}
pyv() { "$VPY" "$PY" verify "$@"; }
a0v() { node "$A0" verify "$@"; }

# ---------------------------------------------------------------- known-good vectors
E1="$VEC/auth0-example1"; AD="$VEC/annex-d"
H flip-sig "$E1/device_response.cbor" "$W/e1_badsig.cbor"
H flip-sig "$AD/device_response.cbor" "$W/ad_badsig.cbor"
H flip-element "$AD/device_response.cbor" "$W/ad_baddigest.cbor" "123456789"

expect "vector auth0-example1: pymdoccbor valid" valid -- \
    pyv --response "$E1/device_response.cbor" --cert "$E1/issuer_cert.pem" --transcript "$E1/session_transcript_bytes.cbor" --at 2024-01-01T00:00:00Z
expect "vector auth0-example1: auth0 valid (deviceSignature checked)" valid -- \
    a0v --response "$E1/device_response.cbor" --cert "$E1/issuer_cert.pem" --transcript "$E1/session_transcript_bytes.cbor" --at 2024-01-01T00:00:00Z
expect "vector auth0-example1: auth0 valid with bare SessionTranscript" valid -- \
    a0v --response "$E1/device_response.cbor" --cert "$E1/issuer_cert.pem" --transcript "$E1/session_transcript.cbor" --at 2024-01-01T00:00:00Z
expect "negative auth0-example1 issuer signature flipped: pymdoccbor invalid" invalid -- \
    pyv --response "$W/e1_badsig.cbor" --cert "$E1/issuer_cert.pem" --at 2024-01-01T00:00:00Z
expect "negative auth0-example1 issuer signature flipped: auth0 invalid" invalid error_has=ISSUER_SIGNATURE_VALIDITY -- \
    a0v --response "$W/e1_badsig.cbor" --cert "$E1/issuer_cert.pem" --transcript "$E1/session_transcript_bytes.cbor" --at 2024-01-01T00:00:00Z
expect "negative auth0-example1 other transcript: auth0 invalid (device signature)" invalid error_only=DEVICE_SIGNATURE_VALIDITY -- \
    a0v --response "$E1/device_response.cbor" --cert "$E1/issuer_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --at 2024-01-01T00:00:00Z
expect "negative auth0-example1 before cert/MSO validity (2023-01-01): auth0 invalid" invalid error_has=MSO_VALIDITY_AT_VERIFICATION_TIME -- \
    a0v --response "$E1/device_response.cbor" --cert "$E1/issuer_cert.pem" --transcript "$E1/session_transcript_bytes.cbor" --at 2023-01-01T00:00:00Z
expect "vector annex-d (DS pinned): pymdoccbor valid" valid -- \
    pyv --response "$AD/device_response.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --at 2021-01-01T00:00:00Z
expect "vector annex-d (DS pinned, --reader-key): auth0 valid (deviceMac checked)" valid -- \
    a0v --response "$AD/device_response.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --reader-key "$AD/ephemeral_reader_key_private.pem" --at 2021-01-01T00:00:00Z
expect "annex-d without --reader-key: auth0 invalid (cannot check deviceMac)" invalid error_only=EPHEMERAL_KEY_PRESENCE -- \
    a0v --response "$AD/device_response.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --at 2021-01-01T00:00:00Z
expect "negative annex-d wrong reader key: auth0 invalid" invalid error_only=DEVICE_MAC_VALIDITY -- \
    a0v --response "$AD/device_response.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --reader-key "$AD/ephemeral_device_key_private.pem" --at 2021-01-01T00:00:00Z
expect "negative annex-d issuer signature flipped: pymdoccbor invalid" invalid -- \
    pyv --response "$W/ad_badsig.cbor" --cert "$AD/ds_cert.pem" --at 2021-01-01T00:00:00Z
expect "negative annex-d issuer signature flipped: auth0 invalid" invalid error_has=ISSUER_SIGNATURE_VALIDITY -- \
    a0v --response "$W/ad_badsig.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --reader-key "$AD/ephemeral_reader_key_private.pem" --at 2021-01-01T00:00:00Z
expect "negative annex-d document_number altered: pymdoccbor invalid (digest)" invalid error_has="digest check failed" -- \
    pyv --response "$W/ad_baddigest.cbor" --cert "$AD/ds_cert.pem" --at 2021-01-01T00:00:00Z
expect "negative annex-d document_number altered: auth0 invalid (digest)" invalid error_has=ATTRIBUTE_DIGEST_MATCH -- \
    a0v --response "$W/ad_baddigest.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --reader-key "$AD/ephemeral_reader_key_private.pem" --at 2021-01-01T00:00:00Z
expect "negative annex-d at 2026 (expired): pymdoccbor invalid (pinned DS dates)" invalid error_has="not valid at" -- \
    pyv --response "$AD/device_response.cbor" --cert "$AD/ds_cert.pem" --at 2026-01-01T00:00:00Z
expect "negative annex-d at 2026 (expired): auth0 invalid" invalid error_has=MSO_VALIDITY_AT_VERIFICATION_TIME -- \
    a0v --response "$AD/device_response.cbor" --cert "$AD/ds_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --reader-key "$AD/ephemeral_reader_key_private.pem" --at 2026-01-01T00:00:00Z
expect "negative annex-d with unrelated trust cert: pymdoccbor invalid" invalid -- \
    pyv --response "$AD/device_response.cbor" --cert "$E1/issuer_cert.pem" --at 2021-01-01T00:00:00Z
expect "negative annex-d with unrelated trust cert: auth0 invalid" invalid error_has=ISSUER_CERTIFICATE_VALIDITY -- \
    a0v --response "$AD/device_response.cbor" --cert "$E1/issuer_cert.pem" --transcript "$AD/session_transcript_bytes.cbor" --reader-key "$AD/ephemeral_reader_key_private.pem" --at 2021-01-01T00:00:00Z

# ---------------------------------------------------------------- issue + cross-verify
K="$W/pki"; K2="$W/pki2"; mkdir -p "$K" "$K2"
H pki "$K" Test && H pki "$K2" Other || { fail "scratch PKI"; exit 1; }
AT=2024-06-01T12:00:00Z; LATER=2024-09-01T00:00:00Z; PASTEXP=2025-07-01T00:00:00Z
ISS=(--ds-key "$K/ds_key.pem" --ds-cert "$K/ds_cert.pem" --device-key "$K/device_pub.pem")

run_issue() {  # name outfile wrote peer-cmd...
    local name="$1" want="$2"; shift 2
    if "$@" >"$W/issue.json" 2>"$W/err.txt" && grep -q "\"wrote\": *\"$want\"" "$W/issue.json"; then
        pass "$name"
    else
        fail "$name: $(cat "$W/issue.json" "$W/err.txt" | tail -n 3 | tr '\n' ' ')"
    fi
}
run_issue "issue pymdoccbor (issuer-signed only)" device_response \
    "$VPY" "$PY" issue "${ISS[@]}" --out "$W/py.cbor" --at "$AT"
run_issue "issue auth0 with deviceSignature" device_response \
    node "$A0" issue "${ISS[@]}" --device-private-key "$K/device_key.pem" --transcript "$K/stb.cbor" --out "$W/a0.cbor" --at "$AT"
run_issue "issue auth0 issuer-signed only" device_response \
    node "$A0" issue "${ISS[@]}" --out "$W/a0_is.cbor" --at "$AT"
run_issue "issue auth0 with --undefined-kid (library default)" device_response \
    node "$A0" issue "${ISS[@]}" --undefined-kid --out "$W/a0_ukid.cbor" --at "$AT"

expect "pymdoccbor-issued -> pymdoccbor (IACA root) valid + elements" valid elements -- \
    pyv --response "$W/py.cbor" --cert "$K/iaca_cert.pem" --at "$LATER"
expect "pymdoccbor-issued -> auth0 --issuer-only (IACA root) valid + elements" valid elements -- \
    a0v --response "$W/py.cbor" --cert "$K/iaca_cert.pem" --issuer-only --at "$LATER"
expect "pymdoccbor-issued -> auth0 full check: invalid only for missing deviceSigned" invalid error_only=DOCUMENT_DEVICE_SIGNATURE_PRESENCE -- \
    a0v --response "$W/py.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/stb.cbor" --at "$LATER"
expect "pymdoccbor-issued -> auth0 --issuer-only (DS pinned) valid" valid -- \
    a0v --response "$W/py.cbor" --cert "$K/ds_cert.pem" --issuer-only --at "$LATER"
expect "auth0-issued -> auth0 (IACA root, transcript) valid + elements" valid elements -- \
    a0v --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/stb.cbor" --at "$LATER"
expect "auth0-issued -> auth0 with bare transcript valid" valid -- \
    a0v --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/st.cbor" --at "$LATER"
expect "auth0-issued -> pymdoccbor (IACA root) valid + elements" valid elements -- \
    pyv --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/stb.cbor" --at "$LATER"
expect "auth0-issued -> pymdoccbor (DS pinned) valid" valid -- \
    pyv --response "$W/a0.cbor" --cert "$K/ds_cert.pem" --at "$LATER"
expect "auth0-issued -> auth0 (DS pinned) valid" valid -- \
    a0v --response "$W/a0.cbor" --cert "$K/ds_cert.pem" --transcript "$K/stb.cbor" --at "$LATER"
expect "auth0-issued issuer-only -> pymdoccbor valid" valid elements -- \
    pyv --response "$W/a0_is.cbor" --cert "$K/iaca_cert.pem" --at "$LATER"
expect "negative auth0-issued, other transcript: auth0 invalid" invalid error_only=DEVICE_SIGNATURE_VALIDITY -- \
    a0v --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/st_other.cbor" --at "$LATER"
expect "negative auth0-issued, other IACA: auth0 invalid" invalid error_has=ISSUER_CERTIFICATE_VALIDITY -- \
    a0v --response "$W/a0.cbor" --cert "$K2/iaca_cert.pem" --transcript "$K/stb.cbor" --at "$LATER"
expect "negative auth0-issued, other IACA: pymdoccbor invalid" invalid error_has="not signed by any trusted root" -- \
    pyv --response "$W/a0.cbor" --cert "$K2/iaca_cert.pem" --at "$LATER"
expect "negative pymdoccbor-issued, other IACA: pymdoccbor invalid" invalid -- \
    pyv --response "$W/py.cbor" --cert "$K2/iaca_cert.pem" --at "$LATER"
expect "negative auth0-issued, after validUntil: auth0 invalid" invalid error_only=MSO_VALIDITY_AT_VERIFICATION_TIME -- \
    a0v --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/stb.cbor" --at "$PASTEXP"
expect "LIMITATION pymdoccbor: after MSO validUntil still valid (no MSO validity check)" valid -- \
    pyv --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --at "$PASTEXP"
expect "negative auth0-issued, before validFrom: auth0 invalid" invalid error_only=MSO_VALIDITY_AT_VERIFICATION_TIME -- \
    a0v --response "$W/a0.cbor" --cert "$K/iaca_cert.pem" --transcript "$K/stb.cbor" --at 2024-05-01T00:00:00Z
expect "QUIRK auth0 --undefined-kid output: pymdoccbor/pycose rejects kid=undefined" invalid error_has="KID should be a byte string" -- \
    pyv --response "$W/a0_ukid.cbor" --cert "$K/iaca_cert.pem" --at "$LATER"
expect "QUIRK auth0 --undefined-kid output: auth0 itself accepts it" valid -- \
    a0v --response "$W/a0_ukid.cbor" --cert "$K/iaca_cert.pem" --issuer-only --at "$LATER"

# ---------------------------------------------------------------- benchmarks (info)
if [ "$BENCH_N" -gt 0 ]; then
    EIGHT=family_name,given_name,birth_date,issue_date,expiry_date,issuing_country,document_number,age_over_18
    node "$A0" issue "${ISS[@]}" --elements 20 --disclose "$EIGHT" --device-private-key "$K/device_key.pem" \
        --transcript "$K/stb.cbor" --out "$W/dr8.cbor" --at "$AT" >/dev/null
    for peer in py a0; do
        if [ $peer = py ]; then cmd=("$VPY" "$PY"); else cmd=(node "$A0"); fi
        bi="$("${cmd[@]}" bench-issue --n "$BENCH_N" "${ISS[@]}" --at "$AT" 2>/dev/null)"
        bv="$("${cmd[@]}" bench-verify --n "$BENCH_N" --response "$W/dr8.cbor" --cert "$K/iaca_cert.pem" \
            --transcript "$K/stb.cbor" --at "$LATER" 2>/dev/null)"
        echo "INFO bench $peer issue(20 elements): $bi"
        echo "INFO bench $peer verify(8 disclosed): $bv"
        if echo "$bv" | grep -q '"valid": *true'; then pass "bench-verify $peer (result valid)"; else fail "bench-verify $peer: $bv"; fi
        if echo "$bi" | grep -q '"median_us"'; then pass "bench-issue $peer"; else fail "bench-issue $peer: $bi"; fi
    done
fi

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" = 0 ]
