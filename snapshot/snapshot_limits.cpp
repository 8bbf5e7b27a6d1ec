#include "snapshot/snapshot_limits.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <sstream>
#include <vector>

#include "registry/byte_units.hpp"
#include "registry/error.hpp"

namespace envbuild::snapshot {

using registry::format_bytes;

namespace {

constexpr size_t kListed = 5;

[[noreturn]] void bad(const std::string& message) { throw Error(ErrorKind::BadInput, message); }

std::string at(const std::filesystem::path& file, const YAML::Node& node) {
  const YAML::Mark m = node.Mark();
  return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

uint64_t size_value(const std::filesystem::path& file, const YAML::Node& node, const char* key,
                    bool allow_units) {
  if (!node.IsScalar()) bad(at(file, node) + ": snapshot." + key + " must be a number");
  std::string text = node.Scalar();
  if (allow_units) return parse_byte_size(text, at(file, node) + ": snapshot." + key);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v == 0)
    bad(at(file, node) + ": snapshot." + key + " must be a positive integer, got '" + text + "'");
  return v;
}

// Directory of a relative path ("" for the root).
std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

uint64_t parse_byte_size(std::string_view text, std::string_view what) {
  std::string t(text);
  auto fail = [&]() -> uint64_t {
    bad(std::string(what) + ": '" + t + "' is not a size (e.g. 300MB, 1.5G, 2000000)");
  };
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) return fail();
  double number = 0;
  try {
    size_t used = 0;
    number = std::stod(t.substr(0, i), &used);
    if (used != i) return fail();
  } catch (const std::exception&) {
    return fail();
  }
  std::string unit;
  for (char c : t.substr(i))
    if (c != ' ') unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static const std::map<std::string, int> shifts = {
      {"", 0},     {"b", 0},  {"k", 10},  {"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
      {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},   {"tb", 40}, {"tib", 40}};
  auto it = shifts.find(unit);
  if (it == shifts.end()) return fail();
  double bytes = number * std::ldexp(1.0, it->second);
  if (!(bytes >= 1) || bytes > 1e18) return fail();
  return static_cast<uint64_t>(bytes);
}

SnapshotLimits load_limits_config(const std::filesystem::path& file, SnapshotLimits base) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    bad("cannot read config file " + file.string());
  } catch (const YAML::Exception& e) {
    bad(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
        std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return base;
  if (!root.IsMap()) bad(at(file, root) + ": the config must be a mapping");
  for (const auto& top : root) {
    std::string key = top.first.as<std::string>();
    if (key == "snapshot") {
      const YAML::Node& s = top.second;
      if (s.IsNull()) continue;
      if (!s.IsMap()) bad(at(file, s) + ": 'snapshot' must be a mapping");
      for (const auto& kv : s) {
        std::string k = kv.first.as<std::string>();
        if (k == "max_files")
          base.max_files = size_value(file, kv.second, "max_files", false);
        else if (k == "max_bytes")
          base.max_bytes = size_value(file, kv.second, "max_bytes", true);
        else
          bad(at(file, kv.first) + ": unknown key 'snapshot." + k +
              "' (known: max_files, max_bytes)");
      }
    } else if (key != "envbuild") {
      // Other sections belong to other commands; only `snapshot` is ours
      // here, and a typo at the top level should not pass silently.
      bad(at(file, top.first) + ": unknown section '" + key + "' (known: snapshot)");
    }
  }
  return base;
}

std::optional<std::filesystem::path> default_config_file() {
  auto set = [](const char* v) { return v != nullptr && *v != '\0'; };
  if (const char* explicit_file = std::getenv("ENVBUILD_CONFIG"); set(explicit_file))
    return std::filesystem::path(explicit_file);
  std::filesystem::path candidate;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME");
      set(xdg) && std::filesystem::path(xdg).is_absolute())
    candidate = std::filesystem::path(xdg) / "envbuild" / "config.yaml";
  else if (const char* home = std::getenv("HOME"); set(home))
    candidate = std::filesystem::path(home) / ".config" / "envbuild" / "config.yaml";
  std::error_code ec;
  if (!candidate.empty() && std::filesystem::exists(candidate, ec)) return candidate;
  return std::nullopt;
}

void check_limits(const WalkResult& walk, const SnapshotLimits& limits,
                  const std::filesystem::path& root) {
  uint64_t files = 0, bytes = 0;
  for (const SourceEntry& e : walk.entries) {
    if (e.type == EntryType::Directory) continue;
    ++files;
    bytes += e.type == EntryType::File ? e.size : 0;
  }
  bool too_many = files > limits.max_files;
  bool too_big = bytes > limits.max_bytes;
  if (!too_many && !too_big) return;

  std::vector<const SourceEntry*> sized;
  // Every ancestor directory accumulates its files: the offender may be a
  // deep folder or a top-level one.
  std::map<std::string, std::pair<uint64_t, uint64_t>> dirs;  // path -> (files, bytes)
  for (const SourceEntry& e : walk.entries) {
    if (e.type == EntryType::Directory) continue;
    uint64_t size = e.type == EntryType::File ? e.size : 0;
    sized.push_back(&e);
    for (std::string d = parent_of(e.path); !d.empty(); d = parent_of(d)) {
      auto& [f, b] = dirs[d];
      ++f;
      b += size;
    }
  }

  std::ostringstream msg;
  msg << root.string() << ": snapshot of " << files << " files, " << format_bytes(bytes)
      << " exceeds the limit of ";
  if (too_big && too_many)
    msg << format_bytes(limits.max_bytes) << " and " << limits.max_files << " files";
  else if (too_big)
    msg << format_bytes(limits.max_bytes);
  else
    msg << limits.max_files << " files";
  msg << "; nothing was uploaded (raise it with --max-bytes/--max-files or the config file)";

  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> dir_list(dirs.begin(),
                                                                              dirs.end());
  auto by = [too_big](const auto& a, const auto& b) {
    uint64_t x = too_big ? a.second.second : a.second.first;
    uint64_t y = too_big ? b.second.second : b.second.first;
    return x != y ? x > y : a.first < b.first;
  };
  std::sort(dir_list.begin(), dir_list.end(), by);
  if (!dir_list.empty()) {
    msg << "\nlargest directories:";
    for (size_t i = 0; i < std::min(kListed, dir_list.size()); ++i)
      msg << "\n  " << dir_list[i].first << "/  " << dir_list[i].second.first << " files, "
          << format_bytes(dir_list[i].second.second);
  }
  std::sort(sized.begin(), sized.end(), [](const SourceEntry* a, const SourceEntry* b) {
    return a->size != b->size ? a->size > b->size : a->path < b->path;
  });
  if (too_big && !sized.empty()) {
    msg << "\nlargest files:";
    for (size_t i = 0; i < std::min(kListed, sized.size()); ++i)
      msg << "\n  " << sized[i]->path << "  " << format_bytes(sized[i]->size);
  }
  // Suggest the fewest lines that fit: the biggest directories (or files)
  // until what is left is under both limits.
  msg << "\nto leave them out, add lines like these to " << (root / ".amlignore").string()
      << " or .gitignore:";
  uint64_t left_files = files, left_bytes = bytes;
  std::vector<std::string> chosen;
  for (const auto& [path, fb] : dir_list) {
    if (left_files <= limits.max_files && left_bytes <= limits.max_bytes) break;
    bool inside_chosen = std::any_of(chosen.begin(), chosen.end(), [&](const std::string& c) {
      return path.size() > c.size() && path.compare(0, c.size(), c) == 0 && path[c.size()] == '/';
    });
    if (inside_chosen) continue;
    chosen.push_back(path);
    left_files -= fb.first;
    left_bytes -= fb.second;
    if (chosen.size() >= kListed) break;
  }
  for (const SourceEntry* e : sized) {
    if (left_files <= limits.max_files && left_bytes <= limits.max_bytes) break;
    if (chosen.size() >= kListed) break;
    if (!too_big) break;
    bool covered = std::any_of(chosen.begin(), chosen.end(), [&](const std::string& c) {
      return e->path.size() > c.size() && e->path.compare(0, c.size(), c) == 0 &&
             e->path[c.size()] == '/';
    });
    if (covered) continue;
    chosen.push_back(e->path);
    left_files -= 1;
    left_bytes -= e->size;
  }
  for (const std::string& c : chosen) msg << "\n  /" << c << (dirs.count(c) ? "/" : "");
  throw Error(ErrorKind::BadInput, msg.str());
}

}  // namespace envbuild::snapshot
