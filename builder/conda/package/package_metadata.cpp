#include "builder/conda/package/package_metadata.hpp"

#include <cctype>
#include <map>
#include <set>

#include "builder/conda/package/package_path.hpp"
#include "builder/conda/package/rooted_dir.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxIndexJson = 16 << 20;
constexpr uint64_t kMaxPathsJson = uint64_t{512} << 20;
constexpr uint64_t kMaxLegacyFile = uint64_t{256} << 20;

[[noreturn]] void bad(std::string_view name, const std::string& why) {
  throw Error(ErrorKind::BadInput, std::string(name) + ": " + why);
}

json parse_object(std::string_view text, std::string_view name) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) bad(name, "not valid JSON");
  if (!j.is_object()) bad(name, "not a JSON object");
  return j;
}

std::string required_string(const json& j, const char* key, std::string_view name) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    bad(name, std::string("missing or non-string \"") + key + "\"");
  return it->get<std::string>();
}

std::string optional_string(const json& j, const char* key, std::string_view name) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  if (!it->is_string()) bad(name, std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

bool is_sha256_hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(pos, end - pos));
    if (!line.empty()) out.push_back(line);
    pos = end + 1;
  }
  return out;
}

// has_prefix fields are split on blanks; a field may be quoted with ' or "
// to hold blanks (conda reads them with shlex and strips the quotes).
std::vector<std::string> split_fields(std::string_view line, std::string_view name) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string field;
    if (line[i] == '"' || line[i] == '\'') {
      char q = line[i++];
      size_t end = line.find(q, i);
      if (end == std::string_view::npos) bad(name, "unterminated quote in: " + std::string(line));
      field = std::string(line.substr(i, end - i));
      i = end + 1;
    } else {
      size_t end = i;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
      field = std::string(line.substr(i, end - i));
      i = end;
    }
    out.push_back(std::move(field));
  }
  return out;
}

void check_placeholder(const std::string& placeholder, std::string_view what) {
  if (placeholder.find('\0') != std::string::npos || placeholder.find('\n') != std::string::npos)
    bad(what, "invalid prefix placeholder");
}

bool is_entry_point_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}
bool is_dotted_identifier(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (s[i - 1] == '.') return false;
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

}  // namespace

std::string_view path_type_name(PathType type) {
  switch (type) {
    case PathType::Softlink:
      return "softlink";
    case PathType::Directory:
      return "directory";
    case PathType::Hardlink:
      break;
  }
  return "hardlink";
}

std::string_view file_mode_name(FileMode mode) {
  return mode == FileMode::Binary ? "binary" : "text";
}

std::string checked_install_path(std::string_view raw, std::string_view what) {
  std::string path = checked_package_path(raw, what);
  if (path_is_within(path, "info"))
    bad(what, "path is inside info/, which is package metadata: " + path);
  if (path_is_within(path, "conda-meta"))
    bad(what, "path is inside conda-meta/, which packages may not populate: " + path);
  return path;
}

json parse_index_json(std::string_view text, std::string_view name) {
  json j = parse_object(text, name);
  required_string(j, "name", name);
  required_string(j, "version", name);
  required_string(j, "build", name);
  optional_string(j, "subdir", name);
  auto noarch = j.find("noarch");
  if (noarch != j.end() && !noarch->is_null() && !noarch->is_string() && !noarch->is_boolean())
    bad(name, "\"noarch\" is neither a string nor a boolean");
  return j;
}

