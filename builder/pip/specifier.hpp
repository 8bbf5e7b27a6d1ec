#pragma once
// Python version specifiers (PEP 440); the versions are in pip/version.hpp.
//
// SpecifierSet is a comma-separated list of `~=`, `==`, `!=`, `<=`, `>=`,
// `<`, `>`, `===` clauses, `==`/`!=` with an optional trailing `.*`, with the
// PEP's matching rules (local labels ignored unless the clause has one, `<V`
// excludes pre-releases of V, `>V` excludes post releases and local versions
// of V, `~=` needs two release parts, ...).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/pip/version.hpp"

namespace envbuild::builder::pip {

enum class SpecifierOp {
  Compatible,
  Equal,
  NotEqual,
  LessEqual,
  GreaterEqual,
  Less,
  Greater,
  Arbitrary
};

class Specifier {
 public:
  // One clause such as `>= 1.0` or `==1.*`; throws Error(BadInput).
  static Specifier parse(std::string_view text);
  // nullopt instead of throwing; `error` (if given) says why.
  static std::optional<Specifier> try_parse(std::string_view text, std::string* error = nullptr);

  SpecifierOp op() const { return op_; }
  bool wildcard() const { return wildcard_; }
  // Canonical text: operator and normalized version, no spaces (`>=1.0rc1`,
  // `==1.2.*`); an `===` value is kept as written.
  std::string str() const;
  // The PEP 440 match, ignoring pre-release policy (see SpecifierSet).
  bool contains(const PipVersion& v) const;
  // Whether the clause names a pre-release (packaging's Specifier.prereleases).
  bool mentions_prerelease() const;

 private:
  SpecifierOp op_ = SpecifierOp::Equal;
  bool wildcard_ = false;
  std::optional<PipVersion> version_;  // absent only for an unparsable `===` value
  std::string text_;                   // `===` value
};

class SpecifierSet {
 public:
  // Comma-separated clauses with optional whitespace; "" is the empty set.
  // Throws Error(BadInput) quoting the text and saying which clause is wrong.
  static SpecifierSet parse(std::string_view text);
  // nullopt instead of throwing; `error` (if given) names the bad clause.
  static std::optional<SpecifierSet> try_parse(std::string_view text, std::string* error = nullptr);

  bool empty() const { return specifiers_.empty(); }
  const std::vector<Specifier>& specifiers() const { return specifiers_; }

  // All clauses match. Pre-releases (including dev releases) match only when
  // `include_prereleases` or a clause names a pre-release, as pip does.
  bool contains(const PipVersion& v, bool include_prereleases = false) const;

  // Clauses' canonical texts sorted, duplicates dropped, joined by ','
  // (`>=1.0, <2` -> `<2,>=1.0`).
  std::string str() const;

 private:
  std::vector<Specifier> specifiers_;
};

}  // namespace envbuild::builder::pip
