// torchrun's environment variables → Launch, and the rank's device (src/dpok/dist/launch.h).
#include "dpok/dist/launch.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "dpok/core/error.h"
#include "dpok/dist/group.h"

namespace dpok::dist {
namespace {

// Sets the launch variables for one test and clears them afterwards.
class Env {
 public:
  explicit Env(const std::map<std::string, std::string>& values) {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : values) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~Env() {
    for (const char* name : kNames) ::unsetenv(name);
  }

 private:
  static constexpr const char* kNames[] = {
      "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"};
};

std::string error_of(const std::map<std::string, std::string>& values) {
  Env env(values);
  try {
    launch_from_environment();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Launch, NoVariablesIsAWorldOfOne) {
  Env env({});
  const auto launch = launch_from_environment();
  EXPECT_EQ(launch.world_size, 1);
  EXPECT_EQ(launch.rank, 0);
  EXPECT_FALSE(launch.distributed());
}

TEST(Launch, ReadsTorchrunVariables) {
  Env env({{"RANK", "3"},
           {"LOCAL_RANK", "1"},
           {"WORLD_SIZE", "4"},
           {"LOCAL_WORLD_SIZE", "2"},
           {"MASTER_ADDR", "10.0.0.1"},
           {"MASTER_PORT", "29500"}});
  const auto launch = launch_from_environment();
  EXPECT_EQ(launch.rank, 3);
  EXPECT_EQ(launch.local_rank, 1);
  EXPECT_EQ(launch.world_size, 4);
  EXPECT_EQ(launch.local_world_size, 2);
  EXPECT_EQ(launch.master_addr, "10.0.0.1");
  EXPECT_EQ(launch.master_port, 29500);
  EXPECT_TRUE(launch.distributed());
}

TEST(Launch, RejectsInvalidValuesNamingTheVariable) {
  EXPECT_EQ(error_of({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_PORT", "1"}}),
            "[dist] environment variable RANK=2 is invalid: expected 0 <= RANK < WORLD_SIZE = 2");
  EXPECT_EQ(error_of({{"WORLD_SIZE", "two"}}),
            "[dist] environment variable WORLD_SIZE=two is invalid: expected an integer >= 1");
  EXPECT_NE(error_of({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}}).find("RANK is not set"),
            std::string::npos);
  EXPECT_NE(error_of({{"WORLD_SIZE", "2"}, {"RANK", "0"}}).find("MASTER_PORT is not set"),
            std::string::npos);
}

TEST(Launch, RankDeviceIsCudaLocalRank) {
  Launch two;
  two.world_size = 2;
  two.rank = two.local_rank = 1;
  EXPECT_EQ(rank_device(c10::Device("cuda"), two), c10::Device("cuda:1"));
  EXPECT_EQ(rank_device(c10::Device("cpu"), two), c10::Device("cpu"));
  EXPECT_EQ(rank_device(c10::Device("cuda:0"), Launch{}), c10::Device("cuda:0"));
  EXPECT_THROW(rank_device(c10::Device("cuda:0"), two), ConfigError);
}

TEST(Group, AWorldOfOneLeavesTensorsAlone) {
  Group group;
  auto x = at::arange(4, at::kFloat);
  group.all_reduce(x, "test");
  group.broadcast(x, 0, "test");
  group.barrier("test");
  EXPECT_TRUE(at::equal(x, at::arange(4, at::kFloat)));
  EXPECT_FALSE(group.distributed());
}

}  // namespace
}  // namespace dpok::dist
