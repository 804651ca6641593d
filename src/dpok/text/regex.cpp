// PCRE2 wrapper (see regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "dpok/text/regex.h"

#include <pcre2.h>

#include "dpok/core/error.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

// Per-thread JIT stack: long runs of whitespace against `\s+(?!\S)` overflow PCRE2's default
// 32 KiB machine stack, so every thread gets one that may grow to 8 MiB.
struct JitStack {
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  JitStack() {
    if (stack != nullptr && context != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~JitStack() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
  JitStack(const JitStack&) = delete;
  JitStack& operator=(const JitStack&) = delete;
};

pcre2_match_context* thread_match_context() {
  thread_local JitStack jit;
  return jit.context;
}

struct MatchData {
  pcre2_match_data* data;
  explicit MatchData(const pcre2_code* code)
      : data(pcre2_match_data_create_from_pattern(code, nullptr)) {
    DPOK_CHECK(data != nullptr, "pcre2_match_data_create_from_pattern failed");
  }
  ~MatchData() { pcre2_match_data_free(data); }
  MatchData(const MatchData&) = delete;
  MatchData& operator=(const MatchData&) = delete;
};

}  // namespace

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

Regex::Regex(const std::string& pattern, const std::string& where)
    : pattern_(pattern), code_(std::make_unique<Code>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (code_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    DPOK_THROW(FormatError, "tokenizer", "{}: regex /{}/ does not compile at offset {}: {}", where,
               pattern, offset, reinterpret_cast<const char*>(message));
  }
  code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;

void Regex::find_all(std::string_view subject, std::vector<ByteRange>& out) const {
  MatchData match(code_->code);
  const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t last_end = 0;
  size_t last_match_end = static_cast<size_t>(-1);
  while (last_end <= subject.size()) {
    int rc = pcre2_match(code_->code, text, subject.size(), last_end, PCRE2_NO_UTF_CHECK,
                         match.data, thread_match_context());
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      DPOK_THROW(UnsupportedError, "tokenizer", "regex /{}/ failed on a {}-byte input: {}",
                 pattern_, subject.size(), reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const size_t start = ovector[0];
    const size_t end = ovector[1];
    if (start == end && end == last_match_end) {
      // Oniguruma's find_iter: skip an empty match right after the previous one.
      last_end += last_end < subject.size()
                      ? utf8_sequence_length(static_cast<unsigned char>(subject[last_end]))
                      : 1;
      continue;
    }
    last_end = end;
    last_match_end = end;
    out.emplace_back(start, end);
  }
}

void find_all_literal(std::string_view haystack, std::string_view needle,
                      std::vector<ByteRange>& out) {
  if (needle.empty()) return;
  size_t pos = 0;
  while ((pos = haystack.find(needle, pos)) != std::string_view::npos) {
    out.emplace_back(pos, pos + needle.size());
    pos += needle.size();
  }
}

}  // namespace dpok::text
