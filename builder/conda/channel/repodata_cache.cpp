#include "builder/conda/channel/repodata_cache.hpp"

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "registry/atomic_file.hpp"
#include "registry/default_store.hpp"
#include "registry/digest.hpp"

namespace envbuild::builder::conda {
namespace {

// State files are tiny; anything bigger is not ours.
constexpr std::streamsize kMaxStateBytes = 64 * 1024;

}  // namespace

RepodataCacheEntry repodata_cache_entry(const std::filesystem::path& cache_dir,
                                        const std::string& request_url) {
  std::string key = registry::Digest::sha256_of(request_url).hex().substr(0, 32);
  return {cache_dir / (key + ".json"), cache_dir / (key + ".state.json"),
          cache_dir / (key + ".lock")};
}

std::optional<RepodataCacheState> read_repodata_state(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(static_cast<size_t>(kMaxStateBytes) + 1, '\0');
  in.read(text.data(), kMaxStateBytes + 1);
  if (in.gcount() > kMaxStateBytes) return std::nullopt;
  text.resize(static_cast<size_t>(in.gcount()));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  RepodataCacheState s;
  auto str = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) out = it->get<std::string>();
  };
  auto num = [&](const char* key, auto& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_number_integer()) out = it->get<std::decay_t<decltype(out)>>();
  };
  str("url", s.url);
  str("variant_url", s.variant_url);
  str("etag", s.etag);
  str("last_modified", s.last_modified);
  num("fetched_at", s.fetched_at);
  num("checked_at", s.checked_at);
  num("size", s.size);
  auto m = j.find("missing");
  s.missing = m != j.end() && m->is_boolean() && m->get<bool>();
  if (s.url.empty()) return std::nullopt;
  return s;
}

void write_repodata_state(const std::filesystem::path& path, const RepodataCacheState& state) {
  nlohmann::ordered_json j;
  j["url"] = state.url;
  j["variant_url"] = state.variant_url;
  j["etag"] = state.etag;
  j["last_modified"] = state.last_modified;
  j["fetched_at"] = state.fetched_at;
  j["checked_at"] = state.checked_at;
  j["size"] = state.size;
  j["missing"] = state.missing;
  // Values are printable ASCII (the fetcher drops other header values);
  // replace anything else rather than fail.
  registry::write_file_atomic(
      path, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::filesystem::path default_repodata_cache_dir() {
  return registry::default_cache_dir(std::getenv("ENVBUILD_CACHE_DIR"),
                                     std::getenv("XDG_CACHE_HOME"), std::getenv("HOME")) /
         "conda" / "repodata";
}

}  // namespace envbuild::builder::conda
