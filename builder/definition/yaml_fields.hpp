#pragma once
// Strict reading of definition YAML: every error is one line that names the
// file, line and column ("env.yml:3:5: ..."), unknown keys are refused, and
// types are checked instead of converted.
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace envbuild::builder {

class YamlFile {
 public:
  // Parses `text`; a syntax error becomes Error(BadInput) at its position.
  // `display` names the file in messages.
  YamlFile(std::string display, const std::string& text);
  // Reads and parses `path`; a missing or unreadable file is Error(BadInput).
  static YamlFile read(const std::string& path);

  const YAML::Node& root() const { return root_; }
  const std::string& display() const { return display_; }

  // "FILE:LINE:COL: what" (1-based; the position of `at`).
  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const;
  std::string where(const YAML::Node& at) const;
  // The key node of `name` in `map` (for errors about the key itself, whose
  // value may start on a later line); `map` when absent.
  YAML::Node key_of(const YAML::Node& map, const std::string& name) const;

  // The root (or `node`) must be a mapping whose keys are all in `allowed`.
  void expect_mapping(const YAML::Node& node, std::string_view what,
                      const std::set<std::string>& allowed) const;
  // Scalars only: a mapping or list where text belongs is an error.
  std::string string(const YAML::Node& node, std::string_view field) const;
  bool boolean(const YAML::Node& node, std::string_view field) const;
  std::vector<std::string> string_list(const YAML::Node& node, std::string_view field) const;
  // Values may be any scalar (numbers become their text, as conda does).
  std::map<std::string, std::string> string_map(const YAML::Node& node,
                                                std::string_view field) const;

 private:
  std::string display_;
  YAML::Node root_;
};

// Environment variable names: letters, digits and '_', not starting with a
// digit (portable between POSIX shells and Windows).
bool is_valid_env_name(std::string_view name);

}  // namespace envbuild::builder
