// Tests for TrainConfig: parsing, overrides, unknown-key suggestions, validation at load, TRL 1.x
// names (removed ones, recipes mixing ModelConfig / ScriptArguments / TrainingArguments), the
// resolved dump and docs/configuration.md.
#include "dpok/train/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/gguf_quants.h"
#include "support/testing.h"

namespace dpok::train {
namespace {

namespace fs = std::filesystem;
const fs::path kHere = fs::path(__FILE__).parent_path();

YAML::Node base() {
  return YAML::Load("model: m\n");
}

std::string error_of(const std::function<void()>& fn) {
  return ::dpok::testing::error_of<ConfigError>(fn);
}

std::string error_of(const std::string& yaml) {
  return error_of([&] { TrainConfig::from_yaml(YAML::Load(yaml)); });
}

void expect_contains(const std::string& text, const std::string& fragment) {
  EXPECT_NE(text.find(fragment), std::string::npos)
      << "expected '" << fragment << "' in '" << text << "'";
}

TEST(TrainConfig, DefaultsFollowTrlAndAreTheDataSectionsOwn) {
  auto cfg = TrainConfig::from_yaml(base());
  EXPECT_DOUBLE_EQ(cfg.objective.beta, 0.1);
  EXPECT_EQ(cfg.objective.loss_type,
            std::vector<objective::LossType>{objective::LossType::kSigmoid});
  EXPECT_EQ(cfg.lr_scheduler_type, ScheduleType::kLinear);
  EXPECT_FALSE(cfg.sync_ref_model);
  EXPECT_DOUBLE_EQ(cfg.ref_model_mixup_alpha, 0.6);
  EXPECT_EQ(cfg.ref_model_sync_steps, 512);
  // `dpok train`, `data stats`, `eval` and `select` read their lengths from data::DataConfig.
  const data::DataConfig defaults;
  EXPECT_EQ(cfg.data.max_length, defaults.max_length);
  EXPECT_EQ(cfg.data.max_length, 1024);
  EXPECT_EQ(cfg.data.truncation_mode, data::TruncationMode::kKeepStart);
  EXPECT_TRUE(cfg.notes.empty());
}

TEST(TrainConfig, ParsesKeysListsAndSections) {
  auto cfg = TrainConfig::from_yaml(YAML::Load(R"(
model: some/dir
beta: 0.25
loss_type: [sigmoid, sft]
loss_weights: [1.0, 0.2]
gamma: 0.3
kernel: hmk
learn_kernel: false
penalty_topk: 16
kernel_options: {sigma: median, mahalanobis_init: data}
max_steps: 7
max_length: 256
pad_to_multiple_of: 8
ld_alpha: 0.5
data:
  train_files: [a.jsonl]
  eval_fraction: 0.1
)"));
  EXPECT_EQ(cfg.model, "some/dir");
  EXPECT_DOUBLE_EQ(cfg.objective.beta, 0.25);
  ASSERT_EQ(cfg.objective.loss_terms().size(), 2u);
  EXPECT_EQ(cfg.objective.loss_terms()[1], std::make_pair(objective::LossType::kSft, 0.2));
  EXPECT_EQ(cfg.objective.kernel, objective::KernelType::kHmk);
  EXPECT_FALSE(cfg.objective.kernel_options.learn);
  EXPECT_TRUE(cfg.objective.kernel_options.sigma_median);
  EXPECT_EQ(cfg.objective.kernel_options.mahalanobis_init, objective::MahalanobisInit::kData);
  EXPECT_EQ(cfg.objective.topk, 16);
  EXPECT_EQ(cfg.objective.ld_alpha, 0.5);
  EXPECT_EQ(cfg.max_steps, 7);
  EXPECT_EQ(cfg.data.max_length, 256);
  EXPECT_EQ(cfg.data.pad_to_multiple_of, 8);
  EXPECT_DOUBLE_EQ(cfg.data.eval_fraction, 0.1);
  EXPECT_EQ(cfg.data.train_files, std::vector<std::string>{"a.jsonl"});
}

TEST(TrainConfig, LengthsBelongToTheTopLevel) {
  auto msg = error_of([] { TrainConfig::from_yaml(base(), {"data.max_length=64"}); });
  expect_contains(msg, "key 'data.max_length': set 'max_length' at the top level");
}

TEST(TrainConfig, SingleLossTypeString) {
  auto cfg = TrainConfig::from_yaml(YAML::Load("model: m\nloss_type: ipo\n"));
  EXPECT_EQ(cfg.objective.loss_type, std::vector<objective::LossType>{objective::LossType::kIpo});
}

TEST(TrainConfig, OverridesIncludingDottedKeys) {
  auto cfg = TrainConfig::from_yaml(
      YAML::Load("model: m\ndata:\n  num_threads: 4\n"),
      {"beta=0.5", "data.num_threads=2", "kernel_options.tau=2", "loss_type=[sigmoid, hinge]"});
  EXPECT_DOUBLE_EQ(cfg.objective.beta, 0.5);
  EXPECT_EQ(cfg.data.num_threads, 2);
  EXPECT_DOUBLE_EQ(cfg.objective.kernel_options.tau, 2.0);
  EXPECT_EQ(cfg.objective.loss_type.size(), 2u);
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"data.extra.deep=x"}); }),
                  "unknown key 'data.extra'");
}

