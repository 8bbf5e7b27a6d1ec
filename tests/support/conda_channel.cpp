#include "tests/support/conda_channel.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "tests/support/conda_channel_archive.hpp"
#include "tests/support/files.hpp"

namespace envbuild::testing {
namespace {

using nlohmann::json;

// "linux-64" -> ("linux", "x86_64"), as conda-build fills index.json.
std::pair<std::string, std::string> platform_arch(const std::string& subdir) {
  size_t dash = subdir.find('-');
  if (dash == std::string::npos) return {"", ""};
  std::string os = subdir.substr(0, dash), arch = subdir.substr(dash + 1);
  if (arch == "64") arch = "x86_64";
  if (arch == "32") arch = "x86";
  return {os, arch};
}

std::vector<PackageFile> all_files(const PackageSpec& spec) {
  std::vector<PackageFile> files = spec.files;
  if (!spec.post_link.empty()) {
    files.push_back(PackageFile::text("bin/." + spec.name + "-post-link.sh", spec.post_link, 0755));
  }
  if (!spec.pre_unlink.empty()) {
    files.push_back(
        PackageFile::text("bin/." + spec.name + "-pre-unlink.sh", spec.pre_unlink, 0755));
  }
  std::sort(files.begin(), files.end(),
            [](const PackageFile& a, const PackageFile& b) { return a.path < b.path; });
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].path == files[i - 1].path) {
      throw std::invalid_argument("package " + spec.name + " lists " + files[i].path + " twice");
    }
  }
  for (const PackageFile& f : files) {
    if (f.path.empty() || f.path[0] == '/' || f.path.rfind("info/", 0) == 0) {
      throw std::invalid_argument("package " + spec.name + ": bad path '" + f.path + "'");
    }
  }
  return files;
}

// What a softlink's paths.json entry hashes: the target's content when the
// target is in the package (CEP 34), else the link text.
const std::string& link_content(const std::vector<PackageFile>& files, const PackageFile& link) {
  std::filesystem::path target =
      (std::filesystem::path(link.path).parent_path() / link.link_target).lexically_normal();
  for (const PackageFile& f : files) {
    if (f.type == PathType::Hardlink && f.path == target.generic_string()) return f.content;
  }
  return link.link_target;
}

std::vector<ArchiveMember> pkg_members(const std::vector<PackageFile>& files) {
  std::vector<ArchiveMember> out;
  for (const PackageFile& f : files) {
    ArchiveMember m;
    m.path = f.path;
    m.mode = f.mode;
    switch (f.type) {
      case PathType::Hardlink:
        m.type = ArchiveMember::Type::File;
        m.content = f.content;
        break;
      case PathType::Softlink:
        m.type = ArchiveMember::Type::Symlink;
        m.link_target = f.link_target;
        break;
      case PathType::Directory:
        m.type = ArchiveMember::Type::Directory;
        m.mode = 0755;
        break;
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<ArchiveMember> info_members(const PackageSpec& spec) {
  std::vector<ArchiveMember> out;
  for (auto& [path, content] : package_info_files(spec)) {
    ArchiveMember m;
    m.path = "info/" + path;
    m.content = content;
    out.push_back(std::move(m));
  }
  return out;
}

BuiltArtifact finish_artifact(const PackageSpec& spec, const std::filesystem::path& dir,
                              const std::string& filename, const std::string& bytes) {
  BuiltArtifact a;
  a.subdir = spec.subdir;
  a.filename = filename;
  a.path = dir / filename;
  write_file(a.path, bytes);
  a.sha256 = sha256_hex(bytes);
  a.md5 = md5_hex(bytes);
  a.size = bytes.size();
  a.record = package_index_json(spec);
  a.record["md5"] = a.md5;
  a.record["sha256"] = a.sha256;
  a.record["size"] = a.size;
  return a;
}

// splitmix64 bytes: incompressible, reproducible.
std::string random_bytes(uint64_t seed, size_t size) {
  std::string out(size, '\0');
  uint64_t state = seed;
  for (size_t i = 0; i < size; i += 8) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (size_t k = 0; k < 8 && i + k < size; ++k) out[i + k] = static_cast<char>(z >> (8 * k));
  }
  return out;
}

}  // namespace

std::filesystem::path conda_testdata_dir() {
  // A checkout elsewhere (a CI clone in /tmp) may name the folder explicitly.
  if (const char* dir = std::getenv("ENVBUILD_CONDA_TESTDATA"); dir && *dir) return dir;
  // Else the nearest shared/testdata above the source tree: ../shared for
  // the main checkout, further up for a clone nested beside it.
  const std::filesystem::path source(ENVBUILD_SOURCE_DIR);
  for (std::filesystem::path dir = source.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir / "shared" / "testdata" / "conda-test-recipes", ec))
      return dir / "shared" / "testdata";
    if (dir == dir.root_path()) break;
  }
  return source.parent_path() / "shared" / "testdata";  // missing: tests name this path
}

