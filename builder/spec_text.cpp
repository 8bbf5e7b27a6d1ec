#include "builder/spec_text.hpp"

#include <cstdio>

#include "registry/error.hpp"

namespace envbuild::builder {

std::string quote_input(std::string_view text) {
  constexpr std::size_t kMax = 200;
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += text.size() > kMax ? "'..." : "'";
  return out;
}

void throw_invalid(std::string_view what, std::string_view text, std::string_view why) {
  throw Error(ErrorKind::BadInput,
              "invalid " + std::string(what) + " " + quote_input(text) + ": " + std::string(why));
}

std::size_t find_control_char(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t') || c >= 0x7f) return i;
  }
  return std::string_view::npos;
}

std::optional<std::string> line_problem(std::string_view line, std::size_t max_length) {
  if (line.size() > max_length) return "longer than " + std::to_string(max_length) + " characters";
  if (std::size_t at = find_control_char(line); at != std::string_view::npos)
    return "control or non-ASCII character at column " + std::to_string(at + 1);
  return std::nullopt;
}

}  // namespace envbuild::builder
