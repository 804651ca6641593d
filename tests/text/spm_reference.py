"""Reference encodings from the sentencepiece package for dpok's native SentencePiece code.

Run with the project environment (.venv/bin/python3, which has sentencepiece):

  spm_reference.py reference MODEL ASSETS_DIR OUT.jsonl [--hh N]
      One JSON line per text: {"text", "ids" (EncodeAsIds), "decoded" (DecodeIds(ids))}.
      Texts: the edge cases below, then the first N chosen/rejected texts of the HH-RLHF test
      files under ASSETS_DIR/hh-rlhf (round-robin over the files, in file order).
  spm_reference.py train OUT_DIR ASSETS_DIR
      Trains the tiny models committed under tests/text/data/ (unigram with byte fallback,
      unigram without it, BPE with user-defined pieces and no dummy prefix) on 400 HH-RLHF texts.
"""
import gzip
import json
import os
import sys

import sentencepiece as spm

HH_FILES = [
    "harmless-base-test.jsonl.gz",
    "helpful-base-test.jsonl.gz",
    "helpful-online-test.jsonl.gz",
    "helpful-rejection-sampled-test.jsonl.gz",
]

EDGE_CASES = [
    "", " ", "   ", "a", " a", "a ", "  a  b  ", "\t", "\n", " \n ", "Hello world",
    "Hello  world", " Hello world ", "Hello\tworld\n\nagain", "\u2581", "a\u2581", "\u2581\u2581x",
    "x \u2581", "12345 678.90", "3.14159e-10", "\U0001F600", "\U0001F468\u200D\U0001F469\u200D\U0001F467",
    "caf\u00e9 cafe\u0301", "\u4f60\u597d\uff0c\u4e16\u754c", "\u0645\u0631\u062d\u0628\u0627", "\u00a0x\u00a0",
    "\u3000full\u3000width", "<s>", "</s>", "<unk>", "<pad>", "<0x41>", "<s>Hello</s>",
    "tab\there", "\u0000nul", "\u00ff\u0100\u07ff\u0800\uffff\U00010000\U0010ffff",
    "a" * 3000, "ab " * 700, " " * 50 + "x" + " " * 50, "\u2581" * 20, "\U0001F600" * 100,
    "Human: What is 2+2?\n\nAssistant: 4.", "I'm can't won't y'all", "ALL CAPS AND lower",
    "zero\u200bwidth", "\ufeffbom", "\r\nwindows\r\n", "Ωmega ß Σ σ ς", "\u0301\u0301", "e\u0301\u0301",
]


def hh_texts(assets, count):
    """The first `count` chosen/rejected texts, round-robin over the HH files."""
    readers = []
    for name in HH_FILES:
        path = os.path.join(assets, "hh-rlhf", name)
        readers.append(gzip.open(path, "rt", encoding="utf-8"))
    texts = []
    while len(texts) < count and readers:
        for reader in list(readers):
            line = reader.readline()
            if not line:
                readers.remove(reader)
                continue
            record = json.loads(line)
            texts.extend([record["chosen"], record["rejected"]])
    for reader in readers:
        reader.close()
    return texts[:count]


def reference(model, assets, out, hh_count):
    sp = spm.SentencePieceProcessor(model_file=model)
    with open(out, "w", encoding="utf-8") as f:
        for text in EDGE_CASES + hh_texts(assets, hh_count):
            ids = sp.EncodeAsIds(text)
            record = {"text": text, "ids": ids, "decoded": sp.DecodeIds(ids)}
            f.write(json.dumps(record, ensure_ascii=True) + "\n")


def train(out_dir, assets):
    corpus = os.path.join(out_dir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for text in hh_texts(assets, 400):
            f.write(text.replace("\n", " ") + "\n")
    common = dict(input=corpus, num_threads=1, seed_sentencepiece_size=20000, hard_vocab_limit=False,
                  character_coverage=0.995, minloglevel=2,
                  normalization_rule_name="identity")
    spm.SentencePieceTrainer.train(model_prefix=os.path.join(out_dir, "unigram-bytes"), vocab_size=600,
                                   model_type="unigram", byte_fallback=True, split_digits=True, **common)
    spm.SentencePieceTrainer.train(model_prefix=os.path.join(out_dir, "unigram-unk"), vocab_size=300,
                                   model_type="unigram", user_defined_symbols=["<sep>", "Human:"],
                                   character_coverage=0.98, **{k: v for k, v in common.items()
                                                               if k != "character_coverage"})
    spm.SentencePieceTrainer.train(model_prefix=os.path.join(out_dir, "bpe-nodummy"), vocab_size=400,
                                   model_type="bpe", add_dummy_prefix=False, remove_extra_whitespaces=False,
                                   user_defined_symbols=["<sep>", "Assistant:"], control_symbols=["<ctl>"],
                                   **common)
    os.remove(corpus)
    for name in os.listdir(out_dir):
        if name.endswith(".vocab"):
            os.remove(os.path.join(out_dir, name))


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "reference":
        count = int(sys.argv[6]) if len(sys.argv) >= 7 and sys.argv[5] == "--hh" else 2000
        reference(sys.argv[2], sys.argv[3], sys.argv[4], count)
    elif len(sys.argv) == 4 and sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
