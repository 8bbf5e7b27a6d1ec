#pragma once
// One line of a .gitignore / .amlignore file, parsed as git parses it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::snapshot {

struct IgnorePattern {
  std::string text;     // the line as written, after trimming (for `snapshot check`)
  std::string pattern;  // the glob: no leading '!', no trailing '/', no leading '/'
  int line = 0;         // 1-based
  bool negated = false;
  bool directory_only = false;  // trailing '/'
  bool basename_only = false;   // no '/' inside: matches the name at any depth

  // `relative`: the path relative to the ignore file's directory; `name`:
  // its last component.
  bool matches(std::string_view relative, std::string_view name, bool is_directory) const;

 private:
  friend std::optional<IgnorePattern> parse_ignore_line(std::string_view, int);
  enum class Kind { Literal, Suffix, Glob };
  Kind kind_ = Kind::Glob;
  std::string literal_;  // Literal: the whole name; Suffix: what follows '*'
};

// nullopt for blank lines and comments. `line` has no newline.
std::optional<IgnorePattern> parse_ignore_line(std::string_view line, int number);

// A whole file: skips a UTF-8 byte order mark, splits on '\n', drops a '\r'
// before it (as git does for CRLF files).
std::vector<IgnorePattern> parse_ignore_file(std::string_view content);

}  // namespace envbuild::snapshot
