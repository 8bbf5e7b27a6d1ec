#include "builder/pip/specifier.hpp"

#include <algorithm>

#include "builder/spec_text.hpp"

namespace envbuild::builder::pip {

namespace {

constexpr std::size_t kMaxSpecifierLength = 4096;

bool is_pep508_version_char(char c) {
  return is_alnum(c) || is_separator(c) || c == '*' || c == '+' || c == '!';
}

// Epoch and release parts of `v` start with `epoch` and `prefix` (zero padded).
bool release_starts_with(const PipVersion& v, const std::string& epoch,
                         const std::vector<std::string>& prefix) {
  if (v.epoch() != epoch) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const std::string part = i < v.release().size() ? v.release()[i] : "0";
    if (part != prefix[i]) return false;
  }
  return true;
}

template <typename T>
std::optional<T> failed(std::string* error, const std::string& what) {
  if (error) *error = what;
  return std::nullopt;
}

}  // namespace

std::optional<Specifier> Specifier::try_parse(std::string_view text, std::string* error) {
  if (text.size() > kMaxSpecifierLength)
    return failed<Specifier>(error, "longer than 4096 characters");
  text = trim_spaces(text);
  static constexpr std::pair<std::string_view, SpecifierOp> kOps[] = {
      {"===", SpecifierOp::Arbitrary}, {"~=", SpecifierOp::Compatible},
      {"==", SpecifierOp::Equal},      {"!=", SpecifierOp::NotEqual},
      {"<=", SpecifierOp::LessEqual},  {">=", SpecifierOp::GreaterEqual},
      {"<", SpecifierOp::Less},        {">", SpecifierOp::Greater}};
  Specifier spec;
  std::string_view op_text;
  for (const auto& [spelling, op] : kOps) {
    if (text.starts_with(spelling)) {
      spec.op_ = op;
      op_text = spelling;
      break;
    }
  }
  if (op_text.empty())
    return failed<Specifier>(error, "expected an operator (==, !=, <=, >=, <, >, ~=, ===)");
  std::string_view rest = trim_spaces(text.substr(op_text.size()));
  if (rest.empty())
    return failed<Specifier>(error, "operator " + quote_input(op_text) + " without a version");
  for (char c : rest) {
    if (is_space(c)) return failed<Specifier>(error, "space inside the version");
    if (!is_pep508_version_char(c))
      return failed<Specifier>(
          error, "character " + quote_input(std::string_view(&c, 1)) + " is not allowed");
  }
  if (spec.op_ == SpecifierOp::Arbitrary) {
    spec.text_ = std::string(rest);
    spec.version_ = PipVersion::try_parse(rest);
    return spec;
  }
  bool equality = spec.op_ == SpecifierOp::Equal || spec.op_ == SpecifierOp::NotEqual;
  if (equality && rest.size() > 2 && rest.ends_with(".*")) {
    rest.remove_suffix(2);
    spec.wildcard_ = true;
  }
  if (rest.find('*') != std::string_view::npos)
    return failed<Specifier>(error, "'*' is only allowed as a trailing '.*' after == or !=");
  std::string why;
  spec.version_ = PipVersion::try_parse(rest, &why);
  if (!spec.version_)
    return failed<Specifier>(error, "invalid version " + quote_input(rest) + ": " + why);
  const PipVersion& v = *spec.version_;
  if (spec.wildcard_ && (v.is_prerelease() || v.is_postrelease() || v.has_local()))
    return failed<Specifier>(error, "'.*' can only follow a release number like 1.2");
  if (!equality && v.has_local())
    return failed<Specifier>(error, "local versions (+...) are only allowed with == and !=");
  if (spec.op_ == SpecifierOp::Compatible && v.release().size() < 2)
    return failed<Specifier>(error, "'~=' needs at least two release parts, like ~=1.2");
  return spec;
}

Specifier Specifier::parse(std::string_view text) {
  return parse_or_throw<Specifier>(text, "version specifier");
}

