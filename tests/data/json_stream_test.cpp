// Tests for the streaming readers: compression, JSON Lines, JSON arrays, globs, corrupt input.
#include "dpok/data/json_stream.h"

#include <gtest/gtest.h>

#include <fstream>

#include "data/compression.h"
#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::data {
namespace {

using testing::gzip;
using testing::zstd;

std::vector<RawRecord> read_all(const std::filesystem::path& path) {
  RecordReader reader(path);
  std::vector<RawRecord> out;
  while (auto r = reader.next()) out.push_back(std::move(*r));
  return out;
}

const std::string kJsonl = "{\"a\": 1}\n\n{\"a\": 2}\r\n   \n{\"a\": \"x\\ny\"}\n";

TEST(JsonStream, ReadsJsonLinesPlainGzipAndZstdAlike) {
  dpok::testing::TempDir dir;
  write_file_atomic(dir / "d.jsonl", kJsonl);
  write_file_atomic(dir / "d.jsonl.gz", gzip(kJsonl));
  write_file_atomic(dir / "d.jsonl.zst", zstd(kJsonl));
  for (const char* name : {"d.jsonl", "d.jsonl.gz", "d.jsonl.zst"}) {
    const auto records = read_all(dir / name);
    ASSERT_EQ(records.size(), 3u) << name;
    EXPECT_EQ(records[0].text, "{\"a\": 1}");
    EXPECT_EQ(records[1].text, "{\"a\": 2}");  // \r stripped
    EXPECT_EQ(records[2].text, "{\"a\": \"x\\ny\"}");
    EXPECT_EQ(records[0].line, 1);
    EXPECT_EQ(records[1].line, 3);
    EXPECT_EQ(records[2].line, 5);
    EXPECT_EQ(records[2].ordinal, 2);
  }
}

TEST(JsonStream, ReadsLinesLongerThanTheBuffer) {
  dpok::testing::TempDir dir;
  const std::string long_value(300000, 'x');
  write_file_atomic(dir / "long.jsonl.gz", gzip("{\"v\": \"" + long_value + "\"}\n{\"v\": 1}"));
  const auto records = read_all(dir / "long.jsonl.gz");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].text.size(), long_value.size() + 9);
  EXPECT_EQ(records[1].text, "{\"v\": 1}");
  EXPECT_EQ(records[1].line, 2);
}

TEST(JsonStream, SplitsJsonArraysElementByElement) {
  dpok::testing::TempDir dir;
  const std::string array =
      "\xEF\xBB\xBF [\n  {\"p\": \"a ] } , [\", \"q\": [1, {\"r\": 2}]},\n"
      "  {\"p\": \"esc \\\" ]\"}\n  ,\n\n  {\"p\": 3}\n]\n";
  write_file_atomic(dir / "d.json", array);
  write_file_atomic(dir / "d.json.zst", zstd(array));
  for (const char* name : {"d.json", "d.json.zst"}) {
    RecordReader reader(dir / name);
    std::vector<RawRecord> records;
    while (auto r = reader.next()) records.push_back(std::move(*r));
    EXPECT_TRUE(reader.is_json_array());
    ASSERT_EQ(records.size(), 3u);
    EXPECT_EQ(records[0].text, "{\"p\": \"a ] } , [\", \"q\": [1, {\"r\": 2}]}");
    EXPECT_EQ(records[1].text, "{\"p\": \"esc \\\" ]\"}");
    EXPECT_EQ(records[2].text, "{\"p\": 3}");
    EXPECT_EQ(records[0].line, 2);
    EXPECT_EQ(records[1].line, 3);
    EXPECT_EQ(records[2].line, 6);
  }
}

TEST(JsonStream, EmptyArrayAndEmptyFileHaveNoRecords) {
  dpok::testing::TempDir dir;
  write_file_atomic(dir / "a.json", "  [ ]  ");
  write_file_atomic(dir / "b.jsonl", "");
  EXPECT_TRUE(read_all(dir / "a.json").empty());
  EXPECT_TRUE(read_all(dir / "b.jsonl").empty());
}

