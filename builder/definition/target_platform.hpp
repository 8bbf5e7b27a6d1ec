#pragma once
// The platform an environment is built for, in the three spellings the
// builder needs: OCI ("linux/amd64"), conda subdir ("linux-64") and the
// names conda selectors test ("linux", "x86_64", "unix", ...).
#include <set>
#include <string>
#include <string_view>

namespace envbuild::builder {

struct TargetPlatform {
  std::string os;            // "linux"
  std::string architecture;  // OCI: "amd64", "arm64", "ppc64le", "s390x"
  std::string variant;       // OCI variant, e.g. "v8"; usually empty

  // "linux/amd64", "linux/arm64/v8"; Error(BadInput) for anything else,
  // naming `text` (only Linux targets are supported).
  static TargetPlatform parse(std::string_view text);
  std::string oci() const;           // "linux/amd64"
  std::string conda_subdir() const;  // "linux-64", "linux-aarch64", ...
  // Names that are true in `# [...]` and `sel(...)` selectors.
  std::set<std::string> selector_names() const;
};

}  // namespace envbuild::builder
