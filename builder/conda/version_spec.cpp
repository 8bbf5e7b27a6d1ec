#include "builder/conda/version_spec.hpp"

#include <algorithm>
#include <utility>

#include "builder/spec_text.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr std::size_t kMaxSpecLength = 4096;
constexpr int kMaxDepth = 64;

bool is_operator_char(char c) { return c == '=' || c == '<' || c == '>' || c == '!' || c == '~'; }
bool ends_literal(char c) { return is_blank(c) || c == ',' || c == '|' || c == '(' || c == ')'; }

bool is_glob_char(char c) {
  c = lower(c);
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '+' ||
         c == '!' || c == '-' || c == '*';
}

}  // namespace

class VersionSpecParser {
 public:
  explicit VersionSpecParser(std::string_view text) : text_(text) {}

  VersionSpec run() {
    if (text_.size() > kMaxSpecLength)
      fail_at(kMaxSpecLength, "longer than " + std::to_string(kMaxSpecLength) + " characters");
    if (std::size_t at = find_control_char(text_); at != std::string_view::npos)
      fail_at(at, "control or non-ASCII character");
    skip_spaces();
    if (pos_ == text_.size()) fail_at(pos_, "empty");
    VersionSpec spec = parse_or(0);
    skip_spaces();
    if (pos_ < text_.size()) {
      if (text_[pos_] == ')') fail_at(pos_, "')' without a matching '('");
      fail_at(pos_, "unexpected " + quote_input(text_.substr(pos_, 1)));
    }
    return spec;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;

  [[noreturn]] void fail_at(std::size_t at, const std::string& what) const {
    throw Error(ErrorKind::BadInput, "invalid version spec " + quote_input(text_) + " at column " +
                                         std::to_string(at + 1) + ": " + what);
  }

  void skip_spaces() {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
  }

  char peek() {
    skip_spaces();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }

  VersionSpec parse_or(int depth) {
    std::vector<VersionSpec> items;
    items.push_back(parse_and(depth));
    while (peek() == '|') {
      ++pos_;
      items.push_back(parse_and(depth));
    }
    if (items.size() == 1) return std::move(items.front());
    return VersionSpec::normalized(VersionSpec::Kind::Or, std::move(items));
  }

  VersionSpec parse_and(int depth) {
    std::vector<VersionSpec> items;
    items.push_back(parse_term(depth));
    while (peek() == ',') {
      ++pos_;
      items.push_back(parse_term(depth));
    }
    if (items.size() == 1) return std::move(items.front());
    return VersionSpec::normalized(VersionSpec::Kind::And, std::move(items));
  }

  VersionSpec parse_term(int depth) {
    char c = peek();
    if (pos_ == text_.size()) fail_at(pos_, "expected a version at the end");
    if (c == '(') {
      if (depth >= kMaxDepth)
        fail_at(pos_, "more than " + std::to_string(kMaxDepth) + " nested parentheses");
      std::size_t open = pos_++;
      if (peek() == ')') fail_at(pos_, "empty parentheses");
      VersionSpec inner = parse_or(depth + 1);
      if (peek() != ')') fail_at(open, "'(' is never closed");
      ++pos_;
      return inner;
    }
    if (c == ')' || c == ',' || c == '|')
      fail_at(pos_, "expected a version before " + quote_input(text_.substr(pos_, 1)));
    return parse_clause();
  }

  VersionSpec parse_clause() {
    std::size_t start = pos_;
    while (pos_ < text_.size() && is_operator_char(text_[pos_])) ++pos_;
    std::string_view op = text_.substr(start, pos_ - start);
    static constexpr std::string_view kOps[] = {"", "==", "!=", "<=", ">=", "~=", "<", ">", "="};
    if (std::find(std::begin(kOps), std::end(kOps), op) == std::end(kOps))
      fail_at(start, "unknown operator " + quote_input(op));
    skip_spaces();
    std::size_t lit_start = pos_;
    while (pos_ < text_.size() && !ends_literal(text_[pos_])) ++pos_;
    std::string_view literal = text_.substr(lit_start, pos_ - lit_start);
    if (literal.empty()) {
      if (op.empty()) fail_at(start, "expected a version");
      fail_at(start, "operator " + quote_input(op) + " without a version");
    }
    std::size_t after = pos_;
    skip_spaces();
    if (pos_ > after && pos_ < text_.size() && !ends_literal(text_[pos_]))
      fail_at(after,
              "space inside a version (operators and versions are joined, clauses by ','/'|')");
    pos_ = after;
    if (literal.front() == '^' || literal.back() == '$')
      fail_at(lit_start, "regular expressions are not supported");

    VersionSpec spec;
    spec.clause_ = make_clause(op, literal, lit_start);
    return spec;
  }

  CondaVersion version_at(std::string_view literal, std::size_t at) const {
    try {
      return CondaVersion::parse(literal);
    } catch (const Error& e) {
      fail_at(at, e.what());
    }
  }

  VersionClause make_clause(std::string_view op, std::string_view literal, std::size_t at) const {
    VersionClause clause;
    if (op.empty()) return bare_clause(literal, at);
    if (literal == "*" && (op == "=" || op == "==")) return clause;  // conda: any version
    std::string_view base = literal;
    bool star = false;
    if (base.size() >= 2 && base.ends_with(".*")) {
      base.remove_suffix(2);
      star = true;
    } else if (base.ends_with("*") && (op == "=" || op == "==" || op == "!=")) {
      base.remove_suffix(1);
      star = true;
    }
    if (base.find('*') != std::string_view::npos)
      fail_at(at, "'*' after an operator can only be a trailing '.*'");
    if (op == "~=" && star) fail_at(at, "'~=' cannot be combined with '*'");
    clause.version = version_at(base, at);
    if (op == "=") {
      clause.op = VersionOp::StartsWith;
    } else if (op == "==") {
      clause.op = star ? VersionOp::StartsWith : VersionOp::Exact;
    } else if (op == "!=") {
      clause.op = star ? VersionOp::NotStartsWith : VersionOp::NotExact;
    } else if (op == "<") {
      clause.op = VersionOp::Less;
    } else if (op == "<=") {
      clause.op = VersionOp::LessEqual;
    } else if (op == ">") {
      clause.op = VersionOp::Greater;
    } else if (op == ">=") {
      clause.op = VersionOp::GreaterEqual;
    } else {
      // conda drops the last '.'-separated piece of the text: ~=1.2.3 -> 1.2.*
      clause.op = VersionOp::Compatible;
      const std::string& text = clause.version->str();
      std::size_t dot = text.rfind('.');
      if (dot == std::string::npos)
        fail_at(at, "'~=' needs a version with at least two parts, like ~=1.2");
      clause.prefix = version_at(text.substr(0, dot), at);
    }
    return clause;
  }

  VersionClause bare_clause(std::string_view literal, std::size_t at) const {
    VersionClause clause;
    if (literal == "*") return clause;
    std::size_t last = literal.find_last_not_of('*');
    if (last == std::string_view::npos) fail_at(at, "expected a version before '*'");
    std::string_view head = literal.substr(0, last + 1);
    if (head.find('*') != std::string_view::npos) {
      for (std::size_t i = 0; i < literal.size(); ++i) {
        if (!is_glob_char(literal[i]))
          fail_at(at + i, "character " + quote_input(literal.substr(i, 1)) + " is not allowed");
      }
      clause.op = VersionOp::Glob;
      for (char c : literal) clause.glob += lower(c);
      return clause;
    }
    if (head.size() < literal.size()) {
      // 1.2* and 1.2.* both mean "starts with 1.2".
      if (head.back() == '.') head.remove_suffix(1);
      clause.op = VersionOp::StartsWith;
    } else {
      clause.op = VersionOp::Exact;
    }
    clause.version = version_at(head, at);
    return clause;
  }
};

bool VersionClause::matches(const CondaVersion& v) const {
  switch (op) {
    case VersionOp::Any:
      return true;
    case VersionOp::Exact:
      return v == *version;
    case VersionOp::NotExact:
      return v != *version;
    case VersionOp::Less:
      return v < *version;
    case VersionOp::LessEqual:
      return v <= *version;
    case VersionOp::Greater:
      return v > *version;
    case VersionOp::GreaterEqual:
      return v >= *version;
    case VersionOp::StartsWith:
      return v.starts_with(*version);
    case VersionOp::NotStartsWith:
      return !v.starts_with(*version);
    case VersionOp::Compatible:
      return v >= *version && v.starts_with(*prefix);
    case VersionOp::Glob:
      return glob_match(glob, v.str());
  }
  return false;
}

std::string VersionClause::str() const {
  switch (op) {
    case VersionOp::Any:
      return "*";
    case VersionOp::Exact:
      return "==" + version->str();
    case VersionOp::NotExact:
      return "!=" + version->str();
    case VersionOp::Less:
      return "<" + version->str();
    case VersionOp::LessEqual:
      return "<=" + version->str();
    case VersionOp::Greater:
      return ">" + version->str();
    case VersionOp::GreaterEqual:
      return ">=" + version->str();
    case VersionOp::StartsWith:
      return version->str() + ".*";
    case VersionOp::NotStartsWith:
      return "!=" + version->str() + ".*";
    case VersionOp::Compatible:
      return "~=" + version->str();
    case VersionOp::Glob:
      return glob;
  }
  return "*";
}

VersionSpec VersionSpec::parse(std::string_view text) { return VersionSpecParser(text).run(); }

VersionSpec VersionSpec::any() { return VersionSpec(); }

VersionSpec VersionSpec::normalized(Kind kind, std::vector<VersionSpec> children) {
  std::vector<VersionSpec> flat;
  for (VersionSpec& child : children) {
    if (child.kind_ == kind) {
      for (VersionSpec& grandchild : child.children_) flat.push_back(std::move(grandchild));
    } else if (child.is_any()) {
      if (kind == Kind::Or) return any();  // anything or X is anything
    } else {
      flat.push_back(std::move(child));
    }
  }
  if (flat.empty()) return any();  // an and-group of only '*'
  std::vector<std::pair<std::string, VersionSpec>> keyed;
  for (VersionSpec& child : flat) {
    std::string key = child.str();
    keyed.emplace_back(std::move(key), std::move(child));
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  keyed.erase(std::unique(keyed.begin(), keyed.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              keyed.end());
  if (keyed.size() == 1) return std::move(keyed.front().second);
  VersionSpec spec;
  spec.kind_ = kind;
  for (auto& entry : keyed) spec.children_.push_back(std::move(entry.second));
  return spec;
}

bool VersionSpec::matches(const CondaVersion& v) const {
  switch (kind_) {
    case Kind::Clause:
      return clause_.matches(v);
    case Kind::And:
      return std::all_of(children_.begin(), children_.end(),
                         [&](const VersionSpec& c) { return c.matches(v); });
    case Kind::Or:
      return std::any_of(children_.begin(), children_.end(),
                         [&](const VersionSpec& c) { return c.matches(v); });
  }
  return false;
}

std::string VersionSpec::str() const {
  if (kind_ == Kind::Clause) return clause_.str();
  return join_group(children_, kind_ == Kind::And ? "," : "|", [&](const VersionSpec& child) {
    return kind_ == Kind::And && child.kind_ == Kind::Or;
  });
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace envbuild::builder::conda
