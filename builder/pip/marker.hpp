#pragma once
// PEP 508 environment markers, the `; python_version >= "3.8"` part of a pip
// requirement (pip/requirement.hpp). Refused with Error(BadInput) quoting the
// marker: unknown variables, unbalanced parentheses or quotes, missing
// operands or operators, anything after the marker, control characters and
// non-ASCII, more than 8192 characters.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::builder::pip {

using MarkerEnvironment = std::map<std::string, std::string, std::less<>>;

// An environment marker (PEP 508) as a tree: comparisons joined by `and`
// (binding tighter) and `or`, with parentheses.
struct Marker {
  enum class Kind { Compare, And, Or };
  struct Operand {
    bool is_variable = false;
    std::string text;  // a variable's PEP 508 name, or the string's contents
  };

  Kind kind = Kind::Compare;
  Operand lhs, rhs;              // Compare
  std::string op;                // Compare: == != < <= > >= ~= === in, "not in"
  std::vector<Marker> children;  // And, Or: two or more, none of the same kind

  // Variables: python_version, python_full_version, os_name, sys_platform,
  // platform_release, platform_system, platform_version, platform_machine,
  // platform_python_implementation, implementation_name,
  // implementation_version, extra; the legacy spellings os.name,
  // sys.platform, platform.version, platform.machine,
  // platform.python_implementation and python_implementation are read as
  // their PEP 508 names. Nesting is limited to 64 parentheses.
  // Throws Error(BadInput) quoting the text.
  static Marker parse(std::string_view text);
  // nullopt instead of throwing; `error` (if given) says why.
  static std::optional<Marker> try_parse(std::string_view text, std::string* error = nullptr);

  // Canonical text: single spaces around operators, `and` and `or`;
  // variables by their PEP 508 names; strings in double quotes (single when
  // they contain `"`); nested groups of the same kind flattened and
  // parentheses only around an `or` inside an `and`; operand order kept.
  // `python_version>='3.8' and(sys_platform=="linux")` ->
  // `python_version >= "3.8" and sys_platform == "linux"`.
  std::string str() const;

  // Value of the marker for `env` (variable name -> value; a missing `extra`
  // is ""). Comparisons are PEP 440 ones when the right side is a valid
  // specifier for the left (`python_version >= "3.8"`, pre-releases allowed),
  // else string comparisons; `in` is substring. `extra` values compare as
  // normalized names. Throws Error(BadInput) for a variable missing from `env`
  // and for `~=` between strings that are not versions.
  bool evaluate(const MarkerEnvironment& env) const;
};

}  // namespace envbuild::builder::pip
