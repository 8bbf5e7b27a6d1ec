#pragma once
// Conda version literals and their order (CEP 33, conda's VersionOrder). A
// version splits into an epoch (`N!`), a main part and a local part (`+...`);
// each part into segments at `.` and `_` (`-` counts as `_` when the text has
// no `_`), and each segment into runs of digits and of letters. Numbers compare
// numerically, letters case-insensitively; `dev` sorts below every other
// string, strings below numbers, `post` above numbers; a segment that starts
// with a letter gets an implicit leading 0, and missing segments and atoms
// count as 0, so `1.0 == 1.0.0` and `1.1.dev1 == 1.1.0dev1`.
#include <compare>
#include <string>
#include <string_view>
#include <vector>

#include "builder/spec_text.hpp"

namespace envbuild::builder::conda {

class CondaVersion {
 public:
  // One run inside a segment.
  struct Atom {
    enum class Kind { Number, Text, Dev, Post };
    Kind kind;
    std::string text;  // Number: decimal digits without leading zeros; Text: lowercase run
  };
  using Segment = std::vector<Atom>;

  // Throws Error(BadInput) for empty text, whitespace or other characters
  // outside [A-Za-z0-9._+!-], `-` mixed with `_`, two `!` or `+`, a non-numeric
  // epoch, empty segments (`1..2`, `.1`, `1.`, `1+`), or more than 256 chars.
  // Stricter than conda in one corner: an empty segment before a trailing
  // underscore (`1._`, `1__`) is refused; a single trailing `_` is the openssl
  // convention (`1.0.1_ < 1.0.1a`) and accepted.
  static CondaVersion parse(std::string_view text);

  // The text lowercased, `-` replaced by `_` (conda's normalized form).
  const std::string& str() const { return text_; }

  // conda's VersionOrder.startswith, the meaning of `1.2.*` and `=1.2`: every
  // segment of `prefix` but the last is equal, and in the last one every atom
  // but the last is equal while the last atom matches as a number (equal) or
  // as a string prefix (`1.2a` starts with `1.2a`, `1.2alpha` does too). When
  // `prefix` has a local part, the main parts must be equal and the local
  // parts are compared that way.
  bool starts_with(const CondaVersion& prefix) const;

  // Epoch segment first, then the main segments.
  const std::vector<Segment>& segments() const { return version_; }
  const std::vector<Segment>& local_segments() const { return local_; }

  // Equal versions may have different text (`1.0` and `1.0.0`).
  std::weak_ordering operator<=>(const CondaVersion& other) const;
  bool operator==(const CondaVersion& other) const;

 private:
  CondaVersion() = default;
  std::string text_;
  std::vector<Segment> version_;
  std::vector<Segment> local_;
};

// Defined in builder/spec_text.hpp; also named here, where it used to live.
using builder::quote_input;

}  // namespace envbuild::builder::conda
