// Shared helpers for the text tests (header-only: the build compiles only *_test.cpp here):
// cached real tokenizers (an 11 MB tokenizer.json takes a moment to load), llama.cpp test
// vectors, and HH-RLHF texts.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "dpok/core/file_util.h"
#include "dpok/text/tokenizer.h"

namespace dpok::text::testing {

// Loads `path` once per process and returns the same tokenizer afterwards.
inline const Tokenizer& cached_tokenizer(const std::filesystem::path& path) {
  static std::mutex mutex;
  static std::map<std::filesystem::path, std::unique_ptr<Tokenizer>> cache;
  std::lock_guard lock(mutex);
  auto& slot = cache[path];
  if (!slot) slot = Tokenizer::load(path);
  return *slot;
}

// A llama.cpp vocab test: the .inp strings and the .out ids (one vector per string).
struct VocabVectors {
  std::vector<std::string> inputs;
  std::vector<std::vector<int32_t>> expected;
};

inline VocabVectors read_vocab_vectors(const std::filesystem::path& inp,
                                       const std::filesystem::path& out) {
  VocabVectors v;
  const std::string text = read_file(inp);
  const std::string separator = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find(separator, pos);
    if (end == std::string::npos) break;
    v.inputs.push_back(text.substr(pos, end - pos));
    pos = end + separator.size();
  }
  std::istringstream lines(read_file(out));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> row;
    for (int32_t id; ids >> id;) row.push_back(id);
    v.expected.push_back(std::move(row));
  }
  return v;
}

inline std::string gunzip_file(const std::filesystem::path& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path.string());
  std::string data;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0) data.append(buffer, n);
  gzclose(file);
  return data;
}

// Every "chosen" and "rejected" text of one gzipped HH-RLHF jsonl file, in file order.
inline std::vector<std::string> read_hh_rlhf_texts(const std::filesystem::path& jsonl_gz) {
  std::vector<std::string> texts;
  std::istringstream lines(gunzip_file(jsonl_gz));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line);
    texts.push_back(record.at("chosen").get<std::string>());
    texts.push_back(record.at("rejected").get<std::string>());
  }
  return texts;
}

inline void write_text(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

}  // namespace dpok::text::testing
