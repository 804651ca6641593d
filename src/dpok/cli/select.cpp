// `dpok select --model M --data SPEC [--sample N] [--validate K]`: the kernel and divergence
// selection of objective.md §7 (select/selector.h). Prints PND / PNAV / TAT / NAG (and the
// chosen–rejected MMD²) for every kernel, the divergence metrics of the reference over the chosen
// completions, the recommended kernel, γ and divergence with reasons, and writes a ready-to-use
// config fragment. --validate K trains the K best-ranked candidates briefly (select/validate.h).
#include <iostream>
#include <memory>

#include "dpok/cli/command.h"
#include "dpok/cli/options.h"
#include "dpok/core/file_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/model/loader.h"
#include "dpok/select/validate.h"
#include "dpok/text/tokenizer.h"
#include "dpok/train/encoder_embeddings.h"

namespace dpok::cli {
namespace {

struct SelectOptions {
  std::string model, tokenizer, device = "cpu", fragment = "dpok_select.yaml", json,
                                sentence_encoder, cache_dir;
  eval::RecordSource source;
  std::int64_t batch_size = 8;
  select::ValidationOptions validation;
};

int run_select(SelectOptions o) {
  auto& v = o.validation;
  v.model = o.model;
  v.tokenizer = o.tokenizer;
  v.data_spec = o.source.spec;
  v.max_length = o.source.max_length;
  // A bad --validate-config fails now, not after the metrics pass.
  if (v.candidates > 0) select::candidate_config(v, v.overrides);
  const auto tok = text::Tokenizer::load(resolve_tokenizer(o.model, o.tokenizer, "select"));
  auto records = eval::load_records(o.source, *tok);
  if (!o.sentence_encoder.empty()) {
    // The kernels are scored on the encoder's embeddings, and validation trains with them.
    data::PreferenceDataset dataset{std::move(records), {}};
    train::fill_encoder_embeddings(dataset, *tok, o.sentence_encoder, o.cache_dir);
    records = std::move(dataset.records);
    v.overrides.push_back("embedding_source=encoder");
    v.overrides.push_back("sentence_encoder=" + o.sentence_encoder);
  }
  model::LoadOptions load;
  load.device = parse_device(o.device);
  auto reference = model::load_model(o.model, load);
  eval::check_vocabulary(reference, *tok, o.model);
  const auto s = select::select_for(reference, records, o.batch_size, tok->pad_id().value_or(-1),
                                    o.source.seed);
  std::cout << fmt::format("dpok select: {} records of {} with {} embeddings (L2-normalised)\n\n",
                           records.size(), o.source.spec,
                           o.sentence_encoder.empty() ? o.model : o.sentence_encoder)
            << select::format_selection(s);
  auto fragment = select::config_fragment(s);
  if (!o.sentence_encoder.empty() && s.kernel.kernel != "none") {
    // The kernel was scored on the encoder's embeddings: train it on them too.
    fragment +=
        fmt::format("embedding_source: encoder\nsentence_encoder: {}\n", o.sentence_encoder);
  }
  write_file_atomic(o.fragment, fragment);
  std::cout << "\nwrote config fragment " << o.fragment << "\n";
  if (!o.json.empty()) {
    auto json = select::to_json(s);
    json["records"] = records.size();
    json["data"] = o.source.spec;
    json["model"] = o.model;
    write_file_atomic(o.json, json.dump(2) + "\n");
  }
  if (v.candidates > 0) std::cout << select::format_validation(select::validate(v, s), v.steps);
  return 0;
}

std::function<int()> setup_select(CLI::App& app) {
  app.description("Recommend a kernel, gamma and divergence from data metrics (objective.md 7)");
  auto o = std::make_shared<SelectOptions>();
  o->source.sample = 512;
  app.add_option("--model", o->model, "reference model (embeddings and distributions)")->required();
  add_tokenizer_option(app, o->tokenizer);
  add_record_source_options(app, o->source, "sampling seed");
  app.add_option("--batch-size", o->batch_size, "pairs per forward")->capture_default_str();
  add_device_option(app, o->device);
  app.add_option("--out", o->fragment, "config fragment to write")->capture_default_str();
  app.add_option("--json", o->json, "also write all metrics as JSON");
  app.add_option(
      "--sentence-encoder", o->sentence_encoder,
      "score kernels on this sentence encoder's embeddings (embedding_source = encoder)");
  app.add_option("--encoder-cache-dir", o->cache_dir,
                 "cache the encoder embeddings here (default: no cache)");
  auto& v = o->validation;
  app.add_option("--validate", v.candidates, "train the K best candidates briefly and rank them")
      ->capture_default_str();
  app.add_option("--validate-steps", v.steps, "optimizer steps per validation run")
      ->capture_default_str();
  app.add_option("--validate-eval-fraction", v.eval_fraction,
                 "held-out fraction for validation runs")
      ->capture_default_str();
  app.add_option("--validate-config", v.config,
                 "base training YAML for validation runs (default: built from --model/--data)");
  app.add_option("--validate-dir", v.output_dir, "output directory of validation runs")
      ->capture_default_str();
  app.add_option("--validate-set", v.overrides, "extra key=value overrides for validation");
  return [o]() { return run_select(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("select", setup_select);

}  // namespace dpok::cli
