#include "builder/pip/version.hpp"

#include <algorithm>

#include "builder/spec_text.hpp"

namespace envbuild::builder::pip {

namespace {

constexpr std::size_t kMaxVersionLength = 256;

bool is_lower_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z'); }

std::string strip_zeros(std::string_view digits) {
  std::size_t nz = digits.find_first_not_of('0');
  return nz == std::string_view::npos ? "0" : std::string(digits.substr(nz));
}

// Both are digit strings without leading zeros.
int compare_numbers(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return sign(a.compare(b));
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

}  // namespace

// A hand-written form of PEP 440's reference regex: each optional part
// consumes its separators greedily, which accepts exactly what the regex does.
class PipVersionParser {
 public:
  explicit PipVersionParser(std::string_view text) : s_(text) {}

  std::optional<PipVersion> run(std::string* error) {
    if (s_.size() > kMaxVersionLength) return fail(error, "longer than 256 characters");
    for (char& c : s_) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        return fail(error, "control or non-ASCII character");
      c = lower(c);
    }
    if (s_.empty()) return fail(error, "empty");
    PipVersion v;
    if (peek() == 'v') ++i_;
    std::string first = digits();
    if (first.empty()) return fail(error, "expected a number at column " + column());
    if (peek() == '!') {
      ++i_;
      v.epoch_ = strip_zeros(first);
      first = digits();
      if (first.empty()) return fail(error, "expected a release number after '!'");
    }
    v.release_.push_back(strip_zeros(first));
    while (peek() == '.' && is_digit(peek(1))) {
      ++i_;
      v.release_.push_back(strip_zeros(digits()));
    }
    parse_pre(v);
    parse_post(v);
    parse_dev(v);
    if (peek() == '+') {
      ++i_;
      if (!parse_local(v)) return fail(error, "invalid local version after '+'");
    }
    if (i_ != s_.size())
      return fail(error, "unexpected " + quote_input(s_.substr(i_, 1)) + " at column " + column());
    return v;
  }

 private:
  std::string s_;
  std::size_t i_ = 0;

  std::optional<PipVersion> fail(std::string* error, const std::string& what) {
    if (error) *error = what;
    return std::nullopt;
  }
  std::string column() const { return std::to_string(i_ + 1); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < s_.size() ? s_[i_ + ahead] : '\0'; }
  std::string digits() {
    std::size_t start = i_;
    while (is_digit(peek())) ++i_;
    return s_.substr(start, i_ - start);
  }
  bool word(std::string_view w) {
    if (std::string_view(s_).substr(i_).starts_with(w)) {
      i_ += w.size();
      return true;
    }
    return false;
  }
  void optional_sep() {
    if (is_separator(peek())) ++i_;
  }
  std::string number_or_zero() {
    std::string n = digits();
    return n.empty() ? "0" : strip_zeros(n);
  }

  void parse_pre(PipVersion& v) {
    std::size_t save = i_;
    optional_sep();
    static constexpr std::pair<std::string_view, int> kSpellings[] = {
        {"alpha", 0}, {"beta", 1}, {"preview", 2}, {"pre", 2},
        {"rc", 2},    {"a", 0},    {"b", 1},       {"c", 2}};
    for (const auto& [spelling, kind] : kSpellings) {
      if (word(spelling)) {
        optional_sep();
        v.pre_ = PipVersion::Pre{kind, number_or_zero()};
        return;
      }
    }
    i_ = save;
  }

  void parse_post(PipVersion& v) {
    if (peek() == '-' && is_digit(peek(1))) {  // 1.0-1 is 1.0.post1
      ++i_;
      v.post_ = strip_zeros(digits());
      return;
    }
    std::size_t save = i_;
    optional_sep();
    for (std::string_view spelling : {"post", "rev", "r"}) {
      if (word(spelling)) {
        optional_sep();
        v.post_ = number_or_zero();
        return;
      }
    }
    i_ = save;
  }

  void parse_dev(PipVersion& v) {
    std::size_t save = i_;
    optional_sep();
    if (word("dev")) {
      optional_sep();
      v.dev_ = number_or_zero();
      return;
    }
    i_ = save;
  }

