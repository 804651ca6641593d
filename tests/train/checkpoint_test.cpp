// Tests for checkpoint directories: atomic writes, discovery, pruning, optimizer and RNG state, and
// fault injection (a child process SIGKILLed mid-write leaves the previous checkpoint loadable).
#include "dpok/train/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

extern char** environ;

namespace dpok::train {
namespace {
namespace fs = std::filesystem;

// A tiny model + optimizer whose state must survive a checkpoint.
struct Toy {
  torch::nn::Linear linear{torch::nn::LinearOptions(4, 3)};
  std::unique_ptr<torch::optim::AdamW> opt;
  Toy() {
    torch::manual_seed(1);
    linear = torch::nn::Linear(torch::nn::LinearOptions(4, 3));
    opt = std::make_unique<torch::optim::AdamW>(linear->parameters(),
                                                torch::optim::AdamWOptions(1e-2));
  }
  void step() {
    opt->zero_grad();
    linear->forward(torch::randn({2, 4})).pow(2).sum().backward();
    opt->step();
  }
};

void write_toy(Toy& toy, const fs::path& dir, int64_t step) {
  torch::save(toy.linear, (dir / "model.pt").string());
  save_optimizer(*toy.opt, dir / "optimizer.pt");
  save_rng_state(dir / "rng_state.pt");
  TrainerState state;
  state.global_step = step;
  write_trainer_state(dir, state);
}

void read_toy(Toy& toy, const fs::path& dir) {
  torch::load(toy.linear, (dir / "model.pt").string());
  load_optimizer(*toy.opt, dir / "optimizer.pt");
  load_rng_state(dir / "rng_state.pt");
}

TEST(Checkpoint, ResumeContinuesBitIdentically) {
  testing::TempDir out;
  Toy straight;
  for (int i = 0; i < 2; ++i) straight.step();
  write_checkpoint(
      out.path(), 2, [&](const fs::path& d) { write_toy(straight, d, 2); }, 0);
  for (int i = 0; i < 2; ++i) straight.step();

  Toy resumed;
  read_toy(resumed, resolve_resume_dir(out.path(), ""));
  for (int i = 0; i < 2; ++i) resumed.step();
  EXPECT_TRUE(torch::equal(straight.linear->weight, resumed.linear->weight));
  EXPECT_TRUE(torch::equal(straight.linear->bias, resumed.linear->bias));
}

TEST(Checkpoint, ListsPrunesAndIgnoresIncomplete) {
  testing::TempDir out;
  Toy toy;
  for (int64_t step : {5, 10, 15}) {
    write_checkpoint(
        out.path(), step, [&](const fs::path& d) { write_toy(toy, d, step); }, 2);
  }
  fs::create_directories(out / "checkpoint-20.tmp-1");
  write_file_atomic(out / "checkpoint-20.tmp-1" / "trainer_state.json", "{}");
  fs::create_directories(out / "checkpoint-25");  // no trainer_state.json: incomplete
  auto all = list_checkpoints(out.path());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].filename(), "checkpoint-10");
  EXPECT_EQ(latest_checkpoint(out.path())->filename(), "checkpoint-15");
  EXPECT_FALSE(fs::exists(out / "checkpoint-5"));
  EXPECT_FALSE(fs::exists(out / ("checkpoint-15.tmp-" + std::to_string(::getpid()))));
}

TEST(Checkpoint, RewritingSameStepReplacesIt) {
  testing::TempDir out;
  Toy toy;
  write_checkpoint(
      out.path(), 3, [&](const fs::path& d) { write_toy(toy, d, 3); }, 0);
  write_checkpoint(
      out.path(), 3,
      [&](const fs::path& d) {
        write_toy(toy, d, 3);
        write_file_atomic(d / "marker", "x");
      },
      0);
  EXPECT_TRUE(fs::exists(out / "checkpoint-3" / "marker"));
}

