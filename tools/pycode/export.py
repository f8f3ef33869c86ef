#!/usr/bin/env python3
"""Export the trained checkpoint as a Hugging Face GPT-2 folder: models/pycode/{config.json,model.safetensors}.

usage: /usr/bin/python3 tools/pycode/export.py [--ckpt tools/pycode/build/ckpt.pt] [--out models/pycode]

Key names follow GPT2LMHeadModel's inner GPT2Model WITHOUT the "transformer." prefix
(wte.weight, h.0.attn.c_attn.weight, ...); Conv1D weights keep HF's [in, out] layout, which
is how model.py already stores them. No lm_head.weight: it is tied to wte.
safetensors is written by hand (no python package on Debian): u64-LE header length, JSON
header (dtype/shape/data_offsets) padded with spaces to a multiple of 8, raw LE f32 data.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from model import CONFIG  # noqa: E402


def hf_config(cfg):
    return {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": cfg["vocab_size"],
        "n_positions": cfg["n_positions"],
        "n_ctx": cfg["n_positions"],
        "n_embd": cfg["n_embd"],
        "n_layer": cfg["n_layer"],
        "n_head": cfg["n_head"],
        "n_inner": cfg["n_inner"],
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "layer_norm_epsilon": cfg["layer_norm_epsilon"],
        "initializer_range": 0.02,
        "summary_type": "cls_index",
        "summary_use_proj": True,
        "summary_activation": None,
        "summary_proj_to_labels": True,
        "summary_first_dropout": 0.0,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "use_cache": True,
        "bos_token_id": 0,
        "eos_token_id": 0,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "transformers_version": "4.40.0",
    }


def write_safetensors(path, tensors, metadata=None):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].detach().cpu().numpy().astype("<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return offset


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(HERE, "build", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(REPO, "models", "pycode"))
    args = ap.parse_args()
    ck = torch.load(args.ckpt, map_location="cpu")
    cfg = ck.get("config", CONFIG)
    sd = ck["model"]
    # model.py's parameter names already are HF GPT2Model's names; drop non-parameter buffers
    tensors = {k: v.float() for k, v in sd.items() if not k.endswith("attn.mask")}
    expect = {"wte.weight": [cfg["vocab_size"], cfg["n_embd"]], "wpe.weight": [cfg["n_positions"], cfg["n_embd"]],
              "h.0.attn.c_attn.weight": [cfg["n_embd"], 3 * cfg["n_embd"]],
              "h.0.mlp.c_fc.weight": [cfg["n_embd"], cfg["n_inner"]],
              "h.0.mlp.c_proj.weight": [cfg["n_inner"], cfg["n_embd"]], "ln_f.weight": [cfg["n_embd"]]}
    for k, shape in expect.items():
        assert list(tensors[k].shape) == shape, (k, tensors[k].shape, shape)
    assert len(tensors) == 2 + 12 * cfg["n_layer"] + 2, sorted(tensors)
    os.makedirs(args.out, exist_ok=True)
    nbytes = write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, {"format": "pt"})
    assert nbytes <= 25 * 1024 * 1024
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    print(json.dumps({"tensors": len(tensors), "params": sum(t.numel() for t in tensors.values()),
                      "data_bytes": nbytes, "step": ck.get("step")}))


if __name__ == "__main__":
    main()
