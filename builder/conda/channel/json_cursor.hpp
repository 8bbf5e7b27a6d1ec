#pragma once
// A forward-only JSON tokenizer over bytes already in memory, for repodata:
// the index pass skips hundreds of megabytes of records without building
// anything, and the record parser reads one small object at a time. Both
// need the same strict view of the syntax (RFC 8259), so both use this.
//
// Strings are returned raw (the bytes between the quotes) with a flag when
// they hold escapes; decode_json_string() turns raw into text. Skipping
// checks structure fully (brackets, commas, colons, string termination,
// control characters, literals, number characters) but does not decode.
// Nesting is bounded (kMaxJsonDepth) so hostile input cannot exhaust the
// stack. Errors throw JsonSyntaxError with the byte offset.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace envbuild::builder::conda {

inline constexpr int kMaxJsonDepth = 64;

class JsonSyntaxError : public std::runtime_error {
 public:
  JsonSyntaxError(size_t offset, const std::string& what)
      : std::runtime_error(what + " at byte " + std::to_string(offset)), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

class JsonCursor {
 public:
  // `origin` is the offset of text[0] in the whole document, for messages.
  explicit JsonCursor(std::string_view text, size_t origin = 0)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), origin_(origin) {}

  void skip_ws() {
    while (p_ < end_) {
      char c = *p_;
      if (c == ' ') {
        // Pretty-printed repodata indents every line: 8 spaces a step.
        uint64_t word = 0;
        if (end_ - p_ >= 8 && (std::memcpy(&word, p_, 8), word == 0x2020202020202020ULL)) {
          p_ += 8;
          continue;
        }
      } else if (c != '\n' && c != '\r' && c != '\t') {
        return;
      }
      ++p_;
    }
  }
  // Next non-blank byte, or '\0' at the end.
  char peek() {
    skip_ws();
    return p_ < end_ ? *p_ : '\0';
  }
  bool at_end() {
    skip_ws();
    return p_ == end_;
  }
  bool try_consume(char c) {
    if (peek() != c) return false;
    ++p_;
    return true;
  }
  void expect(char c);

  // At a '"': the raw bytes of the string; `escaped` tells whether they hold
  // backslash escapes.
  std::string_view raw_string(bool& escaped);
  // Skips one value of any type.
  void skip_value() { skip_value(0); }
  // At a number: its text, checked against the JSON grammar.
  std::string_view number_token();
  // At `true`, `false` or `null`: which one (consumed); nullopt otherwise
  // (nothing consumed).
  std::optional<char> literal();

  size_t offset() const { return origin_ + static_cast<size_t>(p_ - begin_); }
  const char* position() const { return p_; }
  [[noreturn]] void fail(const std::string& what) const { throw JsonSyntaxError(offset(), what); }

 private:
  void skip_value(int depth);
  const char* begin_;
  const char* p_;
  const char* end_;
  size_t origin_;
};

// Decodes a raw string (escapes, \u with surrogate pairs) into UTF-8.
// Returns false on a malformed escape or a lone surrogate.
bool decode_json_string(std::string_view raw, std::string& out);

// Parses a JSON number token as an integer; nullopt when it has a fraction
// or exponent, or does not fit.
std::optional<int64_t> json_integer(std::string_view token);

}  // namespace envbuild::builder::conda
