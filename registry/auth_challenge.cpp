#include "registry/auth_challenge.hpp"

#include <cctype>

#include "registry/error.hpp"

namespace envbuild::registry {
namespace {

// RFC 7230 tchar.
bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void malformed(const std::string& why) {
  throw Error(ErrorKind::Registry, "malformed WWW-Authenticate header from the registry: " + why);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::vector<AuthChallenge> parse() {
    if (s_.size() > 16 * 1024) malformed("longer than 16 KiB");
    std::vector<AuthChallenge> out;
    skip_separators();
    if (at_end()) malformed("empty");
    while (!at_end()) {
      out.push_back(parse_challenge());
      skip_separators();
    }
    return out;
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  void skip_ws() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void skip_separators() {
    while (!at_end() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string_view token() {
    size_t start = i_;
    while (!at_end() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }

  // RFC 7235 token68 without its '=' padding.
  std::string_view token68_chars() {
    size_t start = i_;
    while (!at_end() &&
           (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' || s_[i_] == '.' ||
            s_[i_] == '_' || s_[i_] == '~' || s_[i_] == '+' || s_[i_] == '/')) {
      ++i_;
    }
    return s_.substr(start, i_ - start);
  }

  // After a parameter name, is there an '=' that starts a value (and not a
  // token68's trailing padding)?
  bool at_param_equals() {
    size_t save = i_;
    skip_ws();
    bool yes = !at_end() && s_[i_] == '=';
    if (yes) {
      size_t j = i_ + 1;
      while (j < s_.size() && (s_[j] == ' ' || s_[j] == '\t')) ++j;
      // "abc=" or "abc==" before the end or a comma is token68 padding.
      yes = j < s_.size() && s_[j] != '=' && s_[j] != ',';
    }
    i_ = save;
    return yes;
  }

  std::string quoted_string() {
    ++i_;  // opening quote
    std::string out;
    while (!at_end()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) break;
        c = s_[i_++];
      }
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
        malformed("control character in a quoted value");
      out += c;
    }
    malformed("unterminated quoted string");
  }

  AuthChallenge parse_challenge() {
    AuthChallenge ch;
    std::string_view scheme = token();
    if (scheme.empty()) malformed("expected an auth scheme at offset " + std::to_string(i_));
    ch.scheme = lower(scheme);
    bool had_space = !at_end() && (s_[i_] == ' ' || s_[i_] == '\t');
    skip_ws();
    if (at_end() || s_[i_] == ',') return ch;  // scheme without parameters
    if (!had_space) malformed("expected a space after scheme '" + ch.scheme + "'");
    // token68 form: a single token possibly ending in '=' padding, then end or comma.
    {
      size_t save = i_;
      std::string_view t = token68_chars();
      if (!t.empty() && !at_param_equals()) {
        while (!at_end() && s_[i_] == '=') ++i_;
        skip_ws();
        if (at_end() || s_[i_] == ',') {
          ch.token68 = std::string(s_.substr(save, i_ - save));
          while (!ch.token68.empty() && (ch.token68.back() == ' ' || ch.token68.back() == '\t')) {
            ch.token68.pop_back();
          }
          return ch;
        }
      }
      i_ = save;
    }
    for (;;) {
      size_t param_start = i_;
      std::string_view name = token();
      if (name.empty()) malformed("expected a parameter name at offset " + std::to_string(i_));
      skip_ws();
      if (at_end() || s_[i_] != '=') {
        // A bare token after a comma starts the next challenge.
        if (!ch.params.empty()) {
          i_ = param_start;
          return ch;
        }
        malformed("parameter '" + std::string(name) + "' has no value");
      }
      ++i_;
      skip_ws();
      std::string value;
      if (!at_end() && s_[i_] == '"') {
        value = quoted_string();
      } else {
        std::string_view v = token();
        if (v.empty()) malformed("parameter '" + std::string(name) + "' has no value");
        value = std::string(v);
      }
      std::string key = lower(name);
      if (ch.params.count(key)) malformed("parameter '" + key + "' given twice");
      ch.params.emplace(std::move(key), std::move(value));
      skip_ws();
      if (at_end()) return ch;
      if (s_[i_] != ',') malformed("expected ',' at offset " + std::to_string(i_));
      skip_separators();
      if (at_end()) return ch;
      // Peek: "name=" continues this challenge, "scheme ..." starts another.
      size_t save = i_;
      std::string_view next = token();
      skip_ws();
      bool is_param = !next.empty() && !at_end() && s_[i_] == '=';
      i_ = save;
      if (!is_param) return ch;
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<std::string> AuthChallenge::param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header) {
  return Parser(header).parse();
}

std::optional<AuthChallenge> find_challenge(const std::vector<std::string>& header_values,
                                            std::string_view scheme) {
  for (const std::string& value : header_values) {
    try {
      for (AuthChallenge& ch : parse_www_authenticate(value)) {
        if (ch.scheme == scheme) return std::move(ch);
      }
    } catch (const Error&) {
      // A malformed challenge among several is ignored; the caller reports
      // "no usable challenge" if nothing else fits.
    }
  }
  return std::nullopt;
}

}  // namespace envbuild::registry
