#include "builder/definition/conda_selectors.hpp"

#include <cctype>
#include <sstream>
#include <vector>

#include "registry/error.hpp"

namespace envbuild::builder {

namespace {

class SelectorParser {
 public:
  SelectorParser(std::string_view text, const std::set<std::string>& truths)
      : text_(text), truths_(truths) {}

  bool parse() {
    bool v = disjunction();
    skip_space();
    if (pos_ != text_.size()) fail("unexpected '" + std::string(text_.substr(pos_, 10)) + "'");
    return v;
  }

 private:
  bool disjunction() {
    bool v = conjunction();
    while (keyword("or")) v = conjunction() || v;
    return v;
  }
  bool conjunction() {
    bool v = negation();
    while (keyword("and")) v = negation() && v;
    return v;
  }
  bool negation() {
    if (keyword("not")) return !negation();
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      if (++depth_ > 64) fail("nested too deeply");
      bool v = disjunction();
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ')') fail("missing ')'");
      ++pos_;
      --depth_;
      return v;
    }
    std::string name = word();
    if (name.empty())
      fail(pos_ < text_.size() ? "unexpected '" + std::string(1, text_[pos_]) + "'"
                               : "expression ends too early");
    if (name == "and" || name == "or" || name == "not") fail("'" + name + "' needs an operand");
    if (!known_selector_names().count(name)) fail("unknown name '" + name + "'");
    return truths_.count(name) > 0;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
  }
  std::string word() {
    skip_space();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
      ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  bool keyword(std::string_view k) {
    size_t save = pos_;
    if (word() == k) return true;
    pos_ = save;
    return false;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::BadInput,
                "selector '[" + std::string(text_.substr(0, 200)) + "]': " + what);
  }

  std::string_view text_;
  const std::set<std::string>& truths_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// The selector of a line: the text between "# [" and the last "]" when the
// line ends with it; npos when there is none.
size_t selector_start(const std::string& line, std::string& expression) {
  size_t end = line.find_last_not_of(" \t\r");
  if (end == std::string::npos || line[end] != ']') return std::string::npos;
  size_t open = line.rfind('[', end);
  if (open == std::string::npos) return std::string::npos;
  size_t hash = line.find_last_not_of(" \t", open - 1);
  if (open == 0 || hash == std::string::npos || line[hash] != '#') return std::string::npos;
  expression = line.substr(open + 1, end - open - 1);
  return hash;
}

}  // namespace

const std::set<std::string>& known_selector_names() {
  static const std::set<std::string> names = {
      "linux", "linux32", "linux64", "armv6l", "armv7l", "aarch64", "ppc64le", "s390x",  "osx",
      "osx64", "arm64",   "unix",    "win",    "win32",  "win64",   "x86",     "x86_64", "riscv64"};
  return names;
}

bool evaluate_selector(std::string_view expression, const std::set<std::string>& truths) {
  return SelectorParser(expression, truths).parse();
}

std::string apply_comment_selectors(const std::string& text, const std::string& display,
                                    const std::set<std::string>& truths) {
  std::istringstream in(text);
  std::string out, line;
  int number = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++number;
    if (!first) out += '\n';
    first = false;
    std::string expression;
    size_t hash = selector_start(line, expression);
    if (hash == std::string::npos) {
      out += line;
      continue;
    }
    bool keep = false;
    try {
      keep = evaluate_selector(expression, truths);
    } catch (const Error& e) {
      throw Error(ErrorKind::BadInput, display + ":" + std::to_string(number) + ": " + e.what());
    }
    if (keep) out += line.substr(0, hash);
  }
  if (!text.empty() && text.back() == '\n') out += '\n';
  return out;
}

}  // namespace envbuild::builder
