#include "builder/pip/marker.hpp"

#include <algorithm>
#include <utility>

#include "builder/pip/requirement.hpp"
#include "builder/pip/specifier.hpp"
#include "builder/spec_text.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::pip {

namespace {

constexpr std::size_t kMaxMarkerLength = 8192;
constexpr int kMaxDepth = 64;

bool is_word_char(char c) { return is_alnum(c) || c == '_' || c == '.'; }

// A marker problem; Marker::try_parse adds which text it is.
struct SyntaxError {
  std::string what;
};

constexpr std::pair<std::string_view, std::string_view> kVariables[] = {
    {"python_version", "python_version"},
    {"python_full_version", "python_full_version"},
    {"os_name", "os_name"},
    {"sys_platform", "sys_platform"},
    {"platform_release", "platform_release"},
    {"platform_system", "platform_system"},
    {"platform_version", "platform_version"},
    {"platform_machine", "platform_machine"},
    {"platform_python_implementation", "platform_python_implementation"},
    {"implementation_name", "implementation_name"},
    {"implementation_version", "implementation_version"},
    {"extra", "extra"},
    // Legacy spellings that pip still reads.
    {"os.name", "os_name"},
    {"sys.platform", "sys_platform"},
    {"platform.version", "platform_version"},
    {"platform.machine", "platform_machine"},
    {"platform.python_implementation", "platform_python_implementation"},
    {"python_implementation", "platform_python_implementation"},
};

Marker combine(Marker::Kind kind, std::vector<Marker> items) {
  if (items.size() == 1) return std::move(items.front());
  Marker m;
  m.kind = kind;
  for (Marker& item : items) {
    if (item.kind == kind) {
      for (Marker& child : item.children) m.children.push_back(std::move(child));
    } else {
      m.children.push_back(std::move(item));
    }
  }
  return m;
}

class MarkerParser {
 public:
  explicit MarkerParser(std::string_view text) : s_(text) {}

  Marker run() {
    skip();
    if (i_ == s_.size()) fail("empty marker");
    Marker m = parse_or(0);
    skip();
    if (i_ != s_.size()) {
      if (s_[i_] == ')') fail("')' without a matching '('");
      fail("expected 'and', 'or' or the end, found " + rest());
    }
    return m;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw SyntaxError{what + " at column " + std::to_string(i_ + 1)};
  }
  std::string rest() const { return quote_input(s_.substr(i_, 20)); }
  void skip() {
    while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
  }
  // The next word, without consuming it.
  std::string_view peek_word() {
    skip();
    std::size_t j = i_;
    while (j < s_.size() && is_word_char(s_[j])) ++j;
    return s_.substr(i_, j - i_);
  }

  Marker parse_or(int depth) {
    std::vector<Marker> items;
    items.push_back(parse_and(depth));
    while (peek_word() == "or") {
      i_ += 2;
      items.push_back(parse_and(depth));
    }
    return combine(Marker::Kind::Or, std::move(items));
  }

  Marker parse_and(int depth) {
    std::vector<Marker> items;
    items.push_back(parse_expr(depth));
    while (peek_word() == "and") {
      i_ += 3;
      items.push_back(parse_expr(depth));
    }
    return combine(Marker::Kind::And, std::move(items));
  }

  Marker parse_expr(int depth) {
    skip();
    if (i_ < s_.size() && s_[i_] == '(') {
      if (depth >= kMaxDepth) fail("more than 64 nested parentheses");
      ++i_;
      Marker inner = parse_or(depth + 1);
      skip();
      if (i_ == s_.size() || s_[i_] != ')') fail("missing ')'");
      ++i_;
      return inner;
    }
    Marker m;
    m.lhs = parse_operand();
    m.op = parse_op();
    m.rhs = parse_operand();
    return m;
  }

  Marker::Operand parse_operand() {
    skip();
    if (i_ == s_.size()) fail("expected a marker variable or a quoted string");
    char c = s_[i_];
    if (c == '\'' || c == '"') {
      std::size_t close = s_.find(c, i_ + 1);
      if (close == std::string_view::npos) fail("unterminated string");
      std::string_view text = s_.substr(i_ + 1, close - i_ - 1);
      if (text.find('\\') != std::string_view::npos)
        fail("backslashes are not allowed in marker strings");
      i_ = close + 1;
      return {false, std::string(text)};
    }
    std::string_view word = peek_word();
    if (word.empty()) fail("expected a marker variable or a quoted string, found " + rest());
    for (const auto& [spelling, name] : kVariables) {
      if (word == spelling) {
        i_ += word.size();
        return {true, std::string(name)};
      }
    }
    fail("unknown marker variable " + quote_input(word));
  }

