// Atomic checkpoint directories, discovery, pruning, optimizer and RNG state files.
#include "dpok/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <fmt/ranges.h>
#include <torch/optim/adamw.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.checkpoint";
constexpr const char* kPrefix = "checkpoint-";
constexpr const char* kStateFile = "trainer_state.json";

// Step of a complete checkpoint directory name, or nullopt ("checkpoint-12.tmp-99" is not one).
std::optional<int64_t> checkpoint_step(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  const std::string digits = name.substr(std::string(kPrefix).size());
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  return std::stoll(digits);
}

void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    fsync_path(entry.path());
  }
  fsync_path(dir);
}

void fault_point(const fs::path& tmp_dir) {
  const char* fault = std::getenv("DPOK_CHECKPOINT_FAULT");
  if (fault == nullptr) return;
  const std::string mode = fault;
  if (mode == "kill") std::raise(SIGKILL);
  if (mode == "pause") {
    write_file_atomic(tmp_dir / ".paused", "");
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void prune(const fs::path& output_dir, int64_t save_total_limit, const fs::path& keep) {
  if (save_total_limit <= 0) return;
  auto complete = list_checkpoints(output_dir);
  int64_t excess = static_cast<int64_t>(complete.size()) - save_total_limit;
  for (const auto& dir : complete) {
    if (excess <= 0) break;
    if (dir == keep) continue;
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec)
      DPOK_THROW(IoError, kComponent, "cannot remove old checkpoint {}: {}", dir.string(),
                 ec.message());
    --excess;
  }
}

// LibTorch's Optimizer::load checks only the number of groups and of parameters per group, then
// attaches whatever moments were saved; another model's moments would then be added to these
// gradients (broadcasting silently where shapes allow it) at the next step.
void check_adamw_state(torch::optim::Optimizer& optimizer, const fs::path& file) {
  const auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    const auto& params = groups[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      const auto found = optimizer.state().find(params[i].unsafeGetTensorImpl());
      if (found == optimizer.state().end()) continue;  // never stepped
      const auto* adamw = dynamic_cast<const torch::optim::AdamWParamState*>(found->second.get());
      DPOK_CHECK(adamw != nullptr, "load_optimizer is used with AdamW only");
      for (const auto& [name, moment] :
           {std::pair{"exp_avg", adamw->exp_avg()}, std::pair{"exp_avg_sq", adamw->exp_avg_sq()}}) {
        if (!moment.defined() || moment.sizes() != params[i].sizes() ||
            moment.scalar_type() != params[i].scalar_type()) {
          DPOK_THROW(FormatError, kComponent,
                     "optimizer state {} does not fit this model: group {} parameter {} is {} {}, "
                     "its saved {} is {}",
                     file.string(), g, i, c10::toString(params[i].scalar_type()),
                     fmt::join(params[i].sizes(), "x"), name,
                     moment.defined() ? fmt::format("{} {}", c10::toString(moment.scalar_type()),
                                                    fmt::join(moment.sizes(), "x"))
                                      : std::string("missing"));
        }
      }
    }
  }
}

}  // namespace

fs::path checkpoint_path(const fs::path& output_dir, int64_t step) {
  return output_dir / (kPrefix + std::to_string(step));
}

