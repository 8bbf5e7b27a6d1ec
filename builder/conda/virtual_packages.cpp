#include "builder/conda/virtual_packages.hpp"

#include <regex>

#include "registry/layer_scan.hpp"

namespace envbuild::builder::conda {

namespace {

constexpr uint64_t kMaxLibcBytes = 32u << 20;

bool is_libc_name(const std::string& base) {
  return base == "libc.so.6" || (base.rfind("libc-", 0) == 0 && base.size() > 8 &&
                                 base.compare(base.size() - 3, 3, ".so") == 0);
}

bool in_lib_dir(const std::string& path) {
  return path.rfind("lib", 0) == 0 || path.rfind("usr/lib", 0) == 0;
}

std::string basename_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string dirname_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

PackageRecord make(std::string name, std::string version, std::string build = "0") {
  PackageRecord r;
  r.name = std::move(name);
  r.version = std::move(version);
  r.build = std::move(build);
  r.channel = "@";
  r.channel_priority = -1;
  return r;
}

std::string archspec_of(const TargetPlatform& p) {
  if (p.architecture == "amd64") return "x86_64";
  if (p.architecture == "arm64") return "aarch64";
  return p.architecture;
}

// "12.1.1" -> "12.1".
std::string major_minor(const std::string& v) {
  const size_t first = v.find('.');
  if (first == std::string::npos) return v;
  const size_t second = v.find('.', first + 1);
  return v.substr(0, second);
}

}  // namespace

std::optional<std::string> glibc_version_of(const std::string& bytes, const std::string& file) {
  static const std::regex kFileName(R"(libc-(\d+\.\d+)\.so)");
  static const std::regex kBanner(R"(release version (\d+\.\d+))");
  std::smatch m;
  if (std::regex_search(file, m, kFileName)) return m[1].str();
  // The banner glibc prints when run ("GNU C Library ... stable release
  // version 2.36.") lives in the binary's read-only data.
  const size_t at = bytes.find("release version ");
  if (at != std::string::npos) {
    const std::string window = bytes.substr(at, 40);
    if (std::regex_search(window, m, kBanner)) return m[1].str();
  }
  return std::nullopt;
}

std::optional<std::string> base_glibc_version(const BaseImage& base) {
  if (base.scratch()) return std::nullopt;
  // libc files and symlinks as the layers leave them (upper layers win,
  // whiteouts delete).
  struct Found {
    bool symlink = false;
    std::string target;
    std::string bytes;
  };
  std::map<std::string, Found> found;
  for (const registry::Descriptor& layer : base.image.layers) {
    auto blob = base.store->open_blob(layer);
    registry::scan_layer(*blob, base.reference + " layer " + layer.digest.str(),
                         [&](const registry::ScannedEntry& e, const registry::ReadContent& read) {
                           using T = registry::ScannedEntry::Type;
                           if (e.type == T::Whiteout) {
                             found.erase(e.path);
                             return;
                           }
                           if (e.type == T::OpaqueWhiteout) {
                             for (auto it = found.begin(); it != found.end();)
                               it = it->first.rfind(e.path + "/", 0) == 0 ? found.erase(it)
                                                                          : std::next(it);
                             return;
                           }
                           if (!in_lib_dir(e.path) || !is_libc_name(basename_of(e.path))) return;
                           if (e.type == T::File) {
                             found[e.path] = Found{false, "", read(kMaxLibcBytes)};
                           } else if (e.type == T::Symlink) {
                             found[e.path] = Found{true, e.link_target, ""};
                           }
                         });
  }
  for (const auto& [path, f] : found) {
    std::string p = path;
    const Found* cur = &f;
    // Follow libc.so.6 -> libc-2.31.so within what was found.
    for (int hops = 0; cur->symlink && hops < 8; ++hops) {
      const std::string& t = cur->target;
      if (auto v = glibc_version_of("", basename_of(t))) return v;
      p = t.rfind('/', 0) == 0 ? t.substr(1)
                               : (dirname_of(p).empty() ? t : dirname_of(p) + "/" + t);
      auto it = found.find(p);
      if (it == found.end()) break;
      cur = &it->second;
    }
    if (!cur->symlink) {
      if (auto v = glibc_version_of(cur->bytes, basename_of(p))) return v;
    }
  }
  return std::nullopt;
}

std::vector<PackageRecord> virtual_packages(const TargetPlatform& platform, const BaseImage& base,
                                            const std::map<std::string, std::string>& variables) {
  auto override_of = [&](const char* name) -> std::optional<std::string> {
    auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
  std::vector<PackageRecord> out;
  out.push_back(make("__unix", "0"));
  out.push_back(
      make("__linux", override_of("CONDA_OVERRIDE_LINUX").value_or(kDefaultLinuxVersion)));
  out.push_back(make("__archspec", "1",
                     override_of("CONDA_OVERRIDE_ARCHSPEC").value_or(archspec_of(platform))));
  std::optional<std::string> glibc = override_of("CONDA_OVERRIDE_GLIBC");
  if (!glibc) glibc = base_glibc_version(base);
  if (glibc && !glibc->empty()) out.push_back(make("__glibc", *glibc));
  std::optional<std::string> cuda = override_of("CONDA_OVERRIDE_CUDA");
  if (!cuda) {
    if (auto env = base.config.get_env("CUDA_VERSION")) cuda = major_minor(*env);
  }
  if (cuda && !cuda->empty()) out.push_back(make("__cuda", *cuda));
  return out;
}

}  // namespace envbuild::builder::conda
