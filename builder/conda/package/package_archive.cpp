#include "builder/conda/package/package_archive.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include "builder/conda/package/rooted_dir.hpp"
#include "builder/conda/package/tar_extractor.hpp"
#include "builder/conda/package/zip_reader.hpp"
#include "registry/atomic_file.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxMetadataJson = 64 << 10;
constexpr std::string_view kTempInfix = ".extract-";

// Reads a file from its descriptor, for the .tar.bz2 stream.
class FdSource : public registry::ByteSource {
 public:
  explicit FdSource(const fs::path& path)
      : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (!fd_.valid())
      throw Error(errno == ENOENT ? ErrorKind::NotFound : ErrorKind::Internal,
                  "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  size_t read(char* buf, size_t n) override {
    for (;;) {
      ssize_t got = ::read(fd_.get(), buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR)
        throw Error(ErrorKind::Internal,
                    "cannot read " + path_.string() + ": " + std::strerror(errno));
    }
  }

 private:
  fs::path path_;
  UniqueFd fd_;
};

// A temp folder next to the destination, flocked for as long as this
// process works in it: a folder whose lock can be taken lost its writer.
class ExtractDir {
 public:
  // The folder is made and locked under a name the cleanup ignores
  // (".init"), then renamed (the lock goes with the inode): a cleanup never
  // sees a folder whose lock is free only because it was not taken yet.
  explicit ExtractDir(const fs::path& dest) {
    fs::path parent = dest.parent_path();
    for (int attempt = 0; attempt < 100; ++attempt) {
      fs::path candidate = parent / (std::string(kTempInfix) + dest.filename().string() + "-" +
                                     registry::random_hex16());
      fs::path initial = candidate.string() + ".init";
      if (::mkdir(initial.c_str(), 0755) != 0) {
        if (errno == EEXIST) continue;
        throw Error(ErrorKind::Internal,
                    "cannot create " + initial.string() + ": " + std::strerror(errno));
      }
      path_ = initial;
      lock_ = UniqueFd(::open(initial.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!lock_.valid() || ::flock(lock_.get(), LOCK_EX) != 0)
        throw Error(ErrorKind::Internal,
                    "cannot lock " + initial.string() + ": " + std::strerror(errno));
      if (::rename(initial.c_str(), candidate.c_str()) != 0)
        throw Error(ErrorKind::Internal,
                    "cannot rename " + initial.string() + ": " + std::strerror(errno));
      path_ = candidate;
      return;
    }
    throw Error(ErrorKind::Internal, "cannot create a temp folder next to " + dest.string());
  }
  ~ExtractDir() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  ExtractDir(const ExtractDir&) = delete;
  ExtractDir& operator=(const ExtractDir&) = delete;

  const fs::path& path() const { return path_; }
  // After a successful rename there is nothing left to clean up.
  void release() { path_.clear(); }

 private:
  fs::path path_;
  UniqueFd lock_;
};

// Removes temp folders of earlier extractions of `dest` whose process died.
void remove_abandoned(const fs::path& dest) {
  std::string prefix = std::string(kTempInfix) + dest.filename().string() + "-";
  std::error_code ec;
  for (fs::directory_iterator it(dest.parent_path(), ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(prefix) || name.size() != prefix.size() + 16) continue;
    UniqueFd fd(::open(it->path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid() || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // in flight
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

[[noreturn]] void bad(const fs::path& archive, const std::string& why) {
  throw Error(ErrorKind::BadInput, archive.string() + ": " + why);
}

void extract_conda(const fs::path& archive, const RootedDir& root, const ExtractOptions& options) {
  ZipReader zip(archive);
  const ZipMember* meta = nullptr;
  const ZipMember* info = nullptr;
  const ZipMember* pkg = nullptr;
  auto take = [&](const ZipMember*& slot, const ZipMember& m) {
    if (slot) bad(archive, "more than one " + m.name.substr(0, m.name.find('-') + 1) + "* member");
    slot = &m;
  };
  for (const ZipMember& m : zip.members()) {
    if (m.name == "metadata.json") {
      meta = &m;
    } else if (m.name.starts_with("info-") && m.name.ends_with(".tar.zst")) {
      take(info, m);
    } else if (m.name.starts_with("pkg-") && m.name.ends_with(".tar.zst")) {
      take(pkg, m);
    }
    // Other members are not part of the format and are not read.
  }
  if (!meta) bad(archive, "no metadata.json member");
  if (!info) bad(archive, "no info-<dist>.tar.zst member");
  if (!pkg) bad(archive, "no pkg-<dist>.tar.zst member");
  std::string info_dist = info->name.substr(5, info->name.size() - 5 - 8);
  std::string pkg_dist = pkg->name.substr(4, pkg->name.size() - 4 - 8);
  if (info_dist != pkg_dist)
    bad(archive, "members " + info->name + " and " + pkg->name + " name different packages");

  if (meta->uncompressed_size > kMaxMetadataJson) bad(archive, "metadata.json is too large");
  std::string text(static_cast<size_t>(meta->uncompressed_size), '\0');
  {
    auto s = zip.open(*meta);
    size_t have = 0;
    while (have < text.size()) {
      size_t n = s->read(text.data() + have, text.size() - have);
      if (n == 0) break;
      have += n;
    }
    char extra;
    if (s->read(&extra, 1) != 0 || have != text.size())
      bad(archive, "metadata.json has the wrong size");
  }
  nlohmann::json meta_json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!meta_json.is_object() || !meta_json.contains("conda_pkg_format_version"))
    bad(archive, "metadata.json is not {\"conda_pkg_format_version\": 2}");
  const nlohmann::json& version = meta_json["conda_pkg_format_version"];
  if (!version.is_number_integer() || version.get<int64_t>() != 2)
    bad(archive, "unsupported conda_pkg_format_version " + version.dump() + " (2 is known)");

  ExtractBudget budget;
  auto info_stream = zip.open(*info);
  extract_tar(*info_stream, TarCompression::Zstd, root, TarScope::InfoOnly, options, budget,
              archive.string() + ": " + info->name);
  auto pkg_stream = zip.open(*pkg);
  extract_tar(*pkg_stream, TarCompression::Zstd, root, TarScope::ExceptInfo, options, budget,
              archive.string() + ": " + pkg->name);
}

void extract_tar_bz2(const fs::path& archive, const RootedDir& root,
                     const ExtractOptions& options) {
  FdSource source(archive);
  ExtractBudget budget;
  extract_tar(source, TarCompression::Bzip2, root, TarScope::Everything, options, budget,
              archive.string());
}

}  // namespace

void extract_package(const fs::path& archive, const fs::path& dest, const ExtractOptions& options) {
  std::string name = archive.filename().string();
  bool is_conda = name.ends_with(".conda");
  if (!is_conda && !name.ends_with(".tar.bz2"))
    bad(archive, "not a conda package archive (expected .conda or .tar.bz2)");
  if (dest.filename().empty() || dest.filename() == "." || dest.filename() == "..")
    throw Error(ErrorKind::BadInput, "invalid extraction folder " + dest.string());
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dest, ec))) return;  // complete (see the header)
  if (!fs::exists(archive, ec))
    throw Error(ErrorKind::NotFound, "package archive not found: " + archive.string());
  fs::create_directories(dest.parent_path(), ec);
  if (ec)
    throw Error(ErrorKind::Internal,
                "cannot create " + dest.parent_path().string() + ": " + ec.message());
  remove_abandoned(dest);

  ExtractDir work(dest);
  {
    RootedDir root(work.path());
    if (is_conda) {
      extract_conda(archive, root, options);
    } else {
      extract_tar_bz2(archive, root, options);
    }
    auto index = root.lstat({"info", "index.json"}, archive.string());
    if (!index || !S_ISREG(index->st_mode)) bad(archive, "not a conda package: no info/index.json");
  }
  if (::rename(work.path().c_str(), dest.c_str()) != 0) {
    // Another process renamed its complete copy first: keep that one.
    if (errno == EEXIST || errno == ENOTEMPTY) return;
    throw Error(ErrorKind::Internal, "cannot rename " + work.path().string() + " to " +
                                         dest.string() + ": " + std::strerror(errno));
  }
  work.release();
  registry::fsync_directory(dest.parent_path());
}

}  // namespace envbuild::builder::conda
