#!/usr/bin/env python3
"""Expected chat-template renderings for the data pipeline's conversational records.

For every record of the fixtures tests/data/fixtures/{chat_records,ultrafeedback_records}.jsonl
and each tokenizer (qwen3, llama3 under the repository's assets/tokenizers), splits
the record into prompt / chosen / rejected messages with TRL's maybe_extract_prompt (copied below
from trl/data_utils.py, TRL 1.16, since trl is not installed here), prepends dpok's `system`
column to the prompt, then renders with jinja2 the way transformers'
apply_chat_template does: the prompt with add_generation_prompt=True, prompt + each completion with
add_generation_prompt=False, the record's chat_template_kwargs passed as template variables (as
TRL's DPOTrainer does). date_string is fixed so llama3's system header does not depend on today.

    .venv/bin/python3 tests/data/render_chat_reference.py           # rewrite fixtures/chat_expected.json
    .venv/bin/python3 tests/data/render_chat_reference.py --out F   # write elsewhere (regeneration test)
"""
import argparse
import json
import os

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZERS = ["qwen3", "llama3"]
FIXTURES = ["chat_records", "ultrafeedback_records"]
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


def is_conversational(example):
    # trl.data_utils.is_conversational, verbatim.
    supported_keys = ["prompt", "chosen", "rejected", "completion", "messages"]
    example_keys = {key for key in example.keys() if key in supported_keys}
    if example_keys:
        key = example_keys.pop()
        maybe_messages = example[key]
        if isinstance(maybe_messages, list):
            maybe_message = maybe_messages[0]
            if isinstance(maybe_message, dict) and "role" in maybe_message:
                return True
    return False


def extract_prompt(example):
    # trl.data_utils.extract_prompt, verbatim.
    for idx in range(min(len(example["chosen"]), len(example["rejected"]))):
        if example["chosen"][idx] != example["rejected"][idx]:
            if example["chosen"][idx - 1] == " ":  # remove space before the prompt
                idx -= 1
            break
    return {
        "prompt": example["chosen"][:idx],
        "chosen": example["chosen"][idx:],
        "rejected": example["rejected"][idx:],
    }


def maybe_extract_prompt(example):
    # trl.data_utils.maybe_extract_prompt, verbatim.
    if "chosen" not in example or "rejected" not in example:  # not a preference example
        return example
    if "prompt" in example:
        chosen_conv = is_conversational({"chosen": example["chosen"]})
        prompt_conv = is_conversational({"prompt": example["prompt"]})
        if (chosen_conv and prompt_conv) or (not chosen_conv and not prompt_conv):
            return example
    return extract_prompt({"chosen": example["chosen"], "rejected": example["rejected"]})


def split(record):
    example = maybe_extract_prompt(record)
    prompt = list(example["prompt"])
    if record.get("system") is not None:
        prompt.insert(0, {"role": "system", "content": record["system"]})
    return prompt, example["chosen"], example["rejected"]


def render_fixture(env, assets, fixture):
    with open(os.path.join(HERE, "fixtures", fixture + ".jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    out = {}
    for name in TOKENIZERS:
        with open(os.path.join(assets, "tokenizers", name, "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        template = env.from_string(config["chat_template"])
        specials = {"bos_token": special(config, "bos_token"), "eos_token": special(config, "eos_token"),
                    "pad_token": special(config, "pad_token"), "unk_token": special(config, "unk_token"),
                    "date_string": DATE_STRING}
        rendered = []
        for record in records:
            prompt, chosen, rejected = split(record)
            # transformers: {**special_tokens_map, **kwargs}; the record's kwargs come last.
            variables = {**specials, **(record.get("chat_template_kwargs") or {})}
            rendered.append({
                "prompt": template.render(messages=prompt, add_generation_prompt=True, **variables),
                "chosen_full": template.render(messages=prompt + chosen, add_generation_prompt=False, **variables),
                "rejected_full": template.render(messages=prompt + rejected, add_generation_prompt=False, **variables),
            })
        out[name] = rendered
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "fixtures", "chat_expected.json"))
    args = parser.parse_args()
    assets = os.environ.get("DPOK_ASSETS") or os.path.join(HERE, "..", "..", "assets")
    env = environment()
    out = {fixture: render_fixture(env, assets, fixture) for fixture in FIXTURES}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
