"""Seconds per DPO step of the real TRL DPOTrainer: the Python baseline of bench/bench_train.cpp.

A randomly initialised transformers LlamaForCausalLM (SDPA attention, tied embeddings) of the
given shape is trained by trl.DPOTrainer on synthetic preference pairs of exactly --tokens tokens
per sequence (prompt --tokens/2, completion the rest including EOS): sigmoid loss, beta 0.1,
AdamW, grad-norm clip 1.0, with an online reference model (a copy of the policy) or with
reference log-probs precomputed before training (--cached-reference; that pass is not timed).
Log-probs come from TRL's own fused LM head (tiles over the vocabulary, never the full
[2B, T, V] logits; without Triton, as on CPU, it scores every position, not only the completion).
Each optimizer step is timed from the Trainer's on_step_begin to on_step_end (forward, backward,
clip, AdamW, zero_grad; the batch is already collated); the first step is a warmup and is dropped.
With --peft the policy gets peft LoRA adapters (r 16, alpha 32, no dropout, every linear layer of
the decoder) and TRL's reference is the same model with its adapters disabled, as TRL does with a
peft_config.

Run with the project environment (no network needed, nothing is downloaded):
  .venv/bin/python3 bench/python/trl_dpo_step.py --vocab 32000 --hidden 768 --intermediate 2048 \
      --layers 12 --heads 12 --kv-heads 12 --pairs 2 --tokens 128 --threads 2 --steps 3

Prints one JSON line on stdout:
{"seconds_per_step": [...], "cpu_seconds_per_step": [...], "peak_rss_bytes": ...,
 "tokens_per_step": ..., "params": ..., "seq_len_seen": [...], ...};
on CUDA also "peak_device_memory_bytes" (allocator peak over the training steps).
Everything else (TRL and transformers logs, warnings) goes to stderr.
"""
import os

# Everything is built locally; fail rather than reach for the hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import argparse
import contextlib
import copy
import json
import random
import resource
import sys
import tempfile
import time

import datasets
import tokenizers
import torch
import transformers
import trl
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, TrainerCallback
from trl import DPOConfig, DPOTrainer

WARMUP_STEPS = 1
SPECIAL = ["<unk>", "<s>", "</s>"]  # ids 0, 1, 2: LlamaConfig's default bos/eos ids


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--intermediate", type=int, default=2048)
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--kv-heads", type=int, default=12)
    p.add_argument("--pairs", type=int, default=2, help="preference pairs per step (batch size)")
    p.add_argument("--tokens", type=int, default=128,
                   help="tokens per sequence, prompt + completion")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="timed steps, after one warmup step")
    p.add_argument("--cached-reference", action="store_true",
                   help="precompute the reference log-probs before training, untimed")
    p.add_argument("--peft", action="store_true",
                   help="train LoRA adapters (peft) instead of the whole model")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: TRL's bf16=True, autocast over fp32 master weights")
    return p.parse_args()


def word_tokenizer(vocab):
    """A tokenizer whose tokens are the words "w<id>": text of n such words is exactly n ids.

    Built offline (TRL tokenizes text itself; 1.16 does not accept pre-tokenized columns). No
    post-processor, so no BOS is added; TRL appends the EOS to each completion.
    """
    words = {token: i for i, token in enumerate(SPECIAL)}
    words.update({f"w{i}": i for i in range(len(SPECIAL), vocab)})
    backend = tokenizers.Tokenizer(WordLevel(words, unk_token="<unk>"))
    backend.pre_tokenizer = WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>")


def preference_pairs(a, count):
    """`count` text pairs: a prompt of tokens/2 random words and two completions of
    tokens - tokens/2 - 1 random words each; with the EOS TRL appends, every sequence is exactly
    --tokens long."""
    rng = random.Random(0)
    prompt_len = a.tokens // 2
    completion_len = a.tokens - prompt_len - 1

    def text(n):
        return " ".join(f"w{rng.randrange(len(SPECIAL), a.vocab)}" for _ in range(n))

    rows = [{"prompt": text(prompt_len), "chosen": " " + text(completion_len),
             "rejected": " " + text(completion_len)} for _ in range(count)]
    return datasets.Dataset.from_list(rows)


