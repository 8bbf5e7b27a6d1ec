#include "builder/conda/package/package_path.hpp"

#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace {

[[noreturn]] void refuse(std::string_view what, const char* reason, std::string_view raw) {
  std::string shown(raw.substr(0, 200));
  for (char& c : shown)
    if (c == '\0') c = '?';
  throw Error(ErrorKind::BadInput, std::string(what) + ": " + reason + ": " + shown);
}

}  // namespace

std::vector<std::string> package_path_components(std::string_view raw, std::string_view what) {
  if (raw.size() > kMaxPackagePathBytes) refuse(what, "path too long", raw);
  if (raw.find('\0') != std::string_view::npos) refuse(what, "path contains a NUL byte", raw);
  if (!raw.empty() && raw.front() == '/') refuse(what, "path is absolute", raw);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t end = raw.find('/', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view comp = raw.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") refuse(what, "path contains '..'", raw);
    out.emplace_back(comp);
  }
  return out;
}

std::string checked_package_path(std::string_view raw, std::string_view what) {
  std::vector<std::string> comps = package_path_components(raw, what);
  if (comps.empty()) refuse(what, "path names the package root", raw);
  return join_components(comps, comps.size());
}

std::string join_components(const std::vector<std::string>& components, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < components.size(); ++i) {
    if (i) out += '/';
    out += components[i];
  }
  return out;
}

bool path_is_within(std::string_view path, std::string_view dir) {
  if (!path.starts_with(dir)) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

}  // namespace envbuild::builder::conda
