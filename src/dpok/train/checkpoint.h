// Checkpoint directories: atomic creation, discovery, pruning, and the trainer-state pieces that
// are not the model (optimizer moments, RNG state, counters, data position).
//
// Layout of <output_dir>/checkpoint-<step>/ (the model files come from the caller, normally
// dpok::model::save_pretrained plus the tokenizer files):
//   config.json, model.safetensors, generation_config.json, tokenizer files   (Hugging Face)
//   (with LoRA instead: adapter_config.json, adapter_model.safetensors         (PEFT))
//   trainer_state.json   step, epoch, counters, data iterator state, resolved config
//   optimizer.pt         torch::optim::AdamW state (torch::serialize archive)
//   rng_state.pt         LibTorch's default CPU generator state
//
// Atomicity: everything is written into <dir>.tmp-<pid>, every file and the directory are fsynced,
// the directory is renamed to its final name and the parent is fsynced. A crash at any moment
// leaves either no checkpoint-<step> or a complete one; older checkpoints are pruned only after the
// new one is complete. Directories with ".tmp-" in the name are never treated as checkpoints.
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dpok::train {

// <output_dir>/checkpoint-<step>
std::filesystem::path checkpoint_path(const std::filesystem::path& output_dir, int64_t step);

// Creates checkpoint-<step> atomically: `write_contents(tmp_dir)` fills a fresh temporary
// directory, then fsync + rename (replacing an existing checkpoint-<step>), then prunes the oldest
// complete checkpoints beyond `save_total_limit` (0 = keep all). Returns the final path.
// Throws IoError naming the path on any filesystem failure (the temporary directory is removed).
//
// Fault injection for tests: with DPOK_CHECKPOINT_FAULT=kill the process SIGKILLs itself after the
// contents are written and before the rename; with =pause it writes a file "<tmp>/.paused" and
// sleeps until killed.
std::filesystem::path write_checkpoint(
    const std::filesystem::path& output_dir, int64_t step,
    const std::function<void(const std::filesystem::path& tmp_dir)>& write_contents,
    int64_t save_total_limit);

// Complete checkpoints (checkpoint-<N> directories holding trainer_state.json), oldest first.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& output_dir);

// The newest complete checkpoint, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& output_dir);

// `--resume` argument → directory: empty = latest_checkpoint(output_dir). Throws ConfigError when
// there is none, or when `requested` is not a complete checkpoint (names the missing file).
std::filesystem::path resolve_resume_dir(const std::filesystem::path& output_dir,
                                         const std::string& requested);

// The counters of trainer_state.json. A resume restores global_step, num_tokens, skipped_steps
// and data; epoch, total_steps and mode are written for people and tools and not read back.
struct TrainerState {
  int64_t global_step = 0;
  int64_t num_tokens = 0;
  int64_t skipped_steps = 0;
  nlohmann::json data;  // the data iterator's position (data::BatchIterator::state())
  double epoch = 0;
  int64_t total_steps = 0;
  std::string mode;  // "dpo" or "sft"
};

// <dir>/trainer_state.json
std::filesystem::path trainer_state_file(const std::filesystem::path& dir);

// trainer_state_file(dir), written atomically. Throws IoError naming the file.
void write_trainer_state(const std::filesystem::path& dir, const TrainerState& state);

// Reads trainer_state_file(dir). Throws IoError when it cannot be read and FormatError naming
// the file and the key when it is not a JSON object, or global_step, num_tokens, skipped_steps
// (non-negative integers) or data (an object) is missing or of another type.
TrainerState read_trainer_state(const std::filesystem::path& dir);

// Optimizer state through torch::serialize archives. Throws IoError / FormatError naming the file;
// loading also throws FormatError when the saved state does not fit the optimizer's parameters
// (another model's optimizer.pt: a moment whose shape or dtype differs from its parameter's).
void save_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& file);
void load_optimizer(torch::optim::Optimizer& optimizer, const std::filesystem::path& file);

// LibTorch's default CPU generator state. Throws IoError / FormatError naming the file.
void save_rng_state(const std::filesystem::path& file);
void load_rng_state(const std::filesystem::path& file);

}  // namespace dpok::train
