#include "builder/conda/package/link_package.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "builder/conda/package/noarch_python.hpp"
#include "builder/conda/package/package_path.hpp"
#include "builder/conda/package/package_record_json.hpp"
#include "builder/conda/package/prefix_replace.hpp"
#include "builder/conda/package/rooted_dir.hpp"
#include "registry/atomic_file.hpp"
#include "registry/digest.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace fs = std::filesystem;
using nlohmann::json;
using registry::LayerEntry;

namespace {

// Placeholder replacement reads the whole file; a bound keeps a hostile
// size field from asking for all memory.
constexpr uint64_t kMaxReplacedFile = uint64_t{4} << 30;
constexpr uint64_t kMaxMessageFile = 1 << 20;

[[noreturn]] void bad(const std::string& what, const std::string& why) {
  throw Error(ErrorKind::BadInput, what + ": " + why);
}

// "/opt/conda" -> "opt/conda", refusing anything a shebang, a C string or
// a layer path could not carry as it is.
std::string image_prefix(const std::string& prefix) {
  auto refuse = [&](const char* why) { bad("prefix \"" + prefix + "\"", why); };
  if (prefix.empty() || prefix.front() != '/') refuse("must be an absolute path");
  for (char c : prefix)
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c)) || c == '\\')
      refuse("must not contain blanks, control characters or backslashes");
  std::vector<std::string> comps = package_path_components(prefix.substr(1), "prefix");
  if (comps.empty()) refuse("must not be the root directory");
  std::string joined = join_components(comps, comps.size());
  if (joined != prefix.substr(1)) refuse("must be normalized (no //, /./ or trailing /)");
  return joined;
}

std::string recorded_path(const LinkContext& ctx, const fs::path& host) {
  if (ctx.recorded_cache_dir.empty()) return fs::absolute(host).lexically_normal().string();
  std::string dir = ctx.recorded_cache_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + "/" + host.filename().string();
}

std::string parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string base_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

class Linker {
 public:
  Linker(const fs::path& dir, const PackageRecord& record, const LinkContext& ctx,
         const fs::path& tarball)
      : dir_(dir), record_(record), ctx_(ctx), tarball_(tarball), root_(dir) {}

  LinkedPackage run(PackageMetadata metadata) {
    prefix_ = image_prefix(ctx_.prefix);
    meta_ = std::move(metadata);
    dist_ = meta_.name + "-" + meta_.version + "-" + meta_.build;
    check_record();
    check_subdir();
    std::string noarch = meta_.noarch.empty() ? record_.noarch : meta_.noarch;
    bool python = noarch == "python";
    if (python) {
      if (ctx_.python_version.empty())
        bad(dist_,
            "a noarch: python package needs python in the environment (no python "
            "version given)");
      site_packages_ = site_packages_dir(ctx_.python_version, ctx_.python_site_packages_path);
    }

    for (const PathEntry& e : meta_.paths) {
      std::string target = python ? noarch_python_target(e.path, site_packages_) : e.path;
      target = checked_install_path(target, dist_);
      link_path(e, target);
    }
    if (python) {
      for (const EntryPoint& ep : meta_.entry_points) entry_point(ep);
    } else if (!meta_.entry_points.empty()) {
      out_.warnings.push_back(dist_ +
                              ": link.json lists entry points but the package is not "
                              "noarch: python; conda ignores them, so do we");
    }
    detect_scripts();
    read_prelink_messages();

    out_.name = meta_.name;
    out_.dist_name = dist_;
    out_.conda_meta = conda_meta();
    out_.conda_meta_path = prefix_ + "/conda-meta/" + dist_ + ".json";
    add(LayerEntry::bytes(out_.conda_meta_path, dump(out_.conda_meta), 0644));
    add_directories();

    out_.entries.reserve(entries_.size());
    for (auto& [path, entry] : entries_) out_.entries.push_back(std::move(entry));
    std::sort(out_.entries.begin(), out_.entries.end(),
              [](const LayerEntry& a, const LayerEntry& b) {
                return registry::layer_path_less(a.path, b.path);
              });
    write_repodata_record(dir_, record_);
    return std::move(out_);
  }

 private:
  std::string what(const std::string& path) const { return dist_ + ": " + path; }

