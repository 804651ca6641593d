#!/usr/bin/env python3
"""Reference renderings for dpok's chat-template interpreter (tests/text/chat_template_test.cpp).

Renders every (template, conversation) pair and every snippet with jinja2 in the
environment transformers uses for chat templates (ImmutableSandboxedEnvironment with
trim_blocks/lstrip_blocks, the loopcontrols extension, transformers' tojson override,
raise_exception and strftime_now globals, and its `{% generation %}` tag as a pass-through), and
writes the outputs as JSON so the C++ tests compare byte for byte without Python.

    .venv/bin/python3 tests/text/render_reference.py            # rewrite tests/text/templates/expected.json
    .venv/bin/python3 tests/text/render_reference.py --out F    # write elsewhere (the regeneration test)

Templates: tests/text/templates/*.jinja plus the chat templates of the qwen3 and llama3 tokenizers
under the repository's assets/tokenizers; their
tokenizer_config.json string-valued bos_token/eos_token are passed as transformers does.
"""
import argparse
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "templates")
ASSET_TEMPLATES = ["qwen3", "llama3"]


class GenerationTag(Extension):
    """transformers' AssistantTracker when no assistant mask is requested: renders the body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body, lineno=lineno)


def make_environment():
    # Mirrors transformers.utils.chat_template_utils._compile_jinja_template.
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, variables):
    try:
        return {"output": env.from_string(source).render(**variables)}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error": "syntax", "message": str(e)}
    except Exception as e:  # runtime errors: UndefinedError, TypeError, raise_exception, ...
        return {"error": type(e).__name__, "message": str(e)}


def asset_templates(assets):
    out = {}
    for name in ASSET_TEMPLATES:
        path = os.path.join(assets, "tokenizers", name, "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
        special = {k: config[k] for k in ("bos_token", "eos_token") if isinstance(config.get(k), str)}
        out[name] = (config["chat_template"], special)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_assets = os.path.join(HERE, "..", "..", "assets")
    parser.add_argument("--assets", default=default_assets)
    parser.add_argument("--out", default=os.path.join(FIXTURES, "expected.json"))
    args = parser.parse_args()

    env = make_environment()
    with open(os.path.join(FIXTURES, "conversations.json"), encoding="utf-8") as f:
        conversations = json.load(f)
    with open(os.path.join(FIXTURES, "snippets.json"), encoding="utf-8") as f:
        snippets = json.load(f)

    templates = {}
    for file in sorted(os.listdir(FIXTURES)):
        if file.endswith(".jinja"):
            with open(os.path.join(FIXTURES, file), encoding="utf-8", newline="") as f:
                templates[file[:-len(".jinja")]] = (f.read(), {})
    templates.update(asset_templates(args.assets))

    cases = []
    for template_name in sorted(templates):
        source, special = templates[template_name]
        for conversation in conversations:
            for generation_prompt in (False, True):
                variables = dict(special)
                variables.update(conversation["variables"])
                variables["add_generation_prompt"] = generation_prompt
                case = {"template": template_name, "conversation": conversation["name"],
                        "add_generation_prompt": generation_prompt}
                case.update(render(env, source, variables))
                cases.append(case)

    snippet_results = []
    for snippet in snippets:
        result = {"template": snippet["template"], "variables": snippet.get("variables", {})}
        result.update(render(env, snippet["template"], snippet.get("variables", {})))
        snippet_results.append(result)

    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"jinja2_version": jinja2.__version__, "cases": cases,
                   "snippets": snippet_results}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases and {len(snippet_results)} snippets to {args.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
