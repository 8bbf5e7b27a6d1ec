#pragma once
// Small text helpers shared by the package-spec parsers (builder/conda and
// builder/pip): ASCII character classes, trimming, and the checks and error
// messages for input text. Everything is byte-wise ASCII and independent of
// the C locale.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace envbuild::builder {

// `text` in single quotes for an error message: at most 200 characters (then
// "..."), bytes outside printable ASCII as \xNN, so a message stays one line.
std::string quote_input(std::string_view text);

// Error(BadInput) "invalid <what> '<text>': <why>", the text quoted by
// quote_input.
[[noreturn]] void throw_invalid(std::string_view what, std::string_view text, std::string_view why);

// T::try_parse(text, &error), or throw_invalid(what, text, error) when it
// fails.
template <typename T>
T parse_or_throw(std::string_view text, std::string_view what) {
  std::string error;
  std::optional<T> value = T::try_parse(text, &error);
  if (!value) throw_invalid(what, text, error);
  return std::move(*value);
}

// Where `text` has its first control character other than a tab, or its first
// byte outside ASCII; npos when there is none.
std::size_t find_control_char(std::string_view text);

// Why `line` is refused before it is parsed: "longer than N characters" or
// "control or non-ASCII character at column N" (tabs are allowed); nullopt
// when it is not.
std::optional<std::string> line_problem(std::string_view line, std::size_t max_length);

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
// `-`, `_` or `.`, the separators of conda and PEP 440/503 names and versions.
constexpr bool is_separator(char c) { return c == '-' || c == '_' || c == '.'; }
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// A space or a tab: the white space of conda specs and PEP 508 lines.
constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }
// is_blank or \n \r \f \v: the white space PEP 440 strips around versions and
// specifiers.
constexpr bool is_space(char c) {
  return is_blank(c) || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `s` without leading and trailing is_blank characters.
constexpr std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}
// `s` without leading and trailing is_space characters.
constexpr std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The str() of each of `children` joined by `separator`, in parentheses where
// `parenthesize(child)` says: the text of an and/or group.
template <typename Node, typename Parenthesize>
std::string join_group(const std::vector<Node>& children, std::string_view separator,
                       Parenthesize parenthesize) {
  std::string out;
  for (const Node& child : children) {
    if (!out.empty()) out += separator;
    out += parenthesize(child) ? "(" + child.str() + ")" : child.str();
  }
  return out;
}

// -1, 0 or 1, the sign of `v` (of a std::string::compare result, say).
constexpr int sign(int v) { return (v > 0) - (v < 0); }

}  // namespace envbuild::builder
