// `dpok data stats|show`: inspect a preference dataset without training.
//
//   dpok data stats --data SPEC --tokenizer T [--max-length N] [--json]
//       (lengths, truncation and bad-record handling default to `dpok train`'s: data::DataConfig)
//       loads (and caches) the data as training would and prints the summary: records read /
//       kept / dropped by reason, truncated, token lengths, padding fraction, and an ASCII
//       histogram of sequence lengths; --json prints one JSON object instead.
//   dpok data show --data SPEC --tokenizer T [-n 3]
//       prints the first n kept records as the model will see them: the decoded prompt and
//       completion tokens, with the boundary between them marked.
// SPEC is a file, a glob pattern, or a comma-separated list of them.
#include <iostream>

#include "dpok/cli/command.h"
#include "dpok/cli/options.h"
#include "dpok/core/error.h"
#include "dpok/data/dataset.h"
#include "dpok/data/encode.h"
#include "dpok/data/formats.h"
#include "dpok/data/json_stream.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct DataOptions {
  DataFlags data;
  std::string tokenizer;
  int64_t batch_size = 8;
  bool json = false;
  int64_t n = 3;
};

void add_common(CLI::App& app, DataOptions& o) {
  add_data_config_options(app, o.data);
  add_tokenizer_option(app, o.tokenizer, /*required=*/true);
}

int run_stats(const DataOptions& o) {
  const auto tok = text::Tokenizer::load(o.tokenizer);
  const auto config = resolve_data_config(o.data);
  auto dataset = data::load_preference_files(data::expand_data_spec(o.data.spec), config, *tok);
  data::update_token_stats(dataset, o.batch_size);
  if (o.json) {
    std::cout << dataset.summary.to_json().dump() << "\n";
    return 0;
  }
  std::cout << "data: " << o.data.spec << "\n"
            << dataset.summary.to_table() << data::length_histogram(dataset);
  return 0;
}

std::string show_tokens(const text::Tokenizer& tok, const std::vector<int32_t>& ids) {
  return tok.decode(std::span<const int32_t>(ids.data(), ids.size()));
}

int run_show(const DataOptions& o) {
  const auto tok = text::Tokenizer::load(o.tokenizer);
  const auto config = resolve_data_config(o.data);
  const data::RecordParser parser(config);
  const data::PairEncoder encoder(*tok, data::EncodeOptions::from_config(config));
  int64_t shown = 0;
  for (const auto& file : data::expand_data_spec(o.data.spec)) {
    data::RecordReader reader(file);
    while (shown < o.n) {
      const auto raw = reader.next();
      if (!raw) break;
      const std::string where = fmt::format("{}:{}", file.string(), raw->line);
      const auto parsed = parser.parse(raw->text);
      const auto encoded = parsed.pair ? encoder.encode(*parsed.pair) : data::EncodeResult{};
      const auto& issue = parsed.issue ? parsed.issue : encoded.issue;
      if (issue) {
        std::cout << fmt::format("=== {} dropped: {} (field '{}': {})\n\n", where, issue->reason,
                                 issue->field, issue->message);
        continue;
      }
      const auto& r = *encoded.record;
      std::cout << fmt::format("=== record {} ({}, {}{})\n", shown, where,
                               data::format_name(parsed.pair->format),
                               encoded.truncated ? ", truncated" : "");
      std::cout << fmt::format("--- prompt: {} tokens ---\n⟦{}⟧\n", r.prompt_ids.size(),
                               show_tokens(*tok, r.prompt_ids));
      std::cout << fmt::format("--- chosen: {} tokens (after the prompt) ---\n⟦{}⟧\n",
                               r.chosen_ids.size(), show_tokens(*tok, r.chosen_ids));
      std::cout << fmt::format("--- rejected: {} tokens (after the prompt) ---\n⟦{}⟧\n\n",
                               r.rejected_ids.size(), show_tokens(*tok, r.rejected_ids));
      ++shown;
    }
  }
  return 0;
}

std::function<int()> setup_data(CLI::App& app) {
  app.description("Inspect a preference dataset: summary statistics or tokenized records");
  app.require_subcommand(1);
  auto o = std::make_shared<DataOptions>();
  CLI::App* stats = app.add_subcommand("stats", "summary, dropped records and length histogram");
  add_common(*stats, *o);
  stats->add_flag("--json", o->json, "print one JSON object");
  stats->add_option("--batch-size", o->batch_size, "pairs per batch for the padding fraction")
      ->capture_default_str();
  CLI::App* show = app.add_subcommand("show", "print tokenized records with their boundaries");
  add_common(*show, *o);
  show->add_option("-n", o->n, "records to show")->capture_default_str();
  return [o, stats]() { return stats->parsed() ? run_stats(*o) : run_show(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("data", setup_data);

}  // namespace dpok::cli
