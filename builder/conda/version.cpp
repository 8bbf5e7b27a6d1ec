#include "builder/conda/version.hpp"

#include <algorithm>

#include "builder/spec_text.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr std::size_t kMaxVersionLength = 256;

[[noreturn]] void fail(std::string_view input, const std::string& what) {
  throw_invalid("conda version", input, what);
}

bool is_version_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '+' || c == '!' ||
         c == '-';
}

// Splits at '.' and '_'; an empty piece is an error.
std::vector<std::string_view> split_pieces(std::string_view part, std::string_view input,
                                           const char* what) {
  std::vector<std::string_view> pieces;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= part.size(); ++i) {
    if (i == part.size() || part[i] == '.' || part[i] == '_') {
      if (i == start) fail(input, std::string("empty segment in the ") + what);
      pieces.push_back(part.substr(start, i - start));
      start = i + 1;
    }
  }
  return pieces;
}

CondaVersion::Segment to_segment(std::string_view piece) {
  using Atom = CondaVersion::Atom;
  CondaVersion::Segment segment;
  // A segment starting with a letter keeps numbers and strings in phase.
  if (!is_digit(piece.front())) segment.push_back({Atom::Kind::Number, "0"});
  std::size_t i = 0;
  while (i < piece.size()) {
    std::size_t j = i;
    bool digits = is_digit(piece[i]);
    while (j < piece.size() && is_digit(piece[j]) == digits) ++j;
    std::string_view run = piece.substr(i, j - i);
    if (digits) {
      std::size_t nz = run.find_first_not_of('0');
      segment.push_back(
          {Atom::Kind::Number, nz == std::string_view::npos ? "0" : std::string(run.substr(nz))});
    } else if (run == "dev") {
      segment.push_back({Atom::Kind::Dev, "dev"});
    } else if (run == "post") {
      segment.push_back({Atom::Kind::Post, "post"});
    } else {
      segment.push_back({Atom::Kind::Text, std::string(run)});
    }
    i = j;
  }
  return segment;
}

// conda's atom order: dev < other strings < numbers < post.
int compare_atoms(const CondaVersion::Atom& a, const CondaVersion::Atom& b) {
  using Kind = CondaVersion::Atom::Kind;
  auto rank = [](Kind k) {
    switch (k) {
      case Kind::Dev:
        return 0;
      case Kind::Text:
        return 1;
      case Kind::Number:
        return 2;
      case Kind::Post:
        return 3;
    }
    return 0;
  };
  if (a.kind != b.kind) return rank(a.kind) < rank(b.kind) ? -1 : 1;
  if (a.kind == Kind::Number && a.text.size() != b.text.size())
    return a.text.size() < b.text.size() ? -1 : 1;
  if (a.kind == Kind::Dev || a.kind == Kind::Post) return 0;
  return sign(a.text.compare(b.text));
}

const CondaVersion::Atom kZero{CondaVersion::Atom::Kind::Number, "0"};
const CondaVersion::Segment kEmptySegment;

int compare_segment(const CondaVersion::Segment& a, const CondaVersion::Segment& b) {
  std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    int c = compare_atoms(i < a.size() ? a[i] : kZero, i < b.size() ? b[i] : kZero);
    if (c != 0) return c;
  }
  return 0;
}

int compare_lists(const std::vector<CondaVersion::Segment>& a,
                  const std::vector<CondaVersion::Segment>& b, std::size_t limit) {
  std::size_t n = std::min(std::max(a.size(), b.size()), limit);
  for (std::size_t i = 0; i < n; ++i) {
    int c =
        compare_segment(i < a.size() ? a[i] : kEmptySegment, i < b.size() ? b[i] : kEmptySegment);
    if (c != 0) return c;
  }
  return 0;
}

constexpr std::size_t kAll = static_cast<std::size_t>(-1);

}  // namespace