TEST(Checkpoint, FailedWriteLeavesNothing) {
  testing::TempDir out;
  EXPECT_THROW(
      write_checkpoint(
          out.path(), 1, [](const fs::path&) { DPOK_THROW(IoError, "test", "disk full"); }, 0),
      IoError);
  EXPECT_TRUE(fs::is_empty(out.path()));
}

TEST(Checkpoint, ResumeErrorsNameTheProblem) {
  testing::TempDir out;
  EXPECT_TRUE(testing::throws_with<ConfigError>([&] { resolve_resume_dir(out.path(), ""); },
                                                {"no complete checkpoint"}));
  EXPECT_TRUE(testing::throws_with<ConfigError>(
      [&] { resolve_resume_dir(out.path(), (out / "nope").string()); },
      {"trainer_state.json is missing"}));
  write_file_atomic(out / "optimizer.pt", "garbage");
  Toy toy;
  EXPECT_THROW(load_optimizer(*toy.opt, out / "optimizer.pt"), FormatError);
  EXPECT_THROW(load_optimizer(*toy.opt, out / "missing.pt"), IoError);
}

TEST(TrainerState, RoundTrips) {
  testing::TempDir dir;
  TrainerState state;
  state.global_step = 7;
  state.num_tokens = 1234;
  state.skipped_steps = 1;
  state.data = {{"epoch", 0}, {"position", 3}};
  state.mode = "dpo";
  write_trainer_state(dir.path(), state);
  const TrainerState read = read_trainer_state(dir.path());
  EXPECT_EQ(read.global_step, 7);
  EXPECT_EQ(read.num_tokens, 1234);
  EXPECT_EQ(read.skipped_steps, 1);
  EXPECT_EQ(read.data, state.data);
}

// A damaged trainer_state.json is a FormatError naming the file and what is wrong with it.
TEST(TrainerState, CorruptFileNamesTheFileAndKey) {
  testing::TempDir dir;
  const std::string valid_rest = R"("num_tokens": 10, "skipped_steps": 0, "data": {})";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {R"({"global_step": 3, "num_tok)", "not valid JSON"},
      {"[1, 2]", "expected a JSON object, got array"},
      {"{" + valid_rest + "}", "key 'global_step' is missing"},
      {R"({"global_step": "3", )" + valid_rest + "}",
       R"(key 'global_step': expected a non-negative integer, got "3")"},
      {R"({"global_step": -1, )" + valid_rest + "}", "key 'global_step': expected a non-negative"},
      {R"({"global_step": 2.5, )" + valid_rest + "}", "key 'global_step': expected a non-negative"},
      {R"({"global_step": 2, "num_tokens": null, "skipped_steps": 0, "data": {}})",
       "key 'num_tokens': expected a non-negative integer, got null"},
      {R"({"global_step": 2, "num_tokens": 1, "data": {}})", "key 'skipped_steps' is missing"},
      {R"({"global_step": 2, "num_tokens": 1, "skipped_steps": 0})", "key 'data' is missing"},
      {R"({"global_step": 2, "num_tokens": 1, "skipped_steps": 0, "data": [3]})",
       "key 'data': expected the data iterator's state (an object), got array"},
  };
  const std::string file = (dir / "trainer_state.json").string();
  for (const auto& [text, message] : cases) {
    write_file_atomic(dir / "trainer_state.json", text);
    try {
      read_trainer_state(dir.path());
      ADD_FAILURE() << "accepted: " << text;
    } catch (const FormatError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(file), std::string::npos) << what;
      EXPECT_NE(what.find(message), std::string::npos) << what;
    }
  }
}