  std::string parse_op() {
    skip();
    for (std::string_view op : {"===", "==", "!=", "<=", ">=", "~=", "<", ">"}) {
      if (s_.substr(i_).starts_with(op)) {
        i_ += op.size();
        return std::string(op);
      }
    }
    std::string_view word = peek_word();
    if (word == "in") {
      i_ += 2;
      return "in";
    }
    if (word == "not") {
      std::size_t at = i_ + 3;
      i_ = at;
      if (peek_word() == "in" && i_ > at) {
        i_ += 2;
        return "not in";
      }
      fail("expected 'in' after 'not'");
    }
    fail("expected an operator (==, !=, <, <=, >, >=, ~=, ===, in, not in), found " + rest());
  }
};

std::string operand_str(const Marker::Operand& o) {
  if (o.is_variable) return o.text;
  char q = o.text.find('"') == std::string::npos ? '"' : '\'';
  return q + o.text + q;
}

const std::string& lookup(const MarkerEnvironment& env, const Marker::Operand& o,
                          std::string& storage) {
  if (!o.is_variable) return o.text;
  if (auto it = env.find(o.text); it != env.end()) return it->second;
  if (o.text == "extra") return storage;  // empty
  throw Error(ErrorKind::BadInput,
              "the environment marker uses " + quote_input(o.text) + ", which has no value here");
}

bool compare_strings(const std::string& op, const std::string& l, const std::string& r) {
  if (op == "==" || op == "===") return l == r;
  if (op == "!=") return l != r;
  if (op == "<") return l < r;
  if (op == "<=") return l <= r;
  if (op == ">") return l > r;
  if (op == ">=") return l >= r;
  throw Error(ErrorKind::BadInput, "cannot compare " + quote_input(l) + " " + op + " " +
                                       quote_input(r) + " as versions");
}

}  // namespace

std::optional<Marker> Marker::try_parse(std::string_view text, std::string* error) {
  auto failed = [&](const std::string& what) -> std::optional<Marker> {
    if (error) *error = what;
    return std::nullopt;
  };
  if (text.size() > kMaxMarkerLength) return failed("longer than 8192 characters");
  if (find_control_char(text) != std::string_view::npos)
    return failed("control or non-ASCII character");
  try {
    return MarkerParser(text).run();
  } catch (const SyntaxError& e) {
    return failed(e.what);
  }
}

Marker Marker::parse(std::string_view text) {
  return parse_or_throw<Marker>(text, "environment marker");
}

std::string Marker::str() const {
  if (kind == Kind::Compare) return operand_str(lhs) + " " + op + " " + operand_str(rhs);
  return join_group(children, kind == Kind::And ? " and " : " or ", [&](const Marker& child) {
    return kind == Kind::And && child.kind == Kind::Or;
  });
}

bool Marker::evaluate(const MarkerEnvironment& env) const {
  if (kind == Kind::And) {
    return std::all_of(children.begin(), children.end(),
                       [&](const Marker& m) { return m.evaluate(env); });
  }
  if (kind == Kind::Or) {
    return std::any_of(children.begin(), children.end(),
                       [&](const Marker& m) { return m.evaluate(env); });
  }
  std::string empty_l, empty_r;
  std::string l = lookup(env, lhs, empty_l);
  std::string r = lookup(env, rhs, empty_r);
  if ((lhs.is_variable && lhs.text == "extra") || (rhs.is_variable && rhs.text == "extra")) {
    l = normalize_name(l);
    r = normalize_name(r);
  }
  if (op == "in") return r.find(l) != std::string::npos;
  if (op == "not in") return r.find(l) == std::string::npos;
  std::optional<Specifier> spec = Specifier::try_parse(op + r);
  std::optional<PipVersion> version = PipVersion::try_parse(l);
  if (spec && version && spec->op() != SpecifierOp::Arbitrary) return spec->contains(*version);
  return compare_strings(op, l, r);
}

}  // namespace envbuild::builder::pip