TEST(TrainConfig, UnknownKeySuggestsNearest) {
  auto msg = error_of("model: m\nlearning_rat: 1\n");
  expect_contains(msg, "unknown key 'learning_rat' (did you mean 'learning_rate'?)");
  msg = error_of([] { TrainConfig::from_yaml(base(), {"gradient_accumulation=2"}); });
  expect_contains(msg, "gradient_accumulation_steps");
  // TRL's names count for the hint, too.
  expect_contains(error_of("model: m\nmodel_name_or_pth: x\n"),
                  "did you mean 'model_name_or_path'");
}

// The issue's examples: each fails at load, naming the key, the value, the choices and the
// nearest name, before any file other than the configuration is touched (the model does not
// exist).
TEST(TrainConfig, BadValuesFailAtLoadNamingKeyValueChoicesAndNearest) {
  EXPECT_EQ(error_of("model: absent\nkernel: rbff\n"),
            "[config] key 'kernel': 'rbff' is not one of linear, rbf, polynomial, spectral, "
            "mahalanobis, hmk (did you mean 'rbf'?) (in <yaml>)");
  expect_contains(error_of("model: absent\nloss_type: sigmod\n"),
                  "key 'loss_type': 'sigmod' is not one of sigmoid, robust,");
  expect_contains(error_of("model: absent\nloss_type: sigmod\n"), "(did you mean 'sigmoid'?)");
  EXPECT_EQ(error_of("model: absent\nkernel_options: {sigmaa: 1}\n"),
            "[config] unknown key 'kernel_options.sigmaa' (did you mean 'kernel_options.sigma'?) "
            "(in <yaml>)");
  EXPECT_EQ(error_of("model: absent\nkernel_learning_rate: 0\n"),
            "[config] key 'kernel_learning_rate': value 0 is invalid; expected > 0 (in <yaml>)");
}

TEST(TrainConfig, RejectsBadValues) {
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"beta=0"}); }), "'beta'");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"beta=abc"}); }),
                  "key 'beta': cannot read 'abc' as a number");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"lr_scheduler_type=step"}); }),
                  "not one of constant, linear, cosine");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"loss_weights=[1, 2]"}); }),
                  "loss_weights");
  expect_contains(error_of("beta: 1\n"), "'model'");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"novalue"}); }), "key=value");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"data=3"}); }), "mapping");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"dtype=fp8"}); }), "fp8");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"ref_model_mixup_alpha=2"}); }),
                  "key 'ref_model_mixup_alpha': value 2 is invalid; expected in [0, 1]");
  expect_contains(error_of([] { TrainConfig::from_yaml(base(), {"ref_model_sync_steps=0"}); }),
                  "key 'ref_model_sync_steps'");
  expect_contains(
      error_of([] {
        TrainConfig::from_yaml(base(), {"sync_ref_model=true", "precompute_ref_log_probs=true"});
      }),
      "sync_ref_model = true");
}