std::string Specifier::str() const {
  static constexpr std::string_view kSpelling[] = {"~=", "==", "!=", "<=", ">=", "<", ">", "==="};
  std::string out(kSpelling[static_cast<int>(op_)]);
  if (op_ == SpecifierOp::Arbitrary) return out + text_;
  return out + version_->str() + (wildcard_ ? ".*" : "");
}

bool Specifier::mentions_prerelease() const {
  if (op_ == SpecifierOp::NotEqual || !version_) return false;
  return version_->is_prerelease();
}

bool Specifier::contains(const PipVersion& v) const {
  if (op_ == SpecifierOp::Arbitrary) {
    std::string a = v.str(), b = text_;
    for (char& c : b) c = lower(c);
    return a == b;
  }
  const PipVersion& spec = *version_;
  switch (op_) {
    case SpecifierOp::Equal:
    case SpecifierOp::NotEqual: {
      bool equal;
      if (wildcard_) {
        equal = release_starts_with(v, spec.epoch(), spec.release());
      } else {
        equal = spec.has_local() ? v == spec : v.public_version() == spec;
      }
      return equal == (op_ == SpecifierOp::Equal);
    }
    case SpecifierOp::LessEqual:
      return v.public_version() <= spec;
    case SpecifierOp::GreaterEqual:
      return v.public_version() >= spec;
    case SpecifierOp::Less:
      // <V excludes V's own pre-releases unless V is one.
      if (!(v < spec)) return false;
      return spec.is_prerelease() || !v.is_prerelease() || v.base_version() != spec.base_version();
    case SpecifierOp::Greater:
      // >V excludes V's post releases (unless V is one) and V's local versions.
      if (!(v > spec)) return false;
      if (v.base_version() == spec.base_version()) {
        if (!spec.is_postrelease() && v.is_postrelease()) return false;
        if (v.has_local()) return false;
      }
      return true;
    case SpecifierOp::Compatible: {
      std::vector<std::string> prefix(spec.release().begin(), spec.release().end() - 1);
      return v.public_version() >= spec && release_starts_with(v, spec.epoch(), prefix);
    }
    case SpecifierOp::Arbitrary:
      break;
  }
  return false;
}

std::optional<SpecifierSet> SpecifierSet::try_parse(std::string_view text, std::string* error) {
  SpecifierSet set;
  if (text.size() > kMaxSpecifierLength)
    return failed<SpecifierSet>(error, "longer than 4096 characters");
  if (trim_spaces(text).empty()) return set;
  std::size_t start = 0;
  while (true) {
    std::size_t comma = text.find(',', start);
    std::string_view clause =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    if (trim_spaces(clause).empty())
      return failed<SpecifierSet>(error, "empty clause between commas");
    std::string why;
    std::optional<Specifier> spec = Specifier::try_parse(clause, &why);
    if (!spec) return failed<SpecifierSet>(error, quote_input(trim_spaces(clause)) + ": " + why);
    set.specifiers_.push_back(std::move(*spec));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return set;
}

SpecifierSet SpecifierSet::parse(std::string_view text) {
  return parse_or_throw<SpecifierSet>(text, "version specifiers");
}

bool SpecifierSet::contains(const PipVersion& v, bool include_prereleases) const {
  bool allow_pre = include_prereleases ||
                   std::any_of(specifiers_.begin(), specifiers_.end(),
                               [](const Specifier& s) { return s.mentions_prerelease(); });
  if (v.is_prerelease() && !allow_pre) return false;
  return std::all_of(specifiers_.begin(), specifiers_.end(),
                     [&](const Specifier& s) { return s.contains(v); });
}

std::string SpecifierSet::str() const {
  std::vector<std::string> parts;
  for (const Specifier& s : specifiers_) parts.push_back(s.str());
  std::sort(parts.begin(), parts.end());
  parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out;
}

}  // namespace envbuild::builder::pip
