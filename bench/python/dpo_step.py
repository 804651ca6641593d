"""One DPO step written TRL-style in plain PyTorch: the Python baseline of bench/bench_train.cpp.

A Llama-shaped decoder (RMSNorm, rotate-half RoPE, SwiGLU, tied embeddings) built from torch.nn,
with TRL DPOTrainer's step: one concatenated [chosen; rejected] policy forward producing the full
[2B, T, V] logits, log_softmax + gather of the completion tokens, a reference forward under
no_grad (or cached reference log-probs), the sigmoid loss, backward and AdamW.

Run with Debian's python3-torch (/usr/bin/python3). Prints one JSON line:
{"seconds_per_step": [...], "cpu_seconds_per_step": [...], "peak_rss_bytes": ..., "tokens_per_step": ..., "params": ...}
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.float().pow(2).mean(-1, keepdim=True)
        return self.weight * (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Layer(nn.Module):
    def __init__(self, h, inter, heads, kv_heads, eps):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, h // heads
        self.input_layernorm = RMSNorm(h, eps)
        self.post_attention_layernorm = RMSNorm(h, eps)
        self.q_proj = nn.Linear(h, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(h, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(h, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, h, bias=False)
        self.gate_proj = nn.Linear(h, inter, bias=False)
        self.up_proj = nn.Linear(h, inter, bias=False)
        self.down_proj = nn.Linear(inter, h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        y = self.input_layernorm(x)
        q = self.q_proj(y).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(y).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(y).view(b, t, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.kv_heads != self.heads:
            rep = self.heads // self.kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.hd) + mask
        attn = torch.softmax(scores.float(), dim=-1).to(q.dtype) @ v
        x = x + self.o_proj(attn.transpose(1, 2).reshape(b, t, -1))
        y = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.vocab, a.hidden)
        self.layers = nn.ModuleList(
            Layer(a.hidden, a.intermediate, a.heads, a.kv_heads, 1e-5) for _ in range(a.layers))
        self.norm = RMSNorm(a.hidden, 1e-5)
        self.hd = a.hidden // a.heads
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, attention_mask):
        b, t = ids.shape
        pos = torch.arange(t, dtype=torch.float32)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        freqs = torch.outer(pos, inv)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        causal = torch.full((t, t), float("-inf")).triu(1)
        pad = (1.0 - attention_mask[:, None, None, :].float()) * -1e9
        mask = causal[None, None] + pad
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        x = self.norm(x)
        return x @ self.embed_tokens.weight.t()  # tied lm_head, full [2B, T, V] logits (TRL)


def completion_logps(logits, ids, completion_mask):
    # TRL: logits at t predict token t+1; mask prompt and padding.
    labels = ids[:, 1:].clone()
    mask = completion_mask[:, 1:]
    labels[~mask] = 0
    per_token = torch.gather(logits[:, :-1].log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
    return (per_token * mask).sum(-1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--intermediate", type=int, default=2048)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--kv-heads", type=int, default=12)
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--cached-reference", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    policy = Llama(a)
    reference = None if a.cached_reference else Llama(a).requires_grad_(False)
    if reference is not None:
        reference.load_state_dict(policy.state_dict())
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-6, weight_decay=0.0)
    rows, t = 2 * a.pairs, a.tokens
    ids = torch.randint(0, a.vocab, (rows, t))
    attention = torch.ones(rows, t, dtype=torch.long)
    completion = torch.zeros(rows, t, dtype=torch.bool)
    completion[:, t // 2:] = True
    cached = torch.zeros(rows)
    times, cpu_times = [], []
    for step in range(a.steps + 1):  # first step is warmup
        start = time.perf_counter()
        cpu_start = time.process_time()
        logps = completion_logps(policy(ids, attention), ids, completion)
        if reference is not None:
            with torch.no_grad():
                ref = completion_logps(reference(ids, attention), ids, completion)
        else:
            ref = cached
        pc, pr = logps[:a.pairs], logps[a.pairs:]
        rc, rr = ref[:a.pairs], ref[a.pairs:]
        loss = -F.logsigmoid(0.1 * ((pc - rc) - (pr - rr))).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step > 0:
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    print(json.dumps({
        "seconds_per_step": times,
        "cpu_seconds_per_step": cpu_times,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "tokens_per_step": rows * t,
        "params": sum(p.numel() for p in policy.parameters()),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