std::vector<PathEntry> parse_paths_json(std::string_view text, std::string_view name) {
  json j = parse_object(text, name);
  auto version = j.find("paths_version");
  if (version == j.end() || !version->is_number_integer() || version->get<int64_t>() != 1)
    bad(name, "unsupported or missing paths_version (1 is known)");
  auto paths = j.find("paths");
  if (paths == j.end() || !paths->is_array()) bad(name, "missing \"paths\" list");
  std::vector<PathEntry> out;
  out.reserve(paths->size());
  std::set<std::string> seen;
  for (const json& p : *paths) {
    if (!p.is_object()) bad(name, "a path entry is not an object");
    auto raw = p.find("_path");
    if (raw == p.end() || !raw->is_string()) bad(name, "a path entry has no \"_path\"");
    std::string what = std::string(name) + ": " + raw->get<std::string>();
    PathEntry e;
    e.path = checked_install_path(raw->get_ref<const std::string&>(), name);
    if (!seen.insert(e.path).second) bad(name, "path listed twice: " + e.path);
    std::string type = optional_string(p, "path_type", what);
    if (type.empty() || type == "hardlink") {
      e.type = PathType::Hardlink;
    } else if (type == "softlink") {
      e.type = PathType::Softlink;
    } else if (type == "directory") {
      e.type = PathType::Directory;
    } else {
      bad(what, "unknown path_type \"" + type + "\"");
    }
    std::string mode = optional_string(p, "file_mode", what);
    if (mode.empty() || mode == "text") {
      e.file_mode = FileMode::Text;
    } else if (mode == "binary") {
      e.file_mode = FileMode::Binary;
    } else {
      bad(what, "unknown file_mode \"" + mode + "\"");
    }
    e.prefix_placeholder = optional_string(p, "prefix_placeholder", what);
    check_placeholder(e.prefix_placeholder, what);
    if (!e.prefix_placeholder.empty() && e.type != PathType::Hardlink)
      bad(what, "a prefix placeholder on a " + type);
    auto no_link = p.find("no_link");
    if (no_link != p.end() && !no_link->is_null()) {
      if (!no_link->is_boolean()) bad(what, "\"no_link\" is not a boolean");
      e.no_link = no_link->get<bool>();
    }
    e.sha256 = optional_string(p, "sha256", what);
    if (!e.sha256.empty() && !is_sha256_hex(e.sha256)) bad(what, "sha256 is not 64 hex digits");
    auto size = p.find("size_in_bytes");
    if (size != p.end() && !size->is_null()) {
      if (!size->is_number_unsigned()) bad(what, "size_in_bytes is not a non-negative integer");
      e.size = size->get<uint64_t>();
    }
    out.push_back(std::move(e));
  }
  return out;
}

EntryPoint parse_entry_point(std::string_view text, std::string_view name) {
  auto refuse = [&] {
    bad(name, "entry point is not \"name = module:function\": " + std::string(text));
  };
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) refuse();
  std::string_view cmd = trim(text.substr(0, eq));
  std::string_view target = trim(text.substr(eq + 1));
  // "module:function [extra1,extra2]": the extras only gate installation.
  if (size_t bracket = target.find('['); bracket != std::string_view::npos) {
    if (target.back() != ']') refuse();
    target = trim(target.substr(0, bracket));
  }
  size_t colon = target.find(':');
  if (colon == std::string_view::npos) refuse();
  EntryPoint ep;
  ep.name = std::string(cmd);
  ep.module = std::string(trim(target.substr(0, colon)));
  ep.function = std::string(trim(target.substr(colon + 1)));
  if (ep.name.empty() || ep.name == "." || ep.name == "..") refuse();
  for (char c : ep.name)
    if (!is_entry_point_name_char(c)) refuse();
  if (!is_dotted_identifier(ep.module) || !is_dotted_identifier(ep.function)) refuse();
  return ep;
}

LinkJson parse_link_json(std::string_view text, std::string_view name) {
  json j = parse_object(text, name);
  LinkJson out;
  auto noarch = j.find("noarch");
  if (noarch == j.end() || noarch->is_null()) return out;
  if (!noarch->is_object()) bad(name, "\"noarch\" is not an object");
  out.noarch_type = optional_string(*noarch, "type", name);
  if (!out.noarch_type.empty() && out.noarch_type != "python" && out.noarch_type != "generic")
    bad(name, "unknown noarch type \"" + out.noarch_type + "\"");
  auto eps = noarch->find("entry_points");
  if (eps != noarch->end() && !eps->is_null()) {
    if (!eps->is_array()) bad(name, "\"entry_points\" is not a list");
    std::set<std::string> seen;
    for (const json& ep : *eps) {
      if (!ep.is_string()) bad(name, "an entry point is not a string");
      EntryPoint parsed = parse_entry_point(ep.get_ref<const std::string&>(), name);
      if (!seen.insert(parsed.name).second) bad(name, "entry point listed twice: " + parsed.name);
      out.entry_points.push_back(std::move(parsed));
    }
  }
  return out;
}

