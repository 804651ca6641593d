"""Reference tokenizers built by transformers from GGUF metadata, for gguf_tokenizer_test.cpp.

  gguf_tokenizer_reference.py make OUT_DIR SPM_MODEL
      Writes GGUF files made with the gguf package's GGUFWriter: llama-vocab.gguf (the
      SentencePiece vocabulary of SPM_MODEL with scores and token types, llama tokenizer), and the
      malformed variants the test expects errors for. Prints their paths as JSON.
  gguf_tokenizer_reference.py encode GGUF ASSETS_DIR OUT.jsonl [--hh N]
      AutoTokenizer.from_pretrained(dir, gguf_file=GGUF): one JSON line per text with "ids"
      (add_special_tokens=True), "plain" (False) and "decoded" (decode(ids)), for the edge cases of
      spm_reference.py and the first N HH-RLHF chosen/rejected texts (all when N is omitted); then
      one line {"chat": [...], "rendered"} per conversation when the file has a chat template.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spm_reference import EDGE_CASES, hh_texts  # noqa: E402


def write_gguf(path, tokens, scores=None, types=None, model="llama", merges=None, extra=None):
    import gguf
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_tokenizer_model(model)
    writer.add_token_list(tokens)
    if scores is not None:
        writer.add_token_scores(scores)
    if types is not None:
        writer.add_token_types(types)
    if merges is not None:
        writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    for key, value in (extra or {}).items():
        if isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_uint32(key, value)
    writer.add_tensor("token_embd.weight", np.zeros((len(tokens), 32), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def make(out, spm_model):
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=spm_model)
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        tokens.append(sp.id_to_piece(i))
        scores.append(sp.get_score(i))
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i)
                     else 5 if sp.is_unused(i) else 1)
    files = {}
    files["llama"] = os.path.join(out, "llama-vocab.gguf")
    write_gguf(files["llama"], tokens, scores, types,
               extra={"tokenizer.chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})
    files["gpt2_no_merges"] = os.path.join(out, "gpt2-no-merges.gguf")
    write_gguf(files["gpt2_no_merges"], ["a", "b", "ab"], types=[1, 1, 1], model="gpt2")
    files["gpt2_bad_merge"] = os.path.join(out, "gpt2-bad-merge.gguf")
    write_gguf(files["gpt2_bad_merge"], ["a", "b", "ab"], types=[1, 1, 1], model="gpt2", merges=["a c"])
    files["types_length"] = os.path.join(out, "types-length.gguf")
    write_gguf(files["types_length"], tokens, scores, types[:-1])
    files["bos_range"] = os.path.join(out, "bos-range.gguf")
    write_gguf(files["bos_range"], tokens, scores, types,
               extra={"tokenizer.ggml.padding_token_id": len(tokens) + 5})
    files["template"] = os.path.join(out, "bad-template.gguf")
    write_gguf(files["template"], tokens, scores, types, extra={"tokenizer.chat_template": "{% for m in %}"})
    files["unigram"] = os.path.join(out, "t5.gguf")
    write_gguf(files["unigram"], tokens, scores, types, model="t5")
    json.dump(files, sys.stdout)


CHATS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"},
     {"role": "assistant", "content": "Hello. How can I help?"}, {"role": "user", "content": "Tell me a joke."}],
]


def encode(gguf_path, assets, out, count):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(gguf_path)),
                                        gguf_file=os.path.basename(gguf_path))
    texts = EDGE_CASES + hh_texts(assets, count)
    with_specials = tok(texts, add_special_tokens=True)["input_ids"]
    plain = tok(texts, add_special_tokens=False)["input_ids"]
    with open(out, "w", encoding="utf-8") as f:
        for text, ids, ids_plain in zip(texts, with_specials, plain):
            record = {"text": text, "ids": ids, "plain": ids_plain, "decoded": tok.decode(ids_plain)}
            f.write(json.dumps(record, ensure_ascii=True) + "\n")
        if tok.chat_template:
            for chat in CHATS:
                rendered = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
                f.write(json.dumps({"chat": chat, "rendered": rendered}, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 5 and sys.argv[1] == "encode":
        count = int(sys.argv[6]) if len(sys.argv) >= 7 and sys.argv[5] == "--hh" else 10 ** 9
        encode(sys.argv[2], sys.argv[3], sys.argv[4], count)
    else:
        sys.exit(__doc__)
