#include "snapshot/ignore_pattern.hpp"

#include "snapshot/wildmatch.hpp"

namespace envbuild::snapshot {

namespace {

// git trims trailing spaces unless escaped with a backslash; tabs stay.
std::string_view trim_trailing_spaces(std::string_view s) {
  size_t keep = s.size();
  std::optional<size_t> last_space;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ') {
      if (!last_space) last_space = i;
    } else if (s[i] == '\\') {
      if (++i == s.size()) return s;  // a trailing lone backslash: keep all
      last_space.reset();
    } else {
      last_space.reset();
    }
  }
  if (last_space) keep = *last_space;
  return s.substr(0, keep);
}

bool has_glob(std::string_view s) { return s.find_first_of("*?[\\") != std::string_view::npos; }

}  // namespace

std::optional<IgnorePattern> parse_ignore_line(std::string_view raw, int number) {
  if (raw.empty() || raw.front() == '#') return std::nullopt;
  std::string_view s = trim_trailing_spaces(raw);
  if (s.empty()) return std::nullopt;
  IgnorePattern p;
  p.text = std::string(s);
  p.line = number;
  if (s.front() == '!') {
    p.negated = true;
    s.remove_prefix(1);
  }
  if (!s.empty() && s.back() == '/') {
    p.directory_only = true;
    s.remove_suffix(1);
  }
  if (s.empty()) return std::nullopt;  // "/" or "!": git matches nothing with them
  p.basename_only = s.find('/') == std::string_view::npos;
  if (!p.basename_only && s.front() == '/') s.remove_prefix(1);
  p.pattern = std::string(s);
  if (!has_glob(s)) {
    p.kind_ = IgnorePattern::Kind::Literal;
    p.literal_ = p.pattern;
  } else if (p.basename_only && s.size() > 1 && s.front() == '*' && !has_glob(s.substr(1))) {
    p.kind_ = IgnorePattern::Kind::Suffix;
    p.literal_ = std::string(s.substr(1));
  }
  return p;
}

bool IgnorePattern::matches(std::string_view relative, std::string_view name,
                            bool is_directory) const {
  if (directory_only && !is_directory) return false;
  std::string_view subject = basename_only ? name : relative;
  switch (kind_) {
    case Kind::Literal:
      return subject == literal_;
    case Kind::Suffix:
      return subject.size() >= literal_.size() &&
             subject.substr(subject.size() - literal_.size()) == literal_;
    case Kind::Glob:
      break;
  }
  // Basename patterns are matched by git without WM_PATHNAME (a name has no
  // '/' anyway); path patterns with it.
  return wildmatch(pattern, subject, !basename_only);
}

std::vector<IgnorePattern> parse_ignore_file(std::string_view content) {
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  std::vector<IgnorePattern> out;
  int number = 0;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl == std::string_view::npos ? content.size() : nl + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto p = parse_ignore_line(line, number)) out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace envbuild::snapshot
