// Streaming readers for preference data files (see json_stream.h).
#include "dpok/data/json_stream.h"

#include <glob.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data";
constexpr size_t kChunk = 1 << 16;

// RAII FILE* holder.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr open_file(const std::filesystem::path& path) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) DPOK_THROW(IoError, kComponent, "cannot open data file {}", path.string());
  return file;
}

size_t read_raw(std::FILE* file, const std::filesystem::path& path, char* out, size_t n) {
  const size_t got = std::fread(out, 1, n, file);
  if (got < n && std::ferror(file)) {
    DPOK_THROW(IoError, kComponent, "read error in data file {}", path.string());
  }
  return got;
}

class PlainSource : public ByteSource {
 public:
  PlainSource(std::filesystem::path path, FilePtr file)
      : path_(std::move(path)), file_(std::move(file)) {}
  size_t read(char* out, size_t capacity) override {
    return read_raw(file_.get(), path_, out, capacity);
  }

 private:
  std::filesystem::path path_;
  FilePtr file_;
};

// gzip (and concatenated gzip members) through zlib's inflate with automatic header detection.
class GzipSource : public ByteSource {
 public:
  GzipSource(std::filesystem::path path, FilePtr file)
      : path_(std::move(path)), file_(std::move(file)), in_(kChunk) {
    std::memset(&stream_, 0, sizeof(stream_));
    if (inflateInit2(&stream_, 15 + 32) != Z_OK) {
      DPOK_THROW(IoError, kComponent, "zlib initialisation failed for {}", path_.string());
    }
  }
  ~GzipSource() override { inflateEnd(&stream_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  size_t read(char* out, size_t capacity) override {
    stream_.next_out = reinterpret_cast<Bytef*>(out);
    stream_.avail_out = static_cast<uInt>(capacity);
    while (stream_.avail_out == capacity && !finished_) {
      if (stream_.avail_in == 0) {
        const size_t got = read_raw(file_.get(), path_, in_.data(), in_.size());
        if (got == 0) {
          if (!member_done_) {
            DPOK_THROW(FormatError, kComponent, "{}: truncated gzip stream", path_.string());
          }
          finished_ = true;
          break;
        }
        stream_.next_in = reinterpret_cast<Bytef*>(in_.data());
        stream_.avail_in = static_cast<uInt>(got);
      }
      member_done_ = false;
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        member_done_ = true;  // another gzip member may follow
        inflateReset(&stream_);
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        DPOK_THROW(FormatError, kComponent, "{}: corrupt gzip stream ({})", path_.string(),
                   stream_.msg ? stream_.msg : "inflate error");
      }
    }
    return capacity - stream_.avail_out;
  }

 private:
  std::filesystem::path path_;
  FilePtr file_;
  std::vector<char> in_;
  z_stream stream_;
  bool finished_ = false;
  bool member_done_ = true;
};

class ZstdSource : public ByteSource {
 public:
  ZstdSource(std::filesystem::path path, FilePtr file)
      : path_(std::move(path)), file_(std::move(file)), in_(ZSTD_DStreamInSize()) {
    stream_ = ZSTD_createDStream();
    if (stream_ == nullptr) {
      DPOK_THROW(IoError, kComponent, "zstd initialisation failed for {}", path_.string());
    }
    ZSTD_initDStream(stream_);
  }
  ~ZstdSource() override { ZSTD_freeDStream(stream_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  size_t read(char* out, size_t capacity) override {
    ZSTD_outBuffer output{out, capacity, 0};
    while (output.pos == 0) {
      if (input_.pos == input_.size) {
        const size_t got = read_raw(file_.get(), path_, in_.data(), in_.size());
        if (got == 0) {
          if (last_hint_ != 0) {
            DPOK_THROW(FormatError, kComponent, "{}: truncated zstd stream", path_.string());
          }
          return 0;
        }
        input_ = ZSTD_inBuffer{in_.data(), got, 0};
      }
      last_hint_ = ZSTD_decompressStream(stream_, &output, &input_);
      if (ZSTD_isError(last_hint_)) {
        DPOK_THROW(FormatError, kComponent, "{}: corrupt zstd stream ({})", path_.string(),
                   ZSTD_getErrorName(last_hint_));
      }
    }
    return output.pos;
  }

 private:
  std::filesystem::path path_;
  FilePtr file_;
  std::vector<char> in_;
  ZSTD_DStream* stream_ = nullptr;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  size_t last_hint_ = 0;
};

}  // namespace

std::unique_ptr<ByteSource> ByteSource::open(const std::filesystem::path& path) {
  FilePtr file = open_file(path);
  std::array<unsigned char, 4> magic{};
  const size_t got = std::fread(magic.data(), 1, magic.size(), file.get());
  std::rewind(file.get());
  if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    return std::make_unique<GzipSource>(path, std::move(file));
  }
  if (got >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return std::make_unique<ZstdSource>(path, std::move(file));
  }
  return std::make_unique<PlainSource>(path, std::move(file));
}

RecordReader::RecordReader(const std::filesystem::path& path)
    : path_(path), source_(ByteSource::open(path)), buffer_(kChunk) {
  // Skip a UTF-8 byte-order mark, then decide between a JSON array and JSON Lines.
  if (peek() == 0xEF) {
    get();
    if (get() != 0xBB || get() != 0xBF) {
      DPOK_THROW(FormatError, kComponent, "{}:1: invalid byte-order mark", path_.string());
    }
  }
  skip_whitespace();
  if (peek() == '[') {
    is_array_ = true;
    get();
  }
}

RecordReader::~RecordReader() = default;

bool RecordReader::fill() {
  pos_ = 0;
  end_ = source_->read(buffer_.data(), buffer_.size());
  return end_ > 0;
}

int RecordReader::peek() {
  if (pos_ == end_ && !fill()) return -1;
  return static_cast<unsigned char>(buffer_[pos_]);
}

int RecordReader::get() {
  const int c = peek();
  if (c < 0) return c;
  ++pos_;
  if (c == '\n') ++line_;
  return c;
}

void RecordReader::skip_whitespace() {
  for (int c = peek(); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek()) get();
}

std::optional<RawRecord> RecordReader::next() {
  return is_array_ ? next_array_element() : next_line();
}

std::optional<RawRecord> RecordReader::next_line() {
  for (;;) {
    if (peek() < 0) return std::nullopt;
    RawRecord record;
    record.line = line_;
    // Copy up to the newline chunk by chunk (memchr keeps long lines fast).
    for (;;) {
      if (pos_ == end_ && !fill()) break;
      const char* begin = buffer_.data() + pos_;
      const void* nl = std::memchr(begin, '\n', end_ - pos_);
      if (nl == nullptr) {
        record.text.append(begin, end_ - pos_);
        pos_ = end_;
        continue;
      }
      const size_t n = static_cast<const char*>(nl) - begin;
      record.text.append(begin, n);
      pos_ += n + 1;
      ++line_;
      break;
    }
    if (!record.text.empty() && record.text.back() == '\r') record.text.pop_back();
    const bool blank = std::all_of(record.text.begin(), record.text.end(),
                                   [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
    if (blank) continue;
    record.ordinal = ordinal_++;
    return record;
  }
}

// Scans one top-level array element, tracking string literals and nesting depth; the element's
// text is handed to the JSON parser unchanged, so its syntax errors are reported there.
std::optional<RawRecord> RecordReader::next_array_element() {
  if (array_done_) return std::nullopt;
  skip_whitespace();
  if (peek() == ']') {
    get();
    skip_whitespace();
    if (peek() >= 0) {
      DPOK_THROW(FormatError, kComponent, "{}:{}: unexpected text after the closing ']'",
                 path_.string(), line_);
    }
    array_done_ = true;
    return std::nullopt;
  }
  RawRecord record;
  record.line = line_;
  record.ordinal = ordinal_++;
  int depth = 0;
  bool in_string = false, escaped = false;
  for (;;) {
    const int c = peek();
    if (c < 0) {
      DPOK_THROW(FormatError, kComponent,
                 "{}:{}: unexpected end of file inside the JSON array (record {} starting at "
                 "line {})",
                 path_.string(), line_, record.ordinal, record.line);
    }
    if (!in_string && depth == 0 && (c == ',' || c == ']')) {
      if (c == ',') get();
      break;
    }
    get();
    record.text.push_back(static_cast<char>(c));
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  while (!record.text.empty() && std::isspace(static_cast<unsigned char>(record.text.back()))) {
    record.text.pop_back();
  }
  return record;
}

std::vector<std::filesystem::path> expand_data_spec(const std::vector<std::string>& items) {
  std::vector<std::filesystem::path> files;
  for (const auto& item : items) {
    if (item.empty()) continue;
    if (item.find_first_of("*?[") == std::string::npos) {
      if (!std::filesystem::is_regular_file(item)) {
        DPOK_THROW(IoError, kComponent, "data file {} does not exist", item);
      }
      files.emplace_back(item);
      continue;
    }
    glob_t matches{};
    const int rc = ::glob(item.c_str(), 0, nullptr, &matches);
    std::vector<std::filesystem::path> found;
    if (rc == 0) {
      for (size_t i = 0; i < matches.gl_pathc; ++i) found.emplace_back(matches.gl_pathv[i]);
    }
    globfree(&matches);
    if (found.empty()) DPOK_THROW(IoError, kComponent, "data pattern {} matches no file", item);
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  if (files.empty()) DPOK_THROW(ConfigError, kComponent, "no data files given");
  return files;
}

std::vector<std::string> split_data_spec(const std::string& comma_separated) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= comma_separated.size()) {
    const size_t comma = std::min(comma_separated.find(',', start), comma_separated.size());
    if (comma > start) items.push_back(comma_separated.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

std::vector<std::filesystem::path> expand_data_spec(const std::string& comma_separated) {
  return expand_data_spec(split_data_spec(comma_separated));
}

}  // namespace dpok::data
