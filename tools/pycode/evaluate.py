#!/usr/bin/env python3
"""Evaluate the EXPORTED model (models/pycode/model.safetensors) and write models/pycode/metrics.json.

usage: /usr/bin/python3 tools/pycode/evaluate.py

- held-out loss over the whole build/heldout.bin stream (every token after the first is
  predicted exactly once: 257-token windows with stride 256, so a window's first prediction
  has 1 token of context and its last 256), in nats/token and bits/byte where
  bits/byte = total nats / ln 2 / UTF-8 bytes of the held-out text. The stream includes the
  <|endoftext|> separators, so their predictions count too (as in GPT-2-style evaluations).
- the same for a unigram baseline (train.bin frequencies, add-one smoothing) and for the
  step-0 (initial) weights saved by train.py as build/init.pt
- train loss over an evenly spaced train.bin sample of the same size as the held-out set
- greedy (40 new tokens) and sampled (temperature 0.8, seeded) completions; prompts are
  tokenized and outputs decoded by the saved tokenizer.json through Node
- cross-check against the independent /work/shared/bench/torch_lm_reference.py
"""
import json
import math
import os
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.path.join(HERE, "build")
MODEL_DIR = os.environ.get("PYCODE_MODEL_DIR", os.path.join(REPO, "models", "pycode"))
QUICK = os.environ.get("PYCODE_QUICK") == "1"  # smoke test on a slice of held-out only
REFERENCE = "/work/shared/bench/torch_lm_reference.py"
sys.path.insert(0, HERE)
from model import GPT2  # noqa: E402

GREEDY_PROMPTS = ["def __init__(self", "import os\nimport ", "for i in range(", "class "]
SAMPLE_PROMPTS = ["def ", "    # ", "if __name__ == "]
NEW_TOKENS = 40
SAMPLE_SEED = 0
TEMPERATURE = 0.8


