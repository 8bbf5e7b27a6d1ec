#pragma once
// One pip requirement (PEP 508), as in an environment.yml `pip:` list or one
// requirements.txt line once the file syntax (comments, options, `\`
// continuations) is handled by the caller:
//   name[extra,...] specifiers ; marker        name [extra] (specifiers)
//   name[extra,...] @ URL ; marker             (a space before ';' after a URL)
// Refused with Error(BadInput) quoting the line: names and extras that are
// not letters/digits joined by `-`, `_`, `.`; bad specifiers (see
// pip/specifier.hpp); relative or malformed URLs; bad markers (see
// pip/marker.hpp); anything after the marker; `#` outside a URL or a marker
// string; control characters and non-ASCII; more than 8192 characters.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/pip/marker.hpp"
#include "builder/pip/specifier.hpp"

namespace envbuild::builder::pip {

// PEP 503 name: lowercase, each run of `-`, `_`, `.` becomes one `-`.
std::string normalize_name(std::string_view name);

struct PipRequirement {
  std::string name;                 // PEP 503 normalized
  std::vector<std::string> extras;  // normalized, sorted, without duplicates
  SpecifierSet specifiers;
  std::optional<std::string> url;  // direct reference, as written
  std::optional<Marker> marker;

  static PipRequirement parse(std::string_view line);

  // One spelling for equivalent lines:
  //   name[extra1,extra2]<spec1,spec2; marker      (SpecifierSet::str, Marker::str)
  //   name[extra] @ URL ; marker
  // `Requests[socks] >= 2.0 ; python_version>='3.8'` ->
  // `requests[socks]>=2.0; python_version >= "3.8"`.
  std::string canonical() const;
};

}  // namespace envbuild::builder::pip
