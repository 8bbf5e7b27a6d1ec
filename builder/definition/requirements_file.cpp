#include "builder/definition/requirements_file.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "builder/definition/package_specs.hpp"
#include "registry/error.hpp"
#include "registry/http_url.hpp"

namespace envbuild::builder {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxIncludeDepth = 16;
constexpr size_t kMaxFileBytes = 4u << 20;

// Options with a value; the value is part of the identity (credentials in
// URLs are not: they come from the environment at install time).
const std::set<std::string> kValueOptions = {
    "--index-url",   "-i",          "--extra-index-url", "--find-links", "-f",
    "--only-binary", "--no-binary", "--trusted-host"};
const std::set<std::string> kFlagOptions = {"--pre", "--prefer-binary", "--no-index"};

std::string long_name(const std::string& opt) {
  if (opt == "-i") return "--index-url";
  if (opt == "-f") return "--find-links";
  return opt;
}

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

// Logical lines: comments dropped ('#' at the start or after whitespace),
// backslash continuations joined; each with the number of its first line.
std::vector<std::pair<int, std::string>> logical_lines(const std::string& text) {
  std::vector<std::pair<int, std::string>> out;
  std::istringstream in(text);
  std::string raw, pending;
  int number = 0, start = 0;
  while (std::getline(in, raw)) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    if (pending.empty()) start = number;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
        raw.resize(i);
        break;
      }
    }
    if (!raw.empty() && raw.back() == '\\') {
      raw.pop_back();
      pending += raw;
      continue;
    }
    pending += raw;
    if (pending.find_first_not_of(" \t") != std::string::npos) out.emplace_back(start, pending);
    pending.clear();
  }
  if (pending.find_first_not_of(" \t") != std::string::npos) out.emplace_back(start, pending);
  return out;
}

void add_file(const fs::path& path, EnvironmentDefinition& def, std::vector<fs::path>& stack) {
  std::error_code ec;
  const fs::path canonical = fs::weakly_canonical(path, ec);
  if (std::find(stack.begin(), stack.end(), canonical) != stack.end())
    throw Error(ErrorKind::BadInput, path.string() + ": included from itself (-r cycle)");
  if (stack.size() >= kMaxIncludeDepth)
    throw Error(ErrorKind::BadInput, path.string() + ": -r includes nested too deeply");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::BadInput, path.string() + ": cannot read the requirements file");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (buf.str().size() > kMaxFileBytes)
    throw Error(ErrorKind::BadInput, path.string() + ": larger than 4 MiB");
  stack.push_back(canonical);
  for (const auto& [number, line] : logical_lines(buf.str())) {
    const std::string where = path.string() + ":" + std::to_string(number) + ": ";
    auto fail = [&](const std::string& what) { throw Error(ErrorKind::BadInput, where + what); };
    std::vector<std::string> words = split_words(line);
    std::string first = words.front();
    // --opt=value is --opt value.
    std::string value;
    if (first.rfind("--", 0) == 0 && first.find('=') != std::string::npos) {
      value = first.substr(first.find('=') + 1);
      first = first.substr(0, first.find('='));
    } else if (words.size() > 1) {
      value = words[1];
    }
    if (first == "-r" || first == "--requirement") {
      if (value.empty()) fail(first + " needs a file");
      fs::path inc(value);
      add_file(inc.is_absolute() ? inc : path.parent_path() / inc, def, stack);
    } else if (first == "-e" || first == "--editable") {
      fail("editable installs (-e) are not supported: an image holds installed packages");
    } else if (first == "-c" || first == "--constraint") {
      fail("constraint files (-c) are not supported; pin versions in the requirements instead");
    } else if (kValueOptions.count(first)) {
      if (value.empty()) fail(first + " needs a value");
      def.pip_options.push_back(long_name(first) + "=" + registry::strip_userinfo(value));
    } else if (kFlagOptions.count(first)) {
      def.pip_options.push_back(first);
    } else if (first[0] == '-') {
      fail("unknown or unsupported option '" + first + "'");
    } else {
      // A requirement, possibly followed by per-requirement --hash options.
      std::string requirement = line;
      std::vector<std::string> hashes;
      size_t opt = line.find(" --");
      if (opt != std::string::npos) {
        requirement = line.substr(0, opt);
        for (const std::string& w : split_words(line.substr(opt))) {
          if (w.rfind("--hash=", 0) != 0)
            fail("unsupported option '" + w + "' after a requirement");
          hashes.push_back(w);
        }
      }
      try {
        std::string canonical_req = canonical_pip_requirement(requirement);
        std::sort(hashes.begin(), hashes.end());
        for (const std::string& h : hashes) canonical_req += " " + h;
        def.pip_packages.push_back(std::move(canonical_req));
      } catch (const Error& e) {
        fail(e.what());
      }
    }
  }
  stack.pop_back();
}

}  // namespace

void add_requirements(const std::string& path, EnvironmentDefinition& def) {
  std::vector<fs::path> stack;
  add_file(path, def, stack);
}

EnvironmentDefinition read_requirements_file(const std::string& path) {
  EnvironmentDefinition def;
  def.source = path;
  def.format = "requirements";
  add_requirements(path, def);
  return def;
}

}  // namespace envbuild::builder