def read_safetensors(path):
    """Own parser (not export.py's writer) so a layout mistake cannot cancel out."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, info in header.items():
        if k == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        b, e = info["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype="<f4").copy()).reshape(info["shape"])
    return out


def load_exported():
    hf = json.load(open(os.path.join(MODEL_DIR, "config.json")))
    cfg = {k: hf[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner", "layer_norm_epsilon")}
    model = GPT2(cfg)
    missing, unexpected = model.load_state_dict(read_safetensors(os.path.join(MODEL_DIR, "model.safetensors")), strict=False)
    assert not unexpected and all(k.endswith("attn.mask") for k in missing), (missing, unexpected)
    return model.eval(), cfg


@torch.no_grad()
def stream_nll(model, ids, ctx, batch=16):
    """Total nats and count over every next-token prediction in `ids` (stride = ctx)."""
    ids = torch.from_numpy(np.asarray(ids, dtype=np.int64))
    starts = list(range(0, len(ids) - 1, ctx))
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        rows = [ids[s:s + ctx + 1] for s in starts[i:i + batch]]
        full = [r for r in rows if len(r) == ctx + 1]
        short = [r for r in rows if len(r) < ctx + 1]
        for group in ([torch.stack(full)] if full else []) + [r[None] for r in short]:
            logits = model(group[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), group[:, 1:].reshape(-1), reduction="sum").item()
            count += group[:, 1:].numel()
    return total, count


def node(args, stdin=None):
    r = subprocess.run(["node", os.path.join(HERE, "tokenize_splits.mjs")] + args, input=stdin,
                       capture_output=True, text=True, check=True, cwd=REPO)
    return json.loads(r.stdout)


@torch.no_grad()
def generate(model, ids, new, ctx, temperature=0.0, gen=None):
    ids = list(ids)
    for _ in range(new):
        logits = model(torch.tensor([ids[-ctx:]]))[0, -1]
        if temperature == 0.0:
            nxt = int(torch.argmax(logits))
        else:
            nxt = int(torch.multinomial(F.softmax(logits / temperature, -1), 1, generator=gen))
        ids.append(nxt)
    return ids


def reference(args):
    r = subprocess.run([sys.executable, REFERENCE, MODEL_DIR] + args, capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    torch.set_num_threads(2)
    t0 = time.time()
    model, cfg = load_exported()
    ctx = cfg["n_positions"]
    held = np.fromfile(os.path.join(BUILD, "heldout.bin"), dtype="<u2")
    if QUICK:
        held = held[:4096]
    train = np.memmap(os.path.join(BUILD, "train.bin"), dtype="<u2", mode="r")
    held_bytes = sum(len(json.loads(l)["text"].encode("utf-8")) for l in open(os.path.join(BUILD, "heldout.jsonl"), encoding="utf-8"))
    if QUICK:
        held_bytes = None  # a token slice has no exact byte count; report nats only
    ln2 = math.log(2)

    def summary(total, count, nbytes=None):
        d = {"nats_per_token": total / count, "tokens": count}
        if nbytes:
            d["bits_per_byte"] = total / ln2 / nbytes
        return d

    m = {"model_dir": "models/pycode", "heldout_files": int((held == 0).sum()), "heldout_tokens": int(len(held)),
         "heldout_utf8_bytes": held_bytes, "context": ctx}

    tot, cnt = stream_nll(model, held, ctx)
    m["heldout"] = summary(tot, cnt, held_bytes)

    # train loss on an evenly spaced sample of whole windows, same token count as held-out
    n_win = max(1, cnt // ctx)
    starts = np.linspace(0, len(train) - ctx - 2, n_win).astype(np.int64)
    ttot = tcnt = 0
    with torch.no_grad():
        for i in range(0, n_win, 16):
            x = torch.from_numpy(np.stack([train[s:s + ctx + 1] for s in starts[i:i + 16]]).astype(np.int64))
            lg = model(x[:, :-1])
            ttot += F.cross_entropy(lg.reshape(-1, lg.shape[-1]), x[:, 1:].reshape(-1), reduction="sum").item()
            tcnt += x[:, 1:].numel()
    m["train_sample"] = {"nats_per_token": ttot / tcnt, "tokens": tcnt, "windows": n_win}

    # unigram baseline: add-one smoothed frequencies over the full train stream
    counts = np.bincount(np.asarray(train), minlength=cfg["vocab_size"]).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    utot = -float(logp[held[1:]].sum())
    m["unigram_baseline"] = summary(utot, len(held) - 1, held_bytes)

    # step-0 model: the initial weights train.py saved before the first update
    init_path = os.path.join(BUILD, "init.pt")
    if os.path.exists(init_path):
        m0 = GPT2(cfg)
        m0.load_state_dict(torch.load(init_path, map_location="cpu")["model"])
        itot, icnt = stream_nll(m0.eval(), held, ctx)
        m["step0_model"] = summary(itot, icnt, held_bytes)
    m["uniform_nats_per_token"] = math.log(cfg["vocab_size"])

    # completions
    prompt_ids = node(["--ids", json.dumps(GREEDY_PROMPTS + SAMPLE_PROMPTS)])
    greedy_out = [generate(model, p, NEW_TOKENS, ctx) for p in prompt_ids[:len(GREEDY_PROMPTS)]]
    gen = torch.Generator().manual_seed(SAMPLE_SEED)
    sampled_out = [generate(model, p, NEW_TOKENS, ctx, TEMPERATURE, gen) for p in prompt_ids[len(GREEDY_PROMPTS):]]
    texts = node(["--decode"], json.dumps(greedy_out + sampled_out))
    m["greedy"] = [{"prompt": p, "prompt_ids": pi, "ids": o, "text": t}
                   for p, pi, o, t in zip(GREEDY_PROMPTS, prompt_ids, greedy_out, texts)]
    m["sampled"] = {"temperature": TEMPERATURE, "seed": SAMPLE_SEED, "sampler": "torch.multinomial with one torch.Generator shared across prompts, in order",
                    "items": [{"prompt": p, "prompt_ids": pi, "ids": o, "text": t}
                              for p, pi, o, t in zip(SAMPLE_PROMPTS, prompt_ids[len(GREEDY_PROMPTS):], sampled_out, texts[len(GREEDY_PROMPTS):])]}

    # independent reference: same nll on held-out windows, same greedy ids
    checks = []
    for s in (0, len(held) // 3, 2 * len(held) // 3, len(held) - ctx - 1):
        win = [int(t) for t in held[s:s + ctx]]
        ours_tot, ours_cnt = stream_nll(model, win, ctx)
        ref = reference(["nll", "--ids", ",".join(map(str, win))])
        checks.append({"start": int(s), "tokens": ref["tokens"], "ours": ours_tot / ours_cnt, "reference": ref["nll"],
                       "abs_diff": abs(ours_tot / ours_cnt - ref["nll"])})
    gchecks = []
    for g in m["greedy"]:
        ref = reference(["generate", "--ids", ",".join(map(str, g["prompt_ids"])), "--new", str(NEW_TOKENS)])
        ref_ids = ref["ids"] if len(ref["ids"]) == len(g["ids"]) else g["prompt_ids"] + ref["ids"]
        gchecks.append({"prompt": g["prompt"], "identical": ref_ids == g["ids"]})
    m["reference_crosscheck"] = {
        "reference": REFERENCE,
        "nll_windows": checks,
        "max_abs_nll_diff": max(c["abs_diff"] for c in checks),
        "nll_within_1e-4": all(c["abs_diff"] <= 1e-4 for c in checks),
        "greedy": gchecks,
        "greedy_identical": all(c["identical"] for c in gchecks),
    }

    # training summary from the log
    log_path = os.path.join(BUILD, "train_log.jsonl")
    if os.path.exists(log_path):
        recs = [json.loads(l) for l in open(log_path)]
        steps = [r for r in recs if "loss" in r]
        head = recs[0]
        last = steps[-1]
        resumes = [r for r in recs if "resumed_at" in r]
        evals = [{"step": r["step"], "heldout_loss_64_windows": r["heldout_loss"]} for r in recs if "heldout_loss" in r]
        ck_path, init_path2 = os.path.join(BUILD, "ckpt.pt"), os.path.join(BUILD, "init.pt")
        m["training"] = {
            "steps": last["step"], "tokens": last["tokens"], "tokens_per_step": head.get("tokens_per_step"),
            # compute time inside train.py (excludes the minutes lost to a restart)
            "train_seconds": last["elapsed"], "mean_tokens_per_sec": last["tokens"] / last["elapsed"],
            # first step to last checkpoint, by file times
            "wall_clock_seconds": (os.path.getmtime(ck_path) - os.path.getmtime(init_path2))
            if os.path.exists(ck_path) and os.path.exists(init_path2) else None,
            "final_train_loss_last50_logged_mean": float(np.mean([r["loss"] for r in steps[-50:]])),
            "initial_args": head.get("args"),
            "resumes": resumes,
            "heldout_curve": evals,
        }
    m["eval_seconds"] = round(time.time() - t0, 1)
    with open(os.path.join(MODEL_DIR, "metrics.json"), "w") as f:
        json.dump(m, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(json.dumps({k: m[k] for k in ("heldout", "train_sample", "unigram_baseline", "step0_model")}, indent=1))
    print(json.dumps(m["reference_crosscheck"], indent=1))
    for g in m["greedy"] + m["sampled"]["items"]:
        print("----", repr(g["prompt"]))
        print(g["text"])


if __name__ == "__main__":
    main()