TEST(JsonStream, TruncatedArrayNamesFileAndLine) {
  dpok::testing::TempDir dir;
  write_file_atomic(dir / "t.json", "[\n{\"a\": 1},\n{\"a\": \n");
  RecordReader reader(dir / "t.json");
  ASSERT_TRUE(reader.next());
  try {
    reader.next();
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("t.json:4: unexpected end of file"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("starting at line 3"), std::string::npos) << e.what();
  }
}

TEST(JsonStream, TextAfterArrayIsAnError) {
  dpok::testing::TempDir dir;
  write_file_atomic(dir / "t.json", "[{\"a\": 1}]\n{\"b\": 2}\n");
  RecordReader reader(dir / "t.json");
  ASSERT_TRUE(reader.next());
  EXPECT_THROW(reader.next(), FormatError);
}

TEST(JsonStream, CorruptAndTruncatedCompressedStreamsAreFormatErrors) {
  dpok::testing::TempDir dir;
  std::string big;
  for (int i = 0; i < 2000; ++i) big += "{\"i\": " + std::to_string(i * 7919 % 1000) + "}\n";
  const std::string gz = gzip(big), zs = zstd(big);
  write_file_atomic(dir / "cut.jsonl.gz", gz.substr(0, gz.size() / 2));
  write_file_atomic(dir / "cut.jsonl.zst", zs.substr(0, zs.size() / 2));
  std::string flipped = gz;
  flipped[20] = static_cast<char>(flipped[20] ^ 0x5A);
  flipped[21] = static_cast<char>(flipped[21] ^ 0x5A);
  write_file_atomic(dir / "bad.jsonl.gz", flipped);
  for (const char* name : {"cut.jsonl.gz", "cut.jsonl.zst", "bad.jsonl.gz"}) {
    try {
      read_all(dir / name);
      FAIL() << name << ": expected FormatError";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(JsonStream, MissingFileIsIoError) {
  EXPECT_THROW(RecordReader("/nonexistent/dpok/x.jsonl"), IoError);
}

TEST(JsonStream, ExpandsGlobsAndCommaLists) {
  dpok::testing::TempDir dir;
  for (const char* name : {"b.jsonl", "a.jsonl", "c.json", "z.txt"})
    write_file_atomic(dir / name, "");
  const auto files = expand_data_spec((dir / "*.jsonl").string() + "," + (dir / "c.json").string());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].filename(), "a.jsonl");
  EXPECT_EQ(files[1].filename(), "b.jsonl");
  EXPECT_EQ(files[2].filename(), "c.json");
  EXPECT_THROW(expand_data_spec((dir / "*.parquet").string()), IoError);
  EXPECT_THROW(expand_data_spec((dir / "missing.jsonl").string()), IoError);
  EXPECT_THROW(expand_data_spec(std::string()), ConfigError);
  EXPECT_EQ(split_data_spec("a.jsonl,,b/*.json,"),
            (std::vector<std::string>{"a.jsonl", "b/*.json"}));
  EXPECT_TRUE(split_data_spec("").empty());
}

TEST(JsonStream, ReadsRealHhRlhfCounts) {
  DPOK_REQUIRE_ASSET(dir, "hh-rlhf");
  const std::pair<const char*, size_t> expected[] = {
      {"harmless-base-test.jsonl.gz", 2312},
      {"helpful-base-test.jsonl.gz", 2354},
      {"helpful-online-test.jsonl.gz", 1137},
      {"helpful-rejection-sampled-test.jsonl.gz", 2749}};
  for (const auto& [name, count] : expected) {
    const auto records = read_all(dir / name);
    EXPECT_EQ(records.size(), count) << name;
    EXPECT_EQ(records.back().line, static_cast<int64_t>(count)) << name;
  }
}

}  // namespace
}  // namespace dpok::data
