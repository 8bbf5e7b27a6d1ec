#pragma once
// Prefix replacement, as conda does it when it links a file whose
// paths.json entry names a prefix placeholder (conda/core/portability.py).
//
// Text files: every occurrence of the placeholder becomes the prefix; then a
// first-line shebang longer than Linux's 127-byte limit is rewritten to
// "#!/usr/bin/env NAME ARGS".
//
// Binary files: a placeholder lives inside a NUL-terminated C string
// (an RPATH, a compiled-in path). Every occurrence in the string is
// replaced and the string is padded with NULs after its terminator, so the
// file keeps its length and every offset in it stays valid. A prefix longer
// than the placeholder cannot fit and is refused. The end of the file
// counts as a terminator (conda leaves such a trailing placeholder
// unreplaced, rattler replaces it; we follow rattler).
#include <string>
#include <string_view>

#include "builder/conda/package/package_metadata.hpp"

namespace envbuild::builder::conda {

// Linux's limit on a shebang line (BINPRM_BUF_SIZE - 1).
inline constexpr size_t kMaxShebangLength = 127;

std::string replace_prefix_text(std::string_view data, std::string_view placeholder,
                                std::string_view prefix);

// Throws Error(BadInput) naming `what` when the prefix is longer than the
// placeholder and the placeholder occurs in `data`.
std::string replace_prefix_binary(std::string_view data, std::string_view placeholder,
                                  std::string_view prefix, std::string_view what);

// conda's replace_long_shebang: a first line "#!/path/to/exe args" longer
// than kMaxShebangLength becomes "#!/usr/bin/env exe args"; anything else
// is returned unchanged.
std::string shorten_long_shebang(std::string data);

// The replacement for `mode` (text includes shorten_long_shebang). An empty
// placeholder returns the data unchanged.
std::string replace_prefix(std::string_view data, FileMode mode, std::string_view placeholder,
                           std::string_view prefix, std::string_view what);

}  // namespace envbuild::builder::conda
