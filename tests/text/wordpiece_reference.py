"""Reference encodings of a BERT-style (WordPiece) tokenizer.json for wordpiece_test.cpp.

Run with the project environment (.venv/bin/python3, which has transformers and tokenizers):

  wordpiece_reference.py encode MODEL_DIR ASSETS_DIR OUT.jsonl [--hh N]
      AutoTokenizer.from_pretrained(MODEL_DIR): one JSON line per text with "ids"
      (add_special_tokens=True), "plain" (False), "decoded" (decode(plain)) and "decoded_skip"
      (decode(ids, skip_special_tokens=True)), for the edge cases of spm_reference.py, the
      BERT-specific ones below and the first N HH-RLHF chosen/rejected texts (all when N is
      omitted).
  wordpiece_reference.py chars MODEL_DIR OUT.json
      Every code point through the file's normalizer and pre-tokenizer: {"normalized": {cp: text}
      for the code points the normalizer changes, "punctuation": [cp, ...] (isolated by the
      pre-tokenizer), "whitespace": [cp, ...] (removed by it)}.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spm_reference import EDGE_CASES, hh_texts  # noqa: E402

BERT_EDGE_CASES = [
    "HeLLo WoRLD", "naïve café résumé Ångström", "Crème Brûlée", "İstanbul ΣΊΣΥΦΟΣ", "ﬁne ½ ²",
    "\u4e2d\u6587\u5b57abc\u4e2d", "\U00020000x\U0002b820y\U0002b920", "\uf900\u3400",
    "\ud55c\uad6d\uc5b4 \u3072\u3089\u304c\u306a", "hello, world! (yes) [no] {maybe}",
    "U.S.A. e-mail a/b a_b a~b", "\u00bfQu\u00e9? \u00a1S\u00ed! \u2014 \u201cquoted\u201d \u2026",
    "don't I'm you're it's we've", "[CLS] [SEP] [MASK] [PAD] [UNK]", "[cls] x[SEP]y", "##ing ##",
    "a" * 100, "a" * 101, "\u00e9" * 100, "\u00e9" * 101, "x" + "\u0301" * 120,
    "supercalifragilisticexpialidocious", "qwzxqwzxqwzx", "\u0000\u0001\u007f\u0085\u000b\u000c",
    "a\ufffdb", "soft\u00adhyphen zero\u200bwidth joiner\u200d", "\ue000private\U000f0000",
    "\u1734\u166d\u1885\u1886\ua9bd\U000111c9", "\u0890\u08e2\U000110cd", "\u13a0\u13f8",
    "Hello , world ! Is it ' s ?", "do n't do not", "tab\tnew\nline\rcarriage",
    "\u2028\u2029\u3000\u00a0\u1680\u2000\u202f\u205f", "\U0001F600 emoji \U0001F44D\U0001F3FD",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea", "\u0e44\u0e17\u0e22",
]


def encode(model_dir, assets, out, count):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_dir)
    texts = EDGE_CASES + BERT_EDGE_CASES + hh_texts(assets, count)
    with_specials = tok(texts, add_special_tokens=True)["input_ids"]
    plain = tok(texts, add_special_tokens=False)["input_ids"]
    with open(out, "w", encoding="utf-8") as f:
        for text, ids, ids_plain in zip(texts, with_specials, plain):
            record = {"text": text, "ids": ids, "plain": ids_plain, "decoded": tok.decode(ids_plain),
                      "decoded_skip": tok.decode(ids, skip_special_tokens=True)}
            f.write(json.dumps(record, ensure_ascii=True) + "\n")


def chars(model_dir, out):
    from tokenizers import Tokenizer
    backend = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    # One call for all other code points: each character normalizes on its own, and '|'
    # (unchanged, combining class 0) keeps NFD from reordering marks across the separators.
    others = [c for c in code_points if c != ord("|")]
    normalized = backend.normalizer.normalize_str("|".join(map(chr, others))).split("|")
    assert len(normalized) == len(others)
    normalized.append(backend.normalizer.normalize_str("|"))
    changed = {c: n for c, n in zip(others + [ord("|")], normalized) if n != chr(c)}
    punctuation, whitespace = [], []
    for c in code_points:
        pieces = [p for p, _ in backend.pre_tokenizer.pre_tokenize_str("a" + chr(c) + "a")]
        if pieces == ["a", chr(c), "a"]:
            punctuation.append(c)
        elif pieces == ["a", "a"]:
            whitespace.append(c)
        else:
            assert pieces == ["a" + chr(c) + "a"], (c, pieces)
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"normalized": changed, "punctuation": punctuation, "whitespace": whitespace}, f,
                  ensure_ascii=True)


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "encode":
        count = int(sys.argv[6]) if len(sys.argv) >= 7 and sys.argv[5] == "--hh" else 10 ** 9
        encode(sys.argv[2], sys.argv[3], sys.argv[4], count)
    elif len(sys.argv) == 4 and sys.argv[1] == "chars":
        chars(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
