#include "builder/conda/install/environment_metadata.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "builder/definition/yaml_fields.hpp"
#include "registry/image_config.hpp"

namespace envbuild::builder::conda {

namespace {

// conda's history header date ("2024-01-31 12:00:00").
std::string history_date(int64_t epoch) { return registry::utc_time(epoch, "%Y-%m-%d %H:%M:%S"); }

// "https://conda.anaconda.org/conda-forge" -> "conda-forge" for the
// history's channel/subdir::dist lines, as conda writes them.
std::string channel_label(const std::string& url) {
  static const std::string kAlias = "https://conda.anaconda.org/";
  return url.rfind(kAlias, 0) == 0 ? url.substr(kAlias.size()) : url;
}

}  // namespace

std::string history_text(const std::vector<PackageRecord>& linked,
                         const std::vector<std::string>& requested, int64_t epoch) {
  std::string out = "==> " + history_date(epoch) + " <==\n# cmd: envbuild create\n";
  std::vector<std::string> lines;
  for (const PackageRecord& r : linked)
    lines.push_back("+" + channel_label(r.channel) + "/" + r.subdir + "::" + r.dist_name());
  std::sort(lines.begin(), lines.end());
  for (const std::string& l : lines) out += l + "\n";
  std::string specs;
  for (const std::string& s : requested) specs += (specs.empty() ? "'" : ", '") + s + "'";
  out += "# update specs: [" + specs + "]\n";
  return out;
}

std::vector<registry::LayerEntry> environment_metadata_entries(
    const std::string& prefix, const std::vector<PackageRecord>& linked,
    const std::vector<std::string>& requested, const std::map<std::string, std::string>& variables,
    int64_t epoch) {
  std::vector<registry::LayerEntry> entries = {
      registry::LayerEntry::directory("opt"), registry::LayerEntry::directory(prefix),
      registry::LayerEntry::directory(prefix + "/conda-meta"),
      registry::LayerEntry::bytes(prefix + "/conda-meta/history",
                                  history_text(linked, requested, epoch))};
  if (!variables.empty()) {
    nlohmann::json state = {{"env_vars", variables}};
    entries.push_back(
        registry::LayerEntry::bytes(prefix + "/conda-meta/state", state.dump(2) + "\n"));
  }
  return entries;
}

std::map<std::string, std::string> merge_env_vars_documents(
    const std::vector<std::pair<std::string, std::string>>& documents,
    std::vector<std::string>& problems) {
  std::vector<std::pair<std::string, std::string>> sorted = documents;
  std::sort(sorted.begin(), sorted.end());
  std::map<std::string, std::string> out;
  for (const auto& [name, text] : sorted) {
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      problems.push_back(name + " is not a JSON object; ignored");
      continue;
    }
    for (const auto& [key, value] : j.items()) {
      if (!value.is_string() || !builder::is_valid_env_name(key)) {
        problems.push_back(name + ": '" + key + "' is not a NAME: \"string\" pair; ignored");
        continue;
      }
      out[key] = value.get<std::string>();
    }
  }
  return out;
}

}  // namespace envbuild::builder::conda
