#pragma once
// A conda package spec (CEP 29 MatchSpec) as written in an environment.yml
// dependency:
//   [channel[/subdir]::]name[ version[ build]][[key=value, ...]]
// with the version and build separated from the name and from each other by
// spaces or by one `=` (`numpy=1.2=py311_0`), and bracket keys `version`,
// `build`, `build_number`, `channel`, `subdir` (and `name`, which must repeat
// the positional name). Bracket values override positional ones.
//
// Version meaning (CEP 29 and conda agree): `name 1.2`, `name==1.2` and
// `name[version=1.2]` are exact (1.2, 1.2.0, ...); `name=1.2`, `name 1.2.*`,
// `name 1.2*` are fuzzy (1.2, 1.2.1, 1.2a, ... but not 1.20). A single `=V`
// followed by a positional build is exact: `name=1.2=py_0` is `name==1.2=py_0`
// (conda; CEP 29 calls `name =1.2 py_0` fuzzy, this follows conda).
//
// Refused, each with Error(BadInput) quoting the spec: `*` or globs in the
// name, names outside CEP 26 (lowercase letters, digits, `-`, `_`, `.`, no two
// separators in a row, at most 64 characters; virtual packages start with
// `__`); namespaces (`chan:ns:name`); package file URLs and paths;
// conditionals (` if `); legacy `(optional)` and `feature@` syntax; regexes;
// bracket keys other than the six above (md5, sha256, url, license, ...);
// `build_number` other than a plain number; channel globs other than `*`;
// unbalanced brackets or quotes; control characters and non-ASCII; more than
// 4096 characters. A `#` starts a comment, as in conda.
#include <optional>
#include <string>
#include <string_view>

#include "builder/conda/version.hpp"
#include "builder/conda/version_spec.hpp"

namespace envbuild::builder::conda {

struct MatchSpec {
  std::string name;                    // lowercase
  std::optional<std::string> channel;  // as written, trailing '/' removed; absent for `*`
  std::optional<std::string> subdir;   // `linux-64`, `noarch`, ...
  std::optional<VersionSpec> version;  // absent when absent or `*`
  std::optional<std::string> build;    // lowercase, may hold `*` globs; absent for `*`
  std::optional<int> build_number;

  static MatchSpec parse(std::string_view text);

  // One spelling for equivalent specs, the form conda prints (CEP 29
  // Appendix A) with versions and builds normalized:
  //   [channel[/subdir]::]name[==V[=build] | =V | !=V | !=V.* | ~=V][[k=v,...]]
  // - name lowercase; channel as written; a subdir without a channel goes in
  //   the brackets.
  // - a single exact clause is `==V` (`name 1.2`, `name==1.2`,
  //   `name[version='1.2']` -> `name==1.2`); a single fuzzy clause is `=V`
  //   (`name 1.2.*`, `name=1.2`, `name[version="1.2*"]` -> `name=1.2`); a
  //   single `!=V`, `!=V.*` or `~=V` is positional when there is no build;
  //   anything else is `version='<VersionSpec::str()>'` in the brackets
  //   (`numpy >= 1.2`, `numpy[version=">=1.2"]` -> `numpy[version='>=1.2']`).
  // - V is CondaVersion::str() (lowercase; `1.2` and `1.2.0` stay distinct).
  // - the build follows as `=build` after an exact version when it has no
  //   `*`, else `build=...` in the brackets; `*` versions and builds vanish.
  // - bracket order: subdir, version, build, build_number; `,` without
  //   spaces; only the version value is quoted, with single quotes.
  std::string canonical() const;

  // Whether a package record satisfies the spec. Channel and subdir are not
  // checked here: the caller picks records from the right channels.
  bool matches(std::string_view record_name, const CondaVersion& record_version,
               std::string_view record_build, int record_build_number) const;
};

}  // namespace envbuild::builder::conda
