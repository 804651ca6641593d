#!/usr/bin/env python3
"""What fits and how fast: dpok train variants on real HH-RLHF lengths, same run.

Trains a model on the HH-RLHF test splits (their real length distribution) at max_length 512
with the online reference, once per variant, in alternating rounds so that whatever else the
machine does weighs on all alike, and reports per variant the median real tokens per second (the
first update of every run is left out as warm-up), the peak resident memory of the process, both
as ratios against the first variant, the packed rows' fill ratio where packing is on, and the
largest loss difference against the first variant (the variants that change no arithmetic must
agree: tests check them tightly in fp64).

    .venv/bin/python3 bench/fit.py [--dpok build/dpok] [--model M] [--rounds 2]
        [--variants padded,padding_free,...]

Variants: padded (the default path), padding_free, unfused (one logits chunk for all rows, as an
unfused LM head holds them), checkpointing (gradient_checkpointing), lean (padding_free +
gradient_checkpointing), lora (use_peft on every projection, the reference is the base with the
adapters off), lora_nodropout (lora_dropout 0), lora_lean (that + lean), qlora (lora_nodropout on
a 4-bit base: load_in_4bit), qlora_lean (that + lean).
Results and the command are recorded in docs/benchmarks.md, section "fit".
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HH_FILES = [
    "assets/hh-rlhf/harmless-base-test.jsonl.gz",
    "assets/hh-rlhf/helpful-base-test.jsonl.gz",
    "assets/hh-rlhf/helpful-online-test.jsonl.gz",
    "assets/hh-rlhf/helpful-rejection-sampled-test.jsonl.gz",
]
VARIANTS = {
    "padded": {},
    "padding_free": {"padding_free": True},
    "unfused": {"logprob_chunk_rows": 1 << 20},
    "checkpointing": {"gradient_checkpointing": True},
    "lean": {"padding_free": True, "gradient_checkpointing": True},
    "lora": {"use_peft": True, "lora_target_modules": "all-linear", "learning_rate": 1e-4},
}
# LoRA without dropout (the projections' inputs are then shared, not copied per adapter), with
# the lean path, and on a 4-bit base (a GGUF file's quantized tensors stay as stored).
LORA_SHARED = dict(VARIANTS["lora"], lora_dropout=0.0)
VARIANTS.update({
    "lora_nodropout": LORA_SHARED,
    "lora_lean": dict(LORA_SHARED, padding_free=True, gradient_checkpointing=True),
    "qlora": dict(LORA_SHARED, load_in_4bit=True),
    "qlora_lean": dict(LORA_SHARED, load_in_4bit=True, padding_free=True,
                       gradient_checkpointing=True),
})


def train(args, out, overrides):
    config = {
        "model": args.model,
        "output_dir": str(out),
        "max_length": args.max_length,
        "truncation_mode": "keep_end",
        "per_device_train_batch_size": args.batch,
        "max_steps": args.steps,
        "logging_steps": 1,
        "save_steps": 0,
        "learning_rate": 1e-6,
        "seed": 42,
        "data": {"train_files": HH_FILES},
    }
    config.update(overrides)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.yaml").write_text(json.dumps(config))
    result = subprocess.run([args.dpok, "train", "--config", str(out / "run.yaml")],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dpok train failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [s for s in steps if "tokens_per_second" in s]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dpok", default="build/dpok")
    parser.add_argument("--model",
                        default="models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default="padded,padding_free")
    parser.add_argument("--group-by-length", action="store_true")
    args = parser.parse_args()

    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    speed = {n: [] for n in names}
    memory = {n: [] for n in names}
    losses, fill = {}, {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(args.rounds):
            for name in names:
                overrides = dict(VARIANTS[name], group_by_length=args.group_by_length)
                steps = train(args, Path(tmp) / f"r{round_index}-{name}", overrides)
                speed[name] += [s["tokens_per_second"] for s in steps[1:]]
                memory[name].append(max(s["peak_memory"] for s in steps))
                losses[name] = [s["loss"] for s in steps]
                fill[name] += [s["padding_free/fill_ratio"] for s in steps
                               if "padding_free/fill_ratio" in s]
                print(f"round {round_index + 1} {name}: "
                      f"{[round(s['tokens_per_second']) for s in steps]} tokens/s, "
                      f"peak {memory[name][-1] / 2**30:.2f} GiB", flush=True)
    base = names[0]
    base_speed = statistics.median(speed[base])
    base_memory = max(memory[base])
    print(f"\nmodel {args.model}, HH-RLHF test splits, max_length {args.max_length}, "
          f"{args.batch} pairs per update, group_by_length {args.group_by_length}, "
          f"{args.rounds} rounds of {args.steps} updates")
    print(f"| variant | tokens/s | x {base} | peak RSS GiB | x {base} | fill | max |dloss| |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        tps, peak = statistics.median(speed[name]), max(memory[name])
        delta = max(abs(a - b) for a, b in zip(losses[base], losses[name]))
        fill_text = f"{statistics.mean(fill[name]):.3f}" if fill[name] else "-"
        print(f"| {name} | {tps:.0f} | {tps / base_speed:.2f} | {peak / 2**30:.2f} "
              f"| {peak / base_memory:.2f} | {fill_text} | {delta:.1e} |")


if __name__ == "__main__":
    main()
