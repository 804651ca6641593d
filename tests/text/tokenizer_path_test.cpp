// find_tokenizer / require_tokenizer: the tokenizer next to a model directory or a single-file
// model, the explicit path winning, and the error when none (or an ambiguous one) is found.
#include "dpok/text/tokenizer_path.h"

#include <gtest/gtest.h>

#include <fstream>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::text {
namespace {
namespace fs = std::filesystem;

class TokenizerPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dpok_tokenizer_path_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void touch(const std::string& name) { std::ofstream(dir_ / name) << "x"; }
  fs::path dir_;
};

TEST_F(TokenizerPathTest, ExplicitPathWins) {
  touch("tokenizer.json");
  EXPECT_EQ(find_tokenizer(dir_, "/elsewhere/tok.model"), fs::path("/elsewhere/tok.model"));
}

TEST_F(TokenizerPathTest, ModelDirectoryWithTokenizerFiles) {
  EXPECT_TRUE(find_tokenizer(dir_).empty());
  touch("tokenizer.model");
  EXPECT_EQ(find_tokenizer(dir_), dir_);
}

TEST_F(TokenizerPathTest, SingleFileModelUsesItsDirectoryOrTheOnlyModelFile) {
  touch("model.gguf");
  touch("tok512.model");
  EXPECT_EQ(find_tokenizer(dir_ / "model.gguf"), dir_ / "tok512.model");
  touch("other.model");
  EXPECT_TRUE(find_tokenizer(dir_ / "model.gguf").empty());  // ambiguous
  touch("tokenizer.json");
  EXPECT_EQ(find_tokenizer(dir_ / "model.gguf"), dir_);
}

TEST_F(TokenizerPathTest, RequireNamesTheModelAndTheOption) {
  touch("model.bin");
  EXPECT_TRUE(testing::throws_with<ConfigError>(
      [&] { require_tokenizer(dir_ / "model.bin", {}, "eval", "--tokenizer"); },
      {"[eval]", "model.bin", "set --tokenizer"}));
  EXPECT_EQ(require_tokenizer(dir_, "t.json", "eval", "--tokenizer"), fs::path("t.json"));
}

}  // namespace
}  // namespace dpok::text
