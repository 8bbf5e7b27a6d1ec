#pragma once
// Glob matching with git's wildmatch rules, as gitignore uses them: `*` and
// `?` never match '/', `**` between slashes (or at either end) matches any
// number of directories, `[...]` classes with ranges, `!`/`^` negation,
// POSIX [:classes:] and backslash escapes. An unterminated `[` never
// matches, as in git.
#include <string_view>

namespace envbuild::snapshot {

// `pathname`: '/' is special (git's WM_PATHNAME). Without it, `*` may match
// '/' too (git matches basename-only patterns that way).
bool wildmatch(std::string_view pattern, std::string_view text, bool pathname = true);

}  // namespace envbuild::snapshot
