#pragma once
// Python package versions (PEP 440); specifiers are in pip/specifier.hpp.
//
// PipVersion accepts every spelling PEP 440 normalizes (case, a leading `v`,
// `-`/`_`/`.` separators, `alpha`/`beta`/`c`/`pre`/`preview`, `rev`/`r`,
// implicit numbers, `1.0-1` for a post release, `-`/`_` in local versions,
// surrounding whitespace) and orders them as the PEP says: epoch, release
// (zero padded), then `.devN < aN < bN < rcN < (none) < .postN`, a dev
// release below its pre/post release, and a local version above the same
// public version. Numbers of any length compare exactly.
#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/spec_text.hpp"

namespace envbuild::builder::pip {

class PipVersion {
 public:
  // Throws Error(BadInput) quoting the text.
  static PipVersion parse(std::string_view text);
  // nullopt instead of throwing; `error` (if given) says why.
  static std::optional<PipVersion> try_parse(std::string_view text, std::string* error = nullptr);

  // Normalized form: `1!2.0rc1.post3.dev4+ubuntu.1`, epoch 0 omitted.
  std::string str() const;

  bool is_prerelease() const { return pre_.has_value() || dev_.has_value(); }  // dev counts
  bool is_postrelease() const { return post_.has_value(); }
  bool is_devrelease() const { return dev_.has_value(); }
  bool has_local() const { return !local_.empty(); }
  const std::string& epoch() const { return epoch_; }                   // digits
  const std::vector<std::string>& release() const { return release_; }  // digits each

  PipVersion public_version() const;  // without the local label
  PipVersion base_version() const;    // epoch and release only

  // Equal versions may have different text (`1.0` and `1.0.0`).
  std::weak_ordering operator<=>(const PipVersion& other) const;
  bool operator==(const PipVersion& other) const;

 private:
  friend class PipVersionParser;
  struct Pre {
    int kind;  // 0 a, 1 b, 2 rc
    std::string number;
  };
  std::string epoch_ = "0";
  std::vector<std::string> release_;
  std::optional<Pre> pre_;
  std::optional<std::string> post_;
  std::optional<std::string> dev_;
  std::vector<std::string> local_;  // lowercase; numeric parts without leading zeros
};

// Defined in builder/spec_text.hpp; also named here, where it used to live.
using builder::quote_input;

}  // namespace envbuild::builder::pip