class StepTimer(TrainerCallback):
    """Times each optimizer step and counts the tokens the policy embeds during it."""

    def __init__(self, policy, cuda):
        self.cuda = cuda
        self.seconds, self.cpu_seconds, self.tokens, self.seq_lens = [], [], [], set()
        self.threads = None
        self._in_step = False
        # The policy's embedding sees exactly the input_ids TRL feeds it (the online reference is a
        # separate copy, or with peft the same model without gradients, so it is not counted).
        policy.get_input_embeddings().register_forward_hook(self._count)

    def _count(self, module, inputs, output):
        if self._in_step and torch.is_grad_enabled():
            ids = inputs[0]
            self.tokens[-1] += ids.numel()
            self.seq_lens.add(ids.shape[-1])

    def on_train_begin(self, args, state, control, **kwargs):
        self.threads = torch.get_num_threads()
        if self.cuda:  # the peak over training only, not the precompute pass
            torch.cuda.reset_peak_memory_stats()

    def on_step_begin(self, args, state, control, **kwargs):
        if self.cuda:
            torch.cuda.synchronize()
        self.tokens.append(0)
        self._in_step = True
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_step_end(self, args, state, control, **kwargs):
        if self.cuda:
            torch.cuda.synchronize()
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu_seconds.append(time.process_time() - self._cpu_start)
        self._in_step = False


def run(a, workdir):
    torch.set_num_threads(a.threads)
    transformers.set_seed(0)
    config = LlamaConfig(
        vocab_size=a.vocab, hidden_size=a.hidden, intermediate_size=a.intermediate,
        num_hidden_layers=a.layers, num_attention_heads=a.heads, num_key_value_heads=a.kv_heads,
        max_position_embeddings=max(a.tokens, 2048), rms_norm_eps=1e-5, tie_word_embeddings=True)
    policy = LlamaForCausalLM._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    # Without a ref_model DPOTrainer would reload the reference from the policy's hub name, which a
    # random model does not have; a copy is the same reference. Not needed when it is precomputed.
    # With peft the reference is the policy with its adapters disabled (no copy).
    reference = None if a.cached_reference or a.peft else copy.deepcopy(policy)
    peft_config = None
    if a.peft:
        import peft
        peft_config = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0,
                                      target_modules="all-linear", task_type="CAUSAL_LM")
    args = DPOConfig(
        output_dir=workdir,
        per_device_train_batch_size=a.pairs,
        gradient_accumulation_steps=1,
        max_steps=WARMUP_STEPS + a.steps,
        learning_rate=1e-5,
        optim="adamw_torch",
        weight_decay=0.0,
        max_length=a.tokens,
        beta=0.1,
        loss_type=["sigmoid"],
        precompute_ref_log_probs=a.cached_reference,
        # TRL defaults to bf16=True and gradient checkpointing; set both to what dpok does (bf16 as
        # autocast over fp32 master weights, no activation recomputation). activation_checkpointing
        # is transformers 5's name; it overrides TRL's gradient_checkpointing=True default.
        bf16=a.dtype == "bf16",
        activation_checkpointing=False,
        use_cpu=a.device == "cpu",
        report_to="none",
        logging_strategy="no",
        save_strategy="no",
        eval_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=0,
    )
    timer = StepTimer(policy, a.device == "cuda")
    trainer = DPOTrainer(
        model=policy, ref_model=reference, args=args, peft_config=peft_config,
        train_dataset=preference_pairs(a, a.pairs * (WARMUP_STEPS + a.steps)),
        processing_class=word_tokenizer(a.vocab), callbacks=[timer])
    trainer.train()

    if timer.seq_lens != {a.tokens}:
        raise SystemExit(f"TRL fed sequences of {sorted(timer.seq_lens)} tokens, not {a.tokens}")
    result = {
        "seconds_per_step": timer.seconds[WARMUP_STEPS:],
        "cpu_seconds_per_step": timer.cpu_seconds[WARMUP_STEPS:],
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "tokens_per_step": timer.tokens[-1],
        "params": sum(p.numel() for p in policy.parameters()),
        "seq_len_seen": sorted(timer.seq_lens),
        "threads": timer.threads,
        "device": a.device,
        "dtype": a.dtype,
        "cached_reference": a.cached_reference,
        "peft": a.peft,
        "trl_version": trl.__version__,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
    }
    if a.device == "cuda":
        result["peak_device_memory_bytes"] = torch.cuda.max_memory_allocated()
    return result


def main():
    a = parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("trl_dpo_step.py: --device cuda but torch sees no CUDA device")
    stdout = sys.stdout
    # The JSON line must be the only output on stdout: the Trainer prints its final metrics there.
    with tempfile.TemporaryDirectory() as workdir, contextlib.redirect_stdout(sys.stderr):
        result = run(a, workdir)
    print(json.dumps(result), file=stdout)


if __name__ == "__main__":
    main()
