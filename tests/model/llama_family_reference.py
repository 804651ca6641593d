#!/usr/bin/env python3
"""Independent reference for dpok's Llama-family decoder, written from transformers' modeling
code (Llama, Mistral, Qwen2, Qwen3) in plain PyTorch: reads a Hugging Face directory
(config.json + model.safetensors, F32) with only the safetensors format spec, runs a causal
forward over the given token ids in fp64, and prints the logits as JSON.

  echo '{"model_dir": "DIR", "ids": [[1, 5, 9], ...]}' | .venv/bin/python3 llama_family_reference.py
"""
import json
import struct
import sys

import torch


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        raw = torch.frombuffer(bytearray(data[8 + n + begin:8 + n + end]), dtype=torch.float32)
        tensors[name] = raw.reshape(info["shape"]).double()
    return tensors


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def linear(w, prefix, x):
    bias = w.get(prefix + ".bias")
    y = x @ w[prefix + ".weight"].T
    return y if bias is None else y + bias


def forward(c, w, ids):
    heads, kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
    head_dim = c.get("head_dim") or c["hidden_size"] // heads
    eps = c["rms_norm_eps"]
    theta = c.get("rope_theta") or c.get("rope_parameters", {}).get("rope_theta", 10000.0)
    b, t = ids.shape
    x = w["model.embed_tokens.weight"][ids]
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    freqs = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((t, t), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = linear(w, p + "self_attn.q_proj", h).view(b, t, heads, head_dim)
        k = linear(w, p + "self_attn.k_proj", h).view(b, t, kv_heads, head_dim)
        v = linear(w, p + "self_attn.v_proj", h).view(b, t, kv_heads, head_dim)
        if p + "self_attn.q_norm.weight" in w:  # Qwen3: per-head norm before RoPE
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = q @ k.transpose(-2, -1) / head_dim ** 0.5 + mask
        attn = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(b, t, heads * head_dim)
        x = x + linear(w, p + "self_attn.o_proj", attn)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = linear(w, p + "mlp.gate_proj", h)
        x = x + linear(w, p + "mlp.down_proj",
                       torch.nn.functional.silu(gate) * linear(w, p + "mlp.up_proj", h))
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ head.T


def main():
    request = json.load(sys.stdin)
    directory, ids = request["model_dir"], torch.tensor(request["ids"])
    config = json.load(open(directory + "/config.json"))
    weights = read_safetensors(directory + "/model.safetensors")
    print(json.dumps(forward(config, weights, ids).tolist()))


if __name__ == "__main__":
    main()
