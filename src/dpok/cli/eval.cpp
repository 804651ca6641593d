// `dpok eval --model M [--model M2 ...] [--reference R] --data SPEC [--metrics ...] [--out F]`:
// evaluation metrics of objective.md §8 for one or more checkpoints on the same records, side by
// side, against the frozen reference (eval/compare.h assembles the report). With two or more
// models, the reward-accuracy difference of each model against the first comes with a
// paired-bootstrap interval. Prints tables; writes JSON with --out.
//
// Under torchrun (`torchrun --nproc-per-node N --no-python dpok eval ...`) the ranks share the
// scoring (eval/evaluator.h) and rank 0 alone prints and writes, with the statistics of all
// records, equal to one process's.
#include <iostream>
#include <memory>

#include "dpok/cli/command.h"
#include "dpok/cli/options.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/dist/group.h"
#include "dpok/dist/launch.h"
#include "dpok/eval/compare.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> models;
  std::string reference, tokenizer, out, device = "cpu";
  int64_t ddp_timeout = 1800;
  std::string metrics = "rewards,classification,dbs,htsr";
  eval::RecordSource source;
  eval::CompareOptions compare;
};

int run_eval(EvalOptions o) {
  o.compare.groups = eval::parse_metric_groups(o.metrics);
  o.compare.seed = o.source.seed;
  const auto tok = text::Tokenizer::load(resolve_tokenizer(o.models.front(), o.tokenizer, "eval"));
  const auto records = eval::load_records(o.source, *tok);
  const auto launch = dist::launch_from_environment();
  model::LoadOptions load;
  load.device = dist::rank_device(parse_device(o.device), launch);
  const auto group = dist::Group::connect(launch, load.device, std::chrono::seconds(o.ddp_timeout));
  o.compare.group = group.get();
  if (o.reference.empty()) o.reference = eval::default_reference(o.models.front());
  std::unique_ptr<eval::ScoredPairs> reference;
  if (o.compare.needs_reference()) {
    if (o.reference.empty()) {
      DPOK_THROW(ConfigError, "eval",
                 "rewards and classification need the frozen reference: pass "
                 "--reference (no dpok_config.yaml in {} names one)",
                 o.models.front());
    }
    auto ref_model = model::load_model(o.reference, load);
    eval::check_vocabulary(ref_model, *tok, o.reference);
    reference = std::make_unique<eval::ScoredPairs>(
        eval::score_pairs(ref_model, records,
                          {o.compare.batch_size, tok->pad_id().value_or(-1),
                           /*embeddings=*/false, group.get()}));
  }
  std::vector<eval::ModelResult> results;
  for (const auto& path : o.models) {
    results.push_back(eval::evaluate_model(path, load, *tok, records, reference.get(), o.compare));
  }
  if (!group->is_main()) return 0;
  const auto report = eval::build_report(o.source, records.size(), o.reference, results, o.compare);
  std::cout << report.text;
  if (!o.out.empty()) {
    write_file_atomic(o.out, report.json.dump(2) + "\n");
    std::cout << "\nwrote " << o.out << "\n";
  }
  return 0;
}

std::function<int()> setup_eval(CLI::App& app) {
  app.description("Evaluate checkpoints on preference data (objective.md section 8)");
  auto o = std::make_shared<EvalOptions>();
  app.add_option("--model", o->models, "checkpoint(s); several = side-by-side table")->required();
  app.add_option("--reference", o->reference,
                 "frozen reference (default: the checkpoint's dpok_config.yaml model)");
  add_tokenizer_option(app, o->tokenizer);
  add_record_source_options(app, o->source, "split, sampling and bootstrap seed");
  app.add_option("--metrics", o->metrics, "comma list of rewards, classification, dbs, htsr")
      ->capture_default_str();
  app.add_option("--out", o->out, "write the results as JSON");
  app.add_option("--beta", o->compare.beta, "beta of the implicit reward")->capture_default_str();
  app.add_option("--eval-fraction", o->source.eval_fraction,
                 "held-out fraction (with --seed: the trainer's split; 0 = all records)")
      ->capture_default_str();
  app.add_option("--batch-size", o->compare.batch_size, "pairs per forward")->capture_default_str();
  app.add_option("--bootstrap", o->compare.bootstrap, "bootstrap resamples")->capture_default_str();
  add_device_option(app, o->device);
  app.add_option("--ddp-timeout", o->ddp_timeout,
                 "under torchrun: seconds to wait for the other ranks before naming them")
      ->capture_default_str();
  app.add_flag("--label-column", o->compare.label_column,
               "classify with the data's label column instead of chosen=1 / rejected=0");
  return [o]() { return run_eval(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("eval", setup_eval);

}  // namespace dpok::cli