  bool parse_local(PipVersion& v) {
    while (true) {
      std::size_t start = i_;
      while (is_lower_alnum(peek())) ++i_;
      if (i_ == start) return false;
      std::string part = s_.substr(start, i_ - start);
      v.local_.push_back(all_digits(part) ? strip_zeros(part) : part);
      if (!is_separator(peek())) return true;
      ++i_;
    }
  }
};

std::optional<PipVersion> PipVersion::try_parse(std::string_view text, std::string* error) {
  return PipVersionParser(trim_spaces(text)).run(error);
}

PipVersion PipVersion::parse(std::string_view text) {
  return parse_or_throw<PipVersion>(text, "Python version");
}

std::string PipVersion::str() const {
  std::string out;
  if (epoch_ != "0") out += epoch_ + "!";
  for (std::size_t i = 0; i < release_.size(); ++i) out += (i ? "." : "") + release_[i];
  if (pre_) out += std::string(pre_->kind == 0 ? "a" : pre_->kind == 1 ? "b" : "rc") + pre_->number;
  if (post_) out += ".post" + *post_;
  if (dev_) out += ".dev" + *dev_;
  for (std::size_t i = 0; i < local_.size(); ++i) out += (i ? "." : "+") + local_[i];
  return out;
}

PipVersion PipVersion::public_version() const {
  PipVersion v = *this;
  v.local_.clear();
  return v;
}

PipVersion PipVersion::base_version() const {
  PipVersion v;
  v.epoch_ = epoch_;
  v.release_ = release_;
  return v;
}

std::weak_ordering PipVersion::operator<=>(const PipVersion& o) const {
  auto result = [](int c) {
    return c < 0 ? std::weak_ordering::less : std::weak_ordering::greater;
  };
  if (int c = compare_numbers(epoch_, o.epoch_)) return result(c);
  // Release parts, zero padded.
  std::size_t n = std::max(release_.size(), o.release_.size());
  static const std::string kZero = "0";
  for (std::size_t i = 0; i < n; ++i) {
    const std::string& a = i < release_.size() ? release_[i] : kZero;
    const std::string& b = i < o.release_.size() ? o.release_[i] : kZero;
    if (int c = compare_numbers(a, b)) return result(c);
  }
  // Pre-release: a bare dev release sorts below every pre-release of the same
  // release; no pre-release sorts above all of them.
  auto pre_rank = [](const PipVersion& v) {
    if (v.pre_) return 1;
    return !v.post_ && v.dev_ ? 0 : 2;
  };
  if (int c = pre_rank(*this) - pre_rank(o)) return result(c);
  if (pre_ && o.pre_) {
    if (int c = pre_->kind - o.pre_->kind) return result(c);
    if (int c = compare_numbers(pre_->number, o.pre_->number)) return result(c);
  }
  if (post_.has_value() != o.post_.has_value()) return result(post_ ? 1 : -1);
  if (post_) {
    if (int c = compare_numbers(*post_, *o.post_)) return result(c);
  }
  if (dev_.has_value() != o.dev_.has_value()) return result(dev_ ? -1 : 1);
  if (dev_) {
    if (int c = compare_numbers(*dev_, *o.dev_)) return result(c);
  }
  // Local: absent < present; per part, letters < numbers.
  std::size_t m = std::min(local_.size(), o.local_.size());
  for (std::size_t i = 0; i < m; ++i) {
    bool an = all_digits(local_[i]), bn = all_digits(o.local_[i]);
    if (an != bn) return result(an ? 1 : -1);
    int c = an ? compare_numbers(local_[i], o.local_[i]) : sign(local_[i].compare(o.local_[i]));
    if (c) return result(c);
  }
  if (local_.size() != o.local_.size()) return result(local_.size() < o.local_.size() ? -1 : 1);
  return std::weak_ordering::equivalent;
}

bool PipVersion::operator==(const PipVersion& other) const {
  return (*this <=> other) == std::weak_ordering::equivalent;
}

}  // namespace envbuild::builder::pip