  void check_record() const {
    auto same = [&](const std::string& ours, const std::string& theirs, const char* field) {
      if (!ours.empty() && ours != theirs)
        bad(dir_.string(), std::string("the record's ") + field + " \"" + ours +
                               "\" does not match the package's \"" + theirs + "\"");
    };
    same(record_.name, meta_.name, "name");
    same(record_.version, meta_.version, "version");
    same(record_.build, meta_.build, "build");
  }

  void check_subdir() const {
    const std::string& target = ctx_.target_subdir;
    if (target.starts_with("win-"))
      bad(dist_, "linking into a Windows prefix (" + target + ") is not supported");
    std::string subdir = meta_.subdir.empty() ? record_.subdir : meta_.subdir;
    if (target.empty() || subdir.empty() || subdir == "noarch") return;
    if (subdir != target)
      bad(dist_, "the package is built for " + subdir + ", the environment is " + target);
  }

  std::string image_path(const std::string& target) const { return prefix_ + "/" + target; }

  void add(LayerEntry entry) {
    std::string path = entry.path;
    if (!entries_.emplace(path, std::move(entry)).second)
      bad(dist_, "two entries of the package install " + path);
  }

  void record_path(const PathEntry& e, const std::string& target, const std::string& type,
                   const std::string& sha_in_prefix) {
    json p = {{"_path", target}, {"path_type", type}};
    if (!e.sha256.empty()) p["sha256"] = e.sha256;
    if (!sha_in_prefix.empty()) p["sha256_in_prefix"] = sha_in_prefix;
    if (e.size) p["size_in_bytes"] = *e.size;
    if (!e.prefix_placeholder.empty()) {
      p["prefix_placeholder"] = e.prefix_placeholder;
      p["file_mode"] = std::string(file_mode_name(e.file_mode));
    }
    if (e.no_link) p["no_link"] = true;
    paths_.push_back(std::move(p));
    files_.push_back(target);
  }

  void link_path(const PathEntry& e, const std::string& target) {
    std::vector<std::string> comps = package_path_components(e.path, what(e.path));
    std::optional<struct stat> st = root_.lstat(comps, what(e.path));
    if (!st) bad(what(e.path), "listed in paths.json but missing from the extracted package");
    switch (e.type) {
      case PathType::Directory:
        if (!S_ISDIR(st->st_mode)) bad(what(e.path), "paths.json says directory, it is not one");
        add(LayerEntry::directory(image_path(target), st->st_mode & 0755));
        record_path(e, target, "directory", "");
        return;
      case PathType::Softlink:
        softlink(e, comps, *st, target);
        return;
      case PathType::Hardlink:
        if (S_ISLNK(st->st_mode)) {
          // A mislabeled symlink: keep it a symlink (never read through it).
          out_.warnings.push_back(what(e.path) +
                                  ": paths.json says hardlink but the package "
                                  "holds a symlink; installed as the symlink");
          install_symlink(e, target, root_.read_link(comps, what(e.path)));
          return;
        }
        file(e, comps, *st, target);
        return;
    }
  }

  void install_symlink(const PathEntry& e, const std::string& target, const std::string& link) {
    add(LayerEntry::symlink(image_path(target), link));
    record_path(e, target, "softlink", "");
    out_.installed.push_back(InstalledPath{target, PathType::Softlink, "", link});
  }

  void softlink(const PathEntry& e, const std::vector<std::string>& comps, const struct stat& st,
                const std::string& target) {
    if (S_ISLNK(st.st_mode)) {
      install_symlink(e, target, root_.read_link(comps, what(e.path)));
      return;
    }
    if (!S_ISREG(st.st_mode)) bad(what(e.path), "paths.json says softlink, it is a directory");
    if (st.st_size == 0 && ctx_.repair_empty_symlinks) {
      if (std::string sibling = repaired_target(e); !sibling.empty()) {
        out_.warnings.push_back(what(e.path) +
                                ": the archive stores this symlink without a "
                                "target; linked to " +
                                sibling +
                                ", the file in its folder with the sha256 paths.json records");
        install_symlink(e, target, sibling);
        return;
      }
      bad(what(e.path),
          "the archive stores this symlink without a target, and no file in its "
          "folder has the sha256 paths.json records for it");
    }
    if (st.st_size == 0) bad(what(e.path), "the archive stores this symlink without a target");
    // conda copies what it finds when a softlink is not a link on disk.
    out_.warnings.push_back(what(e.path) +
                            ": paths.json says softlink but the package holds a "
                            "regular file; installed as the file");
    PathEntry as_file = e;
    as_file.size.reset();  // a softlink's size is its target's
    file(as_file, comps, st, target);
  }

