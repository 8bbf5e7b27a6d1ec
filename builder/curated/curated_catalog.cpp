#include "builder/curated/curated_catalog.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "registry/error.hpp"

namespace envbuild::builder {

namespace {

bool version_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;  // decimal strings
}

}  // namespace

CuratedCatalog::CuratedCatalog(const std::vector<EmbeddedFile>& files) {
  for (const EmbeddedFile& f : files) {
    CuratedEnvironment e;
    e.file_name = std::string(f.name);
    e.text = f.text;
    try {
      const YAML::Node root = YAML::Load(std::string(f.text));
      e.name = root["name"].as<std::string>();
      e.version = root["version"].as<std::string>();
      if (root["description"]) e.description = root["description"].as<std::string>();
    } catch (const YAML::Exception& ex) {
      throw Error(ErrorKind::Internal, "curated/" + e.file_name + ": " + ex.what());
    }
    if (e.version.empty() || e.version.find_first_not_of("0123456789") != std::string::npos)
      throw Error(ErrorKind::Internal, "curated/" + e.file_name + ": version must be a number");
    entries_.push_back(std::move(e));
  }
  std::sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return a.name != b.name ? a.name < b.name : version_less(a.version, b.version);
  });
  for (size_t i = 1; i < entries_.size(); ++i) {
    if (entries_[i].name == entries_[i - 1].name && entries_[i].version == entries_[i - 1].version)
      throw Error(ErrorKind::Internal, "curated: " + entries_[i].reference() + " is defined twice");
  }
}

const CuratedCatalog& CuratedCatalog::builtin() {
  static const CuratedCatalog catalog(curated_files());
  return catalog;
}

std::vector<const CuratedEnvironment*> CuratedCatalog::latest() const {
  std::vector<const CuratedEnvironment*> out;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i + 1 == entries_.size() || entries_[i + 1].name != entries_[i].name)
      out.push_back(&entries_[i]);
  }
  return out;
}

const CuratedEnvironment& CuratedCatalog::find(std::string_view reference) const {
  std::string_view ref = reference;
  if (ref.rfind("curated:", 0) == 0) ref.remove_prefix(8);
  std::string name(ref.substr(0, ref.find(':')));
  std::optional<std::string> version;
  if (ref.find(':') != std::string_view::npos) version = std::string(ref.substr(ref.find(':') + 1));
  const CuratedEnvironment* best = nullptr;
  for (const CuratedEnvironment& e : entries_) {
    if (e.name == name && (!version || e.version == *version)) best = &e;
  }
  if (best) return *best;
  std::string known;
  for (const CuratedEnvironment* e : latest()) known += (known.empty() ? "" : ", ") + e->name;
  throw Error(ErrorKind::NotFound, "no curated environment '" + std::string(reference) +
                                       "' (curated: " + known + "; see envbuild curated list)");
}

bool is_reserved_curated_name(std::string_view name) {
  static constexpr std::string_view kPrefix = "curated";
  if (name.size() < kPrefix.size()) return false;
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(name[i])) != kPrefix[i]) return false;
  }
  return name.size() == kPrefix.size() ||
         !std::isalnum(static_cast<unsigned char>(name[kPrefix.size()]));
}

}  // namespace envbuild::builder
