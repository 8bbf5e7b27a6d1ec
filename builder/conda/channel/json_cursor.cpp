#include "builder/conda/channel/json_cursor.hpp"

#include <charconv>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace envbuild::builder::conda {
namespace {

// Bytes a string's scan must stop at: the closing quote, an escape, or a
// control character (not allowed unescaped, RFC 8259 section 7).
inline bool string_stop(unsigned char c) { return c == '"' || c == '\\' || c < 0x20; }

// The first stop byte in [p, end), or end. Strings are most of a repodata
// document's bytes, so this loop is the index pass's inner loop: 16 bytes
// per step where SSE2 exists (every x86-64).
inline const char* find_string_stop(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i control_max = _mm_set1_epi8(0x1f);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
    // v <= 0x1f (unsigned) exactly when max(v, 0x1f) == 0x1f.
    hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max));
    int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p < end && !string_stop(static_cast<unsigned char>(*p))) ++p;
  return p;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool read_hex4(std::string_view raw, size_t at, uint32_t& out) {
  if (at + 4 > raw.size()) return false;
  out = 0;
  for (size_t i = at; i < at + 4; ++i) {
    int d = hex_digit(raw[i]);
    if (d < 0) return false;
    out = out * 16 + static_cast<uint32_t>(d);
  }
  return true;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

}  // namespace

void JsonCursor::expect(char c) {
  if (peek() != c) {
    if (p_ == end_) fail(std::string("expected '") + c + "' but the document ended");
    fail(std::string("expected '") + c + "'");
  }
  ++p_;
}

std::string_view JsonCursor::raw_string(bool& escaped) {
  if (peek() != '"') fail("expected a string");
  const char* start = ++p_;
  escaped = false;
  for (;;) {
    p_ = find_string_stop(p_, end_);
    if (p_ == end_) fail("unterminated string");
    char c = *p_;
    if (c == '"') break;
    if (c == '\\') {
      // The escape's validity is checked when decoding; here only its
      // length matters (a \" must not end the string).
      escaped = true;
      if (end_ - p_ < 2) fail("unterminated string");
      p_ += 2;
      continue;
    }
    fail("control character in string");
  }
  std::string_view raw(start, static_cast<size_t>(p_ - start));
  ++p_;
  return raw;
}

std::string_view JsonCursor::number_token() {
  skip_ws();
  const char* start = p_;
  if (p_ < end_ && *p_ == '-') ++p_;
  if (p_ == end_ || !is_digit(*p_)) fail("malformed number");
  if (*p_ == '0') {
    ++p_;
  } else {
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (p_ == end_ || !is_digit(*p_)) fail("malformed number");
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (p_ == end_ || !is_digit(*p_)) fail("malformed number");
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  return std::string_view(start, static_cast<size_t>(p_ - start));
}

std::optional<char> JsonCursor::literal() {
  skip_ws();
  auto match = [&](std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0) {
      return false;
    }
    p_ += word.size();
    return true;
  };
  if (match("true")) return 't';
  if (match("false")) return 'f';
  if (match("null")) return 'n';
  return std::nullopt;
}

void JsonCursor::skip_value(int depth) {
  char c = peek();
  bool escaped = false;
  switch (c) {
    case '"':
      raw_string(escaped);
      return;
    case '{':
      if (depth >= kMaxJsonDepth) fail("nesting too deep");
      ++p_;
      if (try_consume('}')) return;
      do {
        raw_string(escaped);
        expect(':');
        skip_value(depth + 1);
      } while (try_consume(','));
      expect('}');
      return;
    case '[':
      if (depth >= kMaxJsonDepth) fail("nesting too deep");
      ++p_;
      if (try_consume(']')) return;
      do {
        skip_value(depth + 1);
      } while (try_consume(','));
      expect(']');
      return;
    case '\0':
      if (p_ == end_) fail("expected a value but the document ended");
      fail("unexpected byte");
    default:
      if (c == '-' || is_digit(c)) {
        number_token();
        return;
      }
      if (!literal()) fail("unexpected byte");
      return;
  }
}

bool decode_json_string(std::string_view raw, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= raw.size()) return false;
    switch (raw[i]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (!read_hex4(raw, i + 1, cp)) return false;
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff) {
          uint32_t low = 0;
          if (i + 2 >= raw.size() || raw[i + 1] != '\\' || raw[i + 2] != 'u' ||
              !read_hex4(raw, i + 3, low) || low < 0xdc00 || low > 0xdfff) {
            return false;
          }
          i += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
          return false;
        }
        append_utf8(cp, out);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

std::optional<int64_t> json_integer(std::string_view token) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return value;
}

}  // namespace envbuild::builder::conda