  // The one regular file next to the symlink whose hash and size paths.json
  // gives for the symlink (its target's, by CEP 34); "" when not exactly one.
  std::string repaired_target(const PathEntry& link) const {
    if (link.sha256.empty()) return "";
    std::string folder = parent_of(link.path);
    std::string found;
    for (const PathEntry& e : meta_.paths) {
      if (e.type != PathType::Hardlink || e.sha256 != link.sha256 || parent_of(e.path) != folder)
        continue;
      if (link.size && e.size && *link.size != *e.size) continue;
      if (!found.empty()) return "";
      found = base_of(e.path);
    }
    return found;
  }

  void file(const PathEntry& e, const std::vector<std::string>& comps, const struct stat& st,
            const std::string& target) {
    if (!S_ISREG(st.st_mode)) bad(what(e.path), "paths.json says file, it is not a regular file");
    if (e.size && *e.size != static_cast<uint64_t>(st.st_size))
      bad(what(e.path), "the extracted file has " + std::to_string(st.st_size) +
                            " bytes, paths.json says " + std::to_string(*e.size) +
                            " (a damaged package cache?)");
    uint32_t mode = st.st_mode & 0755;
    std::string sha_in_prefix = e.sha256;
    if (!e.prefix_placeholder.empty()) {
      UniqueFd fd = root_.open_regular(comps, what(e.path));
      std::string data = read_fd(fd.get(), kMaxReplacedFile, what(e.path));
      std::string replaced =
          replace_prefix(data, e.file_mode, e.prefix_placeholder, ctx_.prefix, what(e.path));
      if (replaced != data) {
        sha_in_prefix = registry::Digest::sha256_of(replaced).hex();
        add(replaced_entry(image_path(target), std::move(replaced), sha_in_prefix, mode));
        record_path(e, target, "hardlink", sha_in_prefix);
        out_.installed.push_back(InstalledPath{target, PathType::Hardlink, sha_in_prefix, ""});
        return;
      }
    }
    add(LayerEntry::file(image_path(target), dir_ / e.path, mode));
    record_path(e, target, "hardlink", sha_in_prefix);
    out_.installed.push_back(InstalledPath{target, PathType::Hardlink, sha_in_prefix, ""});
  }

  LayerEntry replaced_entry(const std::string& path, std::string content, const std::string& sha,
                            uint32_t mode) const {
    if (ctx_.staging_dir.empty() || content.size() <= ctx_.max_inline_bytes)
      return LayerEntry::bytes(path, std::move(content), mode);
    // Named by content: the same replaced file is staged once, and two
    // builds staging it at once write the same bytes.
    fs::create_directories(ctx_.staging_dir);
    fs::path staged = ctx_.staging_dir / ("sha256-" + sha);
    std::error_code ec;
    if (!fs::exists(staged, ec)) registry::write_file_atomic(staged, content);
    return LayerEntry::file(path, staged, mode);
  }

  void entry_point(const EntryPoint& ep) {
    std::string target = "bin/" + ep.name;
    std::string python = ctx_.prefix + "/bin/python" + ctx_.python_version;
    std::string script = entry_point_script(ep, python);
    std::string sha = registry::Digest::sha256_of(script).hex();
    json p = {{"_path", target},
              {"path_type", "unix_python_entry_point"},
              {"sha256_in_prefix", sha},
              {"size_in_bytes", script.size()}};
    add(LayerEntry::bytes(image_path(target), std::move(script), 0755));
    paths_.push_back(std::move(p));
    files_.push_back(target);
    out_.installed.push_back(InstalledPath{target, PathType::Hardlink, sha, ""});
  }

