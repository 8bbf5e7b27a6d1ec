#include "builder/environment_lock.hpp"

#include "registry/error.hpp"

namespace envbuild::builder {

nlohmann::json EnvironmentLock::to_json() const {
  nlohmann::json j;
  j["lock_version"] = kVersion;
  j["spec_hash"] = spec_hash;
  j["platform"] = platform;
  j["base"] = {{"reference", base_reference},
               {"digest", base_digest.empty() ? "" : base_digest.str()}};
  j["packages"] = nlohmann::json::array();
  for (const LockedPackage& p : packages) {
    j["packages"].push_back({{"manager", p.manager},
                             {"name", p.name},
                             {"version", p.version},
                             {"build", p.build},
                             {"channel", p.channel},
                             {"subdir", p.subdir},
                             {"url", p.url},
                             {"sha256", p.sha256},
                             {"md5", p.md5},
                             {"size", p.size}});
  }
  return j;
}

EnvironmentLock EnvironmentLock::from_json(const nlohmann::json& j, const std::string& where) {
  try {
    if (j.at("lock_version").get<int>() != kVersion)
      throw Error(ErrorKind::BadInput, where + ": unsupported lock_version");
    EnvironmentLock lock;
    lock.spec_hash = j.at("spec_hash").get<std::string>();
    lock.platform = j.at("platform").get<std::string>();
    lock.base_reference = j.at("base").at("reference").get<std::string>();
    const std::string digest = j.at("base").at("digest").get<std::string>();
    if (!digest.empty()) lock.base_digest = registry::Digest::parse(digest);
    for (const auto& p : j.at("packages")) {
      LockedPackage l;
      l.manager = p.at("manager").get<std::string>();
      l.name = p.at("name").get<std::string>();
      l.version = p.at("version").get<std::string>();
      l.build = p.value("build", "");
      l.channel = p.value("channel", "");
      l.subdir = p.value("subdir", "");
      l.url = p.at("url").get<std::string>();
      l.sha256 = p.value("sha256", "");
      l.md5 = p.value("md5", "");
      l.size = p.at("size").get<uint64_t>();
      lock.packages.push_back(std::move(l));
    }
    return lock;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::BadInput, where + ": malformed lock: " + e.what());
  }
}

std::string EnvironmentLock::hash() const {
  return registry::Digest::sha256_of(to_json().dump()).hex();
}

}  // namespace envbuild::builder
