#include "builder/definition/canonical_definition.hpp"

#include <algorithm>
#include <set>

#include "registry/digest.hpp"
#include "registry/reference.hpp"

namespace envbuild::builder {

namespace {

nlohmann::json sorted_unique(const std::vector<std::string>& items) {
  const std::set<std::string> unique(items.begin(), items.end());
  return nlohmann::json(std::vector<std::string>(unique.begin(), unique.end()));
}

}  // namespace

std::string normalize_base_reference(const std::string& text) {
  if (text == "scratch" || text.rfind("local:", 0) == 0 || text.rfind("oci:", 0) == 0) return text;
  std::string_view ref = text;
  if (ref.rfind("docker://", 0) == 0) ref.remove_prefix(9);
  return registry::Reference::parse(ref).str();
}

std::string effective_base(const EnvironmentDefinition& def, const std::string& default_base) {
  return normalize_base_reference(def.base_image.value_or(default_base));
}

nlohmann::json canonical_definition(const EnvironmentDefinition& def, const std::string& base) {
  nlohmann::json j;  // std::map-backed: keys come out sorted
  j["builder_format"] = kBuilderFormatVersion;
  j["platform"] = def.platform;
  if (def.build) {
    // A Dockerfile names its own base; the context's content is the identity.
    j["build"] = {{"dockerfile", def.build->dockerfile_path},
                  {"context_sha256", def.build->content_hash}};
  } else {
    j["base"] = base;
  }
  j["channels"] = def.channels;
  j["conda"] = sorted_unique(def.conda_packages);
  j["pip"] = sorted_unique(def.pip_packages);
  j["pip_options"] = sorted_unique(def.pip_options);
  j["variables"] = def.variables;
  j["environment_variables"] = def.environment_variables;
  j["user_managed_dependencies"] = def.user_managed_dependencies;
  // Only what changes a conda install, and only when there is one: adding
  // these keys to every hash would move every cache tag.
  if (def.installs_conda()) {
    nlohmann::json conda = nlohmann::json::object();
    if (!def.conda.subdir.empty()) conda["subdir"] = def.conda.subdir;
    if (!def.conda.channel_alias.empty()) conda["channel_alias"] = def.conda.channel_alias;
    if (!def.conda.channel_priority.empty() && def.conda.channel_priority != "strict")
      conda["channel_priority"] = def.conda.channel_priority;
    if (!def.conda.lock_sha256.empty()) conda["lock_sha256"] = def.conda.lock_sha256;
    if (!def.conda.pinned.empty()) conda["pinned"] = def.conda.pinned;
    if (!conda.empty()) j["conda_settings"] = conda;
  }
  return j;
}

std::string spec_hash(const EnvironmentDefinition& def, const std::string& base) {
  return registry::Digest::sha256_of(canonical_definition(def, base).dump()).hex();
}

}  // namespace envbuild::builder
