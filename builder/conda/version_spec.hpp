#pragma once
// Conda version constraints, the version field of a MatchSpec (CEP 29, conda's
// VersionSpec): clauses joined by `,` (and) and `|` (or), `,` binding tighter,
// with parentheses. Clauses:
//   ==V  exact (`1.0 == 1.0.0`)          V      bare literal: exact, same as ==V
//   !=V  not exact                       <V <=V >V >=V  ordered (CEP 33 order)
//   V.*  V*  =V  ==V.*  fuzzy: the version starts with V (CondaVersion::starts_with)
//   !=V.*  not fuzzy                     ~=V    >=V and fuzzy on V minus its last
//                                               `.` piece (`~=1.2.3` is `>=1.2.3,1.2.*`)
//   *    anything                        glob with `*` not only at the end (`1.*.3`),
//                                        matched against the normalized version text
// Where conda and CEP 29 disagree, this follows conda: `!=1.3` is not-exact
// (`1.3.1` matches), not a negated fuzzy match. `==1.2.*` is fuzzy everywhere
// (conda drops the `.*` inside compound expressions). `.*` after `<`, `<=`,
// `>`, `>=` is dropped as conda does. Refused: regular expressions (`^...$`);
// `*` in a literal after an operator, except a trailing `.*` (not after `~=`)
// or a trailing `*` after `=`, `==`, `!=`; `~=` with a single-piece version;
// `===` and other unknown operators; empty groups; more than 64 nested
// parentheses; more than 4096 characters.
// Spaces next to operators, `,`, `|` and parentheses are ignored; a space
// between two parts of a literal is an error.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/conda/version.hpp"

namespace envbuild::builder::conda {

enum class VersionOp {
  Any,            // *
  Exact,          // ==V
  NotExact,       // !=V
  Less,           // <V
  LessEqual,      // <=V
  Greater,        // >V
  GreaterEqual,   // >=V
  StartsWith,     // V.*
  NotStartsWith,  // !=V.*
  Compatible,     // ~=V
  Glob,           // 1.*.3
};

struct VersionClause {
  VersionOp op = VersionOp::Any;
  std::optional<CondaVersion> version;  // all but Any and Glob
  std::optional<CondaVersion> prefix;   // Compatible: V without its last '.' piece
  std::string glob;                     // Glob: lowercase pattern

  bool matches(const CondaVersion& v) const;
  // Canonical spelling: "*", "==1.2", "!=1.2", "<1.2", "<=1.2", ">1.2", ">=1.2",
  // "1.2.*", "!=1.2.*", "~=1.2", or the glob.
  std::string str() const;
};

class VersionSpec {
 public:
  enum class Kind { Clause, And, Or };

  // Throws Error(BadInput) naming the constraint and the column of the problem.
  static VersionSpec parse(std::string_view text);
  // A spec matching every version ("*").
  static VersionSpec any();

  bool matches(const CondaVersion& v) const;

  // Canonical spelling, no spaces: nested groups of the same kind flattened,
  // the children of each group sorted by their text with duplicates removed,
  // `*` dropped from an and-group (an or-group containing `*` is `*`),
  // parentheses only around an or-group inside an and-group.
  // Example: `( >=1.2, <2 ) | 1.0*` -> `1.0.*|<2,>=1.2`.
  std::string str() const;

  bool is_any() const { return kind_ == Kind::Clause && clause_.op == VersionOp::Any; }
  // The clause when the spec is one clause, else nullptr.
  const VersionClause* single_clause() const { return kind_ == Kind::Clause ? &clause_ : nullptr; }
  Kind kind() const { return kind_; }
  const std::vector<VersionSpec>& children() const { return children_; }

 private:
  friend class VersionSpecParser;
  Kind kind_ = Kind::Clause;
  VersionClause clause_;
  std::vector<VersionSpec> children_;  // And, Or

  static VersionSpec normalized(Kind kind, std::vector<VersionSpec> children);
};

// Conda's `*` glob (any run of characters, possibly empty); every other
// character matches itself. Linear in practice, no recursion.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace envbuild::builder::conda