TEST(TrainConfig, PenaltyWithCachedReferenceNeedsTopkCache) {
  auto msg = error_of([] {
    TrainConfig::from_yaml(base(), {"precompute_ref_log_probs=true", "penalty_alpha=0.1"});
  });
  expect_contains(msg, "next-token distributions");
  expect_contains(msg, "precompute_ref_topk = true");
  EXPECT_NO_THROW(TrainConfig::from_yaml(base(), {"precompute_ref_log_probs=true"}));
  EXPECT_NO_THROW(TrainConfig::from_yaml(
      base(), {"precompute_ref_log_probs=true", "penalty_alpha=0.1", "precompute_ref_topk=true"}));
  // The top-k cache alone has nothing to serve.
  msg = error_of([] { TrainConfig::from_yaml(base(), {"precompute_ref_topk=true"}); });
  expect_contains(msg, "needs precompute_ref_log_probs = true and penalty_alpha > 0");
}

TEST(TrainConfig, RemovedTrlNamesSayWhatReplacesThem) {
  EXPECT_EQ(error_of("model: m\nrpo_alpha: 0.2\n"),
            "[config] key 'rpo_alpha' was removed in TRL 1.x: write rpo_alpha: 0.2 as loss_type: "
            "[sigmoid, sft] with loss_weights: [1.0, 0.2] (in <yaml>)");
  expect_contains(error_of("model: m\nmax_prompt_length: 128\n"),
                  "key 'max_prompt_length' was removed: TRL 1.x dropped it from DPOConfig; "
                  "sequences are truncated by max_length with truncation_mode");
  expect_contains(error_of("model: m\nmax_completion_length: 128\n"), "use max_length");
  expect_contains(error_of("model: m\nreference_free: true\n"), "CPOTrainer");
  expect_contains(error_of("model: m\ngenerate_during_eval: true\n"), "callback");
  expect_contains(error_of("model: m\nevaluation_strategy: steps\n"), "eval_strategy");
}

TEST(TrainConfig, KeepEndIsDeprecatedAsInTrl) {
  auto cfg = TrainConfig::from_yaml(YAML::Load("model: m\ntruncation_mode: keep_end\n"));
  EXPECT_EQ(cfg.data.truncation_mode, data::TruncationMode::kKeepEnd);
  ASSERT_EQ(cfg.notes.size(), 1u);
  expect_contains(cfg.notes[0], "keep_end is deprecated");
}

class RecipeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "zephyr-7b-sft-full");
    fs::create_directories(dir_ / "ultrafeedback_binarized");
    for (const char* split : {"train_prefs.jsonl", "test_prefs.jsonl"}) {
      write_file_atomic(dir_ / "ultrafeedback_binarized" / split, "");
    }
    ::setenv("DPOK_RECIPE_ROOT", dir_.path().c_str(), 1);
  }
  testing::TempDir dir_;
};

TEST_F(RecipeTest, AlignmentHandbookRecipeLoads) {
  auto cfg = TrainConfig::load(kHere / "recipes" / "handbook_dpo.yaml");
  EXPECT_EQ(cfg.model, (dir_ / "zephyr-7b-sft-full").string());
  EXPECT_EQ(cfg.dtype, "bf16");
  const auto data_dir = dir_ / "ultrafeedback_binarized";
  EXPECT_EQ(cfg.data.train_files,
            std::vector<std::string>{(data_dir / "train_prefs.jsonl").string()});
  EXPECT_EQ(cfg.data.eval_files,
            std::vector<std::string>{(data_dir / "test_prefs.jsonl").string()});
  EXPECT_EQ(cfg.data.num_threads, 12);
  EXPECT_FALSE(cfg.data.pad_to_multiple_of.has_value());  // TRL's "auto": no padding off Neuron
  EXPECT_DOUBLE_EQ(cfg.objective.beta, 0.01);
  EXPECT_EQ(cfg.objective.loss_terms()[1], std::make_pair(objective::LossType::kSft, 0.2));
  EXPECT_DOUBLE_EQ(cfg.learning_rate, 5e-7);
  EXPECT_EQ(cfg.lr_scheduler_type, ScheduleType::kCosine);
  EXPECT_EQ(cfg.gradient_accumulation_steps, 2);
  EXPECT_EQ(cfg.eval_steps, 100);
  EXPECT_EQ(cfg.output_dir, "data/zephyr-7b-dpo-full");
  EXPECT_TRUE(cfg.gradient_checkpointing);
  // One line lists what dpok ignores and why.
  ASSERT_EQ(cfg.notes.size(), 1u);
  for (const char* key : {"attn_implementation", "push_to_hub", "hub_model_id", "report_to",
                          "run_name", "gradient_checkpointing_kwargs", "log_level"}) {
    expect_contains(cfg.notes[0], key);
  }
  expect_contains(cfg.notes[0], "no hub upload: dpok runs offline");
  // Asking for nothing (use_peft: false, load_in_4bit: false, padding_free: false) is no note.
  EXPECT_EQ(cfg.notes[0].find("use_peft"), std::string::npos);
  EXPECT_EQ(cfg.notes[0].find("padding_free"), std::string::npos);
  // The resolved configuration is dpok's own and loads back to the same configuration.
  const auto again = TrainConfig::from_yaml(YAML::Load(cfg.to_yaml_string()));
  EXPECT_EQ(again.to_yaml_string(), cfg.to_yaml_string());
  EXPECT_TRUE(again.notes.empty());
}

