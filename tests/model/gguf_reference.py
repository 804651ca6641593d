"""transformers' own GGUF loading as the reference for dpok's GGUF model loader.

Reads a JSON list of requests on stdin (one process, so transformers is imported once) and
prints the list of answers.
  {"make": DIR, "arch": "llama"|"qwen2"|"qwen3", "qtype": "Q8_0"|"Q4_0"|..., ["ids", "out"]}
      A small random model of that architecture (transformers' own class, seed 0), written as a
      GGUF file the way llama.cpp's converter writes it (gguf's tensor name map, llama q/k rows
      permuted to Meta's layout, 2-D weights quantized to qtype by gguf, norms F32).
      Prints {"path"}; with "ids" and "out", also its logits as below.
  {"logits": GGUF, "ids": [[...], ...] | "texts": [...], "out": FILE}
      AutoModelForCausalLM.from_pretrained(dir, gguf_file=...) (dequantized, float32), logits of
      a causal forward over ids (or over the texts tokenized by the file's own tokenizer, cut to
      the shortest) written to FILE as raw float32. Prints {"shape", "ids"}.
"""
import json
import os
import sys

import numpy as np
import torch


def permute_meta(weights, n_head, n_head_kv=None):
    # llama.cpp's convert_hf_to_gguf LlamaModel.permute: rotate-half rows → interleaved pairs.
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def make(out_dir, arch, qtype_name):
    import gguf
    from transformers import AutoConfig, AutoModelForCausalLM
    torch.manual_seed(0)
    config = AutoConfig.for_model(arch, vocab_size=320, hidden_size=64, intermediate_size=128,
                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                  max_position_embeddings=256, rms_norm_eps=1e-5,
                                  rope_theta=10000.0 if arch == "llama" else 1e6,
                                  tie_word_embeddings=(arch != "llama"))
    model = AutoModelForCausalLM.from_config(config).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * 0.2 + (1.0 if "norm" in name else 0.0))
    model_arch = {"llama": gguf.MODEL_ARCH.LLAMA, "qwen2": gguf.MODEL_ARCH.QWEN2,
                  "qwen3": gguf.MODEL_ARCH.QWEN3}[arch]
    names = gguf.get_tensor_name_map(model_arch, config.num_hidden_layers)
    qtype = gguf.GGMLQuantizationType[qtype_name]
    path = os.path.join(out_dir, f"{arch}-{qtype_name}.gguf")
    writer = gguf.GGUFWriter(path, arch)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    # Qwen3's head size is its own (transformers' default 128), as llama.cpp writes it.
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_rope_dimension_count(head_dim)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([f"<t{i}>" for i in range(config.vocab_size)])
    writer.add_token_scores([0.0] * config.vocab_size)
    writer.add_token_types([1] * config.vocab_size)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue
        data = tensor.numpy()
        if arch == "llama" and name.endswith("q_proj.weight"):
            data = permute_meta(data, config.num_attention_heads)
        elif arch == "llama" and name.endswith("k_proj.weight"):
            data = permute_meta(data, config.num_attention_heads, config.num_key_value_heads)
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if data.ndim == 2:
            writer.add_tensor(gguf_name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(gguf_name, data.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return {"path": path}


def logits(path, ids, texts, out):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    if texts:
        tokenizer = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(path)),
                                                  gguf_file=os.path.basename(path))
        rows = tokenizer(texts)["input_ids"]
        ids = [row[:min(map(len, rows))] for row in rows]
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(os.path.abspath(path)),
                                                 gguf_file=os.path.basename(path),
                                                 dtype=torch.float32).eval()
    with torch.no_grad():
        result = model(torch.tensor(ids)).logits.float().numpy()
    result.astype(np.float32).tofile(out)
    return {"shape": list(result.shape), "ids": ids}


def answer(request):
    if "make" in request:
        made = make(request["make"], request["arch"], request["qtype"])
        if "ids" not in request:
            return made
        request = dict(request, logits=made["path"])
        return dict(made, **logits(request["logits"], request["ids"], None, request["out"]))
    return logits(request["logits"], request.get("ids"), request.get("texts"), request["out"])


if __name__ == "__main__":
    json.dump([answer(request) for request in json.load(sys.stdin)], sys.stdout)
