#include "builder/definition/yaml_fields.hpp"

#include <fstream>
#include <sstream>

#include "registry/error.hpp"

namespace envbuild::builder {

namespace {

// Definitions are small; a bound keeps a hostile file from eating memory.
constexpr std::streamsize kMaxDefinitionBytes = 4 << 20;

std::string node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "empty";
    default:
      return "a scalar";
  }
}

std::string join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

YamlFile::YamlFile(std::string display, const std::string& text) : display_(std::move(display)) {
  try {
    root_ = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::BadInput, display_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                                         std::to_string(e.mark.column + 1) +
                                         ": YAML syntax error: " + e.msg);
  }
}

YamlFile YamlFile::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::BadInput, path + ": cannot read the definition file");
  std::string text;
  text.resize(static_cast<size_t>(kMaxDefinitionBytes) + 1);
  in.read(text.data(), kMaxDefinitionBytes + 1);
  text.resize(static_cast<size_t>(in.gcount()));
  if (static_cast<std::streamsize>(text.size()) > kMaxDefinitionBytes)
    throw Error(ErrorKind::BadInput, path + ": definition larger than 4 MiB");
  return YamlFile(path, text);
}

std::string YamlFile::where(const YAML::Node& at) const {
  const YAML::Mark m = at.Mark();
  if (m.is_null()) return display_;
  return display_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

YAML::Node YamlFile::key_of(const YAML::Node& map, const std::string& name) const {
  if (map.IsMap()) {
    for (const auto& kv : map) {
      if (kv.first.IsScalar() && kv.first.Scalar() == name) return kv.first;
    }
  }
  return map;
}

void YamlFile::fail(const YAML::Node& at, const std::string& what) const {
  throw Error(ErrorKind::BadInput, where(at) + ": " + what);
}

void YamlFile::expect_mapping(const YAML::Node& node, std::string_view what,
                              const std::set<std::string>& allowed) const {
  if (!node.IsMap()) fail(node, std::string(what) + " must be a mapping, not " + node_kind(node));
  std::set<std::string> seen;
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) fail(kv.first, "keys of " + std::string(what) + " must be text");
    const std::string key = kv.first.Scalar();
    if (!seen.insert(key).second)
      fail(kv.first, "'" + key + "' appears twice in " + std::string(what));
    if (!allowed.count(key)) {
      fail(kv.first,
           "unknown key '" + key + "' in " + std::string(what) + " (known: " + join(allowed) + ")");
    }
  }
}

std::string YamlFile::string(const YAML::Node& node, std::string_view field) const {
  if (!node.IsScalar()) fail(node, std::string(field) + " must be text, not " + node_kind(node));
  return node.Scalar();
}

bool YamlFile::boolean(const YAML::Node& node, std::string_view field) const {
  if (node.IsScalar()) {
    const std::string& v = node.Scalar();
    if (v == "true" || v == "True" || v == "TRUE" || v == "yes") return true;
    if (v == "false" || v == "False" || v == "FALSE" || v == "no") return false;
  }
  fail(node, std::string(field) + " must be true or false");
}

std::vector<std::string> YamlFile::string_list(const YAML::Node& node,
                                               std::string_view field) const {
  if (node.IsNull()) return {};
  if (!node.IsSequence())
    fail(node, std::string(field) + " must be a list, not " + node_kind(node));
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(string(item, std::string(field) + " entries"));
  return out;
}

std::map<std::string, std::string> YamlFile::string_map(const YAML::Node& node,
                                                        std::string_view field) const {
  if (node.IsNull()) return {};
  if (!node.IsMap()) fail(node, std::string(field) + " must be a mapping, not " + node_kind(node));
  std::map<std::string, std::string> out;
  for (const auto& kv : node) {
    const std::string key = string(kv.first, std::string(field) + " keys");
    if (kv.second.IsNull()) {
      out[key] = "";
    } else {
      out[key] = string(kv.second, std::string(field) + "." + key);
    }
  }
  return out;
}

bool is_valid_env_name(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

}  // namespace envbuild::builder
