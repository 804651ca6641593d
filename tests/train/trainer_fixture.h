// Shared fixture of the trainer's end-to-end tests: stories260K with synthetic preference pairs
// (48 pairs, a quarter held out) and a small run configuration (4 updates of 4 pairs).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dpok/model/generate.h"
#include "dpok/model/loader.h"
#include "dpok/text/tokenizer.h"
#include "dpok/train/trainer.h"
#include "support/testing.h"

namespace dpok::train::test_support {
namespace fs = std::filesystem;

inline constexpr const char* kModel = "models/stories260k/hf";

// Pairs (story opening, chosen = a sampled stories260K continuation, rejected = the same tokens
// shuffled), written as standard_explicit JSONL.
inline void write_story_pairs(const fs::path& model_dir, const fs::path& tokenizer_dir,
                              const fs::path& file, int n, uint64_t seed) {
  auto model = model::load_model(model_dir);
  auto tokenizer = text::Tokenizer::load(tokenizer_dir);
  const std::vector<std::string> who = {"a little girl named Lily", "a boy named Tom",
                                        "a big dog named Max",      "a small cat named Sue",
                                        "a bird named Tim",         "a kind old man"};
  const std::vector<std::string> what = {
      "liked to play in the park", "had a red ball",    "was very happy",
      "wanted to go outside",      "found a shiny box", "loved the sun"};
  std::ofstream out(file);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  for (int i = 0; i < n; ++i) {
    const std::string prompt = "Once upon a time, there was " + who[i % who.size()] + ". " + "It " +
                               what[(i / who.size() + i) % what.size()] + ".";
    std::vector<int64_t> ids;
    for (int32_t id : tokenizer->encode(prompt)) ids.push_back(id);
    model::GenerationOptions gen;
    gen.max_new_tokens = gen.min_new_tokens = 12;
    gen.temperature = 0.8;
    gen.seed = seed * 1000 + static_cast<uint64_t>(i);
    auto fluent = model::generate(model, ids, gen);
    auto shuffled = fluent;
    while (shuffled == fluent) std::shuffle(shuffled.begin(), shuffled.end(), rng);
    auto text = [&](const std::vector<int64_t>& t) {
      std::vector<int32_t> v(t.begin(), t.end());
      // Appended rather than `" " + decode(...)`: GCC 12 reports a false stringop-overflow
      // for the latter once this helper is inlined into more than one test file.
      std::string out(1, ' ');
      out.append(tokenizer->decode(v, /*skip_special_tokens=*/true));
      return out;
    };
    nlohmann::json record = {
        {"prompt", prompt}, {"chosen", text(fluent)}, {"rejected", text(shuffled)}};
    out << record.dump() << "\n";
  }
}

class TrainerFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_dir_ = dpok::testing::find_asset(kModel);
    if (model_dir_.empty()) return;
    data_dir_ = std::make_unique<dpok::testing::TempDir>();
    // The HF directory carries stories260K's SentencePiece tokenizer.model.
    tokenizer_dir_ = model_dir_;
    write_story_pairs(model_dir_, tokenizer_dir_, data_dir_->path() / "pairs.jsonl", 48, 7);
  }
  static void TearDownTestSuite() { data_dir_.reset(); }

  // A small run: 4 updates of 4 pairs, 12 held-out pairs.
  TrainConfig config(const fs::path& out, std::vector<std::string> overrides = {}) const {
    YAML::Node root;
    root["model"] = model_dir_.string();
    root["tokenizer"] = tokenizer_dir_.string();
    root["output_dir"] = out.string();
    root["max_steps"] = 4;
    root["per_device_train_batch_size"] = 4;
    root["per_device_eval_batch_size"] = 8;
    root["learning_rate"] = 1e-3;
    root["logging_steps"] = 1;
    root["save_steps"] = 0;
    root["max_length"] = 64;
    root["seed"] = 3;
    root["data"]["train_files"].push_back((data_dir_->path() / "pairs.jsonl").string());
    root["data"]["eval_fraction"] = 0.25;
    root["data"]["cache"] = false;
    root["data"]["num_threads"] = 1;
    return TrainConfig::from_yaml(root, overrides);
  }
  static TrainOptions quiet() {
    TrainOptions o;
    o.show_progress = false;
    return o;
  }

  static fs::path pairs_file() { return data_dir_->path() / "pairs.jsonl"; }

  // Trains the configuration `make(output_dir)` straight through in tmp_/a, and in tmp_/b stopped
  // after 2 updates then resumed: the losses and every parameter must be bit-identical.
  void expect_resume_is_bit_identical(
      const std::function<TrainConfig(const fs::path&)>& make) const {
    Trainer straight(make(tmp_ / "a"), quiet());
    auto full = straight.run();
    auto first_half = quiet();
    first_half.stop_at_step = 2;
    std::vector<double> losses;
    {
      Trainer t(make(tmp_ / "b"), first_half);
      auto r = t.run();
      EXPECT_TRUE(r.interrupted);
      losses = r.losses;
    }
    auto resume = quiet();
    resume.resume = "";
    Trainer resumed(make(tmp_ / "b"), resume);
    EXPECT_EQ(resumed.global_step(), 2);
    auto rest = resumed.run();
    losses.insert(losses.end(), rest.losses.begin(), rest.losses.end());
    EXPECT_EQ(losses, full.losses);
    auto a = straight.policy()->named_parameters();
    auto b = resumed.policy()->named_parameters();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      EXPECT_TRUE(torch::equal(a[k].value(), b[k].value())) << a[k].key();
    }
  }

  dpok::testing::TempDir tmp_;
  inline static fs::path model_dir_, tokenizer_dir_;
  inline static std::unique_ptr<dpok::testing::TempDir> data_dir_;
};

#define REQUIRE_MODEL() DPOK_REQUIRE_ASSET(model_path_unused, ::dpok::train::test_support::kModel)

}  // namespace dpok::train::test_support
