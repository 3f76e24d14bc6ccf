#!/usr/bin/env bash
# Rebuilds corpus/pd-en/ from Debian packages (see corpus/NOTICE for provenance and licences).
# Needs: apt-get (after `apt-get update`), dpkg-deb, python3. Nothing is installed; the packages are
# downloaded and unpacked into a temporary folder that is deleted afterwards.
# Output is byte-for-byte reproducible (gzip header mtime 0, no file name), so the shards' sha256 only
# change when the source packages do.
#
# usage: corpus/make-pd-en.sh [OUT_DIR]    (default: corpus/pd-en next to this script)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/pd-en}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The versions NOTICE describes (Debian 12 "bookworm"); another version may change the shards' bytes.
packages=(bible-kjv=4.38 bible-kjv-text=4.38 dict-devil=1.0-13.1)
(cd "$work" && apt-get download "${packages[@]}")
for deb in "$work"/*.deb; do
  dpkg-deb -x "$deb" "$work/root"
done

# The whole King James Version, one line per verse (-l: line width large enough that nothing wraps).
"$work/root/usr/bin/bible" -p "$work/root/usr/lib" -l100000 gen1:1-rev22:21 > "$work/kjv.txt"

mkdir -p "$out"
python3 - "$work" "$out" <<'PY'
import base64, gzip, json, os, re, sys

work, out = sys.argv[1], sys.argv[2]

def write_jsonl_gz(name, docs):
    path = os.path.join(out, name)
    # mtime=0 and no file name in the header: the same input gives the same bytes
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        for doc in docs:
            gz.write((json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8"))
    print(f"{name}: {len(docs)} documents, {os.path.getsize(path)} bytes")

# --- King James Version: one document per chapter, "Book N" then one verse per line (numbers dropped)
chapters = []
for line in open(os.path.join(work, "kjv.txt"), encoding="ascii"):
    line = line.rstrip("\n")
    if not line.strip():
        continue
    heading = re.fullmatch(r"(\S.*) (\d+)", line)
    if heading and not line.startswith(" "):
        chapters.append({"book": heading.group(1), "chapter": int(heading.group(2)), "verses": []})
        continue
    verse = re.fullmatch(r"\s+\d+ (.*)", line)
    if not verse:
        raise SystemExit(f"unexpected KJV line: {line!r}")
    chapters[-1]["verses"].append(verse.group(1).strip())
assert len(chapters) == 1189, len(chapters)

def kjv_docs(first_book, last_book):
    books = []
    for c in chapters:
        if c["book"] not in books:
            books.append(c["book"])
    chosen = set(books[books.index(first_book):books.index(last_book) + 1])
    return [{"id": f"kjv/{c['book']} {c['chapter']}", "title": f"{c['book']} {c['chapter']}",
             "text": f"{c['book']} {c['chapter']}\n\n" + "\n".join(c["verses"])}
            for c in chapters if c["book"] in chosen]

write_jsonl_gz("kjv-1-genesis-esther.jsonl.gz", kjv_docs("Genesis", "Esther"))
write_jsonl_gz("kjv-2-job-malachi.jsonl.gz", kjv_docs("Job", "Malachi"))
write_jsonl_gz("kjv-3-matthew-revelation.jsonl.gz", kjv_docs("Matthew", "Revelation"))

# --- The Devil's Dictionary: one document per entry (split with the dictd index), preface as a .txt
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
def b64(s):
    n = 0
    for ch in s:
        n = n * 64 + B64.index(ch)
    return n

dictdir = os.path.join(work, "root/usr/share/dictd")
data = gzip.open(os.path.join(dictdir, "devil.dict.dz")).read()  # dictzip is gzip-compatible
spans = {}
for line in open(os.path.join(dictdir, "devil.index"), encoding="utf-8"):
    word, off, size = line.rstrip("\n").split("\t")
    spans[(b64(off), b64(size))] = word
entries = []
for (off, size), word in sorted(spans.items()):
    text = data[off:off + size].decode("utf-8").strip("\n")
    if word.startswith("00database"):
        if word == "00databaseinfo":
            info = text
        continue
    entries.append({"id": f"devil/{word}", "title": word, "text": text.strip()})
write_jsonl_gz("devils-dictionary.jsonl.gz", entries)

# The preface: from "PREFACE" to the end of the info entry.
preface = info[info.index("PREFACE"):].strip()
preface = "\n".join(l.rstrip() for l in preface.split("\n")) + "\n"
with open(os.path.join(out, "devils-dictionary-preface.txt"), "w", encoding="utf-8", newline="\n") as f:
    f.write(preface)
print(f"devils-dictionary-preface.txt: 1 document, {len(preface.encode())} bytes")
PY
