#!/usr/bin/env python3
"""Build the pycode corpus: Python 3.11 standard library + test suite sources.

Source: every *.py under /usr/lib/python3.11 as installed by Debian's python3.11
packages (libpython3.11-stdlib, libpython3.11-testsuite), excluding third-party
site-packages / dist-packages. Licence: PSF (see models/pycode/corpus/LICENSE).

Outputs (tools/pycode/build/, git-ignored):
  train.jsonl / heldout.jsonl   one {"path","text"} object per file (tokenize step input)
  train.txt                     train documents concatenated (tokenizer training input)
  split.json                    file lists + stats
Outputs (committed):
  models/pycode/corpus/heldout.jsonl.gz, LICENSE, README.md

The split is by FILE (not by window) so no held-out file's text is ever seen in
training; deduplication by content hash happens first so identical files (the
stdlib ships a few copies) cannot straddle the split.
"""
import gzip
import hashlib
import json
import os
import random
import shutil
import sys

ROOT = "/usr/lib/python3.11"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.join(HERE, "build")
CORPUS = os.path.join(REPO, "models", "pycode", "corpus")
SEED = 20261121
HELDOUT_FRAC = 0.05
MAX_HELDOUT_GZ = 6 * 1024 * 1024  # keep the committed shard small


def collect():
    paths = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        # third-party packages are not PSF-licensed stdlib; never descend into them
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "dist-packages", "__pycache__"))
        for fn in filenames:
            if fn.endswith(".py"):
                paths.append(os.path.relpath(os.path.join(dirpath, fn), ROOT))
    paths.sort()
    docs, seen = [], set()
    n_undecodable = n_dup = 0
    for rel in paths:
        full = os.path.join(ROOT, rel)
        if os.path.islink(full) and not os.path.exists(full):
            continue
        raw = open(full, "rb").read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            n_undecodable += 1  # a few test fixtures are deliberately latin-1 etc.
            continue
        h = hashlib.sha256(raw).hexdigest()
        if h in seen:
            n_dup += 1
            continue
        seen.add(h)
        if not text.strip():
            continue  # empty __init__.py files carry no signal
        docs.append((rel, text))
    return docs, len(paths), n_undecodable, n_dup


def main():
    os.makedirs(BUILD, exist_ok=True)
    os.makedirs(CORPUS, exist_ok=True)
    docs, n_found, n_bad, n_dup = collect()
    # docs are already in sorted-path order; the seeded shuffle makes the split reproducible
    order = list(range(len(docs)))
    random.Random(SEED).shuffle(order)
    n_held = max(1, round(len(docs) * HELDOUT_FRAC))
    held_idx = set(order[:n_held])
    train = [d for i, d in enumerate(docs) if i not in held_idx]
    held = [d for i, d in enumerate(docs) if i in held_idx]

    def write_jsonl(path, items):
        with open(path, "w", encoding="utf-8") as f:
            for rel, text in items:
                f.write(json.dumps({"path": rel, "text": text}, ensure_ascii=False) + "\n")

    write_jsonl(os.path.join(BUILD, "train.jsonl"), train)
    write_jsonl(os.path.join(BUILD, "heldout.jsonl"), held)
    with open(os.path.join(BUILD, "train.txt"), "w", encoding="utf-8") as f:
        for _, text in train:
            f.write(text if text.endswith("\n") else text + "\n")
    with open(os.path.join(BUILD, "heldout.txt"), "w", encoding="utf-8") as f:
        for _, text in held:
            f.write(text if text.endswith("\n") else text + "\n")

    # committed shard: same content as build/heldout.jsonl unless it is too big
    shard = held
    gz_path = os.path.join(CORPUS, "heldout.jsonl.gz")
    while True:
        with gzip.GzipFile(gz_path, "wb", mtime=0) as g:  # mtime=0: byte-identical rebuilds
            for rel, text in shard:
                g.write((json.dumps({"path": rel, "text": text}, ensure_ascii=False) + "\n").encode("utf-8"))
        if os.path.getsize(gz_path) <= MAX_HELDOUT_GZ:
            break
        shard = sorted(random.Random(SEED + 1).sample(shard, int(len(shard) * 0.8)))

    stats = {
        "source_root": ROOT,
        "seed": SEED,
        "heldout_frac": HELDOUT_FRAC,
        "files_found": n_found,
        "undecodable_skipped": n_bad,
        "duplicates_skipped": n_dup,
        "docs": len(docs),
        "train_files": len(train),
        "heldout_files": len(held),
        "train_bytes": sum(len(t.encode("utf-8")) for _, t in train),
        "heldout_bytes": sum(len(t.encode("utf-8")) for _, t in held),
        "heldout_shard_files": len(shard),
        "heldout_shard_bytes": sum(len(t.encode("utf-8")) for _, t in shard),
        "heldout_shard_gz_bytes": os.path.getsize(gz_path),
        "heldout_paths": [r for r, _ in held],
    }
    json.dump(stats, open(os.path.join(BUILD, "split.json"), "w"), indent=1)

    # Debian's copyright file carries the full PSF licence text for CPython
    for lic in ("/usr/share/doc/libpython3.11-stdlib/copyright", "/usr/share/doc/python3.11/copyright"):
        if os.path.exists(lic):
            shutil.copyfile(lic, os.path.join(CORPUS, "LICENSE"))
            break
    print(json.dumps({k: v for k, v in stats.items() if k != "heldout_paths"}, indent=1))


if __name__ == "__main__":
    main()
