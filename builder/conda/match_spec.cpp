#include "builder/conda/match_spec.hpp"

#include <algorithm>
#include <map>
#include <utility>

#include "builder/spec_text.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr std::size_t kMaxSpecLength = 4096;
constexpr std::size_t kMaxNameLength = 64;
constexpr std::size_t kMaxBuildLength = 64;

// conda's known subdirs: only these split `channel/subdir::name`, otherwise
// the last path component belongs to the channel URL.
constexpr std::string_view kKnownSubdirs[] = {
    "noarch",       "linux-32",          "linux-64",      "linux-aarch64", "linux-armv6l",
    "linux-armv7l", "linux-ppc64",       "linux-ppc64le", "linux-riscv64", "linux-s390x",
    "osx-64",       "osx-arm64",         "win-32",        "win-64",        "win-arm64",
    "zos-z",        "emscripten-wasm32", "wasi-wasm32"};

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}
bool contains_any(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

bool is_known_subdir(std::string_view s) {
  return std::find(std::begin(kKnownSubdirs), std::end(kKnownSubdirs), s) !=
         std::end(kKnownSubdirs);
}

// CEP 26: `noarch` or `{os}-{arch}` of lowercase letters and digits.
bool is_subdir_shape(std::string_view s) {
  if (s == "noarch") return true;
  std::size_t dash = s.find('-');
  if (s.size() > 32 || dash == std::string_view::npos || dash == 0 || dash + 1 == s.size())
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == dash) continue;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Operator and logic characters: a space or '=' next to one belongs to the
// version expression (`>= 1.2`, `1.2, <2`, `>=1.2,=1.3`), not a separator.
bool continues_version(char c) { return contains_any(std::string_view(&c, 1), "=!<>~,|"); }

class SpecParser {
 public:
  explicit SpecParser(std::string_view input) : input_(input) {}

  MatchSpec run() {
    if (std::optional<std::string> problem = line_problem(input_, kMaxSpecLength)) fail(*problem);
    std::string_view s = trim_blanks(input_);
    if (std::size_t hash = s.find('#'); hash != std::string_view::npos)
      s = trim_blanks(s.substr(0, hash));
    if (s.empty()) fail("empty");
    if (s.find(" if ") != std::string_view::npos || s.find("\tif ") != std::string_view::npos)
      fail("conditional dependencies (' if ') are not supported");
    if (s.ends_with(".conda") || s.ends_with(".tar.bz2"))
      fail("package files and URLs are not supported; write channel::name==version=build");
    if (s.back() == '@') fail("legacy feature specs ('name@') are not supported");

    std::string_view positional = s;
    std::string_view brackets;
    bool has_brackets = false;
    if (std::size_t open = s.find('['); open != std::string_view::npos) {
      std::size_t close = find_close(s, open);
      if (close + 1 != s.size()) fail("unexpected text after ']'");
      positional = trim_blanks(s.substr(0, open));
      brackets = s.substr(open + 1, close - open - 1);
      has_brackets = true;
    } else if (s.find(']') != std::string_view::npos) {
      fail("']' without '['");
    }
    if (positional.empty()) fail("no package name before '['");
    parse_positional(positional);
    if (has_brackets) parse_brackets(brackets);
    return std::move(spec_);
  }

 private:
  std::string_view input_;
  MatchSpec spec_;

  [[noreturn]] void fail(const std::string& what) const {
    throw_invalid("conda package spec", input_, what);
  }

  std::size_t find_close(std::string_view s, std::size_t open) const {
    char quote = 0;
    for (std::size_t i = open + 1; i < s.size(); ++i) {
      char c = s[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '[') {
        fail("nested '[' in brackets");
      } else if (c == ']') {
        return i;
      }
    }
    if (quote) fail("unterminated quote in brackets");
    fail("'[' is never closed");
  }

  void parse_positional(std::string_view s) {
    if (contains_any(s, "()")) fail("parentheses are only allowed inside [version='...']");
    if (contains_any(s, "'\"")) fail("quotes are only allowed inside [...]");
    if (std::size_t colon = s.rfind(':'); colon != std::string_view::npos) {
      std::string_view before = s.substr(0, colon);
      s = trim_blanks(s.substr(colon + 1));
      std::size_t second = before.rfind(':');
      if (second == std::string_view::npos || second + 1 != before.size())
        fail("namespaces are not supported; write channel::name");
      std::string_view channel = before.substr(0, second);
      if (channel.empty()) fail("empty channel before '::'");
      set_channel(channel);
      if (s.empty()) fail("no package name after '::'");
    }
    std::size_t end = 0;
    while (end < s.size() && !is_blank(s[end]) && !contains_any(s.substr(end, 1), "=<>!~")) ++end;
    set_name(s.substr(0, end));
    parse_version_and_build(s.substr(end));
  }

  void set_name(std::string_view raw) {
    if (raw.empty()) fail("no package name");
    if (raw.find('*') != std::string_view::npos)
      fail("the package name must be a name, not '*' or a glob");
    if (raw.size() > kMaxNameLength)
      fail("package name longer than " + std::to_string(kMaxNameLength) + " characters");
    std::string name = lowercase(raw);
    bool is_virtual = name.starts_with("__");
    std::string_view body = is_virtual ? std::string_view(name).substr(2) : std::string_view(name);
    bool ok = !body.empty() && (is_alnum(body.front()) || (!is_virtual && body.front() == '_'));
    for (std::size_t i = 0; ok && i < body.size(); ++i) {
      char c = body[i];
      if (!is_alnum(c) && !is_separator(c)) ok = false;
      if (i > 0 && is_separator(c) && is_separator(body[i - 1])) ok = false;
    }
    if (!ok) {
      fail("invalid package name " + quote_input(raw) +
           " (lowercase letters, digits, '-', '_', '.', no two separators in a row)");
    }
    spec_.name = std::move(name);
  }

  // `name 1.2 build`, `name=1.2=build`, `name >=1.2,<2 build`: the build is
  // the last word after a space or '=' that does not continue the version.
  void parse_version_and_build(std::string_view rest) {
    rest = trim_blanks(rest);
    if (rest.empty()) return;
    std::string text;
    for (char c : rest) {
      if (!is_blank(c)) {
        text += c;
      } else if (text.back() != ' ') {
        text += ' ';
      }
    }
    std::optional<std::string> build;
    std::string version = text;
    for (std::size_t i = text.size() - 1; i >= 1; --i) {
      char c = text[i];
      char prev = text[i - 1];
      bool separator = false;
      if (c == ' ') {
        separator = !continues_version(prev) && !continues_version(text[i + 1]);
      } else if (c == '=') {
        separator = !continues_version(prev);  // `>=1.0 , <2.0 =py34_0` too (conda)
      }
      if (!separator) continue;
      std::string candidate = text.substr(i + 1);
      if (!candidate.empty() && !contains_any(candidate, " =!<>~,|")) {
        build = candidate;
        version = text.substr(0, i);
      }
      break;
    }
    // `=1.2` before a positional build means exactly 1.2 (conda).
    if (build && version.size() > 1 && version[0] == '=' && version[1] != '=' &&
        !contains_any(std::string_view(version).substr(1), "=,|")) {
      version.erase(0, 1);
    }
    set_version(version);
    if (build) set_build(*build);
  }

  void set_version(std::string_view text) {
    try {
      VersionSpec v = VersionSpec::parse(text);
      if (v.is_any()) {
        spec_.version.reset();
      } else {
        spec_.version = std::move(v);
      }
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  void set_build(std::string_view raw) {
    if (raw.front() == '^' || raw.back() == '$') fail("regular expressions are not supported");
    if (raw.size() > kMaxBuildLength)
      fail("build string longer than " + std::to_string(kMaxBuildLength) + " characters");
    for (char c : raw) {
      if (!is_alnum(c) && c != '_' && c != '.' && c != '+' && c != '*')
        fail("invalid build string " + quote_input(raw) + " (letters, digits, '_', '.', '+', '*')");
    }
    if (raw.find_first_not_of('*') == std::string_view::npos) {
      spec_.build.reset();
    } else {
      spec_.build = lowercase(raw);
    }
  }

  void set_channel(std::string_view raw) {
    std::string_view channel = raw;
    while (channel.size() > 1 && channel.back() == '/') channel.remove_suffix(1);
    std::optional<std::string> subdir;
    if (std::size_t slash = channel.rfind('/');
        slash != std::string_view::npos && is_known_subdir(channel.substr(slash + 1))) {
      subdir = std::string(channel.substr(slash + 1));
      channel = channel.substr(0, slash);
      while (!channel.empty() && channel.back() == '/') channel.remove_suffix(1);
      if (channel.empty()) fail("no channel before the subdir in " + quote_input(raw));
    }
    if (subdir) spec_.subdir = subdir;
    if (channel == "*") {
      spec_.channel.reset();
      return;
    }
    if (channel.find('*') != std::string_view::npos)
      fail("channel globs other than '*' are not supported");
    if (channel.find("::") != std::string_view::npos) fail("more than one '::'");
    // A name, a URL, or a local path (./chan, /abs, ~/chan).
    char first = channel.front();
    if (!is_alnum(first) && first != '.' && first != '/' && first != '_' && first != '~')
      fail("invalid channel " + quote_input(raw));
    for (char c : channel) {
      if (!is_alnum(c) && !contains_any(std::string_view(&c, 1), "-._~:/%@+"))
        fail("invalid channel " + quote_input(raw));
    }
    spec_.channel = std::string(channel);
  }

  void set_subdir(std::string_view raw) {
    if (raw == "*") {
      spec_.subdir.reset();
    } else if (is_subdir_shape(raw)) {
      spec_.subdir = std::string(raw);
    } else {
      fail("invalid subdir " + quote_input(raw) + " (noarch or os-arch, like linux-64)");
    }
  }

  void set_build_number(std::string_view raw) {
    if (raw.empty() || raw.size() > 9 ||
        raw.find_first_not_of("0123456789") != std::string_view::npos)
      fail("build_number must be a plain number (operators are not supported)");
    spec_.build_number = std::stoi(std::string(raw));
  }

  void parse_brackets(std::string_view s) {
    std::map<std::string, std::string> seen;
    std::size_t i = 0;
    bool need_entry = false;  // after a ','
    while (true) {
      while (i < s.size() && is_blank(s[i])) ++i;
      if (i == s.size()) {
        if (need_entry) fail("',' at the end of the brackets");
        break;
      }
      std::size_t key_start = i;
      while (i < s.size() && (is_alnum(s[i]) || s[i] == '_' || s[i] == '-')) ++i;
      std::string key(s.substr(key_start, i - key_start));
      if (key.empty()) fail("expected key=value in brackets, found " + quote_input(s.substr(i)));
      while (i < s.size() && is_blank(s[i])) ++i;
      if (i == s.size() || s[i] != '=')
        fail("expected '=' after " + quote_input(key) + " in brackets");
      ++i;
      while (i < s.size() && is_blank(s[i])) ++i;
      std::string value;
      if (i < s.size() && (s[i] == '\'' || s[i] == '"')) {
        std::size_t close = s.find(s[i], i + 1);
        if (close == std::string_view::npos) fail("unterminated quote in brackets");
        value = std::string(s.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        std::size_t start = i;
        while (i < s.size() && !is_blank(s[i]) && s[i] != ',') ++i;
        value = std::string(s.substr(start, i - start));
        if (contains_any(value, "'\"")) fail("misplaced quote in the value of " + quote_input(key));
      }
      if (trim_blanks(value).empty()) fail("empty value for " + quote_input(key) + " in brackets");
      if (!seen.emplace(key, value).second) fail(quote_input(key) + " given twice in brackets");
      std::size_t after = i;
      while (i < s.size() && is_blank(s[i])) ++i;
      need_entry = i < s.size() && s[i] == ',';
      if (need_entry) {
        ++i;
      } else if (i < s.size() && i == after) {
        fail("expected ',' after the value of " + quote_input(key) + " in brackets");
      }
    }
    // Channel first: a subdir inside it yields to an explicit subdir key.
    if (auto it = seen.find("channel"); it != seen.end()) set_channel(trim_blanks(it->second));
    for (const auto& [key, value] : seen) apply_key(key, trim_blanks(value));
  }

  void apply_key(const std::string& key, std::string_view value) {
    if (key == "version") {
      set_version(value);
    } else if (key == "build") {
      set_build(value);
    } else if (key == "build_number") {
      set_build_number(value);
    } else if (key == "subdir") {
      set_subdir(value);
    } else if (key == "channel") {
      // applied first
    } else if (key == "name") {
      if (lowercase(value) != spec_.name)
        fail("name " + quote_input(value) + " in brackets differs from " + quote_input(spec_.name));
    } else if (key == "md5" || key == "sha256" || key == "url" || key == "fn" || key == "license" ||
               key == "license_family" || key == "track_features" || key == "features") {
      fail("the key " + quote_input(key) + " is not supported in brackets");
    } else {
      fail("unknown key " + quote_input(key) + " in brackets");
    }
  }
};

}  // namespace

MatchSpec MatchSpec::parse(std::string_view text) { return SpecParser(text).run(); }

std::string MatchSpec::canonical() const {
  std::string out;
  std::vector<std::string> brackets;
  if (channel) {
    out = *channel;
    if (subdir) out += "/" + *subdir;
    out += "::";
  } else if (subdir) {
    brackets.push_back("subdir=" + *subdir);
  }
  out += name;
  bool exact = false;
  if (version) {
    const VersionClause* clause = version->single_clause();
    VersionOp op = clause ? clause->op : VersionOp::Any;
    if (op == VersionOp::Exact) {
      out += clause->str();
      exact = true;
    } else if (op == VersionOp::StartsWith) {
      out += "=" + clause->version->str();
    } else if (!build && (op == VersionOp::NotExact || op == VersionOp::NotStartsWith ||
                          op == VersionOp::Compatible)) {
      out += clause->str();
    } else {
      brackets.push_back("version='" + version->str() + "'");
    }
  }
  if (build) {
    if (exact && build->find('*') == std::string::npos) {
      out += "=" + *build;
    } else {
      brackets.push_back("build=" + *build);
    }
  }
  if (build_number) brackets.push_back("build_number=" + std::to_string(*build_number));
  if (!brackets.empty()) {
    out += "[";
    for (std::size_t i = 0; i < brackets.size(); ++i) out += (i ? "," : "") + brackets[i];
    out += "]";
  }
  return out;
}

bool MatchSpec::matches(std::string_view record_name, const CondaVersion& record_version,
                        std::string_view record_build, int record_build_number) const {
  if (lowercase(record_name) != name) return false;
  if (version && !version->matches(record_version)) return false;
  if (build && !glob_match(*build, lowercase(record_build))) return false;
  if (build_number && *build_number != record_build_number) return false;
  return true;
}

}  // namespace envbuild::builder::conda