std::string long_placeholder(size_t length) {
  std::string out = "/home/conda/feedstock_root/build_artifacts/pkg_1700000000000/_h_env_";
  while (out.size() < length) out += "placehold_";
  out.resize(length);
  return out;
}

PackageFile PackageFile::text(std::string path, std::string content, mode_t mode) {
  PackageFile f;
  f.path = std::move(path);
  f.content = std::move(content);
  f.mode = mode;
  return f;
}

PackageFile PackageFile::with_prefix(std::string path, std::string content, FileMode file_mode,
                                     std::string placeholder, mode_t mode) {
  if (content.find(placeholder) == std::string::npos) {
    throw std::invalid_argument(path + ": content does not hold the placeholder");
  }
  PackageFile f = text(std::move(path), std::move(content), mode);
  f.prefix_placeholder = std::move(placeholder);
  f.file_mode = file_mode;
  return f;
}

PackageFile PackageFile::symlink(std::string path, std::string target) {
  PackageFile f;
  f.path = std::move(path);
  f.type = PathType::Softlink;
  f.link_target = std::move(target);
  f.mode = 0777;
  return f;
}

PackageFile PackageFile::directory(std::string path) {
  PackageFile f;
  f.path = std::move(path);
  f.type = PathType::Directory;
  f.mode = 0755;
  return f;
}

json package_index_json(const PackageSpec& spec) {
  json j;
  bool noarch = spec.subdir == "noarch";
  auto [os, arch] = platform_arch(spec.subdir);
  j["arch"] = noarch ? json(nullptr) : json(arch);
  j["platform"] = noarch ? json(nullptr) : json(os);
  j["build"] = spec.build;
  j["build_number"] = spec.build_number;
  if (!spec.constrains.empty()) j["constrains"] = spec.constrains;
  j["depends"] = spec.depends;
  j["license"] = spec.license;
  j["name"] = spec.name;
  if (!spec.noarch.empty()) j["noarch"] = spec.noarch;
  j["subdir"] = spec.subdir;
  j["timestamp"] = spec.timestamp;
  if (!spec.track_features.empty()) j["track_features"] = spec.track_features;
  j["version"] = spec.version;
  for (auto& [key, value] : spec.extra_index.items()) j[key] = value;
  return j;
}