TEST_F(RecipeTest, HubIdsAndMissingFeaturesAreErrors) {
  const std::string model = "model_name_or_path: " + (dir_ / "zephyr-7b-sft-full").string() + "\n";
  auto msg = error_of("model_name_or_path: Qwen/Qwen2-0.5B-Instruct\n");
  expect_contains(msg, "key 'model_name_or_path': 'Qwen/Qwen2-0.5B-Instruct' is not a local path");
  expect_contains(msg, "dpok runs offline");
  msg = error_of(model + "dataset_name: HuggingFaceH4/ultrafeedback_binarized\n");
  expect_contains(msg, "key 'dataset_name': 'HuggingFaceH4/ultrafeedback_binarized'");
  expect_contains(msg, "--repo-type dataset");
  expect_contains(msg, "data.train_files");
  EXPECT_EQ(error_of(model + "use_dora: true\n"),
            "[config] key 'use_dora': true asks for DoRA adapters, which dpok does not "
            "support yet (set it to false / null, or remove it) (in <yaml>)");
  // QLoRA's switch is dpok's own key, valid with adapters only.
  expect_contains(error_of(model + "load_in_4bit: true\n"), "key 'load_in_4bit'");
  expect_contains(error_of(model + "load_in_4bit: true\n"), "without use_peft");
  expect_contains(error_of(model + "optim: rmsprop\n"), "key 'optim': 'rmsprop'");
  expect_contains(error_of(model + "model: other\n"), "keep one");
  EXPECT_NO_THROW(TrainConfig::from_yaml(YAML::Load(model + "use_peft: false\nlora_r: 8\n")));
  // TRL's LoRA keys are dpok's own: read, not noted.
  const auto lora = TrainConfig::from_yaml(YAML::Load(
      model + "use_peft: true\nlora_r: 8\nlora_target_modules: all-linear\nuse_rslora: true\n"));
  EXPECT_TRUE(lora.use_peft);
  EXPECT_EQ(lora.lora_r, 8);
  EXPECT_EQ(lora.lora_target_modules, std::vector<std::string>{"all-linear"});
  EXPECT_TRUE(lora.notes.empty());
}

// load_in_4bit / load_in_8bit (TRL's names) pick the GGUF block type of a quantized base; they
// need use_peft, exclude each other, and base_quant_type must fit the bits.
TEST(TrainConfig, QuantizedBaseKeys) {
  const auto quantization = [](std::vector<std::string> overrides) {
    return TrainConfig::from_yaml(base(), overrides).base_quantization();
  };
  EXPECT_FALSE(quantization({"use_peft=true"}).has_value());
  EXPECT_EQ(quantization({"use_peft=true", "load_in_4bit=true"}), io::kQ4_0);
  EXPECT_EQ(quantization({"use_peft=true", "load_in_8bit=true"}), io::kQ8_0);
  EXPECT_EQ(quantization({"use_peft=true", "load_in_4bit=true", "base_quant_type=Q4_K"}),
            io::kQ4_K);
  EXPECT_EQ(quantization({"use_peft=true", "load_in_4bit=true", "base_quant_type=q5_1"}),
            io::kQ5_1);
  const auto error = [](std::vector<std::string> overrides) {
    return error_of([&] { TrainConfig::from_yaml(base(), overrides); });
  };
  expect_contains(error({"use_peft=true", "load_in_4bit=true", "load_in_8bit=true"}),
                  "key 'load_in_8bit'");
  expect_contains(error({"load_in_8bit=true"}), "without use_peft");
  expect_contains(error({"use_peft=true", "base_quant_type=q4_0"}), "empty without load_in_4bit");
  expect_contains(error({"use_peft=true", "load_in_4bit=true", "base_quant_type=q8_0"}),
                  "key 'base_quant_type': value q8_0");
  expect_contains(error({"use_peft=true", "load_in_8bit=true", "base_quant_type=q4_0"}),
                  "q8_0 with load_in_8bit");
  expect_contains(error({"use_peft=true", "load_in_4bit=true", "base_quant_type=nf4"}),
                  "q4_0, q4_1, q4_k");
}

