// Streaming access to preference data files: decompression, JSON Lines and JSON arrays.
//
// What it does: opens a .jsonl/.json file, optionally .gz (zlib) or .zst (zstd) compressed, and
// yields one raw JSON text per record together with the 1-based line on which the record starts.
// JSON Lines files yield one record per non-blank line; JSON array files ([ {...}, {...} ]) are
// split into their top-level elements by a bracket-depth scanner, so neither kind of file is ever
// held in memory whole (only the current record and a fixed-size read buffer are).
// What it doesn't do: parse the records (formats.h does) or expand globs (expand_data_spec does).
//
// Errors: IoError when a file cannot be opened or read, FormatError (naming file:line) for a
// corrupt compressed stream, a truncated JSON array or text after its closing bracket.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dpok::data {

// A byte stream over a plain, gzip or zstd file (chosen by the file's extension and magic bytes).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `capacity` bytes into `out`; returns 0 only at the end of the stream.
  virtual size_t read(char* out, size_t capacity) = 0;

  // Opens `path`; compression is detected from the magic bytes (1f 8b: gzip, 28 b5 2f fd: zstd).
  static std::unique_ptr<ByteSource> open(const std::filesystem::path& path);
};

// One raw record: its JSON text and where it came from.
struct RawRecord {
  std::string text;     // the record's JSON text (one object, not yet parsed)
  int64_t line = 0;     // 1-based line where the record starts
  int64_t ordinal = 0;  // 0-based position of the record in its file
};

// Yields the records of one file in order. JSON arrays are recognised by a leading '[' (after
// whitespace and a UTF-8 byte-order mark); anything else is read as JSON Lines.
class RecordReader {
 public:
  explicit RecordReader(const std::filesystem::path& path);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // The next record, or nullopt at the end of the file.
  std::optional<RawRecord> next();
  const std::filesystem::path& path() const { return path_; }
  bool is_json_array() const { return is_array_; }

 private:
  bool fill();  // refills the buffer; false at end of stream
  int peek();   // next byte or -1, without consuming
  int get();    // next byte or -1, counting lines
  std::optional<RawRecord> next_line();
  std::optional<RawRecord> next_array_element();
  void skip_whitespace();

  std::filesystem::path path_;
  std::unique_ptr<ByteSource> source_;
  std::vector<char> buffer_;
  size_t pos_ = 0, end_ = 0;
  int64_t line_ = 1;
  int64_t ordinal_ = 0;
  bool is_array_ = false;
  bool array_done_ = false;
};

// Expands a data specification: a comma-separated list whose items are paths or glob patterns
// (`*`, `?` and `[...]` in the file name part; `**` is not supported). Patterns expand in sorted
// order; a literal path must exist. Throws IoError naming an item that matches nothing.
std::vector<std::filesystem::path> expand_data_spec(const std::vector<std::string>& items);
std::vector<std::filesystem::path> expand_data_spec(const std::string& comma_separated);

// The items of a comma-separated data specification, unexpanded (empty items dropped): what a
// DataConfig's train_files holds for a command-line --data value.
std::vector<std::string> split_data_spec(const std::string& comma_separated);

}  // namespace dpok::data