std::map<std::string, std::string> package_info_files(const PackageSpec& spec) {
  std::vector<PackageFile> files = all_files(spec);
  std::map<std::string, std::string> out;
  out["index.json"] = package_index_json(spec).dump(2) + "\n";

  json paths = json::array();
  std::string file_list, has_prefix;
  for (const PackageFile& f : files) {
    json p;
    p["_path"] = f.path;
    const std::string& content = f.type == PathType::Softlink ? link_content(files, f) : f.content;
    p["path_type"] = f.type == PathType::Hardlink   ? "hardlink"
                     : f.type == PathType::Softlink ? "softlink"
                                                    : "directory";
    p["sha256"] = sha256_hex(f.type == PathType::Directory ? std::string() : content);
    p["size_in_bytes"] = f.type == PathType::Directory ? 0 : content.size();
    if (!f.prefix_placeholder.empty()) {
      const char* mode = f.file_mode == FileMode::Text ? "text" : "binary";
      p["file_mode"] = mode;
      p["prefix_placeholder"] = f.prefix_placeholder;
      has_prefix += f.prefix_placeholder + " " + mode + " " + f.path + "\n";
    }
    if (f.no_link) p["no_link"] = true;
    paths.push_back(std::move(p));
    if (f.type != PathType::Directory) file_list += f.path + "\n";
  }
  out["paths.json"] = json{{"paths", paths}, {"paths_version", 1}}.dump(2) + "\n";
  out["files"] = file_list;
  if (!has_prefix.empty()) out["has_prefix"] = has_prefix;

  json about = spec.about;
  if (!about.contains("summary")) about["summary"] = "test package " + spec.name;
  about["license"] = spec.license;
  out["about.json"] = about.dump(2) + "\n";

  if (spec.noarch == "python" || !spec.entry_points.empty()) {
    json noarch{{"type", spec.noarch.empty() ? "python" : spec.noarch}};
    if (!spec.entry_points.empty()) noarch["entry_points"] = spec.entry_points;
    out["link.json"] = json{{"noarch", noarch}, {"package_metadata_version", 1}}.dump(2) + "\n";
  }
  return out;
}

BuiltArtifact write_conda_artifact(const PackageSpec& spec, const std::filesystem::path& dir) {
  int64_t mtime = spec.timestamp / 1000;
  std::string info = write_tar(info_members(spec), ArchiveCompression::Zstd, mtime);
  std::string pkg = write_tar(pkg_members(all_files(spec)), ArchiveCompression::Zstd, mtime);
  // conda-package-handling's member order: metadata, pkg, info.
  std::string zip = write_stored_zip({{"metadata.json", "{\"conda_pkg_format_version\": 2}"},
                                      {"pkg-" + spec.dist() + ".tar.zst", pkg},
                                      {"info-" + spec.dist() + ".tar.zst", info}},
                                     mtime);
  return finish_artifact(spec, dir, spec.dist() + ".conda", zip);
}

BuiltArtifact write_tar_bz2_artifact(const PackageSpec& spec, const std::filesystem::path& dir) {
  std::vector<ArchiveMember> members = info_members(spec);
  for (ArchiveMember& m : pkg_members(all_files(spec))) members.push_back(std::move(m));
  std::string tar = write_tar(members, ArchiveCompression::Bzip2, spec.timestamp / 1000);
  return finish_artifact(spec, dir, spec.dist() + ".tar.bz2", tar);
}

CondaChannel::CondaChannel(std::filesystem::path root) : root_(std::move(root)) {
  std::filesystem::create_directories(root_);
  root_ = std::filesystem::canonical(root_);
}

std::vector<BuiltArtifact> CondaChannel::add(const PackageSpec& spec) {
  std::vector<BuiltArtifact> out;
  std::filesystem::path dir = root_ / spec.subdir;
  if ((spec.formats & kConda) != 0) out.push_back(write_conda_artifact(spec, dir));
  if ((spec.formats & kTarBz2) != 0) out.push_back(write_tar_bz2_artifact(spec, dir));
  for (const BuiltArtifact& a : out) {
    add_record(spec.subdir, a.filename, a.record);
  }
  return out;
}

void CondaChannel::add_record(const std::string& subdir, const std::string& filename, json record) {
  const char* section = filename.ends_with(".conda") ? "packages.conda" : "packages";
  records_[subdir][section][filename] = std::move(record);
}

