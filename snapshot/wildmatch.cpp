#include "snapshot/wildmatch.hpp"

#include <cctype>
#include <cstring>

namespace envbuild::snapshot {

namespace {

enum Result { kMatch, kNoMatch, kAbortAll, kAbortToStarStar };

using Ptr = const unsigned char*;

bool in_class(std::string_view name, unsigned char c) {
  if (name == "alnum") return std::isalnum(c);
  if (name == "alpha") return std::isalpha(c);
  if (name == "blank") return c == ' ' || c == '\t';
  if (name == "cntrl") return std::iscntrl(c);
  if (name == "digit") return std::isdigit(c);
  if (name == "graph") return std::isgraph(c);
  if (name == "lower") return std::islower(c);
  if (name == "print") return std::isprint(c);
  if (name == "punct") return std::ispunct(c);
  if (name == "space") return std::isspace(c);
  if (name == "upper") return std::isupper(c);
  if (name == "xdigit") return std::isxdigit(c);
  return false;
}

bool known_class(std::string_view name) {
  for (const char* k : {"alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print",
                        "punct", "space", "upper", "xdigit"})
    if (name == k) return true;
  return false;
}

// Matches one bracket expression starting after '[' against `c`. Advances
// `p` to the closing ']'. Returns kMatch/kNoMatch, or kAbortAll when the
// expression is malformed (then nothing can match).
Result match_bracket(Ptr& p, Ptr end, unsigned char c, bool pathname) {
  if (p == end) return kAbortAll;
  bool negated = *p == '!' || *p == '^';
  if (negated) ++p;
  bool matched = false;
  unsigned char prev = 0;
  bool first = true;
  for (;; ++p) {
    if (p == end) return kAbortAll;
    unsigned char pc = *p;
    if (pc == ']' && !first) break;
    first = false;
    if (pc == '\\') {
      if (++p == end) return kAbortAll;
      if (*p == c) matched = true;
      prev = *p;
    } else if (pc == '-' && prev != 0 && p + 1 != end && p[1] != ']') {
      ++p;
      unsigned char hi = *p;
      if (hi == '\\') {
        if (++p == end) return kAbortAll;
        hi = *p;
      }
      if (c >= prev && c <= hi) matched = true;
      prev = 0;
    } else if (pc == '[' && p + 1 != end && p[1] == ':') {
      Ptr name_start = p + 2;
      Ptr q = name_start;
      while (q != end && *q != ']') ++q;
      if (q == end) return kAbortAll;
      if (q - name_start < 1 || q[-1] != ':') {
        // Not a class after all: '[' is literal.
        if (c == '[') matched = true;
        prev = '[';
        continue;
      }
      std::string_view name(reinterpret_cast<const char*>(name_start),
                            static_cast<size_t>(q - 1 - name_start));
      if (!known_class(name)) return kAbortAll;
      if (in_class(name, c)) matched = true;
      p = q;
      prev = 0;
    } else {
      if (c == pc) matched = true;
      prev = pc;
    }
  }
  if (matched == negated || (pathname && c == '/')) return kNoMatch;
  return kMatch;
}

// `pstart` is the start of the whole pattern: "**" counts as a directory
// wildcard only at the start or right after a '/'.
Result dowild(Ptr pstart, Ptr p, Ptr pend, Ptr t, Ptr tend, bool pathname) {
  while (p != pend) {
    unsigned char pc = *p;
    if (t == tend && pc != '*') return kAbortAll;
    switch (pc) {
      case '\\':
        // A trailing backslash matches nothing.
        if (++p == pend) return kNoMatch;
        if (*t != *p) return kNoMatch;
        break;
      case '?':
        if (pathname && *t == '/') return kNoMatch;
        break;
      case '[': {
        ++p;
        Result r = match_bracket(p, pend, *t, pathname);
        if (r != kMatch) return r;
        break;
      }
      case '*': {
        Ptr star = p;
        bool match_slash;
        if (p + 1 != pend && p[1] == '*') {
          while (p + 1 != pend && p[1] == '*') ++p;
          if (!pathname) {
            match_slash = true;
          } else if ((star == pstart || star[-1] == '/') && (p + 1 == pend || p[1] == '/')) {
            // "**/" may stand for no directory at all.
            if (p + 1 != pend && p[1] == '/' &&
                dowild(pstart, p + 2, pend, t, tend, pathname) == kMatch)
              return kMatch;
            match_slash = true;
          } else {
            match_slash = false;  // "a**b": just a star
          }
        } else {
          match_slash = !pathname;
        }
        ++p;
        if (p == pend) {
          if (!match_slash && std::memchr(t, '/', static_cast<size_t>(tend - t))) return kNoMatch;
          return kMatch;
        }
        if (!match_slash && *p == '/') {
          auto* slash = static_cast<Ptr>(std::memchr(t, '/', static_cast<size_t>(tend - t)));
          if (slash == nullptr) return kNoMatch;
          t = slash;
          continue;  // the '/' is matched by the loop
        }
        for (; t != tend; ++t) {
          Result r = dowild(pstart, p, pend, t, tend, pathname);
          if (r != kNoMatch) {
            if (!match_slash || r != kAbortToStarStar) return r;
          } else if (!match_slash && *t == '/') {
            return kAbortToStarStar;
          }
        }
        return kAbortAll;
      }
      default:
        if (*t != pc) return kNoMatch;
        break;
    }
    ++p;
    ++t;
  }
  return t == tend ? kMatch : kNoMatch;
}

}  // namespace

bool wildmatch(std::string_view pattern, std::string_view text, bool pathname) {
  auto p = reinterpret_cast<Ptr>(pattern.data());
  auto t = reinterpret_cast<Ptr>(text.data());
  return dowild(p, p, p + pattern.size(), t, t + text.size(), pathname) == kMatch;
}

}  // namespace envbuild::snapshot
