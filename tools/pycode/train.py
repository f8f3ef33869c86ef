#!/usr/bin/env python3
"""Train the pycode GPT-2 on CPU from tools/pycode/build/train.bin.

usage: nice -n 10 /usr/bin/python3 tools/pycode/train.py --tokens N [--resume]
       /usr/bin/python3 tools/pycode/train.py --bench 20      (throughput only, no files written)

Batches are random 256-token windows (+1 target) from the uint16 id stream. State
(model, optimizer, step, RNG) is checkpointed atomically every --ckpt-every seconds to
build/ckpt.pt; --resume continues exactly where it stopped. Logs go to build/train_log.jsonl.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CONFIG, GPT2  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")


def load_bin(name):
    return np.memmap(os.path.join(BUILD, name), dtype="<u2", mode="r")


def get_batch(data, rng, batch, ctx):
    starts = rng.integers(0, len(data) - ctx - 1, size=batch)
    x = np.stack([data[s:s + ctx + 1] for s in starts]).astype(np.int64)
    x = torch.from_numpy(x)
    return x[:, :-1], x[:, 1:]


@torch.no_grad()
def eval_loss(model, data, n_windows, ctx):
    """Mean loss over fixed, evenly spaced windows (deterministic, comparable across steps)."""
    model.eval()
    starts = np.linspace(0, len(data) - ctx - 2, n_windows).astype(np.int64)
    tot = 0.0
    for i in range(0, n_windows, 8):
        x = torch.from_numpy(np.stack([data[s:s + ctx + 1] for s in starts[i:i + 8]]).astype(np.int64))
        logits = model(x[:, :-1])
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum").item()
    model.train()
    return tot / (n_windows * ctx)


def lr_at(step, total, warmup, peak, floor_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor_frac + (1 - floor_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def atomic_save(obj, path):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=20_000_000, help="total training tokens")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt-every", type=float, default=300.0, help="seconds")
    ap.add_argument("--eval-every", type=int, default=250, help="steps")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--stop-at", type=int, default=0,
                    help="checkpoint and exit at this step without changing the schedule (test resume)")
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
    ap.add_argument("--out", default=os.path.join(BUILD, "ckpt.pt"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train = load_bin("train.bin")
    held = load_bin("heldout.bin")
    cfg = dict(CONFIG)
    model = GPT2(cfg)
    n_params = sum(p.numel() for p in model.parameters())

    # weight decay on matrices only (weights and embeddings, as in nanoGPT); never on biases or LayerNorm gains
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    rng = np.random.default_rng(args.seed)
    tokens_per_step = args.batch * args.ctx
    total_steps = args.tokens // tokens_per_step
    step = 0
    elapsed_prev = 0.0
    # log and initial weights live next to the checkpoint (build/ by default)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    log_path = os.path.join(out_dir, "train_log.jsonl")

    if args.bench:
        t0 = None
        for i in range(args.bench + 2):
            if i == 2:
                t0 = time.time()  # skip warm-up iterations
            x, y = get_batch(train, rng, args.batch, args.ctx)
            loss = F.cross_entropy(model(x).reshape(-1, cfg["vocab_size"]), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        dt = time.time() - t0
        print(json.dumps({"batch": args.batch, "params": n_params, "steps": args.bench,
                          "sec_per_step": dt / args.bench, "tokens_per_sec": args.bench * tokens_per_step / dt}))
        return

    if args.resume:
        ck = torch.load(args.out)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        rng.bit_generator.state = ck["np_rng"]
        torch.set_rng_state(ck["torch_rng"])
        elapsed_prev = ck["elapsed"]
        if ck["args"]["tokens"] != args.tokens or ck["args"]["batch"] != args.batch:
            print("warning: --tokens/--batch differ from the checkpoint's; schedule uses the new values")
        print(f"resumed at step {step}/{total_steps}")
        with open(log_path, "a") as f:
            f.write(json.dumps({"resumed_at": step, "total_steps": total_steps, "elapsed": elapsed_prev,
                                "lr_at_resume": lr_at(step, total_steps, args.warmup, args.lr, args.min_lr_frac),
                                "args": vars(args)}) + "\n")
    else:
        # keep the initial weights: evaluate.py reports the step-0 model's held-out loss
        torch.save({"model": model.state_dict(), "config": cfg}, os.path.join(out_dir, "init.pt"))
        l0 = eval_loss(model, held, 64, args.ctx)
        rec = {"step": 0, "heldout_loss": l0, "params": n_params, "total_steps": total_steps,
               "tokens_per_step": tokens_per_step, "args": vars(args)}
        print(json.dumps(rec))
        with open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def save_ckpt():
        atomic_save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "config": cfg,
                     "np_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                     "elapsed": elapsed_prev + (time.time() - t_start), "args": vars(args)}, args.out)

    model.train()
    t_start = time.time()
    last_ckpt = time.time()
    t_log, tok_log = time.time(), 0
    while step < total_steps:
        lr = lr_at(step, total_steps, args.warmup, args.lr, args.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = get_batch(train, rng, args.batch, args.ctx)
        loss = F.cross_entropy(model(x).reshape(-1, cfg["vocab_size"]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tok_log += tokens_per_step
        if step % 10 == 0 or step == total_steps:
            now = time.time()
            rec = {"step": step, "loss": round(loss.item(), 5), "lr": lr, "gnorm": round(float(gnorm), 4),
                   "tokens": step * tokens_per_step, "tok_per_s": round(tok_log / (now - t_log), 1),
                   "elapsed": round(elapsed_prev + now - t_start, 1)}
            if step % args.eval_every == 0 or step == total_steps:
                rec["heldout_loss"] = eval_loss(model, held, 64, args.ctx)
            with open(log_path, "a") as f:
                f.write(json.dumps(rec) + "\n")
            t_log, tok_log = time.time(), 0
        if time.time() - last_ckpt > args.ckpt_every or step == total_steps:
            save_ckpt()
            last_ckpt = time.time()
        if step == args.stop_at:
            save_ckpt()
            print("stopped at", step)
            return
    save_ckpt()
    print("done", step)


if __name__ == "__main__":
    main()