std::vector<PathEntry> parse_legacy_files(std::string_view files, std::string_view has_prefix,
                                          std::string_view no_link, std::string_view name) {
  std::vector<PathEntry> out;
  std::map<std::string, size_t> index;
  for (std::string_view line : lines_of(files)) {
    PathEntry e;
    e.path = checked_install_path(line, std::string(name) + ": info/files");
    if (!index.emplace(e.path, out.size()).second) bad(name, "info/files lists twice: " + e.path);
    out.push_back(std::move(e));
  }
  for (std::string_view line : lines_of(has_prefix)) {
    std::string what = std::string(name) + ": info/has_prefix";
    std::vector<std::string> f = split_fields(line, what);
    std::string placeholder(kDefaultPrefixPlaceholder);
    FileMode mode = FileMode::Text;
    std::string raw;
    if (f.size() == 1) {
      raw = f[0];
    } else if (f.size() == 3) {
      placeholder = f[0];
      if (f[1] == "binary") {
        mode = FileMode::Binary;
      } else if (f[1] != "text") {
        bad(what, "unknown mode \"" + f[1] + "\"");
      }
      raw = f[2];
    } else {
      bad(what, "expected \"path\" or \"placeholder mode path\": " + std::string(line));
    }
    if (placeholder.empty()) bad(what, "empty placeholder for " + raw);
    check_placeholder(placeholder, what);
    std::string path = checked_install_path(raw, what);
    auto it = index.find(path);
    // conda consults has_prefix only for files it installs; so do we.
    if (it == index.end()) continue;
    out[it->second].prefix_placeholder = placeholder;
    out[it->second].file_mode = mode;
  }
  for (std::string_view line : lines_of(no_link)) {
    std::string path = checked_install_path(line, std::string(name) + ": info/no_link");
    auto it = index.find(path);
    if (it != index.end()) out[it->second].no_link = true;
  }
  return out;
}

PackageMetadata read_package_metadata(const fs::path& dir) {
  RootedDir root(dir);
  std::string label = dir.string();
  auto read = [&](std::vector<std::string> comps, uint64_t max) {
    return root.read_file(comps, max, label + "/" + join_components(comps, comps.size()));
  };
  auto present = [&](std::vector<std::string> comps) {
    return root.lstat(comps, label).has_value();
  };

  PackageMetadata m;
  if (!present({"info", "index.json"})) bad(label, "not a conda package: no info/index.json");
  m.index =
      parse_index_json(read({"info", "index.json"}, kMaxIndexJson), label + "/info/index.json");
  m.name = m.index["name"].get<std::string>();
  m.version = m.index["version"].get<std::string>();
  m.build = m.index["build"].get<std::string>();
  m.subdir = optional_string(m.index, "subdir", label);
  if (auto it = m.index.find("noarch"); it != m.index.end()) {
    if (it->is_string()) m.noarch = it->get<std::string>();
    if (it->is_boolean() && it->get<bool>()) m.noarch = "generic";
  }
  std::string sp = optional_string(m.index, "python_site_packages_path", label);
  if (!sp.empty())
    m.python_site_packages_path =
        checked_install_path(sp, label + "/info/index.json: python_site_packages_path");

  if (present({"info", "paths.json"})) {
    m.has_paths_json = true;
    m.paths =
        parse_paths_json(read({"info", "paths.json"}, kMaxPathsJson), label + "/info/paths.json");
  } else {
    if (!present({"info", "files"}))
      bad(label, "not a conda package: neither info/paths.json nor info/files");
    std::string has_prefix, no_link;
    if (present({"info", "has_prefix"})) has_prefix = read({"info", "has_prefix"}, kMaxLegacyFile);
    if (present({"info", "no_link"})) no_link = read({"info", "no_link"}, kMaxLegacyFile);
    m.paths =
        parse_legacy_files(read({"info", "files"}, kMaxLegacyFile), has_prefix, no_link, label);
    // info/files does not say which entries are symlinks; the tree does.
    for (PathEntry& e : m.paths) {
      auto st = root.lstat(package_path_components(e.path, label), label + "/" + e.path);
      if (!st) bad(label, "info/files lists " + e.path + ", which the package does not contain");
      if (S_ISLNK(st->st_mode)) e.type = PathType::Softlink;
      if (S_ISDIR(st->st_mode)) e.type = PathType::Directory;
      if (e.type != PathType::Hardlink) e.prefix_placeholder.clear();
    }
  }

  if (present({"info", "link.json"})) {
    LinkJson link =
        parse_link_json(read({"info", "link.json"}, kMaxIndexJson), label + "/info/link.json");
    if (!link.noarch_type.empty()) m.noarch = link.noarch_type;
    m.entry_points = std::move(link.entry_points);
  }
  if (!m.noarch.empty() && m.noarch != "python" && m.noarch != "generic")
    bad(label + "/info/index.json", "unknown noarch type \"" + m.noarch + "\"");
  return m;
}

}  // namespace envbuild::builder::conda
