#include "builder/conda/package/package_record_json.hpp"

#include "builder/conda/package/package_metadata.hpp"
#include "builder/conda/package/rooted_dir.hpp"
#include "registry/atomic_file.hpp"
#include "registry/error.hpp"

namespace envbuild::builder::conda {

using nlohmann::json;

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

}  // namespace

json repodata_record_json(const PackageRecord& r, const json& index) {
  json j = index.is_object() ? index : json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("name", r.name);
  put("version", r.version);
  put("build", r.build);
  if (r.build_number != 0 || !j.contains("build_number")) j["build_number"] = r.build_number;
  j["depends"] = r.depends;
  j["constrains"] = r.constrains;
  if (!r.track_features.empty() || !j.contains("track_features"))
    j["track_features"] = joined(r.track_features);
  if (!r.features.empty()) j["features"] = joined(r.features);
  put("subdir", r.subdir);
  put("noarch", r.noarch);
  put("license", r.license);
  if (r.timestamp != 0) j["timestamp"] = r.timestamp;
  put("fn", r.filename);
  put("url", r.url);
  put("channel", r.channel);
  put("md5", r.md5);
  put("sha256", r.sha256);
  if (r.size != 0) j["size"] = r.size;
  // Keys repodata always has, even when neither side knew a value.
  for (const char* key : {"fn", "url", "channel", "md5", "sha256"})
    if (!j.contains(key)) j[key] = "";
  if (!j.contains("size")) j["size"] = 0;
  return j;
}

void write_repodata_record(const std::filesystem::path& dir, const PackageRecord& record) {
  RootedDir root(dir);
  std::string label = dir.string() + "/info/index.json";
  json index = parse_index_json(root.read_file({"info", "index.json"}, 16 << 20, label), label);
  std::string text = repodata_record_json(record, index).dump(2);
  auto existing = root.lstat({"info", "repodata_record.json"}, dir.string());
  if (existing && S_ISREG(existing->st_mode) &&
      static_cast<size_t>(existing->st_size) == text.size() &&
      root.read_file({"info", "repodata_record.json"}, text.size(), dir.string()) == text)
    return;
  // The info/ folder came from the archive; refuse to write through a link
  // the archive put there.
  auto info = root.lstat({"info"}, dir.string());
  if (!info || !S_ISDIR(info->st_mode))
    throw Error(ErrorKind::BadInput, dir.string() + ": info is not a directory");
  registry::write_file_atomic(dir / "info" / "repodata_record.json", text);
}

}  // namespace envbuild::builder::conda
