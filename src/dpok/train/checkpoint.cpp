// Atomic checkpoint directories, discovery, pruning, optimizer and RNG state files.
#include "dpok/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/serialize.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <thread>

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
  torch::Tensor state;
  try {
    torch::load(state, file.string());
  } catch (const c10::Error& e) {
    DPOK_THROW(FormatError, kComponent, "cannot load RNG state {}: {}", file.string(),
               e.what_without_backtrace());
  }
  auto gen = at::globalContext().defaultGenerator(at::kCPU);
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace dpok::train
