#include "builder/definition/conda_environment_file.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "builder/definition/conda_selectors.hpp"
#include "builder/definition/package_specs.hpp"
#include "registry/error.hpp"

namespace envbuild::builder {

namespace {

const std::set<std::string> kKeys = {"name",   "channels",  "dependencies", "variables",
                                     "prefix", "platforms", "category"};

void check_env_name(const YamlFile& f, const YAML::Node& node, const std::string& name) {
  if (name.empty()) f.fail(node, "name must not be empty");
  if (name.find_first_of("/ :#") != std::string::npos)
    f.fail(node, "name '" + name + "' must not contain '/', ' ', ':' or '#'");
  if (name == "base" || name == "root") f.fail(node, "name '" + name + "' is reserved by conda");
}

std::string conda_spec_at(const YamlFile& f, const YAML::Node& node, const std::string& text) {
  try {
    return canonical_conda_spec(text);
  } catch (const Error& e) {
    f.fail(node, e.what());
  }
}

void add_pip(const YamlFile& f, const YAML::Node& list, EnvironmentDefinition& def) {
  if (!list.IsSequence()) f.fail(list, "the pip subsection must be a list of requirements");
  for (const auto& item : list) {
    const std::string text = f.string(item, "pip requirements");
    try {
      def.pip_packages.push_back(canonical_pip_requirement(text));
    } catch (const Error& e) {
      f.fail(item, e.what());
    }
  }
}

void add_dependencies(const YamlFile& f, const YAML::Node& deps, const TargetPlatform& platform,
                      EnvironmentDefinition& def) {
  if (deps.IsNull()) return;
  if (!deps.IsSequence()) f.fail(deps, "dependencies must be a list");
  const std::set<std::string> truths = platform.selector_names();
  for (const auto& item : deps) {
    if (item.IsScalar()) {
      def.conda_packages.push_back(conda_spec_at(f, item, item.Scalar()));
      continue;
    }
    if (!item.IsMap() || item.size() != 1)
      f.fail(item, "a dependency is a package spec, a 'pip:' list or one 'sel(...): spec'");
    const auto kv = *item.begin();
    const std::string key = f.string(kv.first, "dependency subsection names");
    if (key == "pip") {
      add_pip(f, kv.second, def);
    } else if (key.size() > 5 && key.compare(0, 4, "sel(") == 0 && key.back() == ')') {
      // Dictionary selectors take exactly one of these names (CEP 24).
      const std::string expr = key.substr(4, key.size() - 5);
      if (expr != "unix" && expr != "linux" && expr != "osx" && expr != "win")
        f.fail(kv.first, "sel() takes one of unix, linux, osx, win; not '" + expr + "'");
      if (truths.count(expr))
        def.conda_packages.push_back(
            conda_spec_at(f, kv.second, f.string(kv.second, "a sel() entry")));
    } else {
      f.fail(kv.first, "unknown dependency subsection '" + key +
                           "' (envbuild installs conda packages and the 'pip:' subsection)");
    }
  }
}

}  // namespace

void add_conda_environment(const YamlFile& f, const YAML::Node& node,
                           const TargetPlatform& platform, EnvironmentDefinition& def,
                           bool take_name) {
  if (node.IsNull()) f.fail(node, "the environment file is empty");
  f.expect_mapping(node, "environment.yml", kKeys);
  if (const auto n = node["name"]) {
    const std::string name = f.string(n, "name");
    check_env_name(f, n, name);
    if (take_name) def.name = name;
  }
  if (const auto p = node["prefix"]) f.string(p, "prefix");  // the image's prefix is fixed
  if (const auto c = node["category"]) f.string(c, "category");
  if (const auto c = node["channels"]) {
    for (const auto& ch : c) {
      if (!ch.IsScalar() || ch.Scalar().empty())
        f.fail(ch, "channels must be non-empty names or URLs");
    }
    for (std::string& ch : f.string_list(c, "channels")) {
      if (std::find(def.channels.begin(), def.channels.end(), ch) == def.channels.end())
        def.channels.push_back(std::move(ch));
    }
  }
  if (const auto p = node["platforms"]) {
    const std::vector<std::string> platforms = f.string_list(p, "platforms");
    if (std::find(platforms.begin(), platforms.end(), "noarch") != platforms.end())
      f.fail(p, "platforms must not list noarch");
    if (!platforms.empty() &&
        std::find(platforms.begin(), platforms.end(), platform.conda_subdir()) == platforms.end())
      f.fail(p, "platforms does not list " + platform.conda_subdir() + ", the target (" +
                    platform.oci() + ")");
  }
  const auto deps = node["dependencies"];
  if (!deps) f.fail(node, "dependencies is required (a list of packages; it may be empty)");
  add_dependencies(f, deps, platform, def);
  if (const auto v = node["variables"]) {
    for (const auto& [key, value] : f.string_map(v, "variables")) {
      if (!is_valid_env_name(key))
        f.fail(v, "variables: '" + key + "' is not a valid environment variable name");
      def.variables[key] = value;
    }
  }
}

EnvironmentDefinition read_conda_environment_file(const std::string& path,
                                                  const TargetPlatform& platform) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::BadInput, path + ": cannot read the environment file");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (4u << 20))
    throw Error(ErrorKind::BadInput, path + ": larger than 4 MiB");
  const YamlFile f(path, apply_comment_selectors(text.str(), path, platform.selector_names()));
  EnvironmentDefinition def;
  def.source = path;
  def.format = "conda";
  def.platform = platform.oci();
  add_conda_environment(f, f.root(), platform, def, /*take_name=*/true);
  return def;
}

}  // namespace envbuild::builder
