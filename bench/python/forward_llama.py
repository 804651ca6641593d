#!/usr/bin/python3
"""Baseline for bench/bench_forward.cpp: the same Llama-shaped model written in PyTorch Python the
way transformers' eager Llama computes it (RMSNorm in fp32, rotate-half RoPE with fp32 angles,
GQA by repeating k/v, softmax attention in fp32 with an additive causal mask, SwiGLU, fp32
logits). Random weights; prints one JSON line with the measured throughput.

Run with Debian's PyTorch: /usr/bin/python3 bench/python/forward_llama.py --threads 2
"""
import argparse
import json
import math
import time

import torch
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x32.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = a.heads, a.kv_heads, a.hidden // a.heads
        self.q_proj = nn.Linear(a.hidden, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(a.hidden, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(a.hidden, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, a.hidden, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim) + mask
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = (probs @ v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(out)


class Mlp(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.gate_proj = nn.Linear(a.hidden, a.intermediate, bias=False)
        self.up_proj = nn.Linear(a.hidden, a.intermediate, bias=False)
        self.down_proj = nn.Linear(a.intermediate, a.hidden, bias=False)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.input_layernorm = RMSNorm(a.hidden, 1e-6)
        self.self_attn = Attention(a)
        self.post_attention_layernorm = RMSNorm(a.hidden, 1e-6)
        self.mlp = Mlp(a)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(Layer(a) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden, 1e-6)
        head_dim = a.hidden // a.heads
        exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim
        self.register_buffer("inv_freq", 1.0 / (10000.0 ** exponents), persistent=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.embed_tokens(ids)
        freqs = torch.arange(t, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = torch.full((t, t), float("-inf")).triu(1)[None, None]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        hidden = self.norm(x)
        logits = (hidden @ self.embed_tokens.weight.T).float()  # tied lm_head
        return logits, hidden


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--kv-heads", type=int, default=12)
    p.add_argument("--intermediate", type=int, default=2048)
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Llama(a).eval()
    params = sum(x.numel() for x in model.parameters())
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))
    with torch.inference_mode():
        model(ids)  # warm-up
        times, cpu_times = [], []
        for _ in range(a.iters):
            start, cpu_start = time.perf_counter(), time.process_time()
            model(ids)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    best = min(times)
    print(json.dumps({"torch": torch.__version__, "parameters": params, "threads": a.threads,
                      "seconds_min": best, "seconds_mean": sum(times) / len(times),
                      "tokens_per_s": a.batch * a.seq / best,
                      "tokens_per_cpu_s": a.batch * a.seq / min(cpu_times)}))


if __name__ == "__main__":
    main()