void CondaChannel::add_generated(size_t count, const std::string& prefix, size_t versions,
                                 bool artifacts, const std::string& subdir) {
  char number[32];
  auto name_of = [&](size_t i) {
    std::snprintf(number, sizeof number, "%05zu", i);
    return prefix + "-" + number;
  };
  for (size_t i = 0; i < count; ++i) {
    for (size_t v = 1; v <= std::max<size_t>(1, versions); ++v) {
      PackageSpec spec;
      spec.name = name_of(i);
      spec.version = "1." + std::to_string(v);
      spec.subdir = subdir;
      if (subdir == "noarch") spec.noarch = "generic";
      std::set<size_t> deps;
      for (size_t d : {i - 1, i / 2, i / 3}) {
        if (i > 0 && d < i) deps.insert(d);
      }
      for (size_t d : deps) spec.depends.push_back(name_of(d) + " >=1.1");
      spec.timestamp += static_cast<int64_t>(i * 1000 + v);
      if (artifacts) {
        spec.files = {
            PackageFile::text("share/" + spec.name + "/version.txt", spec.version + "\n")};
        add(spec);
      } else {
        json record = package_index_json(spec);
        std::string id = spec.dist();
        record["md5"] = md5_hex(id);
        record["sha256"] = sha256_hex(id);
        record["size"] = 1000 + i;
        add_record(subdir, id + ".conda", std::move(record));
      }
    }
  }
}

std::vector<std::string> CondaChannel::add_payload(size_t count, uint64_t bytes_each,
                                                   const std::string& prefix,
                                                   const std::string& subdir) {
  std::vector<std::string> names;
  constexpr size_t kFiles = 4;
  for (size_t i = 0; i < count; ++i) {
    PackageSpec spec;
    spec.name = prefix + "-" + std::to_string(i);
    spec.subdir = subdir;
    for (size_t k = 0; k < kFiles; ++k) {
      spec.files.push_back(PackageFile::text(
          "lib/" + spec.name + "/blob-" + std::to_string(k) + ".bin",
          random_bytes(i * kFiles + k + 1, static_cast<size_t>(bytes_each / kFiles)), 0644));
    }
    spec.files.push_back(
        PackageFile::with_prefix("etc/" + spec.name + ".conf", "prefix=" + kPlaceholder + "\n"));
    add(spec);
    names.push_back(spec.name);
  }
  return names;
}

json CondaChannel::repodata(const std::string& subdir, const RepodataWriteOptions& options) const {
  json doc;
  doc["info"] = json{{"subdir", subdir}};
  if (!options.base_url.empty()) doc["info"]["base_url"] = options.base_url;
  doc["packages"] = json::object();
  doc["packages.conda"] = json::object();
  auto it = records_.find(subdir);
  if (it != records_.end()) {
    for (const auto& [section, records] : it->second) {
      for (const auto& [filename, record] : records) doc[section][filename] = record;
    }
  }
  doc["removed"] = options.removed;
  doc["repodata_version"] = options.base_url.empty() ? 1 : 2;
  return doc;
}

void CondaChannel::write_repodata(const RepodataWriteOptions& options) const {
  std::set<std::string> subdirs(options.subdirs.begin(), options.subdirs.end());
  subdirs.insert("noarch");
  for (const auto& [subdir, sections] : records_) subdirs.insert(subdir);
  for (const std::string& omitted : options.omit) subdirs.erase(omitted);
  for (const std::string& subdir : subdirs) {
    std::string text = repodata(subdir, options).dump(options.pretty ? 2 : -1) + "\n";
    std::filesystem::path dir = root_ / subdir;
    std::filesystem::create_directories(dir);
    auto put = [&](const char* name, bool wanted, ArchiveCompression compression) {
      if (wanted) {
        write_file(dir / name, compress_bytes(text, compression));
      } else {
        std::filesystem::remove(dir / name);
      }
    };
    put("repodata.json", options.plain, ArchiveCompression::None);
    put("repodata.json.zst", options.zst, ArchiveCompression::Zstd);
    put("repodata.json.bz2", options.bz2, ArchiveCompression::Bzip2);
  }
}

}  // namespace envbuild::testing
