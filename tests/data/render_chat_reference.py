#!/usr/bin/python3
"""Expected chat-template renderings for the data pipeline's conversational records.

For every record of tests/data/fixtures/chat_records.jsonl and each tokenizer (qwen3, llama3 under
$DPOK_ASSETS/tokenizers, default ../shared/assets), splits the record into prompt / chosen /
rejected messages (explicit: the `prompt` column, with `system` prepended; implicit: the leading
messages both conversations share), then renders with Debian's python3-jinja2 the way transformers'
apply_chat_template does: the prompt with add_generation_prompt=True, prompt + each completion with
add_generation_prompt=False. date_string is fixed so llama3's system header does not depend on today.

    /usr/bin/python3 tests/data/render_chat_reference.py           # rewrite fixtures/chat_expected.json
    /usr/bin/python3 tests/data/render_chat_reference.py --out F   # write elsewhere (regeneration test)
"""
import argparse
import json
import os

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZERS = ["qwen3", "llama3"]
DATE_STRING = "26 Jul 2024"


def environment():
    # transformers.utils.chat_template_utils._compile_jinja_template, minus what these two
    # templates do not use.
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def special(config, key):
    value = config.get(key)
    if isinstance(value, dict):
        return value.get("content", "")
    return value or ""


def split(record):
    if "prompt" in record:
        prompt = list(record["prompt"])
        if record.get("system") is not None:
            prompt.insert(0, {"role": "system", "content": record["system"]})
        return prompt, record["chosen"], record["rejected"]
    chosen, rejected = record["chosen"], record["rejected"]
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    return chosen[:shared], chosen[shared:], rejected[shared:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "fixtures", "chat_expected.json"))
    args = parser.parse_args()
    assets = os.environ.get("DPOK_ASSETS") or os.path.join(HERE, "..", "..", "..", "shared", "assets")
    with open(os.path.join(HERE, "fixtures", "chat_records.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    env = environment()
    out = {}
    for name in TOKENIZERS:
        with open(os.path.join(assets, "tokenizers", name, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        template = env.from_string(config["chat_template"])
        variables = {"bos_token": special(config, "bos_token"), "eos_token": special(config, "eos_token"),
                     "pad_token": special(config, "pad_token"), "unk_token": special(config, "unk_token"),
                     "date_string": DATE_STRING}
        rendered = []
        for record in records:
            prompt, chosen, rejected = split(record)
            rendered.append({
                "prompt": template.render(messages=prompt, add_generation_prompt=True, **variables),
                "chosen_full": template.render(messages=prompt + chosen, add_generation_prompt=False, **variables),
                "rejected_full": template.render(messages=prompt + rejected, add_generation_prompt=False, **variables),
            })
        out[name] = rendered
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