CondaVersion CondaVersion::parse(std::string_view input) {
  if (input.empty()) fail(input, "empty");
  if (input.size() > kMaxVersionLength)
    fail(input, "longer than " + std::to_string(kMaxVersionLength) + " characters");
  std::string text(input);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = lower(text[i]);
    if (!is_version_char(c)) {
      fail(input, "character " + quote_input(input.substr(i, 1)) + " at column " +
                      std::to_string(i + 1) + " is not allowed");
    }
    text[i] = c;
  }
  if (text.find('-') != std::string::npos) {
    // conda reads '-' as '_', but only when the two are not mixed.
    if (text.find('_') != std::string::npos) fail(input, "mixes '-' and '_'");
    std::replace(text.begin(), text.end(), '-', '_');
  }

  CondaVersion v;
  v.text_ = text;
  std::string_view rest = text;
  std::size_t bang = rest.find('!');
  std::string epoch = "0";
  if (bang != std::string_view::npos) {
    if (rest.find('!', bang + 1) != std::string_view::npos) fail(input, "more than one '!'");
    std::string_view e = rest.substr(0, bang);
    if (e.empty() || !std::all_of(e.begin(), e.end(), is_digit))
      fail(input, "the epoch before '!' must be a number");
    epoch = std::string(e);
    rest = rest.substr(bang + 1);
  }
  v.version_.push_back(to_segment(epoch));

  std::size_t plus = rest.find('+');
  std::string_view main = rest.substr(0, plus);
  if (plus != std::string_view::npos) {
    if (rest.find('+', plus + 1) != std::string_view::npos) fail(input, "more than one '+'");
    std::string_view local = rest.substr(plus + 1);
    if (local.empty()) fail(input, "empty local version after '+'");
    for (std::string_view piece : split_pieces(local, input, "local version"))
      v.local_.push_back(to_segment(piece));
  }
  if (main.empty()) fail(input, "no version before '+' or after '!'");

  // A single trailing '_' belongs to the last segment (openssl-style 1.0.1_).
  bool trailing_underscore = main.back() == '_';
  if (trailing_underscore) main.remove_suffix(1);
  if (main.empty()) fail(input, "a version cannot be only '_'");
  std::vector<std::string_view> pieces = split_pieces(main, input, "version");
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (trailing_underscore && i + 1 == pieces.size()) {
      v.version_.push_back(to_segment(std::string(pieces[i]) + "_"));
    } else {
      v.version_.push_back(to_segment(pieces[i]));
    }
  }
  return v;
}

std::weak_ordering CondaVersion::operator<=>(const CondaVersion& other) const {
  int c = compare_lists(version_, other.version_, kAll);
  if (c == 0) c = compare_lists(local_, other.local_, kAll);
  if (c < 0) return std::weak_ordering::less;
  if (c > 0) return std::weak_ordering::greater;
  return std::weak_ordering::equivalent;
}

bool CondaVersion::operator==(const CondaVersion& other) const {
  return (*this <=> other) == std::weak_ordering::equivalent;
}

bool CondaVersion::starts_with(const CondaVersion& prefix) const {
  const std::vector<Segment>* mine = &version_;
  const std::vector<Segment>* theirs = &prefix.version_;
  if (!prefix.local_.empty()) {
    if (compare_lists(version_, prefix.version_, kAll) != 0) return false;
    mine = &local_;
    theirs = &prefix.local_;
  }
  std::size_t last = theirs->size() - 1;
  if (compare_lists(*mine, *theirs, last) != 0) return false;
  const Segment& a = last < mine->size() ? (*mine)[last] : kEmptySegment;
  const Segment& b = (*theirs)[last];
  std::size_t last_atom = b.size() - 1;
  for (std::size_t i = 0; i < last_atom; ++i) {
    if (compare_atoms(i < a.size() ? a[i] : kZero, b[i]) != 0) return false;
  }
  const Atom& x = last_atom < a.size() ? a[last_atom] : kZero;
  const Atom& y = b[last_atom];
  if (y.kind == Atom::Kind::Text) return x.kind == Atom::Kind::Text && x.text.starts_with(y.text);
  return compare_atoms(x, y) == 0;
}

}  // namespace envbuild::builder::conda
