#pragma once
// A fixture generator for real-format conda channels: packages described in
// a few lines become real .conda files (CEP 35: a stored zip of
// metadata.json, pkg-<dist>.tar.zst and info-<dist>.tar.zst) and .tar.bz2
// files, with CEP 34 metadata (info/index.json, paths.json, about.json,
// link.json, files, has_prefix) and a channel repodata.json per subdir
// (CEP 36), optionally also as .zst / .bz2, with correct sha256, md5 and
// size. What conda-build would emit for the same recipe, minus the recipe.
//
//   CondaChannel channel(dir);
//   PackageSpec spec{.name = "tool", .version = "1.2", .subdir = "linux-64"};
//   spec.depends = {"libfoo >=1"};
//   spec.files = {PackageFile::text("bin/tool", "#!/bin/sh\n", 0755),
//                 PackageFile::with_prefix("etc/tool.conf", "root=" + kPlaceholder)};
//   channel.add(spec);
//   channel.write_repodata();  // <dir>/linux-64/repodata.json, <dir>/noarch/repodata.json
//
// For big channels: add_generated() (thousands of small real packages, or
// records only) and add_payload() (hundreds of MB of incompressible content
// for install benchmarks); conda_channel_synthetic.hpp writes a
// conda-forge-sized repodata.json with no artifacts.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace envbuild::testing {

// The conda project's test channels (conda-test-recipes, conda-format-repo):
// $ENVBUILD_CONDA_TESTDATA, else the nearest shared/testdata above the
// source tree (../shared/testdata for the main checkout).
std::filesystem::path conda_testdata_dir();

// conda-build's classic placeholder (CEP 34 has_prefix default).
inline const std::string kPlaceholder = "/opt/anaconda1anaconda2anaconda3";
// A long placeholder like conda-build's modern one ("/home/.../_h_env_placehold_placehold...").
std::string long_placeholder(size_t length = 255);

enum class PathType { Hardlink, Softlink, Directory };
enum class FileMode { Text, Binary };

struct PackageFile {
  std::string path;  // relative to the prefix, '/'-separated
  std::string content;
  mode_t mode = 0644;
  PathType type = PathType::Hardlink;
  std::string link_target;         // Softlink: the target as stored in the link
  std::string prefix_placeholder;  // non-empty: `content` holds it
  FileMode file_mode = FileMode::Text;
  bool no_link = false;

  static PackageFile text(std::string path, std::string content, mode_t mode = 0644);
  static PackageFile with_prefix(std::string path, std::string content,
                                 FileMode file_mode = FileMode::Text,
                                 std::string placeholder = kPlaceholder, mode_t mode = 0644);
  static PackageFile symlink(std::string path, std::string target);
  static PackageFile directory(std::string path);
};

enum PackageFormat : int { kConda = 1, kTarBz2 = 2, kBothFormats = 3 };

struct PackageSpec {
  std::string name;
  std::string version = "1.0";
  std::string build = "0";
  int64_t build_number = 0;
  std::string subdir = "noarch";
  std::vector<std::string> depends;
  std::vector<std::string> constrains;
  std::string track_features;  // as index.json has it: space-separated
  std::string noarch;          // "", "generic" or "python"
  std::string license = "BSD-3-Clause";
  int64_t timestamp = 1'700'000'000'000;  // milliseconds
  std::vector<PackageFile> files;
  std::vector<std::string> entry_points;                  // noarch python: "name = module:function"
  std::string post_link;                                  // bin/.<name>-post-link.sh
  std::string pre_unlink;                                 // bin/.<name>-pre-unlink.sh
  nlohmann::json extra_index = nlohmann::json::object();  // merged into index.json
  nlohmann::json about = nlohmann::json::object();        // info/about.json (summary added)
  int formats = kConda;

  std::string dist() const { return name + "-" + version + "-" + build; }
};

struct BuiltArtifact {
  std::string subdir;
  std::string filename;
  std::filesystem::path path;
  std::string sha256;
  std::string md5;
  uint64_t size = 0;
  nlohmann::json record;  // its repodata record
};

// The metadata files of a package (path under info/ -> bytes).
std::map<std::string, std::string> package_info_files(const PackageSpec& spec);
// The package's index.json object.
nlohmann::json package_index_json(const PackageSpec& spec);

// Writes one artifact into `dir` (created).
BuiltArtifact write_conda_artifact(const PackageSpec& spec, const std::filesystem::path& dir);
BuiltArtifact write_tar_bz2_artifact(const PackageSpec& spec, const std::filesystem::path& dir);

struct RepodataWriteOptions {
  bool plain = true;  // repodata.json
  bool zst = false;   // repodata.json.zst
  bool bz2 = false;   // repodata.json.bz2
  bool pretty = true;
  // Subdirs that get a repodata.json even without packages. noarch is always
  // written (CEP 26) unless listed in `omit`.
  std::vector<std::string> subdirs;
  std::vector<std::string> omit;
  std::string base_url;  // info.base_url (with repodata_version 2)
  std::vector<std::string> removed;
};

class CondaChannel {
 public:
  explicit CondaChannel(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::string url() const { return "file://" + root_.string(); }

  // Writes the spec's artifacts (per spec.formats) into <root>/<subdir>/ and
  // records them for write_repodata().
  std::vector<BuiltArtifact> add(const PackageSpec& spec);
  // A record with no artifact behind it (metadata-only tests). `record` is
  // written verbatim, so it may be malformed on purpose.
  void add_record(const std::string& subdir, const std::string& filename, nlohmann::json record);

  // `count` packages named <prefix>-00000..., each depending on up to three
  // lower-numbered ones, `versions` versions each. With artifacts=false only
  // records are added (fast: ~100k records a second).
  void add_generated(size_t count, const std::string& prefix = "gen", size_t versions = 2,
                     bool artifacts = true, const std::string& subdir = "noarch");
  // `count` packages of about `bytes_each` incompressible bytes (a few files
  // each, one text file with a prefix placeholder), for install benchmarks.
  // Returns their names.
  std::vector<std::string> add_payload(size_t count, uint64_t bytes_each,
                                       const std::string& prefix = "payload",
                                       const std::string& subdir = "linux-64");

  void write_repodata(const RepodataWriteOptions& options = {}) const;
  // The repodata document of one subdir, as write_repodata() writes it.
  nlohmann::json repodata(const std::string& subdir,
                          const RepodataWriteOptions& options = {}) const;

 private:
  std::filesystem::path root_;
  // subdir -> section ("packages" / "packages.conda") -> filename -> record
  std::map<std::string, std::map<std::string, std::map<std::string, nlohmann::json>>> records_;
};

}  // namespace envbuild::testing
