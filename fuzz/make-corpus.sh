#!/usr/bin/env bash
# Makes the seed corpora of the fuzz targets from the repo's fixtures (run from anywhere; needs
# tshark and python3). Every seed is named seed-*; what libFuzzer adds during a run is not kept.
#   capture/         the small fixture captures, whole
#   packet/          every frame with a payload of every classic pcap fixture, after one "snap length cut" byte of 0
#   tls_hello/       TCP payloads that carry a ClientHello or ServerHello (record framing), and the
#                    bare handshake messages, each after two split-pattern bytes
#   endpoints_json/  the embedded endpoint data files, and a two-set cut of the worldwide one
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
fixtures=$root/fixtures
corpus=$here/corpus
rm -f "$corpus"/*/seed-*
mkdir -p "$corpus"/{capture,packet,tls_hello,endpoints_json}

for f in "$fixtures"/*.pcap "$fixtures"/*.pcapng; do
    if [ "$(stat -c %s "$f")" -le 32768 ]; then
        cp "$f" "$corpus/capture/seed-$(basename "$f")"
    fi
done

python3 - "$fixtures" "$corpus/packet" <<'PY'
import pathlib, struct, sys
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.glob("*.pcap")):
    b = f.read_bytes()
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        continue
    at, n = 24, 0
    while at + 16 <= len(b):
        caplen = struct.unpack(e + "I", b[at + 8:at + 12])[0]
        frame = b[at + 16:at + 16 + caplen]
        at += 16 + caplen
        n += 1
        if len(frame) < 80:  # no payload: the other seeds cover bare headers
            continue
        (out / f"seed-{f.stem}-{n:03}").write_bytes(b"\x00" + frame)
PY

n=0
for f in "$fixtures"/*.pcap "$fixtures"/*.pcapng; do
    { tshark -r "$f" -Y 'tls.handshake.type == 1 || tls.handshake.type == 2' \
        -T fields -e tcp.payload 2>/dev/null || true; } | while read -r hex; do
        [ -n "$hex" ] || continue
        n=$((n + 1))
        name=$(basename "$f" | tr . -)-$n
        # As records, split every 200 bytes (wraps), and as the bare message after the 5-byte
        # record header, in one piece.
        { printf '\xc7\x00'; echo "$hex" | xxd -r -p; } > "$corpus/tls_hello/seed-$name-record"
        printf '\xff\x00' > "$corpus/tls_hello/seed-$name-message"
        echo "$hex" | xxd -r -p | tail -c +6 >> "$corpus/tls_hello/seed-$name-message"
    done
done

cp "$root"/src/m365/data/endpoints-*.json "$corpus/endpoints_json/" 2>/dev/null || true
for f in "$corpus"/endpoints_json/endpoints-*.json; do
    mv "$f" "$corpus/endpoints_json/seed-$(basename "$f")"
done
python3 - "$root/src/m365/data/endpoints-worldwide.json" "$corpus/endpoints_json/seed-two-sets.json" <<'PY'
import json, sys
sets = json.load(open(sys.argv[1]))
json.dump(sets[:2], open(sys.argv[2], "w"), indent=1)
PY

for d in "$corpus"/*/; do
    echo "$(basename "$d"): $(ls "$d" | wc -l) seeds, $(du -sb "$d" | cut -f1) bytes"
done
