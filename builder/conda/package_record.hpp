#pragma once
// One conda package as a channel's repodata describes it (CEP 36), plus
// where it came from. The solver, the lock, the downloader and the linker
// all speak this type. Virtual packages (CEP 30: __glibc, __linux, __unix,
// __archspec, __cuda) are records too, with no URL.
#include <cstdint>
#include <string>
#include <vector>

namespace envbuild::builder::conda {

struct PackageRecord {
  std::string name;
  std::string version;  // as in repodata; parse with CondaVersion when ordering
  std::string build;
  int64_t build_number = 0;
  std::vector<std::string> depends;     // MatchSpec text
  std::vector<std::string> constrains;  // MatchSpec text (run_constrained)
  std::vector<std::string> track_features;
  std::vector<std::string> features;  // legacy; kept for the record
  std::string subdir;                 // "linux-64", "noarch", ...
  std::string noarch;                 // "", "python" or "generic"
  std::string license;
  int64_t timestamp = 0;  // milliseconds since the epoch, 0 when absent

  // Where the file is and what it must hash to.
  std::string filename;  // "numpy-1.26.4-py311h64a7726_0.conda"
  std::string url;       // full download URL
  std::string channel;   // canonical channel URL, without subdir
  std::string sha256;    // lowercase hex; may be empty in old repodata
  std::string md5;
  uint64_t size = 0;

  // Index of `channel` in the environment's channel list: 0 is the highest
  // priority. Virtual packages have -1.
  int channel_priority = 0;

  bool is_virtual() const {
    return !name.empty() && name[0] == '_' && name.size() > 1 && name[1] == '_';
  }
  // "name-version-build": the conda-meta file name and the cache folder name.
  std::string dist_name() const { return name + "-" + version + "-" + build; }
};

}  // namespace envbuild::builder::conda