  void detect_scripts() {
    std::set<std::string> installed;
    for (const InstalledPath& p : out_.installed) installed.insert(p.path);
    auto find = [&](const char* action, bool& has, std::string& path) {
      std::string candidate = "bin/." + meta_.name + "-" + action + ".sh";
      if (installed.count(candidate)) {
        has = true;
        path = candidate;
      }
    };
    find("pre-link", out_.has_pre_link, out_.pre_link_script);
    find("post-link", out_.has_post_link, out_.post_link_script);
    find("pre-unlink", out_.has_pre_unlink, out_.pre_unlink_script);
  }

  void read_prelink_messages() {
    std::vector<std::string> folder = {"info", "prelink_messages"};
    auto st = root_.lstat(folder, dist_);
    if (!st || !S_ISDIR(st->st_mode)) return;
    UniqueFd check = root_.open_parent({"info", "prelink_messages", "x"}, false, dist_);
    if (!check.valid()) return;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_ / "info" / "prelink_messages"))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::vector<std::string> comps = {"info", "prelink_messages", name};
      auto file = root_.lstat(comps, dist_);
      if (!file || !S_ISREG(file->st_mode)) continue;
      out_.prelink_messages.push_back(
          root_.read_file(comps, kMaxMessageFile, what("info/prelink_messages/" + name)));
    }
  }

  json conda_meta() const {
    json j = repodata_record_json(record_, meta_.index);
    std::string extracted = recorded_path(ctx_, dir_);
    fs::path tarball = tarball_.empty() ? dir_.parent_path() / record_.filename : tarball_;
    j["extracted_package_dir"] = extracted;
    j["package_tarball_full_path"] =
        record_.filename.empty() && tarball_.empty() ? std::string() : recorded_path(ctx_, tarball);
    j["files"] = files_;
    j["paths_data"] = {{"paths", paths_}, {"paths_version", 1}};
    // 3 = copy: the image holds its own copy of every file.
    j["link"] = {{"source", extracted}, {"type", 3}};
    j["requested_spec"] = "";
    j["requested_specs"] = json::array();
    return j;
  }

  // Every folder from the prefix down to each entry, unless listed already.
  void add_directories() {
    std::vector<std::string> paths;
    for (const auto& [path, entry] : entries_) paths.push_back(path);
    std::set<std::string> dirs;
    for (const std::string& path : paths) {
      for (size_t pos = prefix_.size(); pos < path.size(); pos = path.find('/', pos + 1)) {
        if (pos == std::string::npos) break;
        dirs.insert(path.substr(0, pos));
      }
    }
    for (const std::string& d : dirs) {
      auto it = entries_.find(d);
      if (it == entries_.end()) {
        entries_.emplace(d, LayerEntry::directory(d, 0755));
      } else if (it->second.type != LayerEntry::Type::Directory) {
        bad(dist_, d + " is both a file and the folder of other files");
      }
    }
  }

  static std::string dump(const json& j) {
    return j.dump(2, ' ', false, json::error_handler_t::replace);
  }

  fs::path dir_;
  const PackageRecord& record_;
  const LinkContext& ctx_;
  fs::path tarball_;
  RootedDir root_;
  std::string prefix_;
  PackageMetadata meta_;
  std::string dist_;
  std::string site_packages_;
  std::map<std::string, LayerEntry> entries_;
  json paths_ = json::array();
  std::vector<std::string> files_;
  LinkedPackage out_;
};

}  // namespace

LinkedPackage link_package(const fs::path& extracted_dir, const PackageRecord& record,
                           const LinkContext& context, const fs::path& package_tarball) {
  return link_package(extracted_dir, read_package_metadata(extracted_dir), record, context,
                      package_tarball);
}

LinkedPackage link_package(const fs::path& extracted_dir, PackageMetadata metadata,
                           const PackageRecord& record, const LinkContext& context,
                           const fs::path& package_tarball) {
  return Linker(extracted_dir, record, context, package_tarball).run(std::move(metadata));
}

void refresh_conda_meta_entry(LinkedPackage& pkg) {
  for (LayerEntry& e : pkg.entries) {
    if (e.path == pkg.conda_meta_path) {
      e.content = pkg.conda_meta.dump(2, ' ', false, json::error_handler_t::replace);
      e.source.clear();
      return;
    }
  }
  throw Error(ErrorKind::Internal, pkg.dist_name + ": no conda-meta entry to refresh");
}

}  // namespace envbuild::builder::conda