// Another model's optimizer.pt: same number of groups and parameters, other shapes. LibTorch
// would attach its moments silently.
TEST(Checkpoint, OptimizerStateOfAnotherModelIsRejected) {
  testing::TempDir dir;
  Toy toy;
  toy.step();
  save_optimizer(*toy.opt, dir / "optimizer.pt");
  torch::nn::Linear other(torch::nn::LinearOptions(3, 4));
  torch::optim::AdamW opt(other->parameters(), torch::optim::AdamWOptions(1e-2));
  try {
    load_optimizer(opt, dir / "optimizer.pt");
    FAIL() << "accepted another model's optimizer state";
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find((dir / "optimizer.pt").string()), std::string::npos) << what;
    EXPECT_NE(what.find("does not fit this model: group 0 parameter 0 is Float 4x3, its saved "
                        "exp_avg is Float 3x4"),
              std::string::npos)
        << what;
  }
  torch::nn::Linear no_bias(torch::nn::LinearOptions(4, 3).bias(false));
  torch::optim::AdamW fewer(no_bias->parameters(), torch::optim::AdamWOptions(1e-2));
  EXPECT_THROW(load_optimizer(fewer, dir / "optimizer.pt"), FormatError);
}

TEST(Checkpoint, RngStateOfTheWrongKindIsRejected) {
  testing::TempDir dir;
  torch::save(torch::zeros({3}), (dir / "rng_state.pt").string());
  try {
    load_rng_state(dir / "rng_state.pt");
    FAIL() << "accepted a float tensor as the generator state";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "rng_state.pt").string()), std::string::npos);
  }
}

// Runs in a child process only (see the fault-injection test): writes checkpoint-2 into
// $DPOK_TEST_CHECKPOINT_DIR with DPOK_CHECKPOINT_FAULT set in its environment.
TEST(CheckpointChild, DISABLED_WritesSecondCheckpoint) {
  const char* dir = std::getenv("DPOK_TEST_CHECKPOINT_DIR");
  ASSERT_NE(dir, nullptr);
  Toy toy;
  toy.step();
  write_checkpoint(
      dir, 2, [&](const fs::path& d) { write_toy(toy, d, 2); }, 1);
}

pid_t spawn_child(const fs::path& dir, const std::string& fault) {
  std::vector<std::string> env_strings;
  // Without CTest's shard variables: the child's one test must run whichever shard it falls in.
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("GTEST_")) continue;
    env_strings.emplace_back(*e);
  }
  env_strings.push_back("DPOK_TEST_CHECKPOINT_DIR=" + dir.string());
  env_strings.push_back("DPOK_CHECKPOINT_FAULT=" + fault);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=CheckpointChild.DISABLED_WritesSecondCheckpoint";
  std::string disabled = "--gtest_also_run_disabled_tests";
  char* argv[] = {exe.data(), filter.data(), disabled.data(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);
  return pid;
}

void expect_previous_checkpoint_intact(const fs::path& out) {
  EXPECT_FALSE(fs::exists(out / "checkpoint-2"));
  auto latest = latest_checkpoint(out);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->filename(), "checkpoint-1");
  Toy toy;
  EXPECT_NO_THROW(read_toy(toy, *latest));
}

TEST(CheckpointFault, KilledByParentWhileWritingKeepsPrevious) {
  testing::TempDir out;
  Toy toy;
  write_checkpoint(
      out.path(), 1, [&](const fs::path& d) { write_toy(toy, d, 1); }, 1);
  pid_t pid = spawn_child(out.path(), "pause");
  const fs::path paused = out / ("checkpoint-2.tmp-" + std::to_string(pid)) / ".paused";
  for (int i = 0; i < 600 && !fs::exists(paused); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(fs::exists(paused)) << "child never reached the write";
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  expect_previous_checkpoint_intact(out.path());
}

TEST(CheckpointFault, SelfKillBeforeRenameKeepsPrevious) {
  testing::TempDir out;
  Toy toy;
  write_checkpoint(
      out.path(), 1, [&](const fs::path& d) { write_toy(toy, d, 1); }, 1);
  pid_t pid = spawn_child(out.path(), "kill");
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  expect_previous_checkpoint_intact(out.path());
}

}  // namespace
}  // namespace dpok::train
