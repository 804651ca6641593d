"""Baseline for bench/bench_forward.cpp: forward throughput of transformers' own LlamaForCausalLM.

The model is built from a LlamaConfig of the given shape (tied embeddings, SDPA attention,
random weights, fp32 on CPU) and run under torch.no_grad over a batch of random ids, producing
the full [batch, seq, vocab] logits as the dpok forward it is compared with does. One warm-up
forward, then --iters timed ones; prints one JSON line with the best and mean times and the
throughput by wall clock and by process CPU time. Nothing is downloaded.

Run with the project environment: .venv/bin/python3 bench/python/transformers_forward.py --threads 2
"""
import os

# Everything is built locally; fail rather than reach for the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import json
import time

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
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
    transformers.set_seed(0)
    # The shape of bench_forward.cpp's bench_config(), with dpok's default rms_norm_eps.
    config = LlamaConfig(
        vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
        num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
        max_position_embeddings=max(a.seq, 2048), rms_norm_eps=1e-6, tie_word_embeddings=True)
    model = LlamaForCausalLM._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    model.eval()
    params = sum(x.numel() for x in model.parameters())
    ids = torch.randint(0, a.vocab, (a.batch, a.seq))
    # use_cache=False: a scoring forward, as dpok's, builds no KV cache.
    with torch.no_grad():
        model(input_ids=ids, use_cache=False)  # warm-up
        times, cpu_times = [], []
        for _ in range(a.iters):
            start, cpu_start = time.perf_counter(), time.process_time()
            model(input_ids=ids, use_cache=False)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    best = min(times)
    print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                      "parameters": params, "threads": a.threads,
                      "seconds_min": best, "seconds_mean": sum(times) / len(times),
                      "tokens_per_s": a.batch * a.seq / best,
                      "tokens_per_cpu_s": a.batch * a.seq / min(cpu_times)}))


if __name__ == "__main__":
    main()