TEST(TrainConfig, ResolvedDumpRoundTrips) {
  auto cfg = TrainConfig::from_yaml(
      base(), {"beta=0.3", "data.num_threads=3", "seed=7", "kernel=spectral", "gamma=0.2",
               "kernel_options.sigma=median", "ld_alpha=0.25", "pad_to_multiple_of=16",
               "truncation_mode=keep_end", "data.on_bad_record=skip", "data.field_map.prompt=q",
               "penalty_on=both", "lr_scheduler_type=cosine"});
  auto again = TrainConfig::from_yaml(YAML::Load(cfg.to_yaml_string()));
  EXPECT_EQ(again.to_yaml_string(), cfg.to_yaml_string());
  EXPECT_DOUBLE_EQ(again.objective.beta, 0.3);
  EXPECT_EQ(again.seed, 7);
  EXPECT_EQ(again.data.num_threads, 3);
  EXPECT_EQ(again.objective.kernel, objective::KernelType::kSpectral);
  EXPECT_TRUE(again.objective.kernel_options.sigma_median);
  EXPECT_EQ(again.objective.ld_alpha, 0.25);
  EXPECT_EQ(again.data.pad_to_multiple_of, 16);
  EXPECT_EQ(again.data.field_map.at("prompt"), "q");
}

TEST(TrainConfig, LoadsFileAndReportsMissingFile) {
  testing::TempDir dir;
  write_file_atomic(dir / "run.yaml", "model: m\nmax_steps: 3\n");
  EXPECT_EQ(TrainConfig::load(dir / "run.yaml").max_steps, 3);
  EXPECT_THROW(TrainConfig::load(dir / "missing.yaml"), IoError);
  write_file_atomic(dir / "bad.yaml", "model: [unclosed\n");
  EXPECT_THROW(TrainConfig::load(dir / "bad.yaml"), ConfigError);
  write_file_atomic(dir / "typo.yaml", "model: m\nkernel: rbff\n");
  expect_contains(error_of([&] { TrainConfig::load(dir / "typo.yaml"); }), "typo.yaml");
}

TEST(TrainConfig, PathsExpandTheEnvironment) {
  ::setenv("DPOK_TRAIN_TEST_VAR", "/x", 1);
  auto cfg = TrainConfig::from_yaml(YAML::Load(
      "model: ${DPOK_TRAIN_TEST_VAR}/m\ndata:\n  train_files: [\"${DPOK_TRAIN_TEST_VAR}/d\"]\n"));
  EXPECT_EQ(cfg.model, "/x/m");
  EXPECT_EQ(cfg.data.train_files, std::vector<std::string>{"/x/d"});
}

// Every bundled example is a valid configuration (keys, values, their combinations).
TEST(TrainConfig, ExamplesLoad) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(kHere / ".." / ".." / "examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    EXPECT_NO_THROW(TrainConfig::load(entry.path())) << entry.path();
  }
  EXPECT_GE(seen, 2);
}

// docs/configuration.md carries the schema's reference verbatim (regenerate it with
// `dpok train --print-config-reference`).
TEST(TrainConfig, DocumentationListsEveryKey) {
  const auto docs = read_file(kHere / ".." / ".." / "docs" / "configuration.md");
  const std::string reference = configuration_reference();
  EXPECT_NE(docs.find(reference), std::string::npos)
      << "docs/configuration.md is out of date; regenerate its reference part with `dpok train "
         "--print-config-reference`, which prints:\n"
      << reference;
  for (const char* key : {"`beta`", "`kernel_options.sigma`", "`data.train_files`",
                          "`ref_model_sync_steps`", "`ld_alpha`", "`pad_to_multiple_of`"}) {
    expect_contains(reference, key);
  }
}

}  // namespace
}  // namespace dpok::train
