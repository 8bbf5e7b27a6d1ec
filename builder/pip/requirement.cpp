#include "builder/pip/requirement.hpp"

#include <algorithm>
#include <utility>

#include "builder/spec_text.hpp"

namespace envbuild::builder::pip {

namespace {

constexpr std::size_t kMaxLineLength = 8192;

bool is_name_char(char c) { return is_alnum(c) || is_separator(c); }

class RequirementParser {
 public:
  explicit RequirementParser(std::string_view line) : line_(line) {}

  PipRequirement run() {
    if (std::optional<std::string> problem = line_problem(line_, kMaxLineLength)) fail(*problem);
    s_ = trim_blanks(line_);
    if (s_.empty()) fail("empty");
    parse_name();
    skip();
    if (peek() == '[') parse_extras();
    skip();
    char c = peek();
    if (c == '@') {
      ++i_;
      parse_url();
    } else if (c == '(') {
      std::size_t close = s_.find(')', i_);
      if (close == std::string_view::npos) fail("'(' without ')'");
      std::string_view inner = s_.substr(i_ + 1, close - i_ - 1);
      if (trim_blanks(inner).empty()) fail("empty '()'");
      set_specifiers(inner);
      i_ = close + 1;
      skip();
      if (i_ < s_.size() && s_[i_] != ';') fail("unexpected " + rest() + " after ')'");
    } else if (c == '<' || c == '>' || c == '=' || c == '!' || c == '~') {
      std::size_t semi = s_.find(';', i_);
      std::size_t end = semi == std::string_view::npos ? s_.size() : semi;
      set_specifiers(s_.substr(i_, end - i_));
      i_ = end;
    } else if (i_ < s_.size() && c != ';') {
      fail(
          "expected a version specifier, '[extras]', '@ URL' or '; marker' after the name, found " +
          rest());
    }
    if (peek() == ';') {
      ++i_;
      std::string_view text = trim_blanks(s_.substr(i_));
      if (text.empty()) fail("';' without a marker");
      std::string why;
      req_.marker = Marker::try_parse(text, &why);
      if (!req_.marker) fail("marker " + quote_input(text) + ": " + why);
    }
    return std::move(req_);
  }

 private:
  std::string_view line_;
  std::string_view s_;
  std::size_t i_ = 0;
  PipRequirement req_;

  [[noreturn]] void fail(const std::string& what) const {
    throw_invalid("requirement", line_, what);
  }
  std::string rest() const { return quote_input(s_.substr(i_, 20)); }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip() {
    while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
  }

  // letter/digit ( [-_.letter/digit]* letter/digit )?
  std::string identifier(const char* what) {
    std::size_t start = i_;
    while (i_ < s_.size() && is_name_char(s_[i_])) ++i_;
    std::string_view id = s_.substr(start, i_ - start);
    if (id.empty()) fail(std::string("expected ") + what + ", found " + rest());
    if (!is_alnum(id.front()) || !is_alnum(id.back())) {
      fail(std::string("invalid ") + what + " " + quote_input(id) +
           " (letters and digits, joined by '-', '_' or '.')");
    }
    return normalize_name(id);
  }

  void parse_name() { req_.name = identifier("a package name"); }

  void parse_extras() {
    ++i_;  // '['
    skip();
    if (peek() == ']') {
      ++i_;
      return;
    }
    while (true) {
      skip();
      if (i_ == s_.size()) fail("'[' without ']'");
      req_.extras.push_back(identifier("an extra name"));
      skip();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      if (peek() == ']') {
        ++i_;
        break;
      }
      if (i_ == s_.size()) fail("'[' without ']'");
      fail("expected ',' or ']' in the extras, found " + rest());
    }
    std::sort(req_.extras.begin(), req_.extras.end());
    req_.extras.erase(std::unique(req_.extras.begin(), req_.extras.end()), req_.extras.end());
  }

  void set_specifiers(std::string_view text) {
    std::string why;
    std::optional<SpecifierSet> set = SpecifierSet::try_parse(text, &why);
    if (!set) fail("version specifier " + why);
    req_.specifiers = std::move(*set);
  }

  void parse_url() {
    skip();
    std::size_t start = i_;
    while (i_ < s_.size() && !is_blank(s_[i_])) ++i_;
    std::string_view url = s_.substr(start, i_ - start);
    if (url.empty()) fail("'@' without a URL");
    std::size_t colon = url.find(':');
    bool scheme_ok = colon != std::string_view::npos && colon > 0 && colon + 1 < url.size() &&
                     ((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z'));
    for (std::size_t k = 0; scheme_ok && k < colon; ++k) {
      char c = url[k];
      scheme_ok = is_alnum(c) || c == '+' || c == '-' || c == '.';
    }
    if (!scheme_ok) fail("the URL after '@' must be absolute, like https://... or file:///...");
    for (char c : url) {
      if (!is_alnum(c) &&
          std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) == std::string_view::npos)
        fail("character " + quote_input(std::string_view(&c, 1)) + " is not allowed in a URL");
    }
    req_.url = std::string(url);
    std::size_t after = i_;
    skip();
    if (i_ < s_.size() && (s_[i_] != ';' || i_ == after))
      fail("unexpected " + rest() + " after the URL");
  }
};

}  // namespace

std::string normalize_name(std::string_view name) {
  std::string out;
  bool in_run = false;
  for (char c : name) {
    if (is_separator(c)) {
      if (!in_run) out += '-';
      in_run = true;
    } else {
      out += lower(c);
      in_run = false;
    }
  }
  return out;
}

PipRequirement PipRequirement::parse(std::string_view line) {
  return RequirementParser(line).run();
}

std::string PipRequirement::canonical() const {
  std::string out = name;
  if (!extras.empty()) {
    out += "[";
    for (std::size_t i = 0; i < extras.size(); ++i) out += (i ? "," : "") + extras[i];
    out += "]";
  }
  if (url) {
    out += " @ " + *url;
    if (marker) out += " ; " + marker->str();
    return out;
  }
  out += specifiers.str();
  if (marker) out += "; " + marker->str();
  return out;
}

}  // namespace envbuild::builder::pip