fs::path write_checkpoint(const fs::path& output_dir, int64_t step,
                          const std::function<void(const fs::path&)>& write_contents,
                          int64_t save_total_limit) {
  const fs::path final_dir = checkpoint_path(output_dir, step);
  fs::path tmp = final_dir;
  tmp += ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec) || ec) {
    DPOK_THROW(IoError, kComponent, "cannot create {}: {}", tmp.string(), ec.message());
  }
  try {
    write_contents(tmp);
    fsync_tree(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  fault_point(tmp);
  // Replacing an existing checkpoint-<step> (e.g. re-saved after a resume): move it aside first,
  // since rename(2) cannot replace a non-empty directory.
  fs::path old;
  if (fs::exists(final_dir)) {
    old = final_dir;
    old += ".old-" + std::to_string(::getpid());
    fs::rename(final_dir, old, ec);
    if (ec)
      DPOK_THROW(IoError, kComponent, "cannot move {} aside: {}", final_dir.string(), ec.message());
  }
  fs::rename(tmp, final_dir, ec);
  if (ec)
    DPOK_THROW(IoError, kComponent, "cannot rename {} to {}: {}", tmp.string(), final_dir.string(),
               ec.message());
  fsync_path(output_dir);
  if (!old.empty()) fs::remove_all(old, ec);
  prune(output_dir, save_total_limit, final_dir);
  return final_dir;
}

std::vector<fs::path> list_checkpoints(const fs::path& output_dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return {};
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    auto step = checkpoint_step(entry.path());
    if (step && entry.is_directory() && fs::exists(entry.path() / kStateFile)) {
      found.emplace_back(*step, entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> dirs;
  for (auto& [step, dir] : found) dirs.push_back(dir);
  return dirs;
}

std::optional<fs::path> latest_checkpoint(const fs::path& output_dir) {
  auto all = list_checkpoints(output_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

fs::path resolve_resume_dir(const fs::path& output_dir, const std::string& requested) {
  if (requested.empty()) {
    auto latest = latest_checkpoint(output_dir);
    if (!latest) {
      DPOK_THROW(ConfigError, kComponent, "--resume: no complete checkpoint-N directory in {}",
                 output_dir.string());
    }
    return *latest;
  }
  const fs::path dir = requested;
  if (!fs::exists(dir / kStateFile)) {
    DPOK_THROW(ConfigError, kComponent, "--resume {}: not a complete checkpoint ({} is missing)",
               dir.string(), kStateFile);
  }
  return dir;
}

fs::path trainer_state_file(const fs::path& dir) {
  return dir / kStateFile;
}

void write_trainer_state(const fs::path& dir, const TrainerState& state) {
  const nlohmann::json json = {{"global_step", state.global_step},
                               {"epoch", state.epoch},
                               {"num_tokens", state.num_tokens},
                               {"skipped_steps", state.skipped_steps},
                               {"total_steps", state.total_steps},
                               {"mode", state.mode},
                               {"data", state.data}};
  write_file_atomic(trainer_state_file(dir), json.dump(2));
}

TrainerState read_trainer_state(const fs::path& dir) {
  const fs::path file = trainer_state_file(dir);
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::parse_error& e) {
    DPOK_THROW(FormatError, kComponent, "{}: not valid JSON: {}", file.string(), e.what());
  }
  if (!json.is_object()) {
    DPOK_THROW(FormatError, kComponent, "{}: expected a JSON object, got {}", file.string(),
               json.type_name());
  }
  const auto count = [&](const char* key) {
    const auto it = json.find(key);
    if (it == json.end()) {
      DPOK_THROW(FormatError, kComponent, "{}: key '{}' is missing", file.string(), key);
    }
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      DPOK_THROW(FormatError, kComponent, "{}: key '{}': expected a non-negative integer, got {}",
                 file.string(), key, it->dump());
    }
    return it->get<int64_t>();
  };
  TrainerState state;
  state.global_step = count("global_step");
  state.num_tokens = count("num_tokens");
  state.skipped_steps = count("skipped_steps");
  const auto data = json.find("data");
  if (data == json.end()) {
    DPOK_THROW(FormatError, kComponent, "{}: key 'data' is missing", file.string());
  }
  if (!data->is_object()) {
    DPOK_THROW(FormatError, kComponent,
               "{}: key 'data': expected the data iterator's state (an object), got {}",
               file.string(), data->type_name());
  }
  state.data = *data;
  return state;
}

void save_optimizer(torch::optim::Optimizer& optimizer, const fs::path& file) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  try {
    archive.save_to(file.string());
  } catch (const c10::Error& e) {
    DPOK_THROW(IoError, kComponent, "cannot write optimizer state {}: {}", file.string(),
               e.what_without_backtrace());
  }
}

void load_optimizer(torch::optim::Optimizer& optimizer, const fs::path& file) {
  if (!fs::exists(file))
    DPOK_THROW(IoError, kComponent, "optimizer state {} is missing", file.string());
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file.string());
    optimizer.load(archive);
  } catch (const c10::Error& e) {
    DPOK_THROW(FormatError, kComponent, "cannot load optimizer state {}: {}", file.string(),
               e.what_without_backtrace());
  }
  check_adamw_state(optimizer, file);
}

void save_rng_state(const fs::path& file) {
  auto gen = at::globalContext().defaultGenerator(at::kCPU);
  torch::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  try {
    torch::save(state, file.string());
  } catch (const c10::Error& e) {
    DPOK_THROW(IoError, kComponent, "cannot write RNG state {}: {}", file.string(),
               e.what_without_backtrace());
  }
}

void load_rng_state(const fs::path& file) {
  auto gen = at::globalContext().defaultGenerator(at::kCPU);
  try {
    torch::Tensor state;
    torch::load(state, file.string());
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);  // checks the state's dtype and size
  } catch (const c10::Error& e) {
    DPOK_THROW(FormatError, kComponent, "cannot load RNG state {}: {}", file.string(),
               e.what_without_backtrace());
  }
}

}  // namespace dpok::train
